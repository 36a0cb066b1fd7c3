"""A model: a DynamoDB table declared as a class, its instances the table's items.

``Model`` checks its declaration when subclassed (keys are attributes, at most one
``Version``), converts items both ways (``to_item``, ``from_item``), reads and writes one
item (``get``, ``save``, ``update``, ``delete``, with conditions and optimistic locking),
and describes its table (``table_definition``, ``create_table``). Queries, scans, batches
and transactions are its methods too; their code is in ``pages``, ``batches`` and
``transactions``, loaded on their first call so that a function using only the CRUD does
not pay for them. boto3 is imported by the connection, on first use.
"""

import os
import re
import time
from decimal import Decimal

from tight import config
from tight.models.attributes import Attribute, Version, _from_dynamo_value
from tight.models.errors import ItemNotFound, ValidationError, _dynamo
from tight.providers.aws.clients import dynamo_db

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

    from tight.models.pages import Results
    from tight.models.transactions import Transaction
else:
    Any = object


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class GlobalIndex:
    """A global secondary index: its own hash (and range) key."""

    local = False

    def __init__(self, name: str, hash_key: str, range_key: str | None = None,
                 projection: str = "ALL") -> None:  # fmt: skip
        self.name, self.hash_key, self.range_key, self.projection = (
            name,
            hash_key,
            range_key,
            projection,
        )


class LocalIndex(GlobalIndex):
    """A local secondary index: the table's hash key, another range key."""

    local = True

    def __init__(self, name: str, range_key: str, projection: str = "ALL") -> None:
        super().__init__(name, "", range_key, projection)


class Model:
    """Subclass it to declare a table; instances are items."""

    table: str | None = None
    hash_key: str = ""
    range_key: str | None = None
    indexes: tuple[GlobalIndex, ...] = ()
    ttl: str | None = None
    billing_mode = "PAY_PER_REQUEST"
    stream: str | None = None  # e.g. "NEW_AND_OLD_IMAGES"
    attributes: dict[str, Attribute] = {}
    version_field: str | None = None  # the Version attribute's field, found by __init_subclass__

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        found: dict[str, Attribute] = {}
        for klass in reversed(cls.__mro__):
            for field, value in vars(klass).items():
                if isinstance(value, Attribute):
                    found[field] = value
        cls.attributes = found
        if not cls.hash_key:
            raise TypeError(f"{cls.__name__} needs a hash_key naming one of its attributes")
        keys = [cls.hash_key, cls.range_key, cls.ttl] + [
            k for index in cls.indexes for k in (index.hash_key, index.range_key)
        ]
        for key in keys:
            if key and key not in found:
                raise TypeError(f"{cls.__name__}: '{key}' is used as a key but is not an attribute")
        for key in (cls.hash_key, cls.range_key):
            if key and found[key].dynamo_type not in ("S", "N", "B"):
                raise TypeError(f"{cls.__name__}.{key}: a key must be a String, Number or Binary")
        versions = [field for field, a in found.items() if isinstance(a, Version)]
        if len(versions) > 1:
            raise TypeError(f"{cls.__name__} has {len(versions)} Version attributes; keep one")
        if versions and versions[0] in keys:
            raise TypeError(f"{cls.__name__}.{versions[0]}: a Version cannot be a key")
        cls.version_field = versions[0] if versions else None

    def __init__(self, **values: Any) -> None:
        unknown = sorted(set(values) - set(self.attributes))
        if unknown:
            raise ValidationError(
                f"{type(self).__name__} has no attribute {', '.join(unknown)}; "
                f"it has {', '.join(self.attributes)}"
            )
        for field, attribute in self.attributes.items():
            setattr(self, field, values[field] if field in values else attribute.initial())

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.to_dict().items())})"
        )

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Model)
            and type(other) is type(self)
            and other.to_dict() == self.to_dict()
        )

    # -- naming ---------------------------------------------------------------------------
    @classmethod
    def table_name(cls) -> str:
        if cls.table:
            return cls.table
        settings = config.settings()
        app = settings.app_name or os.environ.get("TIGHT_APP") or "app"
        stage = settings.stage or os.environ.get("TIGHT_STAGE") or "dev"
        return f"{app}-{stage}-{cls.model_name()}"

    @classmethod
    def model_name(cls) -> str:
        """The model's part of the table name: ``LineItem`` -> ``line_item``."""
        return _snake(cls.__name__)

    @classmethod
    def _table(cls) -> Any:
        return dynamo_db.connect().table(cls.table_name())

    # -- conversion -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {field: getattr(self, field) for field in self.attributes}

    @classmethod
    def _key_fields(cls) -> list[str]:
        """Fields that are a key of the table or of an index: never empty, never NULL."""
        fields = [cls.hash_key, cls.range_key]
        fields += [k for index in cls.indexes for k in (index.hash_key, index.range_key)]
        return [f for f in fields if f]

    def to_item(self) -> dict[str, Any]:
        """The item as DynamoDB stores it (attribute names, Decimal numbers); never a NULL."""
        item: dict[str, Any] = {}
        for field, attribute in self.attributes.items():
            value = getattr(self, field)
            if value is None:
                if attribute.required:
                    raise ValidationError(f"{attribute.name} is required")
                continue
            stored = attribute.to_dynamo(value)
            if stored is not None:
                item[attribute.name] = stored
        for key in (self.hash_key, self.range_key):
            if key and getattr(self, key) is None:
                raise ValidationError(f"{key} is the table's key and cannot be empty")
        for key in self._key_fields():
            if item.get(self.attributes[key].name) in ("", b""):
                raise ValidationError(f"{key} is a key of the table or an index: not empty")
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> "Model":
        """An instance from a plain item dict, as boto3's resource reads it or
        ``boto3.dynamodb.types.TypeDeserializer`` makes it (a stream record's image).

        Missing and NULL attributes are None; attributes the model does not declare are
        ignored; nothing is validated, so items written by other code still load: a value
        of another type than the attribute's (a number where a DateTime is declared, a
        string for a Binary) is kept as stored instead of failing every read of the item.
        """
        instance = cls.__new__(cls)
        by_name = {
            attribute.name: (field, attribute) for field, attribute in cls.attributes.items()
        }
        instance.__dict__.update(dict.fromkeys(cls.attributes))
        for name, value in item.items():
            if name in by_name and value is not None:
                field, attribute = by_name[name]
                try:
                    instance.__dict__[field] = attribute.from_dynamo(value)
                except (TypeError, ValueError, ArithmeticError):
                    instance.__dict__[field] = _from_dynamo_value(value)
        return instance

    @classmethod
    def key(cls, hash_value: Any, range_value: Any = None) -> dict[str, Any]:
        key = {cls.attributes[cls.hash_key].name: cls._key_value(cls.hash_key, hash_value)}
        if cls.range_key:
            if range_value is None:
                raise ValidationError(f"{cls.__name__} needs its range key {cls.range_key} too")
            key[cls.attributes[cls.range_key].name] = cls._key_value(cls.range_key, range_value)
        return key

    @classmethod
    def _key_value(cls, field: str, value: Any) -> Any:
        attribute = cls.attributes[field]
        checked = attribute.validate(value)
        if checked is None or checked in ("", b""):
            raise ValidationError(f"{field} is a key and cannot be empty")
        return attribute.to_dynamo(checked)

    def own_key(self) -> dict[str, Any]:
        return self.key(
            getattr(self, self.hash_key), getattr(self, self.range_key) if self.range_key else None
        )

    def _described(self) -> str:
        try:
            shown = ", ".join(str(v) for v in self.own_key().values())
        except ValidationError:
            shown = "(no key)"
        return f"{type(self).__name__} {shown}"

    def _version_guard(self, condition: Any) -> tuple[Any, int | None]:
        """The condition with the version check added, and the version to write next."""
        field = self.version_field
        if field is None:
            return condition, None
        from boto3.dynamodb.conditions import Attr

        name = self.attributes[field].name
        current = getattr(self, field)
        guard = Attr(name).not_exists() if current is None else Attr(name).eq(Decimal(current))
        return (guard if condition is None else condition & guard), (current or 0) + 1

    # -- CRUD -----------------------------------------------------------------------------
    @classmethod
    def get(cls, hash_value: Any, range_value: Any = None, consistent: bool = False) -> "Model":
        key = cls.key(hash_value, range_value)
        shown = ", ".join(str(v) for v in key.values())
        found = _dynamo(
            f"reading {cls.__name__} {shown}",
            cls._table().get_item,
            Key=key,
            ConsistentRead=consistent,
        ).get("Item")
        if found is None:
            raise ItemNotFound(f"no {cls.__name__} {shown}")
        return cls.from_item(found)

    def save(self, condition: Any = None, overwrite: bool = True) -> "Model":
        """Put the item; ``overwrite=False`` fails with ConditionFailed if it exists.

        With a ``Version`` attribute, the put also needs the stored version to be this
        instance's (none for a new item) and writes the next one."""
        from boto3.dynamodb.conditions import Attr

        item = self.to_item()
        if not overwrite:
            missing = Attr(self.attributes[self.hash_key].name).not_exists()
            condition = missing if condition is None else condition & missing
        condition, version = self._version_guard(condition)
        if version is not None and self.version_field:
            item[self.attributes[self.version_field].name] = Decimal(version)
        options: dict[str, Any] = {"Item": item}
        if condition is not None:
            options["ConditionExpression"] = condition
        _dynamo(f"saving {self._described()}", self._table().put_item, **options)
        if version is not None and self.version_field:
            self.__dict__[self.version_field] = version
        return self

    def delete(self, condition: Any = None) -> None:
        """Delete the item (if its ``Version`` is still the one read, when it has one)."""
        options: dict[str, Any] = {"Key": self.own_key()}
        condition, _ = self._version_guard(condition)
        if condition is not None:
            options["ConditionExpression"] = condition
        _dynamo(f"deleting {self._described()}", self._table().delete_item, **options)

    @classmethod
    def _changes(
        cls,
        set: dict[str, Any] | None,
        add: dict[str, Any] | None,
        remove: "Iterable[str]",
        version: int | None,
        keep: dict[str, Any] | None = None,
    ) -> tuple[str, dict[str, str], dict[str, Any]]:
        """UpdateExpression, names and values for SET, ADD and REMOVE. Setting None is an
        error (use remove); setting an empty set removes the attribute; nothing is NULL.
        ``keep``: values set only where the stored item has none (``if_not_exists``)."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        clauses: dict[str, list[str]] = {"SET": [], "ADD": [], "REMOVE": []}
        seen: list[str] = []

        def claim(field: str, verb: str) -> Attribute:
            attribute = cls._attribute(field)
            if field in (cls.hash_key, cls.range_key):
                raise ValidationError(f"{field} is part of the key and cannot be updated")
            if field == cls.version_field:
                raise ValidationError(f"{field} is the Version; Tight sets it on each write")
            if field in seen:
                raise ValidationError(f"{field} appears twice in one update; change it once")
            seen.append(field)
            return attribute

        def drop(field: str, attribute: Attribute) -> None:
            if attribute.required:
                raise ValidationError(f"{attribute.name} is required and cannot be removed")
            placeholder = f"#remove{len(clauses['REMOVE'])}"
            names[placeholder] = attribute.name
            clauses["REMOVE"].append(placeholder)

        for index, (field, value) in enumerate((set or {}).items()):
            attribute = claim(field, "SET")
            if value is None:
                raise ValidationError(
                    f"{attribute.name} cannot be set to None; remove it with "
                    f"update(remove=[{field!r}])"
                )
            checked = attribute.validate(value)
            if checked is None:  # an empty set: DynamoDB has none, so the attribute goes
                drop(field, attribute)
                continue
            names[f"#set{index}"] = attribute.name
            values[f":set{index}"] = attribute.to_dynamo(checked)
            clauses["SET"].append(f"#set{index} = :set{index}")
            if field in cls._key_fields() and values[f":set{index}"] in ("", b""):
                raise ValidationError(f"{field} is a key of an index: not empty")
        for index, (field, value) in enumerate((add or {}).items()):
            attribute = claim(field, "ADD")
            if attribute.dynamo_type not in ("N", "SS", "NS"):
                raise ValidationError(f"add works on numbers and sets; {field} is neither")
            if value is None:
                raise ValidationError(f"{attribute.name}: add needs a number or a set, not None")
            checked = attribute.validate(value)
            if checked is None:  # adding an empty set changes nothing
                continue
            names[f"#add{index}"] = attribute.name
            values[f":add{index}"] = attribute.to_dynamo(checked)
            clauses["ADD"].append(f"#add{index} :add{index}")
        for field in remove:
            drop(field, claim(field, "REMOVE"))
        if not any(clauses.values()):
            raise ValidationError("update needs something to set, add or remove")
        for index, (field, value) in enumerate((keep or {}).items()):
            attribute = claim(field, "SET")
            names[f"#keep{index}"] = attribute.name
            values[f":keep{index}"] = attribute.to_dynamo(value)
            clauses["SET"].append(f"#keep{index} = if_not_exists(#keep{index}, :keep{index})")
        if version is not None and cls.version_field:
            names["#version"] = cls.attributes[cls.version_field].name
            values[":version"] = Decimal(version)
            clauses["SET"].append("#version = :version")
        expression = " ".join(
            f"{verb} {', '.join(parts)}" for verb, parts in clauses.items() if parts
        )
        return expression, names, values

    def update(self, set: dict[str, Any] | None = None, add: dict[str, Any] | None = None,
               remove: "Iterable[str]" = (), condition: Any = None,
               create: bool = False) -> "Model":  # fmt: skip
        """Change attributes of the stored item in place (SET, ADD, REMOVE) and return it as
        stored.

        Only an item that exists is changed: a missing one (deleted meanwhile) raises
        ``ItemNotFound`` and stays missing. ``create=True`` writes it if it is missing
        (an upsert); the item must then have every required attribute, from ``set`` or
        ``add`` or this instance (those are written only where the stored item has none).
        ``set={"tags": set()}`` removes ``tags`` (DynamoDB has no empty sets); setting None
        is a ValidationError: name the attribute in ``remove`` instead."""
        keep = self._required_for_create(set, add, remove) if create else None
        condition, existence = self._existence_guard(condition, create)
        condition, version = self._version_guard(condition)
        expression, names, values = self._changes(set, add, remove, version, keep)
        options: dict[str, Any] = {
            "Key": self.own_key(),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ReturnValues": "ALL_NEW",
        }
        if values:
            options["ExpressionAttributeValues"] = values
        if condition is not None:
            options["ConditionExpression"] = condition
        from tight.models.errors import ConditionFailed

        try:
            result = _dynamo(f"updating {self._described()}", self._table().update_item, **options)
        except ConditionFailed:
            if existence and (condition is existence or not self._stored()):
                raise ItemNotFound(
                    f"no {self._described()}: update changes an item that exists (it was "
                    "never written, or was deleted); save() it, or pass create=True to "
                    "write it when missing"
                ) from None
            raise
        fresh = self.from_item(result.get("Attributes", {}))
        self.__dict__.update(fresh.__dict__)
        return self

    def _existence_guard(self, condition: Any, create: bool) -> tuple[Any, Any]:
        """The condition with "the item exists" added (unless ``create``), and that guard."""
        if create:
            return condition, None
        from boto3.dynamodb.conditions import Attr

        exists = Attr(self.attributes[self.hash_key].name).exists()
        return (exists if condition is None else condition & exists), exists

    def _stored(self) -> bool:
        """Whether the item is in the table now (a strongly consistent read of its key)."""
        found = _dynamo(
            f"reading {self._described()}",
            self._table().get_item,
            Key=self.own_key(),
            ConsistentRead=True,
            ProjectionExpression="#key",
            ExpressionAttributeNames={"#key": self.attributes[self.hash_key].name},
        )
        return "Item" in found

    def _required_for_create(
        self, set: dict[str, Any] | None, add: dict[str, Any] | None, remove: "Iterable[str]"
    ) -> dict[str, Any]:
        """For an upsert: the required attributes the update does not give, from this
        instance, written only where missing; a ValidationError names any it lacks."""
        given = {*(set or {}), *(add or {}), *remove}
        keys = (self.hash_key, self.range_key)
        keep: dict[str, Any] = {}
        missing: list[str] = []
        for field, attribute in self.attributes.items():
            if not attribute.required or field in given or field in keys:
                continue
            value = getattr(self, field)
            if value is None:
                missing.append(field)
            else:
                keep[field] = value
        if missing:
            raise ValidationError(
                f"update(create=True) may create {self._described()}, which then needs "
                f"{', '.join(missing)} (required); give {'them' if len(missing) > 1 else 'it'} "
                "in set= or on the instance"
            )
        return keep

    @classmethod
    def _attribute(cls, field: str) -> Attribute:
        if field not in cls.attributes:
            raise ValidationError(f"{cls.__name__} has no attribute {field}")
        return cls.attributes[field]

    # -- reading many -------------------------------------------------------------------------
    @classmethod
    def query(cls, hash_value: Any, range_condition: Any = None, index: str | None = None,
              filter: Any = None, limit: int | None = None, reverse: bool = False,
              consistent: bool = False, page_size: int | None = None,
              cursor: str | None = None) -> "Results":  # fmt: skip
        """Items with this hash key (of the table or of ``index``), lazily, page by page.

        ``limit`` caps the items (and each request's ``Limit``); ``cursor`` resumes after
        the page whose ``page.cursor`` it is."""
        from boto3.dynamodb.conditions import Key

        from tight.models.pages import Results, _decode_cursor

        chosen = cls._index(index)
        hash_field = chosen.hash_key if chosen and not chosen.local else cls.hash_key
        hash_name = cls.attributes[hash_field].name
        stored_hash = cls._key_value(hash_field, hash_value)
        condition = Key(hash_name).eq(stored_hash)
        if range_condition is not None:
            condition = condition & range_condition
        options: dict[str, Any] = {
            "KeyConditionExpression": condition,
            "ScanIndexForward": not reverse,
        }
        if consistent:
            options["ConsistentRead"] = True
        start = _decode_cursor(cls, index, cursor, (hash_name, stored_hash))
        return Results(cls, "query", options, index, filter, limit, page_size, start)

    @classmethod
    def scan(cls, filter: Any = None, index: str | None = None, limit: int | None = None,
             page_size: int | None = None, cursor: str | None = None) -> "Results":  # fmt: skip
        """Every item of the table (or ``index``), lazily; ``limit`` and ``cursor`` as query's."""
        from tight.models.pages import Results, _decode_cursor

        cls._index(index)
        start = _decode_cursor(cls, index, cursor, None)
        return Results(cls, "scan", {}, index, filter, limit, page_size, start)

    @classmethod
    def _index(cls, name: str | None) -> GlobalIndex | None:
        if name is None:
            return None
        for index in cls.indexes:
            if index.name == name:
                return index
        raise ValidationError(f"{cls.__name__} has no index {name}")

    @classmethod
    def _key_names(cls, index: str | None) -> list[str]:
        """Attribute names of a page's LastEvaluatedKey: the table's keys and the index's."""
        fields = [cls.hash_key, cls.range_key]
        chosen = cls._index(index)
        if chosen is not None:
            fields += [chosen.hash_key or cls.hash_key, chosen.range_key]
        return list(dict.fromkeys(cls.attributes[f].name for f in fields if f))

    @classmethod
    def batch_get(cls, keys: "Iterable[Any]", attempts: int = 8,
                  sleep: "Callable[[float], Any]" = time.sleep) -> list["Model"]:  # fmt: skip
        """Items for many keys (a hash value, or a (hash, range) pair), 100 a request,
        retrying what DynamoDB leaves unprocessed with exponential backoff and jitter;
        ``Throttled`` (503) with the count of keys left when ``attempts`` run out."""
        from tight.models.batches import read_many

        return read_many(cls, keys, attempts, sleep)

    @classmethod
    def batch_write(cls, put: "Iterable[Model]" = (), delete: "Iterable[Any]" = (),
                    attempts: int = 8,
                    sleep: "Callable[[float], Any]" = time.sleep) -> None:  # fmt: skip
        """Put and delete many items, 25 a request, retrying what is left unprocessed as
        ``batch_get`` does. Versions are not checked here (BatchWriteItem has no conditions)."""
        from tight.models.batches import write_many

        write_many(cls, put, delete, attempts, sleep)

    # -- the table itself -----------------------------------------------------------------------
    @classmethod
    def table_definition(cls) -> dict[str, Any]:
        """CreateTable's parameters for this model (also what `doit schema` writes)."""

        def key_schema(hash_field: str, range_field: str | None) -> list[dict[str, str]]:
            schema = [{"AttributeName": cls.attributes[hash_field].name, "KeyType": "HASH"}]
            if range_field:
                schema.append(
                    {"AttributeName": cls.attributes[range_field].name, "KeyType": "RANGE"}
                )
            return schema

        used = [cls.hash_key, cls.range_key]
        definition: dict[str, Any] = {
            "TableName": cls.table_name(),
            "KeySchema": key_schema(cls.hash_key, cls.range_key),
            "BillingMode": cls.billing_mode,
        }
        for kind, local in (("GlobalSecondaryIndexes", False), ("LocalSecondaryIndexes", True)):
            chosen = [index for index in cls.indexes if index.local is local]
            if not chosen:
                continue
            definition[kind] = []
            for index in chosen:
                hash_field = cls.hash_key if local else index.hash_key
                used += [hash_field, index.range_key]
                entry: dict[str, Any] = {
                    "IndexName": index.name,
                    "KeySchema": key_schema(hash_field, index.range_key),
                    "Projection": {"ProjectionType": index.projection},
                }
                if not local and cls.billing_mode == "PROVISIONED":
                    entry["ProvisionedThroughput"] = {
                        "ReadCapacityUnits": 1,
                        "WriteCapacityUnits": 1,
                    }
                definition[kind].append(entry)
        fields = sorted({field for field in used if field}, key=lambda f: cls.attributes[f].name)
        definition["AttributeDefinitions"] = [
            {
                "AttributeName": cls.attributes[f].name,
                "AttributeType": cls.attributes[f].dynamo_type,
            }
            for f in fields
        ]
        if cls.billing_mode == "PROVISIONED":
            definition["ProvisionedThroughput"] = {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}
        if cls.stream:
            definition["StreamSpecification"] = {
                "StreamEnabled": True,
                "StreamViewType": cls.stream,
            }
        return definition

    @classmethod
    def create_table(cls) -> bool:
        """Create the table (and its TTL) if it is missing; True when it was created."""
        connection = dynamo_db.connect()
        name = cls.table_name()
        try:
            connection.client.describe_table(TableName=name)
            return False
        except connection.client.exceptions.ResourceNotFoundException:
            pass
        connection.client.create_table(**cls.table_definition())
        connection.client.get_waiter("table_exists").wait(
            TableName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150}
        )
        if cls.ttl:
            try:
                connection.client.update_time_to_live(
                    TableName=name,
                    TimeToLiveSpecification={
                        "Enabled": True,
                        "AttributeName": cls.attributes[cls.ttl].name,
                    },
                )
            except connection.client.exceptions.ClientError as error:
                # A local server without TTL (dynalite) still gets the table.
                if error.response.get("Error", {}).get("Code") != "UnknownOperationException":
                    raise
        return True

    @staticmethod
    def transaction() -> "Transaction":
        """``with Model.transaction() as t: t.put(a); t.update(b, set=...); t.delete(c)``."""
        from tight.models.transactions import Transaction

        return Transaction()
