"""EventBridge rules and schedules: ``@eventbridge.record`` registers a function called per record.

    import tight.providers.aws.controllers.eventbridge as eventbridge

    @eventbridge.record
    def on_record(*args, **kwargs):
        record = kwargs["record"]

The handler gets the keyword arguments ``record``, ``event`` and ``context``; the decorator
returns it unchanged, so tests can call it directly.

``record`` is an ``EventBridgeEvent`` (below): ``id``, ``source``, ``detail_type``,
``detail``, ``time``, ``resources``. A scheduled event is an EventBridge event (detail type
"Scheduled Event"), so this module serves schedules too. The handler is called once per event;
a raise is logged and fails the invocation, so Lambda's retries and dead-letter queue apply.
"""

from tight import batch, sources
from tight.batch import Record, mapping

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tight.batch import Handler
else:
    Any = object


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
        return mapping(self._raw.get("detail"))

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


SOURCE = batch.Source(sources.EVENTBRIDGE, "EventBridge", EventBridgeEvent, batch.RAISE)


def record(handler: "Handler") -> "Handler":
    """Register ``handler`` to be called once per EventBridge record; returns it unchanged."""
    return SOURCE.register(handler)
