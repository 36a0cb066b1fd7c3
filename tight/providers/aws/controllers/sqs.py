"""SQS queue consumers: ``@sqs.record`` registers a function called per record.

    import tight.providers.aws.controllers.sqs as sqs

    @sqs.record
    def on_record(*args, **kwargs):
        record = kwargs["record"]

The handler gets the keyword arguments ``record``, ``event`` and ``context``; the decorator
returns it unchanged, so tests can call it directly.

``record`` is a ``tight.records.SQSMessage``: ``message_id``, ``body``, ``json()``,
``attributes``, ``message_attributes``, ``group_id``. A raise reports that message failed in
``batchItemFailures``: on a standard queue every message is tried; on a FIFO queue processing
stops there and the later messages are reported too, so their order is kept.
"""

from tight import batch, sources
from tight.records import SQSMessage

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tight.batch import Handler

SOURCE = batch.Source(sources.SQS, "SQS", SQSMessage, batch.QUEUE)


def record(handler: "Handler") -> "Handler":
    """Register ``handler`` to be called once per SQS record; returns it unchanged."""
    return SOURCE.register(handler)
