"""S3 event notifications: ``@s3.record`` registers a function called per record.

    import tight.providers.aws.controllers.s3 as s3

    @s3.record
    def on_record(*args, **kwargs):
        record = kwargs["record"]

The handler gets the keyword arguments ``record``, ``event`` and ``context``; the decorator
returns it unchanged, so tests can call it directly.

``record`` is a ``tight.records.S3Object``: ``event_name``, ``bucket``, ``key`` (decoded),
``size``, ``version_id``. S3 invokes asynchronously: a raise is logged and fails the
invocation, so Lambda's retries and dead-letter queue apply.
"""

from tight import batch, sources
from tight.records import S3Object

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tight.batch import Handler

SOURCE = batch.Source(sources.S3, "S3", S3Object, batch.RAISE)


def record(handler: "Handler") -> "Handler":
    """Register ``handler`` to be called once per S3 record; returns it unchanged."""
    return SOURCE.register(handler)
