"""DynamoDB stream consumers: ``@dynamodb_stream.record`` registers a function called per record.

    import tight.providers.aws.controllers.dynamodb_stream as dynamodb_stream

    @dynamodb_stream.record
    def on_record(*args, **kwargs):
        record = kwargs["record"]

The handler gets the keyword arguments ``record``, ``event`` and ``context``; the decorator
returns it unchanged, so tests can call it directly.

``record`` is a ``DynamoDBStreamRecord`` (below): ``event_name`` (INSERT, MODIFY,
REMOVE), ``sequence_number``, ``keys``, ``new_image``, ``old_image`` as plain values, and
``model(Model)``. A raise stops the batch there: that record and every later one are reported
in ``batchItemFailures``, and Lambda resumes from it.
"""

from tight import batch, sources
from tight.batch import Record, mapping

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tight.batch import Handler
else:
    Any = object


class DynamoDBStreamRecord(Record):
    """One change of a DynamoDB item. Images come as plain Python values: str, int or
    Decimal, bytes, set, list, dict, bool, None."""

    __slots__ = ()

    @property
    def _change(self) -> dict[str, Any]:
        return mapping(self._raw.get("dynamodb"))

    @property
    def event_name(self) -> str | None:
        """``INSERT``, ``MODIFY`` or ``REMOVE``."""
        return self._raw.get("eventName")

    @property
    def sequence_number(self) -> str | None:
        return self._change.get("SequenceNumber")

    item_id = sequence_number

    @property
    def keys(self) -> dict[str, Any]:
        return plain_item(self._change.get("Keys"))

    @property
    def new_image(self) -> dict[str, Any] | None:
        """The item after the change; None for a removal or a stream without new images."""
        image = self._change.get("NewImage")
        return plain_item(image) if image is not None else None

    @property
    def old_image(self) -> dict[str, Any] | None:
        """The item before the change; None for an insert or a stream without old images."""
        image = self._change.get("OldImage")
        return plain_item(image) if image is not None else None

    def model(self, model: Any, old: bool = False) -> Any:
        """The changed item as an instance of ``model`` (a ``tight.models.Model``): the new
        image, or the old one when ``old`` is true or the item was removed."""
        use_old = old or self.event_name == "REMOVE"
        image = self.old_image if use_old else self.new_image
        if image is None:
            wanted = "OldImage" if use_old else "NewImage"
            raise ValueError(
                f"this {self.event_name} record has no {wanted}; set the table's stream view "
                "type to NEW_AND_OLD_IMAGES (Model.stream) to get whole items"
            )
        return model.from_item(image)

    @property
    def stream_arn(self) -> str | None:
        return self._raw.get("eventSourceARN")


# -- DynamoDB's typed JSON -> plain values --------------------------------------------------
# Written out rather than taken from boto3's TypeDeserializer: importing boto3 costs a stream
# consumer's cold start 100-300 ms, and its result (Decimal, Binary) needs a second pass anyway.


def plain_item(image: Any) -> dict[str, Any]:
    """A DynamoDB item in its typed JSON form (``{"Id": {"N": "101"}}``) as plain values."""
    return {name: plain_value(value) for name, value in mapping(image).items()}


def plain_value(value: dict[str, Any]) -> Any:
    """One typed DynamoDB value (``{"N": "101"}``) as a plain Python value."""
    if not isinstance(value, dict) or len(value) != 1:
        raise ValueError(f"not a DynamoDB attribute value: {value!r}")
    ((kind, data),) = value.items()
    if kind == "S" or kind == "BOOL":
        return data
    if kind == "N":
        return _number(data)
    if kind == "M":
        return {name: plain_value(item) for name, item in data.items()}
    if kind == "L":
        return [plain_value(item) for item in data]
    if kind == "NULL":
        return None
    if kind == "SS":
        return set(data)
    if kind == "NS":
        return {_number(item) for item in data}
    if kind == "B" or kind == "BS":
        import base64

        if kind == "B":
            return base64.b64decode(data)
        return {base64.b64decode(item) for item in data}
    raise ValueError(f"unknown DynamoDB type {kind!r} in {value!r}")


def _number(text: str) -> Any:
    """An int when the number is whole, else a Decimal (never a float), as models give."""
    try:
        return int(text)
    except ValueError:
        from decimal import Decimal

        number = Decimal(text)
        return int(number) if number == number.to_integral_value() else number


SOURCE = batch.Source(
    sources.DYNAMODB_STREAM, "DynamoDB stream", DynamoDBStreamRecord, batch.STREAM
)


def record(handler: "Handler") -> "Handler":
    """Register ``handler`` to be called once per DynamoDB stream record; returns it unchanged."""
    return SOURCE.register(handler)
