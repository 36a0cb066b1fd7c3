"""HTTP errors a handler can raise, each answered with its status, and Tight's own errors.

``raise NotFound("no item 42")`` answers ``404 {"error": "Not Found", "message": "no item 42"}``.
Anything that is not an ``HTTPError`` becomes a generic 500 (see ``response.server_error``).
Tight's own errors (a wrong app layout, bad configuration, a handler result that is no
response) live here too, so that a request that succeeds never loads this module; the
modules that raise them keep them importable under their names (``tight.config.ConfigError``).
"""

# Mapping from _collections_abc, which ``os`` has loaded: ``collections.abc`` is one module
# more on the cold start. The reason phrases are re-exported here.
from _collections_abc import Mapping

from tight.reasons import REASONS as REASONS
from tight.reasons import reason as reason


class HTTPError(Exception):
    """An error with an HTTP status; the response body is ``{"error", "message"}``."""

    status_code = 500

    def __init__(
        self,
        message: str | None = None,
        *,
        status_code: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if status_code is not None:
            self.status_code = status_code
        self.message = message if message is not None else reason(self.status_code)
        self.headers = dict(headers) if headers else {}
        super().__init__(self.message)

    def body(self) -> dict[str, str]:
        return {"error": reason(self.status_code), "message": self.message}


class BadRequest(HTTPError):
    status_code = 400


class Unauthorized(HTTPError):
    status_code = 401


class Forbidden(HTTPError):
    status_code = 403


class NotFound(HTTPError):
    status_code = 404


class MethodNotAllowed(HTTPError):
    status_code = 405

    def __init__(self, method: str, allowed: list[str]) -> None:
        super().__init__(
            f"method {method} is not allowed here; allowed: {', '.join(allowed) or 'none'}",
            headers={"Allow": ", ".join(allowed)},
        )


class NotAcceptable(HTTPError):
    status_code = 406


class Conflict(HTTPError):
    status_code = 409


class Gone(HTTPError):
    status_code = 410


class PreconditionFailed(HTTPError):
    status_code = 412


class PayloadTooLarge(HTTPError):
    status_code = 413


class UnsupportedMediaType(HTTPError):
    status_code = 415


class UnprocessableEntity(HTTPError):
    status_code = 422


class InvalidRequest(UnprocessableEntity):
    """A request that does not fit the handler's annotations (``tight.typed``): the body
    lists every problem, each with where it is and what was expected."""

    def __init__(self, problems: list[dict[str, str]]) -> None:
        self.problems = problems
        count = len(problems)
        super().__init__(
            f"the request does not match what the handler takes: {count} "
            f"problem{'s' if count != 1 else ''}"
        )

    def body(self) -> dict[str, str]:
        return {**super().body(), "problems": self.problems}  # type: ignore[dict-item]


class TooManyRequests(HTTPError):
    status_code = 429


class InternalServerError(HTTPError):
    status_code = 500


class ServiceUnavailable(HTTPError):
    status_code = 503


class AppError(Exception):
    """The app's layout is wrong; the message names the folder and the fix."""


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the key and what it accepts."""


class ResponseError(TypeError):
    """A handler returned something that cannot become a response (logged, answered 500)."""


class DuplicateHandler(TypeError):
    """Two different functions in one module were registered for the same method."""


class WrongEventSource(Exception):
    """An event from another source reached a function: an SQS batch sent to an HTTP
    function, an API Gateway request sent to a queue consumer.

    Raised, not answered: Lambda then counts the invocation as failed, so a queue or stream
    retries the batch (or sends it to its DLQ) instead of deleting it unprocessed.
    """

    def __init__(self, function: str | None, got: str, serves: str) -> None:
        self.function = function
        self.got = got
        self.serves = serves
        name = f"function {function!r}" if function else "this function"
        fix = _NO_CONTROLLER.get(
            got, f"point the {got} trigger at a function whose handler uses the {got} controller"
        )
        super().__init__(f"{name} serves {serves} events but received a {got} event; {fix}")


# Sources no Tight controller serves: the fix is elsewhere than another function.
_NO_CONTROLLER = {
    "EventBridge Pipes batch": (
        "Tight serves no Pipes target (a JSON array of records); make the pipe's target an "
        "SQS queue, SNS topic or EventBridge bus, and trigger a Tight function from that"
    ),
}
