"""Lambda-proxy controllers: ``@get``, ``@post``, ... register plain functions as handlers.

Each decorator records the function for its HTTP method on the controller of the module
that defines it and returns the function unchanged, so handlers stay plain functions that
unit tests can call. ``dispatch`` serves one event: it reads the request (``tight.request``),
calls the handler with ``event``, ``context``, ``principal_id`` and ``request``, and builds
the response (``tight.response``). Errors never escape to Lambda: an ``HTTPError``
becomes its status, anything else a 500 with Lambda's request id, the traceback going to the
log. The one exception is an event from another service (an SQS batch, an EventBridge
event): ``WrongEventSource`` is raised, so Lambda counts the invocation as failed and the
batch is retried or sent to its DLQ instead of being deleted unprocessed.
"""

import os
import sys

from tight import config, serving
from tight import response as responses
from tight.request import ALB, REST, Request, decoded_event, event_kind

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Handler = Callable[..., Any]

    from tight.errors import DuplicateHandler as DuplicateHandler
else:
    # Annotations are evaluated at import; loading typing for them would cost every
    # cold start more than this whole module does. Those that would build an object
    # (``str | None``, ``dict[str, Any]``) are quoted, so the cold start builds none.
    Any = Handler = object

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD")

# Records the invocation being served, for its log lines.
serve_as = serving.serve_as


def reject_other_sources(event: Any, function: "str | None", context: Any = None) -> None:
    """Raise ``WrongEventSource`` (and log it) if ``event`` comes from a non-HTTP service."""
    from tight.sources import event_source

    source = event_source(event)
    if source is None:
        return
    # The names the event-source controllers use in the same error ("SQS", "EventBridge").
    from tight.batch import LABELS
    from tight.errors import WrongEventSource

    serve_as(function, None, context)
    error = WrongEventSource(function, LABELS.get(source, source), "HTTP")
    from tight.core import logger

    logger.error(message=str(error), source=source)
    raise error


def _log_exception(message: str, **fields: Any) -> None:
    # Imported here: a function that never fails or logs never loads the logger.
    from tight.core import logger

    logger.exception(message=message, **fields)


# DuplicateHandler lives in tight.errors, loaded only when something fails; the name stays
# importable from here.
if not TYPE_CHECKING:  # type checkers see the import under TYPE_CHECKING instead

    def __getattr__(name: str) -> Any:
        if name == "DuplicateHandler":
            from tight.errors import DuplicateHandler

            return DuplicateHandler
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _duplicate_handler(message: str) -> Exception:
    """``tight.errors.DuplicateHandler``, imported only when it is raised."""
    from tight.errors import DuplicateHandler

    return DuplicateHandler(message)


class Controller:
    """The handlers one controller module registered, by HTTP method."""

    __slots__ = ("handlers", "module", "typed")

    def __init__(self, module: str) -> None:
        self.module = module
        self.handlers: dict[str, Handler] = {}
        # Handlers with annotations -> their tight.typed.Binder (None until the first call).
        self.typed: dict[Handler, Any] = {}

    def register(self, method: str, handler: Handler) -> None:
        existing = self.handlers.get(method)
        # Re-running a module (a reload in tests) registers the same function again: fine.
        if existing is not None and existing.__qualname__ != handler.__qualname__:
            raise _duplicate_handler(
                f"{self.module} registers two {method} handlers, {existing.__qualname__} and "
                f"{handler.__qualname__}; keep one @{method.lower()} per function module"
            )
        if existing is not None:
            self.typed.pop(existing, None)
        self.handlers[method] = handler
        if is_typed(handler):
            self.typed[handler] = None

    def allowed(self) -> "list[str]":
        allowed = set(self.handlers)
        if "GET" in allowed:
            allowed.add("HEAD")
        if config.settings().cors is not None:
            allowed.add("OPTIONS")
        return [m for m in METHODS if m in allowed]

    def dispatch(
        self, event: Any, context: Any = None, function: "str | None" = None
    ) -> "dict[str, Any]":
        """Answer one HTTP event with a response dict, whatever the handler does.

        Raises only ``WrongEventSource``, for an event from another AWS service.
        """
        kind = event_kind(event)
        if kind is None:
            reject_other_sources(event, function, context)
        request = Request(event, kind, context) if kind is not None else None
        # What the log lines written while serving it carry (``serve_as``, inlined).
        serving.current = (function, request, context)
        defaults: dict[str, str] = {}
        multi_value = False
        try:
            settings = config.settings()
            defaults = settings.default_headers
            if request is None:
                from tight.errors import BadRequest

                kind = REST
                raise BadRequest(
                    "the event is not an HTTP request from API Gateway, ALB or a function URL"
                )
            if kind is ALB:
                multi_value = request.multi_value_headers
            cors = settings.cors
            if cors is not None and len(cors.allow_origins) > 1:
                defaults = {**defaults, **cors.origin_headers(request.header("origin"))}
            # The method straight from the event: this runs on every request.
            method = event.get("httpMethod") if kind is REST or kind is ALB else request.method
            handler = self.handlers.get(method) if type(method) is str else None
            head = False
            if handler is None:
                method = request.method
                handler = self.handlers.get(method)
                if handler is not None:
                    pass
                elif method == "HEAD" and "GET" in self.handlers:
                    handler, head = self.handlers["GET"], True
                elif method == "OPTIONS" and cors is not None:
                    return self._preflight(request, defaults, multi_value)
                else:
                    from tight.errors import MethodNotAllowed

                    raise MethodNotAllowed(method or "(none)", self.allowed())

            typed = self.typed
            if typed and handler in typed:
                return self._typed(handler, event, request, context, defaults, multi_value, head)
            result = handler(
                event=decoded_event(event, request),
                context=context,
                principal_id=request.principal_id,
                request=request,
            )
            return responses.build(result, request.kind, defaults, multi_value, head)
        except Exception as error:  # noqa: BLE001 - a caller must never see a traceback
            # No HTTPError can have been raised unless tight.errors was imported, so the
            # common path never loads it.
            errors = sys.modules.get("tight.errors")
            if errors is None or not isinstance(error, errors.HTTPError):
                return self._server_error(context, kind, defaults, multi_value)
            try:
                answer = responses.error_response(error, kind or REST, defaults, multi_value)
            except Exception:  # noqa: BLE001 - an error that cannot be answered as itself
                return self._server_error(context, kind, defaults, multi_value)
            if answer["statusCode"] >= 500:
                _log_exception(f"{error.status_code} from handler", error=error.message)
            return answer

    def _typed(
        self,
        handler: Handler,
        event: Any,
        request: Request,
        context: Any,
        defaults: "dict[str, str]",
        multi_value: bool,
        head: bool,
    ) -> "dict[str, Any]":
        """Call a handler with annotations through its compiled checks (``tight.typed``,
        compiled on its first call, when every name its annotations use exists)."""
        binder = self.typed[handler]
        if binder is None:
            from tight.typed import Binder

            binder = self.typed[handler] = Binder(handler)
        result = handler(**binder.arguments(event, request, context))
        answer = responses.build(result, request.kind, defaults, multi_value, head)
        if binder.check_answers and not head:
            binder.check_answer(answer)
        return answer

    def _server_error(
        self, context: Any, kind: "str | None", defaults: "dict[str, str]", multi_value: bool
    ) -> "dict[str, Any]":
        """Log the exception being handled; answer a 500 that names Lambda's request id."""
        request_id = getattr(context, "aws_request_id", None)
        try:
            _log_exception(
                "unhandled error while serving the request",
                error_type=type(sys.exc_info()[1]).__name__,
                controller=self.module,
            )
            return responses.server_error(request_id, kind or REST, defaults, multi_value)
        except Exception:  # noqa: BLE001 - the last resort must not fail
            import json

            rid = request_id if isinstance(request_id, str) else None
            return {
                "statusCode": 500,
                "headers": {"Content-Type": "application/json"},
                "body": json.dumps({"error": "Internal Server Error", "request_id": rid}),
                "isBase64Encoded": False,
            }

    def _preflight(
        self, request: Request, defaults: "dict[str, str]", multi_value: bool
    ) -> "dict[str, Any]":
        cors = config.settings().cors
        assert cors is not None
        headers = dict(defaults)
        methods = cors.allow_methods or tuple(self.allowed())
        headers["Access-Control-Allow-Methods"] = ", ".join(methods)
        asked = request.header("access-control-request-headers")
        headers["Access-Control-Allow-Headers"] = (
            ", ".join(cors.allow_headers) if cors.allow_headers else (asked or "")
        )
        headers["Access-Control-Max-Age"] = str(cors.max_age)
        return responses.shape(204, headers, "", False, request.kind, multi_value=multi_value)


# The keyword arguments every handler gets; any other annotated parameter is read from the
# request (tight.typed).
_PLAIN = ("event", "context", "principal_id", "request")


def is_typed(handler: Handler) -> bool:
    """True when the handler annotates a parameter of its own (``body``, ``query``, a path
    parameter), or has a return annotation while answers are checked (tests, ``doit
    serve``). Read from the function's code, so that an untyped module loads nothing more."""
    annotations = getattr(handler, "__annotations__", None)
    code = getattr(handler, "__code__", None)
    if not annotations or code is None:
        return False
    named = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    for name in annotations:
        if name == "return":
            if os.environ.get("TIGHT_CHECK_ANSWERS"):
                return True
        elif name in named and name not in _PLAIN:
            return True
    return False


_controllers: "dict[str, Controller]" = {}


def controller_for(module: str) -> "Controller | None":
    """The controller a module registered handlers on, if any."""
    return _controllers.get(module)


def _register(method: str, handler: Handler) -> Handler:
    if not callable(handler):
        raise TypeError(f"@{method.lower()} decorates a function, not {handler!r}")
    serving.require_plain_function(handler, f"lambda_proxy.{method.lower()}")
    module = handler.__module__
    controller = _controllers.get(module)
    if controller is None:
        controller = _controllers[module] = Controller(module)
    controller.register(method, handler)
    return handler


def get(handler: Handler) -> Handler:
    """Register ``handler`` for GET (and HEAD, unless a HEAD handler is given)."""
    return _register("GET", handler)


def post(handler: Handler) -> Handler:
    """Register ``handler`` for POST."""
    return _register("POST", handler)


def put(handler: Handler) -> Handler:
    """Register ``handler`` for PUT."""
    return _register("PUT", handler)


def patch(handler: Handler) -> Handler:
    """Register ``handler`` for PATCH."""
    return _register("PATCH", handler)


def delete(handler: Handler) -> Handler:
    """Register ``handler`` for DELETE."""
    return _register("DELETE", handler)


def options(handler: Handler) -> Handler:
    """Register ``handler`` for OPTIONS (instead of the automatic CORS preflight)."""
    return _register("OPTIONS", handler)


def head(handler: Handler) -> Handler:
    """Register ``handler`` for HEAD (by default HEAD runs the GET handler, body dropped)."""
    return _register("HEAD", handler)
