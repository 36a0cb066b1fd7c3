"""A lazy, read-only view over an HTTP event from any of Lambda's four HTTP sources.

``Request(event)`` copies and parses nothing up front: the method, path, headers, query,
cookies and body are each worked out on first use, so a handler that reads nothing pays
nothing. One class covers API Gateway REST (v1), HTTP API (v2), ALB (also in
multi-value-headers mode) and Lambda Function URL events; ``kind`` says which it was.
"""

import json

# From _collections_abc, which ``os`` has loaded: ``collections.abc`` is one module more.
from _collections_abc import Callable, Iterator, Mapping

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
else:
    # Annotations are evaluated at import; loading typing for them would cost every
    # cold start more than this whole module does. Those that would build an object
    # (``str | None``, ``dict[str, Any]``) are quoted, so the cold start builds none.
    Any = object

REST = "rest"
HTTP = "http"
ALB = "alb"
URL = "url"
KINDS = (REST, HTTP, ALB, URL)

_EMPTY: "dict[str, Any]" = {}


def _mapping(value: Any) -> "dict[str, Any]":
    """The event's value if it is a dict, else an empty one (events may carry nulls)."""
    return value if isinstance(value, dict) else _EMPTY


def event_kind(event: Any) -> "str | None":
    """Which HTTP source sent ``event``: 'rest', 'http', 'alb', 'url', or None if none."""
    if type(event) is not dict and not isinstance(event, dict):
        return None
    if "httpMethod" in event:
        context = event.get("requestContext")
        return ALB if type(context) is dict and "elb" in context else REST
    if event.get("version") == "2.0" or "rawPath" in event:
        domain = _mapping(event.get("requestContext")).get("domainName")
        if isinstance(domain, str) and ".lambda-url." in domain:
            return URL
        return HTTP
    return None


def _bad_request(message: str) -> Exception:
    """``tight.errors.BadRequest``, imported only when a request turns out to be bad."""
    from tight.errors import BadRequest

    return BadRequest(message)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number (RFC 8259 has no NaN or Infinity)")


# Python's json accepts NaN and Infinity, which no other JSON parser does and no response
# can encode back; this decoder refuses them, so such a body is a 400 like any other bad JSON.
_decode_json = json.JSONDecoder(parse_constant=_reject_constant).decode


def is_json_type(content_type: str) -> bool:
    """True for ``application/json`` and ``application/<anything>+json``, with parameters."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


class Headers(Mapping[str, str]):
    """Case-insensitive, read-only headers, a real ``Mapping`` of lower-cased names to the
    last value of each (``dict(request.headers)`` works); ``get_all`` returns every value."""

    __slots__ = ("_values",)

    def __init__(self, single: Any, multi: Any = None) -> None:
        values: dict[str, list[str]] = {}
        source = multi if isinstance(multi, dict) and multi else single
        if isinstance(source, dict):
            for name, value in source.items():
                if not isinstance(name, str) or value is None:
                    continue
                items = value if isinstance(value, list) else [value]
                kept = [str(v) for v in items if v is not None]
                if kept:
                    values.setdefault(name.lower(), []).extend(kept)
        self._values = values

    def get(self, name: str, default: "str | None" = None) -> "str | None":  # type: ignore[override]
        found = self._values.get(name.lower())
        return found[-1] if found else default

    def get_all(self, name: str) -> "list[str]":
        return list(self._values.get(name.lower(), ()))

    def __getitem__(self, name: str) -> str:
        found = self._values.get(name.lower())
        if not found:
            raise KeyError(name)
        return found[-1]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._values

    def __iter__(self) -> "Iterator[str]":
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Headers({dict(self.items())!r})"


def _parse_cookie_header(values: "list[str]") -> "dict[str, str]":
    cookies: dict[str, str] = {}
    for header in values:
        for part in header.split(";"):
            name, sep, value = part.strip().partition("=")
            if sep and name:
                cookies[name] = value
    return cookies


class Request:
    """The normalised request. Properties are computed on first access and kept."""

    # Class-level defaults instead of __slots__: a request sets three attributes when it is
    # made and the cached ones only when they are first asked for.
    _headers: "Headers | None" = None
    _query: "dict[str, list[str]] | None" = None
    _body: "bytes | None" = None
    _json: Any = _EMPTY
    _cookies: "dict[str, str] | None" = None

    def __init__(
        self, event: "dict[str, Any]", kind: "str | None" = None, context: Any = None
    ) -> None:
        self.event = event
        self.kind = kind or event_kind(event) or REST
        self.context = context

    # -- what was asked ---------------------------------------------------------------
    @property
    def method(self) -> str:
        if self.kind in (REST, ALB):
            method = self.event.get("httpMethod")
        else:
            method = _mapping(_mapping(self.event.get("requestContext")).get("http")).get("method")
        return method.upper() if isinstance(method, str) else ""

    @property
    def path(self) -> str:
        path = self.event.get("rawPath" if self.kind in (HTTP, URL) else "path")
        return path if isinstance(path, str) else "/"

    @property
    def route(self) -> "str | None":
        """The route template that matched: v1 ``resource``, v2 ``routeKey``."""
        route = self.event.get("resource" if self.kind == REST else "routeKey")
        return route if isinstance(route, str) else None

    @property
    def path_params(self) -> "dict[str, str]":
        """The route's path parameters (the event's own dict: read it, do not change it)."""
        params = self.event.get("pathParameters")
        return params if type(params) is dict else {}

    @property
    def stage_variables(self) -> "dict[str, str]":
        return dict(_mapping(self.event.get("stageVariables")))

    @property
    def request_context(self) -> "dict[str, Any]":
        return _mapping(self.event.get("requestContext"))

    @property
    def request_id(self) -> "str | None":
        """Lambda's ``context.aws_request_id``: the id CloudWatch shows for the invocation."""
        request_id = getattr(self.context, "aws_request_id", None)
        return request_id if isinstance(request_id, str) else None

    @property
    def gateway_request_id(self) -> "str | None":
        """The HTTP source's own id (``requestContext.requestId``; ALB events have none)."""
        request_id = self.request_context.get("requestId")
        return request_id if isinstance(request_id, str) else None

    @property
    def source_ip(self) -> "str | None":
        context = self.request_context
        if self.kind == REST:
            ip = _mapping(context.get("identity")).get("sourceIp")
        elif self.kind == ALB:
            # The load balancer appends the address it saw; entries left of it are whatever
            # the client sent, so only the right-most one can be trusted.
            forwarded = self.headers.get("x-forwarded-for") or ""
            ip = forwarded.rpartition(",")[2].strip() or None
        else:
            ip = _mapping(context.get("http")).get("sourceIp")
        return ip if isinstance(ip, str) else None

    # -- who is asking ----------------------------------------------------------------
    # API Gateway puts what its authorizer found under requestContext.authorizer, in a
    # shape of its own per authorizer kind and API; these read each one. None of them is
    # checked here: the API checked it before the function was called.
    @property
    def authorizer(self) -> "dict[str, Any]":
        """``requestContext.authorizer`` as the API sent it (empty when there is none)."""
        context = self.event.get("requestContext")
        authorizer = context.get("authorizer") if type(context) is dict else None
        return authorizer if type(authorizer) is dict else _EMPTY

    @property
    def claims(self) -> "dict[str, Any]":
        """The caller's token claims: a REST API's Cognito authorizer (``claims``) or an HTTP
        API's JWT authorizer (``jwt.claims``); empty when the route checks no token."""
        authorizer = self.authorizer
        claims = authorizer.get("claims")
        if type(claims) is not dict:
            claims = _mapping(authorizer.get("jwt")).get("claims")
        return dict(claims) if type(claims) is dict else {}

    @property
    def authorizer_context(self) -> "dict[str, Any]":
        """What a Lambda authorizer passed on (``allow(..., context={...})``): a REST API puts
        it beside ``principalId``, an HTTP API under ``lambda``; empty for other kinds."""
        authorizer = self.authorizer
        if not authorizer:
            return {}
        if self.kind in (HTTP, URL):
            found = authorizer.get("lambda")
            return (
                {k: v for k, v in found.items() if k != "principalId"}
                if type(found) is dict
                else {}
            )
        skipped = ("principalId", "integrationLatency", "claims")
        return {k: v for k, v in authorizer.items() if k not in skipped}

    @property
    def iam_identity(self) -> "dict[str, Any]":
        """The SigV4 signer of an ``iam`` route: ``accessKey``, ``accountId``, ``userArn``... (a
        REST API's ``identity``, an HTTP API's ``authorizer.iam``); empty when unsigned."""
        if self.kind in (HTTP, URL):
            iam = self.authorizer.get("iam")
            return dict(iam) if type(iam) is dict else {}
        identity = _mapping(self.request_context.get("identity"))
        if not identity.get("accessKey"):
            return {}
        return {k: v for k, v in identity.items() if v is not None}

    @property
    def principal_id(self) -> "str | None":
        """The caller: the token's ``sub``, a Lambda authorizer's principal id, or the IAM
        signer's ARN; None on an open route."""
        authorizer = self.authorizer
        found = None
        if authorizer:
            found = (
                _mapping(authorizer.get("claims")).get("sub")
                or _mapping(_mapping(authorizer.get("jwt")).get("claims")).get("sub")
                or authorizer.get("principalId")
                or _mapping(authorizer.get("lambda")).get("principalId")
                or _mapping(authorizer.get("iam")).get("userArn")
            )
        if not found and self.kind == REST:
            found = _mapping(self.request_context.get("identity")).get("userArn")
        return str(found) if found else None

    # -- headers, query, cookies -------------------------------------------------------
    @property
    def headers(self) -> Headers:
        if self._headers is None:
            self._headers = Headers(self.event.get("headers"), self.event.get("multiValueHeaders"))
        return self._headers

    @property
    def multi_value_headers(self) -> bool:
        """True when the event came with ``multiValueHeaders`` (ALB multi-value mode, v1)."""
        return isinstance(self.event.get("multiValueHeaders"), dict)

    @property
    def content_type(self) -> "str | None":
        return self.header("content-type")

    def header(self, name: str) -> "str | None":
        """One header, case-insensitively; cheaper than ``headers`` for a single look-up."""
        if self._headers is None:
            raw = self.event.get("headers")
            if isinstance(raw, dict):
                value = raw.get(name)
                if value is None:
                    lowered = name.lower()
                    value = raw.get(lowered)
                    if value is None and self.kind not in (HTTP, URL):
                        value = raw.get(lowered.title())
                if isinstance(value, str):
                    return value
                if self.kind in (HTTP, URL):
                    return None  # v2 header names are always lower case
        return self.headers.get(name)

    @property
    def query_multi(self) -> "dict[str, list[str]]":
        """Every query parameter with all its values, in order."""
        if self._query is None:
            self._query = self._parse_query()
        return self._query

    @property
    def query(self) -> "dict[str, str]":
        """Query parameters, the last value of each."""
        return {k: v[-1] for k, v in self.query_multi.items() if v}

    def _parse_query(self) -> "dict[str, list[str]]":
        event = self.event
        result: dict[str, list[str]] = {}
        if self.kind in (HTTP, URL):
            raw = event.get("rawQueryString")
            if isinstance(raw, str) and raw:
                from urllib.parse import parse_qs

                return parse_qs(raw, keep_blank_values=True)
            for key, value in _mapping(event.get("queryStringParameters")).items():
                if isinstance(value, str):
                    result[str(key)] = value.split(",")
            return result
        multi = event.get("multiValueQueryStringParameters")
        source = multi if isinstance(multi, dict) and multi else event.get("queryStringParameters")
        unquote: Callable[[str], str] | None = None
        if self.kind == ALB:  # ALB passes keys and values still percent-encoded
            from urllib.parse import unquote_plus

            unquote = unquote_plus
        for key, value in _mapping(source).items():
            values = value if isinstance(value, list) else [value]
            clean = [str(v) for v in values if v is not None]
            name = str(key)
            if unquote is not None:
                name, clean = unquote(name), [unquote(v) for v in clean]
            result.setdefault(name, []).extend(clean)
        return result

    @property
    def cookies(self) -> "dict[str, str]":
        if self._cookies is None:
            listed = self.event.get("cookies")
            if isinstance(listed, list):
                self._cookies = _parse_cookie_header([c for c in listed if isinstance(c, str)])
            else:
                self._cookies = _parse_cookie_header(self.headers.get_all("cookie"))
        return self._cookies

    # -- body ---------------------------------------------------------------------------
    @property
    def is_base64(self) -> bool:
        return self.event.get("isBase64Encoded") is True

    @property
    def body(self) -> bytes:
        """The raw body, base64-decoded when the event says so; ``BadRequest`` if it is not."""
        if self._body is None:
            raw = self.event.get("body")
            if raw is None:
                self._body = b""
            elif self.is_base64:
                import binascii
                from base64 import b64decode

                try:
                    self._body = b64decode(raw, validate=True)
                except (binascii.Error, ValueError, TypeError) as exc:
                    raise _bad_request("request body is not valid base64") from exc
            elif isinstance(raw, str):
                self._body = raw.encode("utf-8", "surrogatepass")
            elif isinstance(raw, bytes):
                self._body = raw
            else:  # already decoded, e.g. by a test passing a dict
                self._body = json.dumps(raw).encode("utf-8")
        return self._body

    @property
    def text(self) -> str:
        raw = self.event.get("body")
        if isinstance(raw, str) and not self.is_base64:
            return raw
        try:
            return self.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _bad_request("request body is not valid UTF-8 text") from exc

    @property
    def is_json(self) -> bool:
        """True when the Content-Type names JSON (``application/json`` or ``*+json``)."""
        content_type = self.content_type
        return bool(content_type) and is_json_type(content_type)  # type: ignore[arg-type]

    def json(self) -> Any:
        """The body parsed as JSON (None when empty); ``BadRequest`` when it is not JSON."""
        if self._json is _EMPTY:
            raw = self.event.get("body")
            if type(raw) is str and raw and self.event.get("isBase64Encoded") is not True:
                try:
                    self._json = _decode_json(raw)  # the common case, without the detours below
                except (ValueError, RecursionError) as exc:
                    if raw.strip():
                        raise _bad_request(f"request body is not valid JSON: {exc}") from exc
                    self._json = None
            elif raw is not None and not isinstance(raw, (str, bytes)):
                self._json = raw  # already decoded
            else:
                text = self.text
                if not text.strip():
                    self._json = None
                else:
                    try:
                        self._json = _decode_json(text)
                    except (ValueError, RecursionError) as exc:
                        raise _bad_request(f"request body is not valid JSON: {exc}") from exc
        return self._json

    def __repr__(self) -> str:
        return f"<Request {self.kind} {self.method} {self.path}>"


def decoded_event(event: Any, request: "Request") -> Any:
    """The event the handler gets: ``body`` JSON-decoded when it is JSON (or has no
    Content-Type and parses), and always there, None when the request has none: REST sends
    null, HTTP APIs and function URLs leave it out, ALB sends ""."""
    body = event.get("body")
    if body and isinstance(body, (str, bytes)):
        content_type = request.content_type
        if content_type is None:
            try:
                decoded = request.json()
            except Exception:  # noqa: BLE001 - not JSON: the handler gets the text
                decoded = body
        elif content_type == "application/json" or is_json_type(content_type):
            decoded = request.json()
        else:
            decoded = body
        if decoded is not body:
            handler_event = dict(event)
            handler_event["body"] = decoded
            return handler_event
    elif body is None:
        if "body" not in event:
            return {**event, "body": None}
    elif body == "" or body == b"":
        return {**event, "body": None}
    return event
