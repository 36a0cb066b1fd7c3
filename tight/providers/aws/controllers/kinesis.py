"""Kinesis data stream consumers: ``@kinesis.record`` registers a function called per record.

    import tight.providers.aws.controllers.kinesis as kinesis

    @kinesis.record
    def on_record(*args, **kwargs):
        record = kwargs["record"]

The handler gets the keyword arguments ``record``, ``event`` and ``context``; the decorator
returns it unchanged, so tests can call it directly.

``record`` is a ``KinesisRecord`` (below): ``sequence_number``, ``partition_key``,
``data`` (bytes), ``json()``. A raise stops the batch there: that record and every later one
are reported in ``batchItemFailures``, and Lambda resumes from it.
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


class KinesisRecord(Record):
    """One Kinesis data stream record. ``data`` is base64-decoded on each read."""

    __slots__ = ()

    @property
    def _kinesis(self) -> dict[str, Any]:
        return mapping(self._raw.get("kinesis"))

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


SOURCE = batch.Source(sources.KINESIS, "Kinesis", KinesisRecord, batch.STREAM)


def record(handler: "Handler") -> "Handler":
    """Register ``handler`` to be called once per Kinesis record; returns it unchanged."""
    return SOURCE.register(handler)
