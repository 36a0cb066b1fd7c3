"""Lazy, read-only views of one record from each event source Tight serves: what a
``@sqs.record`` (``sns``, ``s3``, ``kinesis``, ``dynamodb_stream``, ``eventbridge``) handler
receives as ``record``.

Each view wraps the record's dict as Lambda delivered it, copies nothing and works a field out
only when asked (a body is JSON-decoded, Kinesis data base64-decoded, a DynamoDB image
converted, on each call to the method or property that needs it); ``raw`` is the dict itself.
``item_id`` is what Lambda's ``batchItemFailures`` and the failure log name the record by.
"""

import json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
else:
    # Annotations are evaluated at import; loading typing for them would cost every
    # cold start more than this whole module does.
    Any = object

_EMPTY: dict[str, Any] = {}


def _mapping(value: Any) -> dict[str, Any]:
    """The value if it is a dict, else an empty one (events may carry nulls)."""
    return value if isinstance(value, dict) else _EMPTY


class Record:
    """A read-only view of one record; subclasses add the fields of their source."""

    __slots__ = ("_raw",)

    def __init__(self, raw: dict[str, Any]) -> None:
        self._raw = raw

    @property
    def raw(self) -> dict[str, Any]:
        """The record exactly as Lambda delivered it."""
        return self._raw

    @property
    def item_id(self) -> str | None:
        """The id Lambda knows this record by, in logs and in ``batchItemFailures``."""
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.item_id}>"


class SQSMessage(Record):
    """One SQS message. ``json()`` decodes the body on each call."""

    __slots__ = ()

    @property
    def message_id(self) -> str:
        message_id: str = self._raw["messageId"]
        return message_id

    @property
    def item_id(self) -> str | None:
        value = self._raw.get("messageId")
        return value if isinstance(value, str) else None

    @property
    def body(self) -> str:
        body = self._raw.get("body")
        return body if isinstance(body, str) else ""

    def json(self) -> Any:
        """The body decoded as JSON (a ``ValueError`` if it is not JSON fails the message)."""
        return json.loads(self._raw["body"])

    @property
    def attributes(self) -> dict[str, str]:
        """SQS's own attributes: ``ApproximateReceiveCount``, ``SentTimestamp``, ..."""
        return _mapping(self._raw.get("attributes"))

    @property
    def message_attributes(self) -> dict[str, Any]:
        """The sender's attributes by name: a str (String and Number types) or bytes (Binary)."""
        found: dict[str, Any] = {}
        for name, attribute in _mapping(self._raw.get("messageAttributes")).items():
            attribute = _mapping(attribute)
            if attribute.get("stringValue") is not None:
                found[name] = attribute["stringValue"]
            elif attribute.get("binaryValue") is not None:
                import base64

                found[name] = base64.b64decode(attribute["binaryValue"])
        return found

    @property
    def group_id(self) -> str | None:
        """The message group of a FIFO queue's message; None on a standard queue."""
        return self.attributes.get("MessageGroupId")

    @property
    def receipt_handle(self) -> str | None:
        return self._raw.get("receiptHandle")

    @property
    def queue_arn(self) -> str | None:
        return self._raw.get("eventSourceARN")


class SNSMessage(Record):
    """One SNS notification. ``json()`` decodes the message on each call."""

    __slots__ = ()

    @property
    def _sns(self) -> dict[str, Any]:
        return _mapping(self._raw.get("Sns"))

    @property
    def message_id(self) -> str | None:
        return self._sns.get("MessageId")

    item_id = message_id

    @property
    def message(self) -> str:
        message = self._sns.get("Message")
        return message if isinstance(message, str) else ""

    def json(self) -> Any:
        """The message decoded as JSON."""
        return json.loads(self._sns["Message"])

    @property
    def subject(self) -> str | None:
        return self._sns.get("Subject")

    @property
    def attributes(self) -> dict[str, Any]:
        """The message attributes by name, their ``Value`` as SNS sent it."""
        return {
            name: _mapping(attribute).get("Value")
            for name, attribute in _mapping(self._sns.get("MessageAttributes")).items()
        }

    @property
    def topic_arn(self) -> str | None:
        return self._sns.get("TopicArn")

    @property
    def timestamp(self) -> str | None:
        return self._sns.get("Timestamp")


class S3Object(Record):
    """One S3 event notification: which object, in which bucket, what happened to it."""

    __slots__ = ()

    @property
    def _object(self) -> dict[str, Any]:
        return _mapping(_mapping(self._raw.get("s3")).get("object"))

    @property
    def event_name(self) -> str | None:
        """What happened, as S3 names it: ``ObjectCreated:Put``, ``ObjectRemoved:Delete``..."""
        return self._raw.get("eventName")

    @property
    def bucket(self) -> str | None:
        return _mapping(_mapping(self._raw.get("s3")).get("bucket")).get("name")

    @property
    def key(self) -> str:
        """The object's key, decoded: S3 sends it form-encoded (``my+file%21.txt``)."""
        from urllib.parse import unquote_plus

        key = self._object.get("key")
        return unquote_plus(key) if isinstance(key, str) else ""

    @property
    def size(self) -> int | None:
        """The size in bytes (None for a deletion, which carries none)."""
        size = self._object.get("size")
        return size if isinstance(size, int) else None

    @property
    def version_id(self) -> str | None:
        return self._object.get("versionId")

    @property
    def etag(self) -> str | None:
        return self._object.get("eTag")

    @property
    def time(self) -> str | None:
        return self._raw.get("eventTime")

    @property
    def item_id(self) -> str | None:
        sequencer = self._object.get("sequencer")
        return f"s3://{self.bucket}/{self.key}" + (f" ({sequencer})" if sequencer else "")


class KinesisRecord(Record):
    """One Kinesis data stream record. ``data`` is base64-decoded on each read."""

    __slots__ = ()

    @property
    def _kinesis(self) -> dict[str, Any]:
        return _mapping(self._raw.get("kinesis"))

    @property
    def sequence_number(self) -> str | None:
        return self._kinesis.get("sequenceNumber")

    item_id = sequence_number

    @property
    def partition_key(self) -> str | None:
        return self._kinesis.get("partitionKey")

    @property
    def data(self) -> bytes:
        import base64

        return base64.b64decode(self._kinesis.get("data") or "")

    def json(self) -> Any:
        """The data decoded as JSON."""
        return json.loads(self.data)

    @property
    def arrival_time(self) -> float | None:
        """When Kinesis received the record, in epoch seconds."""
        return self._kinesis.get("approximateArrivalTimestamp")

    @property
    def stream_arn(self) -> str | None:
        return self._raw.get("eventSourceARN")


class DynamoDBStreamRecord(Record):
    """One change of a DynamoDB item. Images come as plain Python values: str, int or
    Decimal, bytes, set, list, dict, bool, None."""

    __slots__ = ()

    @property
    def _change(self) -> dict[str, Any]:
        return _mapping(self._raw.get("dynamodb"))

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


class EventBridgeEvent(Record):
    """An EventBridge event; a scheduled event is one with ``detail_type`` "Scheduled Event"."""

    __slots__ = ()

    @property
    def id(self) -> str | None:
        return self._raw.get("id")

    item_id = id

    @property
    def source(self) -> str | None:
        return self._raw.get("source")

    @property
    def detail_type(self) -> str | None:
        return self._raw.get("detail-type")

    @property
    def detail(self) -> dict[str, Any]:
        return _mapping(self._raw.get("detail"))

    @property
    def time(self) -> str | None:
        return self._raw.get("time")

    @property
    def resources(self) -> list[str]:
        resources = self._raw.get("resources")
        return resources if isinstance(resources, list) else []

    @property
    def account(self) -> str | None:
        return self._raw.get("account")

    @property
    def region(self) -> str | None:
        return self._raw.get("region")


# -- DynamoDB's typed JSON -> plain values --------------------------------------------------
# Written out rather than taken from boto3's TypeDeserializer: importing boto3 costs a stream
# consumer's cold start 100-300 ms, and its result (Decimal, Binary) needs a second pass anyway.


def plain_item(image: Any) -> dict[str, Any]:
    """A DynamoDB item in its typed JSON form (``{"Id": {"N": "101"}}``) as plain values."""
    return {name: plain_value(value) for name, value in _mapping(image).items()}


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
