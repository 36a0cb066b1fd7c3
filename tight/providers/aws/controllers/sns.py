"""SNS topic subscribers: ``@sns.record`` registers a function called per record.

    import tight.providers.aws.controllers.sns as sns

    @sns.record
    def on_record(*args, **kwargs):
        record = kwargs["record"]

The handler gets the keyword arguments ``record``, ``event`` and ``context``; the decorator
returns it unchanged, so tests can call it directly.

``record`` is an ``SNSMessage`` (below): ``message_id``, ``message``, ``json()``,
``subject``, ``attributes``. SNS invokes asynchronously: a raise is logged and fails the
invocation, so Lambda's retries and dead-letter queue apply.
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


class SNSMessage(Record):
    """One SNS notification. ``json()`` decodes the message on each call."""

    __slots__ = ()

    @property
    def _sns(self) -> dict[str, Any]:
        return mapping(self._raw.get("Sns"))

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
            name: mapping(attribute).get("Value")
            for name, attribute in mapping(self._sns.get("MessageAttributes")).items()
        }

    @property
    def topic_arn(self) -> str | None:
        return self._sns.get("TopicArn")

    @property
    def timestamp(self) -> str | None:
        return self._sns.get("Timestamp")


SOURCE = batch.Source(sources.SNS, "SNS", SNSMessage, batch.RAISE)


def record(handler: "Handler") -> "Handler":
    """Register ``handler`` to be called once per SNS record; returns it unchanged."""
    return SOURCE.register(handler)
