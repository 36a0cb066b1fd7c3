"""Realistic HTTP events of the four kinds Tight serves, for the project's own tests."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote, urlencode

KINDS = ("rest", "http", "alb", "url")


def make_event(
    kind: str,
    method: str = "GET",
    path: str = "/",
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str | list[str]] | None = None,
    path_params: dict[str, str] | None = None,
    cookies: dict[str, str] | None = None,
    base64_body: bool = False,
    multi_value: bool = False,
    authorizer: dict[str, Any] | None = None,
    request_id: str = "req-1",
) -> dict[str, Any]:
    """An event as the source would send it; a dict/list body is JSON-encoded."""
    headers = dict(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
        headers.setdefault("Content-Type", "application/json")
    if base64_body and body is not None:
        raw = body if isinstance(body, bytes) else body.encode()
        body = base64.b64encode(raw).decode()
    query = query or {}
    multi_query = {k: v if isinstance(v, list) else [v] for k, v in query.items()}
    cookie_pairs = [f"{k}={v}" for k, v in (cookies or {}).items()]

    if kind in ("http", "url"):
        lowered = {k.lower(): v for k, v in headers.items()}
        domain = "abc123.lambda-url.eu-west-1.on.aws" if kind == "url" else "api.example.com"
        context: dict[str, Any] = {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": domain,
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.9",
                "userAgent": "tests",
            },
            "requestId": request_id,
            "routeKey": "$default" if kind == "url" else f"{method} {path}",
            "stage": "$default",
            "timeEpoch": 1700000000000,
        }
        if authorizer is not None:
            context["authorizer"] = authorizer
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": context["routeKey"],
            "rawPath": path,
            "rawQueryString": urlencode([(k, v) for k, vs in multi_query.items() for v in vs]),
            "headers": lowered,
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

    if cookie_pairs:
        headers["Cookie"] = "; ".join(cookie_pairs)
    if kind == "alb":
        event = {
            "requestContext": {
                "elb": {
                    "targetGroupArn": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:"
                    "targetgroup/tg/0123456789abcdef"
                }
            },
            "httpMethod": method,
            "path": path,
            "body": body if body is not None else "",
            "isBase64Encoded": base64_body,
        }
        encoded = {quote(k): [quote(v) for v in vs] for k, vs in multi_query.items()}
        if multi_value:
            event["multiValueHeaders"] = {k.lower(): [v] for k, v in headers.items()}
            event["multiValueQueryStringParameters"] = encoded
        else:
            event["headers"] = {k.lower(): v for k, v in headers.items()}
            event["queryStringParameters"] = {k: vs[-1] for k, vs in encoded.items()}
        return event

    assert kind == "rest", kind
    context = {
        "accountId": "123456789012",
        "apiId": "abc123",
        "httpMethod": method,
        "identity": {"sourceIp": "203.0.113.9", "userAgent": "tests"},
        "path": f"/dev{path}",
        "requestId": request_id,
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


class FakeContext:
    """The attributes of Lambda's context object that Tight reads."""

    aws_request_id = "lambda-req-1"
    function_name = "tests"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:tests"

    def get_remaining_time_in_millis(self) -> int:
        return 30000
