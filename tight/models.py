"""Declarative DynamoDB models with a fluent API.

    class Item(Model):
        hash_key = "id"
        id = String()
        name = String(required=True)
        count = Number(default=0)
        indexes = (GlobalIndex("by_name", hash_key="name"),)

    Item(id="1", name="teapot").save()
    Item.get("1").update(add={"count": 1})
    for item in Item.query("1"): ...

The table is ``<app>-<stage>-<model>`` (app and stage from tight.yml or ``TIGHT_APP`` /
``TIGHT_STAGE``) unless ``table`` names it. Numbers come back as ``int`` or ``Decimal``,
never ``float``. ``Model.get`` raises ``ItemNotFound`` (an HTTP 404), a failed condition
``ConditionFailed`` (409), bad values ``ValidationError`` (400) naming the attribute.
boto3 is imported by the connection, on first use.
"""

import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal

from tight import config
from tight.errors import BadRequest, Conflict, NotFound
from tight.providers.aws.clients import dynamo_db

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
else:
    Any = object

MISSING = object()


class ValidationError(BadRequest):
    """A value does not fit its attribute; the message names the attribute."""


class ItemNotFound(NotFound):
    """``Model.get`` found no item with that key."""


class ConditionFailed(Conflict):
    """A write's condition did not hold (the item exists, changed, or is missing)."""


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class Attribute:
    """One attribute of a model: its DynamoDB type, default and whether it is required."""

    dynamo_type = "S"

    def __init__(self, default: Any = None, required: bool = False, name: str | None = None):
        self.default = default
        self.required = required
        self.name = name or ""
        self.field = ""

    def __set_name__(self, owner: type, field: str) -> None:
        self.field = field
        self.name = self.name or field

    def __get__(self, instance: Any, owner: type) -> Any:
        if instance is None:
            return self
        return instance.__dict__.get(self.field)

    def __set__(self, instance: Any, value: Any) -> None:
        instance.__dict__[self.field] = self.validate(value)

    def initial(self) -> Any:
        return self.default() if callable(self.default) else self.default

    def validate(self, value: Any) -> Any:
        if value is None:
            return None
        return self.check(value)

    def check(self, value: Any) -> Any:
        return value

    def fail(self, value: Any, expected: str) -> ValidationError:
        return ValidationError(
            f"{self.name} must be {expected}, not {type(value).__name__} {value!r}"
        )

    def to_dynamo(self, value: Any) -> Any:
        return value

    def from_dynamo(self, value: Any) -> Any:
        return value


class String(Attribute):
    dynamo_type = "S"

    def check(self, value: Any) -> Any:
        if not isinstance(value, str):
            raise self.fail(value, "a string")
        return value


class Number(Attribute):
    """An int or Decimal; a float is converted through its repr so 0.1 stays 0.1."""

    dynamo_type = "N"

    def check(self, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            raise self.fail(value, "a number")
        if isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                raise self.fail(value, "a finite number")
            value = Decimal(repr(value))
        return _plain_number(value)

    def to_dynamo(self, value: Any) -> Any:
        return Decimal(value) if isinstance(value, int) else value

    def from_dynamo(self, value: Any) -> Any:
        return _plain_number(value)


def _plain_number(value: Any) -> Any:
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return value


class Boolean(Attribute):
    dynamo_type = "BOOL"

    def check(self, value: Any) -> Any:
        if not isinstance(value, bool):
            raise self.fail(value, "true or false")
        return value


class Binary(Attribute):
    dynamo_type = "B"

    def check(self, value: Any) -> Any:
        if not isinstance(value, (bytes, bytearray)):
            raise self.fail(value, "bytes")
        return bytes(value)

    def from_dynamo(self, value: Any) -> Any:
        return bytes(getattr(value, "value", value))


class List(Attribute):
    dynamo_type = "L"

    def check(self, value: Any) -> Any:
        if not isinstance(value, (list, tuple)):
            raise self.fail(value, "a list")
        return list(value)

    def to_dynamo(self, value: Any) -> Any:
        return _to_dynamo_value(value)

    def from_dynamo(self, value: Any) -> Any:
        return _from_dynamo_value(value)


class Map(Attribute):
    dynamo_type = "M"

    def check(self, value: Any) -> Any:
        if not isinstance(value, dict):
            raise self.fail(value, "a mapping")
        return dict(value)

    def to_dynamo(self, value: Any) -> Any:
        return _to_dynamo_value(value)

    def from_dynamo(self, value: Any) -> Any:
        return _from_dynamo_value(value)


class StringSet(Attribute):
    dynamo_type = "SS"

    def check(self, value: Any) -> Any:
        if not isinstance(value, (set, frozenset, list, tuple)) or not all(
            isinstance(v, str) for v in value
        ):
            raise self.fail(value, "a set of strings")
        return set(value)

    def to_dynamo(self, value: Any) -> Any:
        return set(value) or None  # DynamoDB has no empty sets

    def from_dynamo(self, value: Any) -> Any:
        return set(value)


class NumberSet(Attribute):
    dynamo_type = "NS"

    def check(self, value: Any) -> Any:
        if not isinstance(value, (set, frozenset, list, tuple)):
            raise self.fail(value, "a set of numbers")
        return {Number(name=self.name).check(v) for v in value}

    def to_dynamo(self, value: Any) -> Any:
        return {Decimal(v) if isinstance(v, int) else v for v in value} or None

    def from_dynamo(self, value: Any) -> Any:
        return {_plain_number(v) for v in value}


class DateTime(Attribute):
    """A timezone-aware datetime, stored as an ISO 8601 string (sortable in UTC)."""

    dynamo_type = "S"

    def check(self, value: Any) -> Any:
        import datetime

        if not isinstance(value, datetime.datetime) or value.tzinfo is None:
            raise self.fail(value, "a timezone-aware datetime")
        return value

    def to_dynamo(self, value: Any) -> Any:
        import datetime

        return value.astimezone(datetime.timezone.utc).isoformat()

    def from_dynamo(self, value: Any) -> Any:
        import datetime

        return datetime.datetime.fromisoformat(value)


class TTL(Number):
    """Epoch seconds after which DynamoDB may delete the item (the table's TTL attribute)."""


def _to_dynamo_value(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, (str, bytes, Decimal)):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _to_dynamo_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_dynamo_value(v) for v in value]
    return value


def _from_dynamo_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return _plain_number(value)
    if isinstance(value, dict):
        return {k: _from_dynamo_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_dynamo_value(v) for v in value]
    return value


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


def _condition_failed(error: Any) -> bool:
    code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
    return code in ("ConditionalCheckFailedException", "TransactionCanceledException")


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

    def to_item(self) -> dict[str, Any]:
        """The item as DynamoDB stores it (attribute names, Decimal numbers)."""
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
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> "Model":
        instance = cls.__new__(cls)
        by_name = {
            attribute.name: (field, attribute) for field, attribute in cls.attributes.items()
        }
        instance.__dict__.update(dict.fromkeys(cls.attributes))
        for name, value in item.items():
            if name in by_name:
                field, attribute = by_name[name]
                instance.__dict__[field] = attribute.from_dynamo(value)
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
        return attribute.to_dynamo(attribute.validate(value))

    def own_key(self) -> dict[str, Any]:
        return self.key(
            getattr(self, self.hash_key), getattr(self, self.range_key) if self.range_key else None
        )

    # -- CRUD -----------------------------------------------------------------------------
    @classmethod
    def get(cls, hash_value: Any, range_value: Any = None, consistent: bool = False) -> "Model":
        key = cls.key(hash_value, range_value)
        found = cls._table().get_item(Key=key, ConsistentRead=consistent).get("Item")
        if found is None:
            shown = ", ".join(str(v) for v in key.values())
            raise ItemNotFound(f"no {cls.__name__} {shown}")
        return cls.from_item(found)

    def save(self, condition: Any = None, overwrite: bool = True) -> "Model":
        """Put the item; ``overwrite=False`` fails with ConditionFailed if it exists."""
        from boto3.dynamodb.conditions import Attr

        options: dict[str, Any] = {"Item": self.to_item()}
        if not overwrite:
            missing = Attr(self.attributes[self.hash_key].name).not_exists()
            condition = missing if condition is None else condition & missing
        if condition is not None:
            options["ConditionExpression"] = condition
        self._write(lambda: self._table().put_item(**options))
        return self

    def delete(self, condition: Any = None) -> None:
        options: dict[str, Any] = {"Key": self.own_key()}
        if condition is not None:
            options["ConditionExpression"] = condition
        self._write(lambda: self._table().delete_item(**options))

    def update(self, set: dict[str, Any] | None = None, add: dict[str, Any] | None = None,
               remove: Iterable[str] = (), condition: Any = None) -> "Model":  # fmt: skip
        """Change attributes in place (SET, ADD, REMOVE) and return the item as stored."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        clauses: dict[str, list[str]] = {"SET": [], "ADD": [], "REMOVE": []}
        for verb, changes in (("SET", set or {}), ("ADD", add or {})):
            for index, (field, value) in enumerate(changes.items()):
                attribute = self._attribute(field)
                if field in (self.hash_key, self.range_key):
                    raise ValidationError(f"{field} is part of the key and cannot be updated")
                placeholder = f"#{verb.lower()}{index}"
                names[placeholder] = attribute.name
                values[f":{verb.lower()}{index}"] = attribute.to_dynamo(attribute.validate(value))
                separator = " = " if verb == "SET" else " "
                clauses[verb].append(f"{placeholder}{separator}:{verb.lower()}{index}")
        for index, field in enumerate(remove):
            names[f"#remove{index}"] = self._attribute(field).name
            clauses["REMOVE"].append(f"#remove{index}")
        expression = " ".join(
            f"{verb} {', '.join(parts)}" for verb, parts in clauses.items() if parts
        )
        if not expression:
            raise ValidationError("update needs something to set, add or remove")
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
        result = self._write(lambda: self._table().update_item(**options))
        fresh = self.from_item(result.get("Attributes", {}))
        self.__dict__.update(fresh.__dict__)
        return self

    @classmethod
    def _attribute(cls, field: str) -> Attribute:
        if field not in cls.attributes:
            raise ValidationError(f"{cls.__name__} has no attribute {field}")
        return cls.attributes[field]

    @staticmethod
    def _write(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Exception as error:
            if _condition_failed(error):
                raise ConditionFailed(f"the condition did not hold: {error}") from error
            raise

    # -- reading many -------------------------------------------------------------------------
    @classmethod
    def query(cls, hash_value: Any, range_condition: Any = None, index: str | None = None,
              filter: Any = None, limit: int | None = None, reverse: bool = False,
              consistent: bool = False, page_size: int | None = None) -> "Results":  # fmt: skip
        """Items with this hash key (of the table or of ``index``), lazily, page by page."""
        from boto3.dynamodb.conditions import Key

        chosen = cls._index(index)
        hash_field = chosen.hash_key if chosen and not chosen.local else cls.hash_key
        condition = Key(cls.attributes[hash_field].name).eq(cls._key_value(hash_field, hash_value))
        if range_condition is not None:
            condition = condition & range_condition
        options: dict[str, Any] = {
            "KeyConditionExpression": condition,
            "ScanIndexForward": not reverse,
        }
        if consistent:
            options["ConsistentRead"] = True
        return Results(cls, "query", options, index, filter, limit, page_size)

    @classmethod
    def scan(cls, filter: Any = None, index: str | None = None, limit: int | None = None,
             page_size: int | None = None) -> "Results":  # fmt: skip
        cls._index(index)
        return Results(cls, "scan", {}, index, filter, limit, page_size)

    @classmethod
    def _index(cls, name: str | None) -> GlobalIndex | None:
        if name is None:
            return None
        for index in cls.indexes:
            if index.name == name:
                return index
        raise ValidationError(f"{cls.__name__} has no index {name}")

    @classmethod
    def batch_get(cls, keys: Iterable[Any], attempts: int = 8) -> list["Model"]:
        """Items for many keys (a hash value, or a (hash, range) pair), 100 a request,
        retrying what DynamoDB leaves unprocessed."""
        wanted = [cls.key(*k) if isinstance(k, tuple) else cls.key(k) for k in keys]
        client_items: list[Model] = []
        resource = dynamo_db.connect().resource
        name = cls.table_name()
        for start in range(0, len(wanted), 100):
            request: dict[str, Any] = {name: {"Keys": wanted[start : start + 100]}}
            for attempt in range(attempts):
                response = resource.batch_get_item(RequestItems=request)
                client_items += [
                    cls.from_item(i) for i in response.get("Responses", {}).get(name, [])
                ]
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
                time.sleep(min(0.05 * 2**attempt, 2.0))
            else:
                raise RuntimeError(
                    f"DynamoDB left keys of {name} unprocessed after {attempts} attempts"
                )
        return client_items

    @classmethod
    def batch_write(cls, put: Iterable["Model"] = (), delete: Iterable[Any] = (),
                    attempts: int = 8) -> None:  # fmt: skip
        """Put and delete many items, 25 a request, retrying what is left unprocessed."""
        requests = [{"PutRequest": {"Item": item.to_item()}} for item in put]
        requests += [
            {"DeleteRequest": {"Key": cls.key(*k) if isinstance(k, tuple) else cls.key(k)}}
            for k in delete
        ]
        resource = dynamo_db.connect().resource
        name = cls.table_name()
        for start in range(0, len(requests), 25):
            pending: dict[str, Any] = {name: requests[start : start + 25]}
            for attempt in range(attempts):
                response = resource.batch_write_item(RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}
                if not pending:
                    break
                time.sleep(min(0.05 * 2**attempt, 2.0))
            else:
                raise RuntimeError(
                    f"DynamoDB left writes to {name} unprocessed after {attempts} attempts"
                )

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
        return Transaction()


class Results:
    """A lazy, paginating iterator over a query or scan; ``limit`` caps the items."""

    def __init__(
        self,
        model: type[Model],
        operation: str,
        options: dict[str, Any],
        index: str | None,
        filter: Any,
        limit: int | None,
        page_size: int | None,
    ) -> None:
        self.model = model
        self.operation = operation
        self.options = dict(options)
        if index:
            self.options["IndexName"] = index
        if filter is not None:
            self.options["FilterExpression"] = filter
        if page_size:
            self.options["Limit"] = page_size
        self.limit = limit
        self.pages = 0

    def __iter__(self) -> Iterator[Model]:
        table = self.model._table()
        call = getattr(table, self.operation)
        options = dict(self.options)
        returned = 0
        while True:
            response = call(**options)
            self.pages += 1
            for item in response.get("Items", []):
                if self.limit is not None and returned >= self.limit:
                    return
                returned += 1
                yield self.model.from_item(item)
            last = response.get("LastEvaluatedKey")
            if not last or (self.limit is not None and returned >= self.limit):
                return
            options["ExclusiveStartKey"] = last

    def all(self) -> list[Model]:
        return list(self)

    def first(self) -> Model | None:
        return next(iter(self), None)


class Transaction:
    """Writes that succeed or fail together (TransactWriteItems), sent when the block ends."""

    def __init__(self) -> None:
        self.actions: list[dict[str, Any]] = []

    def __enter__(self) -> "Transaction":
        return self

    def _condition(self, options: dict[str, Any], condition: Any) -> dict[str, Any]:
        if condition is None:
            return options
        from boto3.dynamodb.conditions import ConditionExpressionBuilder

        built = ConditionExpressionBuilder().build_expression(condition)
        options["ConditionExpression"] = built.condition_expression
        options.setdefault("ExpressionAttributeNames", {}).update(built.attribute_name_placeholders)
        values = {k: _serialize(v) for k, v in built.attribute_value_placeholders.items()}
        if values:
            options.setdefault("ExpressionAttributeValues", {}).update(values)
        return options

    def put(self, item: Model, condition: Any = None) -> None:
        options = {"TableName": item.table_name(), "Item": _serialize_item(item.to_item())}
        self.actions.append({"Put": self._condition(options, condition)})

    def delete(self, item: Model, condition: Any = None) -> None:
        options = {"TableName": item.table_name(), "Key": _serialize_item(item.own_key())}
        self.actions.append({"Delete": self._condition(options, condition)})

    def check(self, item: Model, condition: Any) -> None:
        options = {"TableName": item.table_name(), "Key": _serialize_item(item.own_key())}
        self.actions.append({"ConditionCheck": self._condition(options, condition)})

    def update(self, item: Model, set: dict[str, Any], condition: Any = None) -> None:
        names, values, parts = {}, {}, []
        for index, (field, value) in enumerate(set.items()):
            attribute = item._attribute(field)
            names[f"#t{index}"] = attribute.name
            values[f":t{index}"] = _serialize(attribute.to_dynamo(attribute.validate(value)))
            parts.append(f"#t{index} = :t{index}")
        options = {
            "TableName": item.table_name(),
            "Key": _serialize_item(item.own_key()),
            "UpdateExpression": "SET " + ", ".join(parts),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        self.actions.append({"Update": self._condition(options, condition)})

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        if kind is not None or not self.actions:
            return
        client = dynamo_db.connect().client
        try:
            client.transact_write_items(TransactItems=self.actions)
        except Exception as failure:
            if _condition_failed(failure):
                reasons = getattr(failure, "response", {}).get("CancellationReasons", [])
                codes = [r.get("Code") for r in reasons if r.get("Code") not in (None, "None")]
                raise ConditionFailed(
                    f"the transaction was cancelled: {', '.join(codes) or failure}"
                ) from failure
            raise


def _serialize(value: Any) -> Any:
    from boto3.dynamodb.types import TypeSerializer

    return TypeSerializer().serialize(value)


def _serialize_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _serialize(v) for k, v in item.items()}
