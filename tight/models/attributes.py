"""A model's attributes: each declares a DynamoDB type, checks the values a model is given,
and converts them to what DynamoDB stores and back.

``String``, ``Number`` (int or Decimal, never float), ``Boolean``, ``Binary``, ``List`` and
``Map`` (documents of those), ``StringSet`` and ``NumberSet`` (an empty set is None),
``DateTime`` (aware, stored as ISO 8601 in UTC), ``TTL`` and ``Version`` (numbers with a
meaning for the table and for optimistic locking).
"""

from decimal import Decimal

from tight.models.errors import ValidationError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
else:
    Any = object

MISSING = object()
MAX_DEPTH = 32  # DynamoDB nests lists and maps at most this deep


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
