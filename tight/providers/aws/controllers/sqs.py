"""SQS queue consumers: ``@sqs.record`` registers a function called per record.

    import tight.providers.aws.controllers.sqs as sqs

    @sqs.record
    def on_record(*args, **kwargs):
        record = kwargs["record"]

The handler gets the keyword arguments ``record``, ``event`` and ``context``; the decorator
returns it unchanged, so tests can call it directly.

``record`` is an ``SQSMessage`` (below): ``message_id``, ``body``, ``json()``,
``attributes``, ``message_attributes``, ``group_id``. A raise reports that message failed in
``batchItemFailures``: on a standard queue every message is tried; on a FIFO queue processing
stops there and the later messages are reported too, so their order is kept.
"""

import json

from tight import batch, sources
from tight.batch import Record, mapping

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tight.batch import Handler
else:
    Any = object


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
        return mapping(self._raw.get("attributes"))

    @property
    def message_attributes(self) -> dict[str, Any]:
        """The sender's attributes by name: a str (String and Number types) or bytes (Binary)."""
        found: dict[str, Any] = {}
        for name, attribute in mapping(self._raw.get("messageAttributes")).items():
            attribute = mapping(attribute)
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


SOURCE = batch.Source(sources.SQS, "SQS", SQSMessage, batch.QUEUE)


def record(handler: "Handler") -> "Handler":
    """Register ``handler`` to be called once per SQS record; returns it unchanged."""
    return SOURCE.register(handler)
