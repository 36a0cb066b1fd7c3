"""Realistic events of the four HTTP kinds Tight serves, and a Lambda context to go with them.

``make_event("POST", "/items", body={...}, kind="http")`` builds what API Gateway (REST or
HTTP API), an ALB or a function URL would send for that request; a dict or list body is
JSON-encoded with a JSON Content-Type, and ``principal_id`` is placed where that kind's
authorizer puts the caller.
"""

import base64
import json
import time
import uuid
from typing import Any
from urllib.parse import quote, urlencode

KINDS = ("rest", "http", "alb", "url")
ACCOUNT = "123456789012"
REGION = "us-east-1"


def _authorizer(kind: str, principal_id: str | None) -> dict[str, Any] | None:
    if principal_id is None:
        return None
    if kind == "rest":  # a Lambda authorizer; Cognito user pools put it in claims.sub
        return {"principalId": principal_id, "claims": {"sub": principal_id}}
    if kind == "http":  # a JWT authorizer
        return {"jwt": {"claims": {"sub": principal_id}, "scopes": None}}
    raise ValueError(
        f"{kind} events carry no authorizer, so they cannot have a principal_id; "
        "use kind='rest' or kind='http'"
    )


def make_event(
    method: str = "GET",
    path: str = "/",
    body: Any = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str | list[str]] | None = None,
    path_params: dict[str, str] | None = None,
    principal_id: str | None = None,
    kind: str = "rest",
    *,
    cookies: dict[str, str] | None = None,
    base64_body: bool = False,
    multi_value: bool = False,
    authorizer: dict[str, Any] | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """An event as ``kind`` ('rest', 'http', 'alb' or 'url') would send this request."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    method = method.upper()
    headers = dict(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
        if not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "application/json"
    if base64_body and body is not None:
        raw = body if isinstance(body, bytes) else str(body).encode()
        body = base64.b64encode(raw).decode()
    elif isinstance(body, bytes):
        body, base64_body = base64.b64encode(body).decode(), True
    if authorizer is None:
        authorizer = _authorizer(kind, principal_id)
    request_id = request_id or str(uuid.uuid4())
    multi_query = {k: v if isinstance(v, list) else [v] for k, v in (query or {}).items()}
    cookie_pairs = [f"{k}={v}" for k, v in (cookies or {}).items()]

    if kind in ("http", "url"):
        return _v2_event(
            kind, method, path, body, headers, multi_query, path_params, cookie_pairs,
            base64_body, authorizer, request_id,
        )  # fmt: skip
    if cookie_pairs:
        headers["Cookie"] = "; ".join(cookie_pairs)
    if kind == "alb":
        return _alb_event(method, path, body, headers, multi_query, base64_body, multi_value)
    return _rest_event(
        method, path, body, headers, multi_query, path_params, base64_body, authorizer, request_id
    )


def _v2_event(
    kind: str,
    method: str,
    path: str,
    body: Any,
    headers: dict[str, str],
    multi_query: dict[str, list[str]],
    path_params: dict[str, str] | None,
    cookie_pairs: list[str],
    base64_body: bool,
    authorizer: dict[str, Any] | None,
    request_id: str,
) -> dict[str, Any]:
    domain = f"abc123.lambda-url.{REGION}.on.aws" if kind == "url" else "api.example.com"
    route_key = "$default" if kind == "url" else f"{method} {path}"
    context: dict[str, Any] = {
        "accountId": ACCOUNT,
        "apiId": "abc123",
        "domainName": domain,
        "domainPrefix": domain.split(".")[0],
        "http": {
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "203.0.113.9",
            "userAgent": "tight-tests",
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
        "timeEpoch": int(time.time() * 1000),
    }
    if authorizer is not None:
        context["authorizer"] = authorizer
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": urlencode([(k, v) for k, vs in multi_query.items() for v in vs]),
        "headers": {k.lower(): v for k, v in headers.items()},
        "requestContext": context,
        "isBase64Encoded": base64_body,
    }
    if cookie_pairs:
        event["cookies"] = cookie_pairs
    if multi_query:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in multi_query.items()}
    if path_params:
        event["pathParameters"] = path_params
    if body is not None:
        event["body"] = body
    return event


def _alb_event(
    method: str,
    path: str,
    body: Any,
    headers: dict[str, str],
    multi_query: dict[str, list[str]],
    base64_body: bool,
    multi_value: bool,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "requestContext": {
            "elb": {
                "targetGroupArn": f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:"
                "targetgroup/tight/0123456789abcdef"
            }
        },
        "httpMethod": method,
        "path": path,
        "body": body if body is not None else "",
        "isBase64Encoded": base64_body,
    }
    # ALB passes the query string still percent-encoded.
    encoded = {quote(k): [quote(v) for v in vs] for k, vs in multi_query.items()}
    if multi_value:
        event["multiValueHeaders"] = {k.lower(): [v] for k, v in headers.items()}
        event["multiValueQueryStringParameters"] = encoded
    else:
        event["headers"] = {k.lower(): v for k, v in headers.items()}
        event["queryStringParameters"] = {k: vs[-1] for k, vs in encoded.items()}
    return event


def _rest_event(
    method: str,
    path: str,
    body: Any,
    headers: dict[str, str],
    multi_query: dict[str, list[str]],
    path_params: dict[str, str] | None,
    base64_body: bool,
    authorizer: dict[str, Any] | None,
    request_id: str,
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "accountId": ACCOUNT,
        "apiId": "abc123",
        "httpMethod": method,
        "identity": {"sourceIp": "203.0.113.9", "userAgent": "tight-tests"},
        "path": f"/dev{path}",
        "protocol": "HTTP/1.1",
        "requestId": request_id,
        "requestTimeEpoch": int(time.time() * 1000),
        "resourcePath": path,
        "stage": "dev",
    }
    if authorizer is not None:
        context["authorizer"] = authorizer
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers or None,
        "multiValueHeaders": {k: [v] for k, v in headers.items()} or None,
        "queryStringParameters": {k: vs[-1] for k, vs in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_params,
        "stageVariables": None,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": base64_body,
    }


class LambdaContext:
    """What Lambda passes as ``context``: the request id, the function, the time left."""

    def __init__(
        self,
        function_name: str = "tight-test",
        timeout_seconds: float = 30.0,
        memory_limit_in_mb: int = 128,
        aws_request_id: str | None = None,
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_name}"
        self.memory_limit_in_mb = memory_limit_in_mb
        self.aws_request_id = aws_request_id or str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]", time.gmtime()) + uuid.uuid4().hex
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
