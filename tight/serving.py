"""What the runtime is serving now, and which handlers it can serve.

The app runner and the controllers record each invocation here (``serve_as``); the logger
reads it to stamp its lines with the function and Lambda's request id. It sits at the
bottom of the runtime, beside the configuration, so that logging never has to import the
app runner that logs.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
else:
    # Annotations are evaluated at import; loading typing for them would cost every
    # cold start more than this whole module does.
    Any = object

# (function name, Request or None, Lambda context). Lambda runs one invocation at a time
# per process, so one module-level value is the whole state.
current: "tuple[str | None, Any, Any]" = (None, None, None)


def serve_as(function: "str | None", request: Any = None, context: Any = None) -> None:
    """Record the invocation being served, for the log lines written while serving it.

    The logger takes ``request_id`` from ``context.aws_request_id``; the HTTP controller
    adds the request, for its gateway request id.
    """
    global current
    current = (function, request, context)


# Code flags of functions whose call returns a coroutine or a generator instead of running
# the body: CO_GENERATOR, CO_COROUTINE, CO_ITERABLE_COROUTINE, CO_ASYNC_GENERATOR (the
# `inspect` module would cost a cold start more than all of Tight's own modules).
_NOT_RUN_BY_A_CALL = 0x20 | 0x80 | 0x100 | 0x200


def require_plain_function(handler: Any, decorator: str) -> None:
    """Refuse, at import, a handler whose call would not run its body: an ``async def`` or
    a generator returns at once, so every record would count as processed (and Lambda would
    delete the batch) and every request would get an answer its code never made."""
    code = getattr(handler, "__code__", None)
    if code is not None and code.co_flags & _NOT_RUN_BY_A_CALL:
        kind = "a generator" if code.co_flags & (0x20 | 0x200) else "an async function"
        raise TypeError(
            f"@{decorator} cannot serve {handler.__qualname__} in {handler.__module__}: it is "
            f"{kind}, which Lambda's Python runtime calls without running its body; make it a "
            "plain def (run async code inside it with asyncio.run)"
        )
