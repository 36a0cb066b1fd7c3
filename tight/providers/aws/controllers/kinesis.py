"""Kinesis data stream consumers: ``@kinesis.record`` registers a function called per record.

    import tight.providers.aws.controllers.kinesis as kinesis

    @kinesis.record
    def on_record(*args, **kwargs):
        record = kwargs["record"]

The handler gets the keyword arguments ``record``, ``event`` and ``context``; the decorator
returns it unchanged, so tests can call it directly.

``record`` is a ``tight.records.KinesisRecord``: ``sequence_number``, ``partition_key``,
``data`` (bytes), ``json()``. A raise stops the batch there: that record and every later one
are reported in ``batchItemFailures``, and Lambda resumes from it.
"""

from tight import batch, sources
from tight.records import KinesisRecord

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tight.batch import Handler

SOURCE = batch.Source(sources.KINESIS, "Kinesis", KinesisRecord, batch.STREAM)


def record(handler: "Handler") -> "Handler":
    """Register ``handler`` to be called once per Kinesis record; returns it unchanged."""
    return SOURCE.register(handler)
