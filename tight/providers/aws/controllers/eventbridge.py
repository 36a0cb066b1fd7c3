"""EventBridge rules and schedules: ``@eventbridge.record`` registers a function called per record.

    import tight.providers.aws.controllers.eventbridge as eventbridge

    @eventbridge.record
    def on_record(*args, **kwargs):
        record = kwargs["record"]

The handler gets the keyword arguments ``record``, ``event`` and ``context``; the decorator
returns it unchanged, so tests can call it directly.

``record`` is a ``tight.records.EventBridgeEvent``: ``id``, ``source``, ``detail_type``,
``detail``, ``time``, ``resources``. A scheduled event is an EventBridge event (detail type
"Scheduled Event"), so this module serves schedules too. The handler is called once per event;
a raise is logged and fails the invocation, so Lambda's retries and dead-letter queue apply.
"""

from tight import batch, sources
from tight.records import EventBridgeEvent

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tight.batch import Handler

SOURCE = batch.Source(sources.EVENTBRIDGE, "EventBridge", EventBridgeEvent, batch.RAISE)


def record(handler: "Handler") -> "Handler":
    """Register ``handler`` to be called once per EventBridge record; returns it unchanged."""
    return SOURCE.register(handler)
