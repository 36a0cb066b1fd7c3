"""Declarative DynamoDB models with a fluent API.

    class Item(Model):
        hash_key = "id"
        id = String()
        name = String(required=True)
        count = Number(default=0)
        version = Version()
        indexes = (GlobalIndex("by_name", hash_key="name"),)

    Item(id="1", name="teapot").save()
    Item.get("1").update(add={"count": 1})
    for item in Item.query("1"): ...
    page = Item.query("1", limit=20, cursor=token)  # page.items, page.cursor

The table is ``<app>-<stage>-<model>`` (app and stage from tight.yml or ``TIGHT_APP`` /
``TIGHT_STAGE``) unless ``table`` names it. Numbers come back as ``int`` or ``Decimal``,
never ``float``. ``Model.get`` raises ``ItemNotFound`` (an HTTP 404), a failed condition
``ConditionFailed`` (409), bad values ``ValidationError`` (400) naming the attribute,
throttling ``Throttled`` (503). No write stores NULL: an empty set is removed, ``None`` is
absent from a saved item and refused by ``update(set=...)``. ``Model.from_item`` builds an
instance from a plain item dict (boto3's, or a stream record's after ``TypeDeserializer``).
boto3 is imported by the connection, on first use.
"""

import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal

from tight import config
from tight.errors import BadRequest, Conflict, NotFound, ServiceUnavailable
from tight.providers.aws.clients import dynamo_db

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
else:
    Any = object

MISSING = object()
MAX_DEPTH = 32  # DynamoDB nests lists and maps at most this deep
MAX_CURSOR = 4096  # characters; a real cursor is a few hundred at most
THROTTLED = (
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
)


class ValidationError(BadRequest):
    """A value does not fit its attribute; the message names the attribute."""

    reasons: list[dict[str, Any]] = []


class ItemNotFound(NotFound):
    """``Model.get`` found no item with that key."""


class ConditionFailed(Conflict):
    """A write's condition did not hold (the item exists, changed, or is missing).

    In a transaction, ``index`` is the position of the first action whose condition failed
    and ``reasons`` has one ``{"code", "message"}`` per action (code None where it was fine).
    """

    index: int | None = None
    reasons: list[dict[str, Any]] = []


class TransactionConflict(Conflict):
    """Another transaction changed an item of this one at the same time; retry."""

    reasons: list[dict[str, Any]] = []


class Throttled(ServiceUnavailable):
    """DynamoDB refused the work for lack of capacity; retry later (a 503).

    ``unprocessed`` counts what a batch left undone.
    """

    unprocessed = 0
    reasons: list[dict[str, Any]] = []


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
        """The value as the model keeps it, or ValidationError; None means absent."""
        if value is None:
            return None
        return self.check(value)

    def check(self, value: Any) -> Any:
        return value

    def fail(self, value: Any, expected: str) -> ValidationError:
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        return ValidationError(
            f"{self.name} must be {expected}, not {type(value).__name__} {shown}"
        )

    def to_dynamo(self, value: Any) -> Any:
        return value

    def from_dynamo(self, value: Any) -> Any:
        return value


def _text(value: Any, name: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(
            f"{name} must be valid Unicode text (it has a lone surrogate)"
        ) from None
    return str(value)


class String(Attribute):
    dynamo_type = "S"

    def check(self, value: Any) -> Any:
        if not isinstance(value, str):
            raise self.fail(value, "a string")
        return _text(value, self.name)


def _number(value: Any, name: str) -> Any:
    """A number DynamoDB can store, as the model keeps it (int or Decimal), or ValidationError."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise ValidationError(f"{name} must be a number, not {type(value).__name__} {value!r:.60}")
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValidationError(f"{name} must be a finite number, not {value!r}")
        value = Decimal(repr(value))
    elif isinstance(value, Decimal) and not value.is_finite():
        raise ValidationError(f"{name} must be a finite number, not {value!r}")
    _stored_number(value, name)
    return _plain_number(value)


def _stored_number(value: Any, name: str = "a number") -> Decimal:
    """The Decimal DynamoDB stores: at most 38 significant digits, magnitude 1E-130..1E+126."""
    sign, digits, exponent = Decimal(value).as_tuple()
    assert isinstance(exponent, int)
    kept = list(digits)
    while len(kept) > 1 and kept[-1] == 0:
        kept.pop()
        exponent += 1
    if kept == [0]:
        return Decimal(0)
    if len(kept) > 38:
        raise ValidationError(f"{name} has more than the 38 significant digits DynamoDB keeps")
    if not -130 <= exponent + len(kept) - 1 <= 125:
        raise ValidationError(f"{name} must be between 1E-130 and 1E+126 in size, as DynamoDB's")
    return Decimal((sign, tuple(kept), exponent))


def _plain_number(value: Any) -> Any:
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return value


class Number(Attribute):
    """An int or Decimal; a float is converted through its repr so 0.1 stays 0.1."""

    dynamo_type = "N"

    def check(self, value: Any) -> Any:
        return _number(value, self.name)

    def to_dynamo(self, value: Any) -> Any:
        return _stored_number(value, self.name)

    def from_dynamo(self, value: Any) -> Any:
        return _plain_number(value)


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
        raw = getattr(value, "value", value)
        if not isinstance(raw, (bytes, bytearray)):
            raise TypeError("not a binary value")  # from_item keeps it as stored
        return bytes(raw)


def _document(value: Any, name: str, depth: int = 0) -> Any:
    """A list or map's content as DynamoDB can store it: plain numbers, lists, str keys."""
    if depth > MAX_DEPTH:
        raise ValidationError(f"{name} nests deeper than the {MAX_DEPTH} levels DynamoDB allows")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _text(value, name)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, (int, float, Decimal)):
        return _number(value, name)
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str) or not key:
                raise ValidationError(f"{name} keys must be non-empty strings, not {key!r:.60}")
            _text(key, name)
        return {k: _document(v, name, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_document(v, name, depth + 1) for v in value]
    raise ValidationError(
        f"{name} can hold strings, numbers, booleans, bytes, None, lists and maps, "
        f"not {type(value).__name__}"
    )


class List(Attribute):
    dynamo_type = "L"

    def check(self, value: Any) -> Any:
        if not isinstance(value, (list, tuple)):
            raise self.fail(value, "a list")
        return _document(value, self.name)

    def to_dynamo(self, value: Any) -> Any:
        return _to_dynamo_value(value)

    def from_dynamo(self, value: Any) -> Any:
        return _from_dynamo_value(value)


class Map(Attribute):
    dynamo_type = "M"

    def check(self, value: Any) -> Any:
        if not isinstance(value, dict):
            raise self.fail(value, "a mapping")
        return _document(value, self.name)

    def to_dynamo(self, value: Any) -> Any:
        return _to_dynamo_value(value)

    def from_dynamo(self, value: Any) -> Any:
        return _from_dynamo_value(value)


class StringSet(Attribute):
    """A set of strings; an empty set is None (DynamoDB has no empty sets)."""

    dynamo_type = "SS"

    def check(self, value: Any) -> Any:
        if not isinstance(value, (set, frozenset, list, tuple)) or not all(
            isinstance(v, str) for v in value
        ):
            raise self.fail(value, "a set of strings")
        return {_text(v, self.name) for v in value} or None

    def to_dynamo(self, value: Any) -> Any:
        if not isinstance(value, (set, frozenset, list, tuple)):
            return value  # another type, as read from an item other code wrote
        return set(value) or None

    def from_dynamo(self, value: Any) -> Any:
        if not isinstance(value, (set, frozenset, list, tuple)):
            raise TypeError("not a set")  # a string is not a set of its letters
        return set(value) or None


class NumberSet(Attribute):
    """A set of numbers; an empty set is None (DynamoDB has no empty sets)."""

    dynamo_type = "NS"

    def check(self, value: Any) -> Any:
        if not isinstance(value, (set, frozenset, list, tuple)):
            raise self.fail(value, "a set of numbers")
        return {_number(v, self.name) for v in value} or None

    def to_dynamo(self, value: Any) -> Any:
        if not isinstance(value, (set, frozenset, list, tuple)):
            return value  # another type, as read from an item other code wrote
        return {_stored_number(v, self.name) for v in value} or None

    def from_dynamo(self, value: Any) -> Any:
        if not isinstance(value, (set, frozenset, list, tuple)):
            raise TypeError("not a set")
        return {_plain_number(v) for v in value} or None


class DateTime(Attribute):
    """A timezone-aware datetime, stored as an ISO 8601 string (sortable in UTC)."""

    dynamo_type = "S"

    def check(self, value: Any) -> Any:
        import datetime

        if not isinstance(value, datetime.datetime) or value.tzinfo is None:
            raise self.fail(value, "a timezone-aware datetime")
        try:
            value.astimezone(datetime.timezone.utc)
        except (OverflowError, ValueError):
            raise self.fail(value, "a datetime within years 1-9999 in UTC") from None
        return value

    def to_dynamo(self, value: Any) -> Any:
        import datetime

        if not isinstance(value, datetime.datetime):
            raise self.fail(value, "a timezone-aware datetime")
        return value.astimezone(datetime.timezone.utc).isoformat()

    def from_dynamo(self, value: Any) -> Any:
        import datetime

        if isinstance(value, str) and value.endswith(("Z", "z")):  # 3.10 reads no "Z"
            value = value[:-1] + "+00:00"
        parsed = datetime.datetime.fromisoformat(value)
        if parsed.tzinfo is None:  # written by other code without an offset: Tight's is UTC
            parsed = parsed.replace(tzinfo=datetime.timezone.utc)
        return parsed


class TTL(Number):
    """Epoch seconds after which DynamoDB may delete the item (the table's TTL attribute)."""


class Version(Number):
    """Optimistic locking: ``save``, ``update`` and ``delete`` write only if the stored
    version is the one this instance read (or no version for a new item), and bump it.
    A stale write raises ``ConditionFailed``. At most one per model."""


def _to_dynamo_value(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, (str, bytes)):
        return value
    if isinstance(value, (int, Decimal)):
        return _stored_number(value)
    if isinstance(value, float):
        return _stored_number(Decimal(repr(value)))
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
    if isinstance(value, (set, frozenset)):
        return {_from_dynamo_value(v) for v in value}
    if hasattr(value, "value") and type(value).__name__ == "Binary":  # boto3's Binary
        return bytes(value.value)
    return value


def _code(error: Any) -> str:
    return str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))


def _translated(error: Exception, what: str) -> Exception | None:
    """Tight's error for a DynamoDB error (its words, not botocore's), or None to re-raise."""
    code = _code(error)
    if code == "ConditionalCheckFailedException":
        return ConditionFailed(
            f"{what}: its condition did not hold (the item exists, changed since it was read, "
            "or is missing)"
        )
    if code == "TransactionCanceledException":
        return _cancelled(error)
    if code == "TransactionConflictException":
        return TransactionConflict(f"{what}: a transaction was changing the item; retry")
    if code in THROTTLED:
        return Throttled(f"{what}: DynamoDB is over its capacity; retry later")
    if code == "ValidationException":
        message = getattr(error, "response", {}).get("Error", {}).get("Message", "")
        return ValidationError(f"{what}: DynamoDB refused it: {message}")
    return None


def _cancelled(error: Exception) -> Exception | None:
    """One error for a cancelled transaction, chosen from its reasons (all in ``reasons``)."""
    raw = getattr(error, "response", {}).get("CancellationReasons") or []
    reasons = [
        {
            "code": None if r.get("Code") in (None, "None") else r.get("Code"),
            "message": r.get("Message"),
        }
        for r in raw
    ]

    def first(*codes: str) -> int | None:
        return next((i for i, r in enumerate(reasons) if r["code"] in codes), None)

    found: ConditionFailed | ValidationError | TransactionConflict | Throttled
    index = first("ConditionalCheckFailed")
    if index is not None:
        found = ConditionFailed(
            f"the transaction was cancelled: the condition of action {index} did not hold"
        )
        found.index = index
    elif (index := first("ValidationError")) is not None:
        found = ValidationError(
            f"the transaction was cancelled: DynamoDB refused action {index}: "
            f"{reasons[index]['message'] or 'invalid'}"
        )
    elif (index := first("TransactionConflict")) is not None:
        found = TransactionConflict(
            f"the transaction was cancelled: another transaction was changing the item of "
            f"action {index}; retry"
        )
    elif (index := first("ThrottlingError", "ProvisionedThroughputExceeded")) is not None:
        found = Throttled(
            f"the transaction was cancelled: DynamoDB is over its capacity (action {index}); "
            "retry later"
        )
    else:
        return None
    found.reasons = reasons
    return found


def _dynamo(what: str, call: Callable[..., Any], **options: Any) -> Any:
    """``call(**options)``, with DynamoDB's errors raised as Tight's."""
    try:
        return call(**options)
    except Exception as error:
        translated = _translated(error, what)
        if translated is None:
            raise
        raise translated from error


def _backoff(attempt: int, base: float = 0.05, cap: float = 2.0) -> float:
    """Seconds to wait before retry ``attempt`` (0-based): exponential, half of it jitter."""
    import random

    ceiling = min(cap, base * 2**attempt)
    return float(ceiling / 2 + random.uniform(0, ceiling / 2))


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
        remove: Iterable[str],
        version: int | None,
    ) -> tuple[str, dict[str, str], dict[str, Any]]:
        """UpdateExpression, names and values for SET, ADD and REMOVE. Setting None is an
        error (use remove); setting an empty set removes the attribute; nothing is NULL."""
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
        if version is not None and cls.version_field:
            names["#version"] = cls.attributes[cls.version_field].name
            values[":version"] = Decimal(version)
            clauses["SET"].append("#version = :version")
        expression = " ".join(
            f"{verb} {', '.join(parts)}" for verb, parts in clauses.items() if parts
        )
        return expression, names, values

    def update(self, set: dict[str, Any] | None = None, add: dict[str, Any] | None = None,
               remove: Iterable[str] = (), condition: Any = None) -> "Model":  # fmt: skip
        """Change attributes in place (SET, ADD, REMOVE) and return the item as stored.

        ``set={"tags": set()}`` removes ``tags`` (DynamoDB has no empty sets); setting None
        is a ValidationError: name the attribute in ``remove`` instead."""
        condition, version = self._version_guard(condition)
        expression, names, values = self._changes(set, add, remove, version)
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
        result = _dynamo(f"updating {self._described()}", self._table().update_item, **options)
        fresh = self.from_item(result.get("Attributes", {}))
        self.__dict__.update(fresh.__dict__)
        return self

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
    def batch_get(cls, keys: Iterable[Any], attempts: int = 8,
                  sleep: Callable[[float], Any] = time.sleep) -> list["Model"]:  # fmt: skip
        """Items for many keys (a hash value, or a (hash, range) pair), 100 a request,
        retrying what DynamoDB leaves unprocessed with exponential backoff and jitter;
        ``Throttled`` (503) with the count of keys left when ``attempts`` run out."""
        unique = {}  # DynamoDB refuses a request that asks for one key twice
        for k in keys:
            key = cls.key(*k) if isinstance(k, tuple) else cls.key(k)
            unique[tuple(sorted(key.items()))] = key
        wanted = list(unique.values())
        found: list[Model] = []
        resource = dynamo_db.connect().resource
        name = cls.table_name()
        for start in range(0, len(wanted), 100):
            request: dict[str, Any] = {name: {"Keys": wanted[start : start + 100]}}
            for attempt in range(attempts):
                if attempt:
                    sleep(_backoff(attempt - 1))
                response = _dynamo(
                    f"reading many {cls.__name__}",
                    resource.batch_get_item,
                    RequestItems=request,
                )
                found += [cls.from_item(i) for i in response.get("Responses", {}).get(name, [])]
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                left = len(request.get(name, {}).get("Keys", [])) + max(
                    len(wanted) - start - 100, 0
                )
                raise _unfinished(f"{left} keys of {name} unread", attempts, left)
        return found

    @classmethod
    def batch_write(cls, put: Iterable["Model"] = (), delete: Iterable[Any] = (),
                    attempts: int = 8,
                    sleep: Callable[[float], Any] = time.sleep) -> None:  # fmt: skip
        """Put and delete many items, 25 a request, retrying what is left unprocessed as
        ``batch_get`` does. Versions are not checked here (BatchWriteItem has no conditions)."""
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
                if attempt:
                    sleep(_backoff(attempt - 1))
                response = _dynamo(
                    f"writing many {cls.__name__}",
                    resource.batch_write_item,
                    RequestItems=pending,
                )
                pending = response.get("UnprocessedItems") or {}
                if not pending:
                    break
            else:
                left = len(pending.get(name, [])) + max(len(requests) - start - 25, 0)
                raise _unfinished(f"{left} writes to {name} not done", attempts, left)

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


def _unfinished(what: str, attempts: int, left: int) -> Throttled:
    error = Throttled(
        f"DynamoDB left {what} after {attempts} attempts; retry later or raise the table's capacity"
    )
    error.unprocessed = left
    return error


def _positive(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"{name} must be a whole number of 1 or more, not {value!r:.40}")
    return value


class Results:
    """A lazy, paginating iterator over a query or scan; ``limit`` caps the items.

    Iterate for every item (up to ``limit``), or read one page: ``results.items`` (the
    first ``limit`` items) and ``results.cursor``, an opaque URL-safe string that resumes
    after them (``Model.query(..., cursor=...)``), None when nothing is left.
    """

    def __init__(
        self,
        model: type[Model],
        operation: str,
        options: dict[str, Any],
        index: str | None,
        filter: Any,
        limit: int | None,
        page_size: int | None,
        start: dict[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.operation = operation
        self.index = index
        self.options = dict(options)
        if index:
            self.options["IndexName"] = index
        if filter is not None:
            self.options["FilterExpression"] = filter
        if start:
            self.options["ExclusiveStartKey"] = start
        self.limit = _positive(limit, "limit")
        self.page_size = _positive(page_size, "page_size")
        self.pages = 0
        self._page: tuple[list[Model], str | None] | None = None

    def __iter__(self) -> Iterator[Model]:
        return self._walk({})

    def _walk(self, stop: dict[str, Any]) -> Iterator[Model]:
        """Yield the items; leave in ``stop["key"]`` the key to resume from (None at the end)."""
        table = self.model._table()
        call = getattr(table, self.operation)
        options = dict(self.options)
        returned = 0
        what = f"reading {self.model.__name__} items"
        stop["key"] = None
        while True:
            wanted = [n for n in (self.page_size, self.limit and self.limit - returned) if n]
            if wanted:
                options["Limit"] = min(wanted)
            response = _dynamo(what, call, **options)
            self.pages += 1
            last = response.get("LastEvaluatedKey")
            items = response.get("Items", [])
            for position, item in enumerate(items):
                returned += 1
                yield self.model.from_item(item)
                if self.limit is not None and returned >= self.limit:
                    if position < len(items) - 1:  # more than Limit came: resume after this
                        last = {n: item[n] for n in self.model._key_names(self.index)}
                    stop["key"] = last or None
                    return
            stop["key"] = last or None
            if not last:
                return
            options["ExclusiveStartKey"] = last

    def _fetch(self) -> tuple[list[Model], str | None]:
        if self._page is None:
            stop: dict[str, Any] = {}
            items = list(self._walk(stop))
            cursor = _encode_cursor(self.model, self.index, stop["key"]) if stop["key"] else None
            self._page = (items, cursor)
        return self._page

    @property
    def items(self) -> list[Model]:
        """This page's items: the first ``limit`` (every item when there is no limit)."""
        return self._fetch()[0]

    @property
    def cursor(self) -> str | None:
        """Where the next page starts, for ``cursor=``; None when this page is the last."""
        return self._fetch()[1]

    def all(self) -> list[Model]:
        return list(self)

    def first(self) -> Model | None:
        return next(iter(self), None)


def _encode_cursor(model: type[Model], index: str | None, key: dict[str, Any]) -> str:
    """An opaque, URL-safe cursor for a LastEvaluatedKey, bound to its table and index."""
    import base64
    import json

    values = {}
    for name, value in key.items():
        if isinstance(value, str):
            values[name] = ["S", value]
        elif isinstance(value, (int, Decimal)):
            values[name] = ["N", str(value)]
        else:  # boto3's Binary, or bytes
            raw = bytes(getattr(value, "value", value))
            values[name] = ["B", base64.b64encode(raw).decode("ascii")]
    text = json.dumps({"t": model.table_name(), "i": index, "k": values}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode("ascii").rstrip("=")


def _decode_cursor(model: type[Model], index: str | None, cursor: Any,
                   hash_key: tuple[str, Any] | None) -> dict[str, Any] | None:  # fmt: skip
    """The ExclusiveStartKey a cursor holds, or ValidationError (a 400) when it is not one
    this table and index gave out: garbage, tampered, or from another table or index."""
    if cursor is None or cursor == "":
        return None
    invalid = ValidationError(
        "cursor is not valid here; pass back the cursor of the previous page unchanged, "
        "or none for the first page"
    )
    if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR:
        raise invalid
    if not re.fullmatch(r"[A-Za-z0-9_-]+", cursor):
        raise invalid
    import base64
    import binascii
    import json

    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, RecursionError):  # bad base64, UTF-8 or JSON
        raise invalid from None
    if not isinstance(payload, dict) or set(payload) != {"t", "i", "k"}:
        raise invalid
    if payload["t"] != model.table_name() or payload["i"] != index:
        raise ValidationError(
            "cursor belongs to another table or index; use it only with the query that gave it"
        )
    values = payload["k"]
    names = model._key_names(index)
    if not isinstance(values, dict) or sorted(values) != sorted(names):
        raise invalid
    types = {a.name: a.dynamo_type for a in model.attributes.values()}
    key: dict[str, Any] = {}
    for name in names:
        entry = values[name]
        if not (isinstance(entry, list) and len(entry) == 2 and entry[0] == types[name]):
            raise invalid
        kind, text = entry
        if not isinstance(text, str) or not text:
            raise invalid
        try:
            if kind == "N":
                key[name] = _stored_number(_number(Decimal(text), "cursor"))
            elif kind == "B":
                key[name] = base64.b64decode(text, validate=True)
            else:
                key[name] = _text(text, "cursor")
        except (ArithmeticError, ValueError, ValidationError):
            raise invalid from None
    if hash_key is not None and key.get(hash_key[0]) != hash_key[1]:
        raise ValidationError(
            "cursor belongs to another query; use it only with the one it came from"
        )
    return key


class Transaction:
    """Writes that succeed or fail together (TransactWriteItems), sent when the block ends.

    Sent through the resource's client, which takes plain values as a Table does.
    Versioned items get their version condition and the next version, as with ``save``."""

    def __init__(self) -> None:
        self.actions: list[dict[str, Any]] = []
        self.bumps: list[tuple[Model, int]] = []

    def __enter__(self) -> "Transaction":
        return self

    @staticmethod
    def _condition(options: dict[str, Any], condition: Any) -> dict[str, Any]:
        """Build the condition into the action (boto3 would put its names at the top)."""
        if condition is None:
            return options
        from boto3.dynamodb.conditions import ConditionExpressionBuilder

        built = ConditionExpressionBuilder().build_expression(condition)
        options["ConditionExpression"] = built.condition_expression
        options.setdefault("ExpressionAttributeNames", {}).update(built.attribute_name_placeholders)
        if built.attribute_value_placeholders:
            values = options.setdefault("ExpressionAttributeValues", {})
            values.update(built.attribute_value_placeholders)
        return options

    def put(self, item: Model, condition: Any = None) -> None:
        stored = item.to_item()
        condition, version = item._version_guard(condition)
        if version is not None and item.version_field:
            stored[item.attributes[item.version_field].name] = Decimal(version)
            self.bumps.append((item, version))
        options = {"TableName": item.table_name(), "Item": stored}
        self.actions.append({"Put": self._condition(options, condition)})

    def delete(self, item: Model, condition: Any = None) -> None:
        condition, _ = item._version_guard(condition)
        options = {"TableName": item.table_name(), "Key": item.own_key()}
        self.actions.append({"Delete": self._condition(options, condition)})

    def check(self, item: Model, condition: Any) -> None:
        options = {"TableName": item.table_name(), "Key": item.own_key()}
        self.actions.append({"ConditionCheck": self._condition(options, condition)})

    def update(self, item: Model, set: dict[str, Any] | None = None,
               add: dict[str, Any] | None = None, remove: Iterable[str] = (),
               condition: Any = None) -> None:  # fmt: skip
        """As ``Model.update``; the instance is not refreshed (a transaction returns nothing)."""
        condition, version = item._version_guard(condition)
        expression, names, values = item._changes(set, add, remove, version)
        options: dict[str, Any] = {
            "TableName": item.table_name(),
            "Key": item.own_key(),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
        }
        if values:
            options["ExpressionAttributeValues"] = values
        self.actions.append({"Update": self._condition(options, condition)})
        if version is not None:
            self.bumps.append((item, version))

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        if kind is not None or not self.actions:
            return
        client = dynamo_db.connect().client
        _dynamo(
            f"a transaction of {len(self.actions)} actions",
            client.transact_write_items,
            TransactItems=self.actions,
        )
        for item, version in self.bumps:
            if item.version_field:
                item.__dict__[item.version_field] = version
