"""Record handlers for event sources: ``@sqs.record`` and its siblings register a function
that ``dispatch`` calls once per record, and what a failure does depends on the source.

Each controller module (``sqs``, ``sns``, ``s3``, ``kinesis``, ``dynamodb_stream``,
``eventbridge``) defines its record view on ``Record``: a lazy, read-only wrapper of the record
dict that works a field out only when asked, kept beside its decorator so that a function
imports the code of its own source only.

- Queues and streams (SQS, Kinesis, DynamoDB streams) answer ``{"batchItemFailures": [...]}``
  so that only failed records come back. A standard queue tries every message; a FIFO queue
  (its ARN ends in ``.fifo``) and the streams stop at the first failure and report it with
  every later record, so order is kept and Lambda checkpoints there. When every record of a
  batch is reported failed, the invocation raises ``BatchFailed`` instead, so the failure
  shows in Lambda's error metrics.
- SNS, S3 and EventBridge invoke asynchronously: a failure is logged and re-raised, so
  Lambda's retries and dead-letter queue apply.

Each failed record is logged with its id, the error type and the traceback, never its
body. An event from another source raises ``tight.errors.WrongEventSource``. A function
module serves one kind of event: registering a second kind is an error at import.
"""

import sys

from tight import sources
from tight.serving import require_plain_function, serve_as

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Handler = Callable[..., Any]
else:
    # Annotations are evaluated at import; loading typing for them would cost every
    # cold start more than this whole module does.
    Any = Handler = object

# What to do with a failed record.
QUEUE = "queue"  # report it (and, on a FIFO queue, every later one)
STREAM = "stream"  # stop, report it and every later one
RAISE = "raise"  # log it and fail the invocation

# The handler module's global that holds its RecordController: kept in the module itself,
# so a module imported afresh (a new deployment, a test) starts with a clean slate.
REGISTRY = "__tight_record_controller__"
LAMBDA_PROXY = "tight.providers.aws.controllers.lambda_proxy_event"


_EMPTY: dict[str, Any] = {}


def mapping(value: Any) -> dict[str, Any]:
    """The value if it is a dict, else an empty one (events may carry nulls)."""
    return value if isinstance(value, dict) else _EMPTY


class Record:
    """A read-only view of one record; subclasses add the fields of their source."""

    __slots__ = ("_raw",)

    def __init__(self, raw: dict[str, Any]) -> None:
        self._raw = raw

    @property
    def raw(self) -> dict[str, Any]:
        """The record exactly as Lambda delivered it."""
        return self._raw

    @property
    def item_id(self) -> str | None:
        """The id Lambda knows this record by, in logs and in ``batchItemFailures``."""
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.item_id}>"


class BatchFailed(Exception):
    """Every record of a batch failed; raised so Lambda counts the invocation as an error."""


class KindConflict(TypeError):
    """A function module registered handlers of two kinds (SQS and SNS, SQS and HTTP, ...)."""


def function_label(module: str) -> str:
    """How errors name the function a handler module belongs to."""
    parts = module.split(".")
    if len(parts) >= 4 and parts[-1] == "handler" and parts[-3] == "functions":
        return f"function {parts[-2]!r} (app/functions/{parts[-2]}/handler.py)"
    return f"module {module}"


class Source:
    """One event source: its name in ``tight.sources``, its record view, its failure policy."""

    __slots__ = ("label", "name", "policy", "view")

    def __init__(self, name: str, label: str, view: Any, policy: str) -> None:
        self.name = name
        self.label = label
        self.view = view
        self.policy = policy

    def register(self, handler: Handler) -> Handler:
        """Make ``handler`` its module's record handler; returns it unchanged."""
        namespace = getattr(handler, "__globals__", None)
        if not callable(handler) or not isinstance(namespace, dict):
            raise TypeError(f"@{self.name}.record decorates a function, not {handler!r}")
        require_plain_function(handler, f"{self.name}.record")
        module = str(namespace.get("__name__") or getattr(handler, "__module__", "?"))
        existing = namespace.get(REGISTRY)
        if existing is not None:
            if existing.source is not self:
                raise KindConflict(
                    f"{function_label(module)} registers both @{existing.source.name}.record "
                    f"and @{self.name}.record; a function serves one kind of event, so move "
                    "one handler to a function of its own"
                )
            if existing.handler.__qualname__ != handler.__qualname__:
                raise KindConflict(
                    f"{function_label(module)} registers two @{self.name}.record handlers, "
                    f"{existing.handler.__qualname__} and {handler.__qualname__}; keep one"
                )
        proxy = sys.modules.get(LAMBDA_PROXY)
        if proxy is not None and proxy.controller_for(module) is not None:
            raise KindConflict(http_conflict(module, self.name))
        namespace[REGISTRY] = RecordController(self, handler, module)
        return handler


def http_conflict(module: str, source: str) -> str:
    return (
        f"{function_label(module)} registers both HTTP handlers (@lambda_proxy.get, ...) "
        f"and @{source}.record; a function serves one kind of event, so move one to a "
        "function of its own"
    )


def controller_of(module: Any) -> "RecordController | None":
    """The record controller a function module registered, if any."""
    controller = getattr(module, REGISTRY, None)
    return controller if isinstance(controller, RecordController) else None


def _log_failure(source: Source, view: Any, index: int, error: BaseException) -> None:
    # Imported here: a batch that never fails never loads the logger.
    from tight.core import logger

    logger.exception(
        message=f"{source.label} record failed",
        record_id=view.item_id,
        record_index=index,
        error_type=type(error).__name__,
    )


def _fifo(record: Any) -> bool:
    """An SQS record from a FIFO queue: its ARN ends in ``.fifo``, or (an event made by
    hand, without the ARN) it carries a message group id."""
    if not isinstance(record, dict):
        return False
    if str(record.get("eventSourceARN", "")).endswith(".fifo"):
        return True
    return "MessageGroupId" in mapping(record.get("attributes"))


class RecordController:
    """A function's record handler and the source it serves."""

    __slots__ = ("handler", "module", "source")

    def __init__(self, source: Source, handler: Handler, module: str) -> None:
        self.source = source
        self.handler = handler
        self.module = module

    def dispatch(self, event: Any, context: Any = None, function: str | None = None) -> Any:
        """Serve one invocation: call the handler once per record, then answer (or raise) as
        the source's failure policy says."""
        serve_as(function, None, context)
        source = self.source
        if source.name == sources.EVENTBRIDGE:
            records = [event] if sources.event_source(event) == sources.EVENTBRIDGE else None
        else:
            records = event.get("Records") if sources.event_source(event) == source.name else None
            if records is None and isinstance(event, dict) and event.get("Records") == []:
                records = []  # an empty batch: nothing to do, nothing failed
        if type(records) is not list:
            raise self._wrong_source(event, function)
        if source.policy is RAISE:
            self._each(records, event, context)
            return None
        return self._batch(records, event, context)

    def _each(self, records: list[Any], event: Any, context: Any) -> None:
        view, handler = self.source.view, self.handler
        for index, raw in enumerate(records):
            record = view(raw)
            try:
                handler(record=record, event=event, context=context)
            except Exception as error:
                _log_failure(self.source, record, index, error)
                raise

    def _batch(self, records: list[Any], event: Any, context: Any) -> dict[str, Any]:
        view, handler = self.source.view, self.handler
        failed: list[dict[str, str]] = []
        raised = 0
        first: Exception | None = None
        ordered = self.source.policy is STREAM or (bool(records) and _fifo(records[0]))
        for index, raw in enumerate(records):
            record = view(raw)
            try:
                handler(record=record, event=event, context=context)
            except Exception as error:  # noqa: BLE001 - logged, then re-raised to Lambda
                _log_failure(self.source, record, index, error)
                raised += 1
                if first is None:
                    first = error
                if ordered:
                    failed.extend(self._failure(view(later)) for later in records[index:])
                    break
                failed.append(self._failure(record))
        if failed and len(failed) == len(records):
            assert first is not None
            skipped = len(records) - raised
            raise BatchFailed(
                f"all {len(records)} records of the {self.source.label} batch failed: "
                f"{raised} raised (the first a {type(first).__name__})"
                + (f", {skipped} not tried after it to keep their order" if skipped else "")
                + "; Lambda retries the batch"
            ) from first
        return {"batchItemFailures": failed}

    def _failure(self, record: Any) -> dict[str, str]:
        item_id = record.item_id
        if not item_id:
            # Without its id the record cannot be reported alone: fail the whole batch
            # rather than let Lambda delete a message that was not processed.
            raise BatchFailed(
                f"a failed {self.source.label} record has no id to report it by; "
                "failing the whole batch so that it is retried"
            )
        return {"itemIdentifier": item_id}

    def _wrong_source(self, event: Any, function: str | None) -> Exception:
        from tight.errors import WrongEventSource
        from tight.request import event_kind

        got = sources.event_source(event)
        if got is not None:
            label = LABELS.get(got, got)
        elif event_kind(event) is not None:
            label = "HTTP"
        else:
            label = "unrecognised"
        return WrongEventSource(function, label, self.source.label)


LABELS = {
    sources.SQS: "SQS",
    sources.SNS: "SNS",
    sources.S3: "S3",
    sources.KINESIS: "Kinesis",
    sources.DYNAMODB_STREAM: "DynamoDB stream",
    sources.EVENTBRIDGE: "EventBridge",
    sources.CLOUDWATCH_LOGS: "CloudWatch Logs",
    sources.PIPES_BATCH: "EventBridge Pipes batch",
}
