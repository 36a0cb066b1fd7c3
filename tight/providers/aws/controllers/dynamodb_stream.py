"""DynamoDB stream consumers: ``@dynamodb_stream.record`` registers a function called per record.

    import tight.providers.aws.controllers.dynamodb_stream as dynamodb_stream

    @dynamodb_stream.record
    def on_record(*args, **kwargs):
        record = kwargs["record"]

The handler gets the keyword arguments ``record``, ``event`` and ``context``; the decorator
returns it unchanged, so tests can call it directly.

``record`` is a ``tight.records.DynamoDBStreamRecord``: ``event_name`` (INSERT, MODIFY,
REMOVE), ``sequence_number``, ``keys``, ``new_image``, ``old_image`` as plain values, and
``model(Model)``. A raise stops the batch there: that record and every later one are reported
in ``batchItemFailures``, and Lambda resumes from it.
"""

from tight import batch, sources
from tight.records import DynamoDBStreamRecord

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tight.batch import Handler

SOURCE = batch.Source(
    sources.DYNAMODB_STREAM, "DynamoDB stream", DynamoDBStreamRecord, batch.STREAM
)


def record(handler: "Handler") -> "Handler":
    """Register ``handler`` to be called once per DynamoDB stream record; returns it unchanged."""
    return SOURCE.register(handler)
