"""SNS topic subscribers: ``@sns.record`` registers a function called per record.

    import tight.providers.aws.controllers.sns as sns

    @sns.record
    def on_record(*args, **kwargs):
        record = kwargs["record"]

The handler gets the keyword arguments ``record``, ``event`` and ``context``; the decorator
returns it unchanged, so tests can call it directly.

``record`` is a ``tight.records.SNSMessage``: ``message_id``, ``message``, ``json()``,
``subject``, ``attributes``. SNS invokes asynchronously: a raise is logged and fails the
invocation, so Lambda's retries and dead-letter queue apply.
"""

from tight import batch, sources
from tight.records import SNSMessage

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tight.batch import Handler

SOURCE = batch.Source(sources.SNS, "SNS", SNSMessage, batch.RAISE)


def record(handler: "Handler") -> "Handler":
    """Register ``handler`` to be called once per SNS record; returns it unchanged."""
    return SOURCE.register(handler)
