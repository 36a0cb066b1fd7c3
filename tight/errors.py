"""HTTP errors a handler can raise; each becomes its status with a JSON error body.

``raise NotFound("no item 42")`` answers ``404 {"error": "Not Found", "message": "no item 42"}``.
Anything that is not an ``HTTPError`` becomes a generic 500 (see ``response.server_error``).
"""

from collections.abc import Mapping

REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    206: "Partial Content",
    301: "Moved Permanently",
    302: "Found",
    303: "See Other",
    304: "Not Modified",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    410: "Gone",
    412: "Precondition Failed",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def reason(status: int) -> str:
    """The reason phrase for a status code ("Not Found"), or a generic one by class."""
    if type(status) is not int:
        return "Error"  # not a status at all; the response layer answers it with a 500
    phrase = REASONS.get(status)
    if phrase is None:
        phrase = {2: "Success", 3: "Redirection", 4: "Client Error"}.get(status // 100, "Error")
    return phrase


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


class TooManyRequests(HTTPError):
    status_code = 429


class InternalServerError(HTTPError):
    status_code = 500


class ServiceUnavailable(HTTPError):
    status_code = 503


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
        super().__init__(
            f"{name} serves {serves} events but received a {got} event; point the {got} "
            f"trigger at a function whose handler uses the {got} controller"
        )
