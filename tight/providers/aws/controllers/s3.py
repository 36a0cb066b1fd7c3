"""S3 event notifications: ``@s3.record`` registers a function called per record.

    import tight.providers.aws.controllers.s3 as s3

    @s3.record
    def on_record(*args, **kwargs):
        record = kwargs["record"]

The handler gets the keyword arguments ``record``, ``event`` and ``context``; the decorator
returns it unchanged, so tests can call it directly.

``record`` is an ``S3Object`` (below): ``event_name``, ``bucket``, ``key`` (decoded),
``size``, ``version_id``. S3 invokes asynchronously: a raise is logged and fails the
invocation, so Lambda's retries and dead-letter queue apply.
"""

from tight import batch, sources
from tight.batch import Record, mapping

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tight.batch import Handler
else:
    Any = object


class S3Object(Record):
    """One S3 event notification: which object, in which bucket, what happened to it."""

    __slots__ = ()

    @property
    def _object(self) -> dict[str, Any]:
        return mapping(mapping(self._raw.get("s3")).get("object"))

    @property
    def event_name(self) -> str | None:
        """What happened, as S3 names it: ``ObjectCreated:Put``, ``ObjectRemoved:Delete``..."""
        return self._raw.get("eventName")

    @property
    def bucket(self) -> str | None:
        return mapping(mapping(self._raw.get("s3")).get("bucket")).get("name")

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


SOURCE = batch.Source(sources.S3, "S3", S3Object, batch.RAISE)


def record(handler: "Handler") -> "Handler":
    """Register ``handler`` to be called once per S3 record; returns it unchanged."""
    return SOURCE.register(handler)
