"""HTTP reason phrases: ``reason(404)`` is "Not Found".

Apart from responses and errors, which both use them, so that neither imports the other.
"""

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
        return "Error"  # not a status at all; answered with a 500 by the caller
    phrase = REASONS.get(status)
    if phrase is None:
        phrase = {2: "Success", 3: "Redirection", 4: "Client Error"}.get(status // 100, "Error")
    return phrase
