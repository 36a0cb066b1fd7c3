"""Turns what a handler returns into the response dict Lambda's HTTP source expects.

A handler returns a response envelope (a dict with ``statusCode``, and optionally ``body``,
``headers``, ``multiValueHeaders``, ``cookies``, ``isBase64Encoded``), a ``Response``, None
(204) or any other value, which is the body of a 200: a dict without ``statusCode`` is data,
whatever its keys. Bodies are encoded here: dict/list to JSON (``Decimal`` as an integer when
integral, ``datetime`` as ISO 8601), str as is, bytes as base64. The result is then shaped
for the event kind it answers: ALB gets ``statusDescription``, multi-value mode gets
``multiValueHeaders``, HTTP API and Function URLs get ``cookies``.
"""

import json
import sys

# From _collections_abc, which ``os`` has loaded: ``collections.abc`` is one module more.
from _collections_abc import Callable, Mapping

from tight.reasons import REASONS as REASONS
from tight.reasons import reason
from tight.request import ALB, HTTP, URL

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tight.errors import HTTPError
    from tight.errors import ResponseError as ResponseError
else:
    # Annotations are evaluated at import; loading typing for them would cost every
    # cold start more than this whole module does. Those that would build an object
    # (``str | None``, ``dict[str, Any]``) are quoted, so the cold start builds none.
    Any = object

JSON_TYPE = "application/json"


class Response:
    """A response built in Python: ``return Response({"id": 1}, status=201)``."""

    __slots__ = ("body", "cookies", "headers", "status")

    def __init__(
        self,
        body: Any = None,
        status: int = 200,
        headers: "Mapping[str, str] | None" = None,
        cookies: "list[str] | None" = None,
    ) -> None:
        self.body = body
        self.status = status
        self.headers = dict(headers) if headers else {}
        self.cookies = _values(cookies) if cookies else []


def _values(value: Any) -> "list[str]":
    """The values of a header or of ``cookies``: a list, or one string (never its letters)."""
    if isinstance(value, (list, tuple)):
        return [v if type(v) is str else str(v) for v in value if v is not None]
    return [] if value is None else [value if type(value) is str else str(value)]


# ResponseError lives in tight.errors, loaded only when something fails; the name stays
# importable from here.
if not TYPE_CHECKING:  # type checkers see the import under TYPE_CHECKING instead

    def __getattr__(name: str) -> Any:
        if name == "ResponseError":
            from tight.errors import ResponseError

            return ResponseError
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _response_error(message: str) -> Exception:
    """``tight.errors.ResponseError``, imported only when it is raised."""
    from tight.errors import ResponseError

    return ResponseError(message)


def json_default(value: Any) -> Any:
    """Encode the values DynamoDB and Python code hand back that ``json`` cannot.

    Each type is checked only if its module is already loaded: a value cannot be a
    ``Decimal`` unless ``decimal`` was imported, and the runtime imports none of them itself.
    """
    decimal = sys.modules.get("decimal")
    if decimal is not None and isinstance(value, decimal.Decimal):
        if value.is_finite() and value == value.to_integral_value():
            return int(value)
        return float(value)
    datetime = sys.modules.get("datetime")
    if datetime is not None and isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    uuid = sys.modules.get("uuid")
    if uuid is not None and isinstance(value, uuid.UUID):
        return str(value)
    enum = sys.modules.get("enum")
    if enum is not None and isinstance(value, enum.Enum):
        return value.value
    if hasattr(type(value), "__dataclass_fields__"):  # a typed handler's answer
        dataclasses = sys.modules["dataclasses"]
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, (set, frozenset)):
        try:
            return sorted(value)
        except TypeError:
            return list(value)
    if isinstance(value, (bytes, bytearray)):
        from base64 import b64encode

        return b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _make_encoder() -> "Callable[[Any], str]":
    """A reusable JSON encoder: ``json.dumps`` builds a new C encoder on every call, which
    costs more than encoding a small body. Without circular-reference markers the C encoder
    keeps no state, so one instance serves every call (a cycle ends in RecursionError)."""
    from json import encoder as json_encoder

    c_make_encoder = getattr(json_encoder, "c_make_encoder", None)
    fallback = json.JSONEncoder(default=json_default, allow_nan=False).encode
    if c_make_encoder is None:  # pragma: no cover - CPython always has it
        return fallback
    try:
        chunks = c_make_encoder(
            None,
            json_default,
            json_encoder.encode_basestring_ascii,
            None,
            ": ",
            ", ",
            False,
            False,
            False,
        )
        chunks({"probe": [1, 1.5, None]}, 0)
    except TypeError:  # pragma: no cover - a CPython whose C encoder takes other arguments
        return fallback
    join = "".join

    def encode(value: Any) -> str:
        if type(value) is str:
            return fallback(value)
        return join(chunks(value, 0))

    return encode


encode_json = _make_encoder()


def _merge_headers(defaults: "Mapping[str, str]", given: Any) -> "dict[str, str]":
    """Defaults overridden by the handler's headers, names compared case-insensitively."""
    if not given:
        return dict(defaults)
    if not isinstance(given, dict):
        raise _response_error("headers must be a dict of header names to values")
    headers = dict(defaults)
    if headers:
        lowered = {name.lower() for name in given}
        for name in [n for n in headers if n.lower() in lowered]:
            del headers[name]
    for name, value in given.items():
        headers[str(name)] = value if isinstance(value, str) else str(value)
    return headers


def _has_header(headers: "Mapping[str, str]", name: str) -> bool:
    if name in headers:
        return True
    lowered = name.lower()
    return any(k.lower() == lowered for k in headers)


def build(
    result: Any,
    kind: str,
    defaults: "Mapping[str, str]",
    multi_value: bool = False,
    head: bool = False,
) -> "dict[str, Any]":
    """The Lambda response for ``result`` answering an event of ``kind``."""
    multi: Any = None
    cookies: Any = None
    base64 = False
    given: Any = None
    if result is None:
        status, body = 204, None
    elif isinstance(result, dict) and "statusCode" in result:
        status = result.get("statusCode", 200)
        body = result.get("body")
        given = result.get("headers")
        if len(result) > ("statusCode" in result) + ("body" in result) + ("headers" in result):
            multi = result.get("multiValueHeaders")
            cookies = result.get("cookies")
            base64 = result.get("isBase64Encoded") is True
    elif isinstance(result, Response):
        status, body, given, cookies = result.status, result.body, result.headers, result.cookies
    else:
        status, body = 200, result
    headers = _merge_headers(defaults, given) if given or defaults else {}

    if type(status) is not int or not 100 <= status <= 599:
        raise _response_error(f"statusCode must be an int from 100 to 599, not {status!r}")

    body_type = type(body)
    if body is None:
        text = ""
    elif body_type is str or (body_type is not dict and isinstance(body, str)):
        text = body
    elif body_type is not dict and isinstance(body, (bytes, bytearray)):
        from base64 import b64encode

        text = b64encode(body).decode("ascii")
        base64 = True
        if not _has_header(headers, "Content-Type"):
            headers["Content-Type"] = "application/octet-stream"
    else:
        try:
            text = encode_json(body)
        except (TypeError, ValueError, RecursionError) as exc:
            raise _response_error(f"response body cannot be encoded as JSON: {exc}") from exc
        if not headers or not _has_header(headers, "Content-Type"):
            headers["Content-Type"] = JSON_TYPE
    if head:
        text = ""
    if multi is None and not cookies and kind != ALB:
        # The common case needs no reshaping: API Gateway and function URLs take this as is.
        return {"statusCode": status, "headers": headers, "body": text, "isBase64Encoded": base64}
    return shape(status, headers, text, base64, kind, multi, cookies, multi_value)


def shape(
    status: int,
    headers: "dict[str, str]",
    body: str,
    base64: bool,
    kind: str,
    multi: Any = None,
    cookies: Any = None,
    multi_value: bool = False,
) -> "dict[str, Any]":
    """Lay out an encoded response the way the event's source expects it."""
    response: dict[str, Any] = {"statusCode": status}
    if cookies is not None and not isinstance(cookies, (list, tuple, str)):
        raise _response_error("cookies must be a list of Set-Cookie strings")
    if multi is not None and not isinstance(multi, dict):
        raise _response_error("multiValueHeaders must be a dict of header names to lists")
    cookie_values = _values(cookies)

    if kind in (HTTP, URL):
        if multi:
            for name, values in multi.items():
                name, listed = str(name), _values(values)
                if name.lower() == "set-cookie":
                    cookie_values.extend(listed)
                elif listed:
                    if name in headers:
                        listed.insert(0, headers[name])
                    headers[name] = ",".join(listed)
        response["headers"] = headers
        if cookie_values:
            response["cookies"] = cookie_values
    else:
        if kind == ALB:
            response["statusDescription"] = f"{status} {reason(status)}"
        lists: dict[str, list[str]] = {}
        if multi:
            for name, values in multi.items():
                lists.setdefault(str(name), []).extend(_values(values))
        if cookie_values:
            lists.setdefault("Set-Cookie", []).extend(cookie_values)
        if kind != ALB:
            # API Gateway merges the two maps, so each list is sent once, in multiValueHeaders.
            response["headers"] = headers
            if lists:
                response["multiValueHeaders"] = lists
        elif multi_value:
            for name, value in headers.items():
                lists.setdefault(name, []).insert(0, value)
            response["multiValueHeaders"] = lists
        else:
            _single_values(headers, lists)
            response["headers"] = headers
    response["body"] = body
    response["isBase64Encoded"] = base64
    return response


def _single_values(headers: "dict[str, str]", lists: "dict[str, list[str]]") -> None:
    """ALB in single-value mode sends one value per header name: keep the last one given
    and log what had to be dropped (cookie names only: their values may be secrets)."""
    dropped: dict[str, int] = {}
    dropped_cookies: list[str] = []
    for name, values in lists.items():
        if not values:
            continue
        given = [headers.pop(key) for key in [k for k in headers if k.lower() == name.lower()]]
        given.extend(values)
        headers[name] = given[-1]
        if len(given) > 1:
            dropped[name] = dropped.get(name, 0) + len(given) - 1
            if name.lower() == "set-cookie":
                dropped_cookies.extend(c.split("=", 1)[0].strip() for c in given[:-1])
    if dropped:
        from tight.core import logger

        logger.warn(
            message=(
                "an ALB target group without multi-value headers takes one value per header; "
                f"dropped {', '.join(f'{n} of {name}' for name, n in dropped.items())}. "
                "Turn on lambda.multi_value_headers.enabled on the target group to send them all"
            ),
            dropped_headers=dropped,
            dropped_cookies=dropped_cookies,
        )


def error_response(
    error: "HTTPError", kind: str, defaults: "Mapping[str, str]", multi_value: bool = False
) -> "dict[str, Any]":
    """The response for an ``HTTPError`` raised by a handler or by request parsing.

    A payload JSON cannot encode is sent as text with the error's status; a status outside
    100-599 raises ``ResponseError`` (the caller answers 500 and logs it).
    """
    status = error.status_code
    if type(status) is not int or not 100 <= status <= 599:
        raise _response_error(
            f"{type(error).__name__} has status_code {status!r}; an HTTP status is an int "
            "from 100 to 599"
        )
    try:
        headers = _merge_headers(defaults, error.headers)
    except Exception:  # noqa: BLE001 - headers no response can carry: the status still holds
        from tight.core import logger

        logger.warn(
            message=f"{type(error).__name__}.headers must map header names to strings; "
            "answered without them"
        )
        headers = dict(defaults)
    payload = error.body()
    try:
        text = encode_json(payload)
        content_type = JSON_TYPE
    except (TypeError, ValueError, RecursionError):
        try:
            text = payload if isinstance(payload, str) else _as_text(payload)
        except Exception:  # noqa: BLE001 - a payload that cannot even be printed
            text = reason(status)
        content_type = "text/plain; charset=utf-8"
    for name in [n for n in headers if n.lower() == "content-type"]:
        del headers[name]
    headers["Content-Type"] = content_type
    return shape(status, headers, text, False, kind, multi_value=multi_value)


def _as_text(payload: Any) -> str:
    """``{"error": "Conflict", "message": x}`` as ``Conflict: x``; anything else by ``str``."""
    if isinstance(payload, dict) and set(payload) == {"error", "message"}:
        return f"{payload['error']}: {payload['message']}"
    return str(payload)


def server_error(
    request_id: "str | None", kind: str, defaults: "Mapping[str, str]", multi_value: bool = False
) -> "dict[str, Any]":
    """A 500 that tells the caller nothing but where to look: Lambda's request id."""
    headers = dict(defaults)
    headers["Content-Type"] = JSON_TYPE
    body = {
        "error": reason(500),
        "message": "the server could not complete the request",
        "request_id": request_id if isinstance(request_id, str) else None,
    }
    return shape(500, headers, encode_json(body), False, kind, multi_value=multi_value)
