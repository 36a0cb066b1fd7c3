"""The runtime against HTTP events as AWS documents them (tests/aws_events/), not the factory's.

- apigw_rest_proxy.json: API Gateway guide, input format of a Lambda proxy integration (REST)
- apigw_rest_console_test_no_body.json: a GET as the API Gateway console's Test tab sends it,
  with no ``body`` key
- apigw_http_v2.json: API Gateway guide, HTTP API payload format version 2.0
- alb_single_value.json: Elastic Load Balancing guide, receive events from the load balancer
- alb_multi_value.json: Elastic Load Balancing guide, multi-value headers
- lambda_url.json: Lambda guide, invoking function URLs, request payload
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from events import FakeContext

from tight.providers.aws.controllers.lambda_proxy_event import Controller
from tight.request import Request, event_kind

EVENTS = Path(__file__).parent / "aws_events"


def load(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


# file, kind, method, path, source ip, gateway request id, body the handler sees
DOCUMENTED = [
    ("apigw_rest_proxy.json", "rest", "GET", "/my/path", "192.0.2.1", "id=", "Hello from Lambda!"),
    (
        "apigw_rest_console_test_no_body.json",
        "rest",
        "GET",
        "/items/42",
        "test-invoke-source-ip",
        "5b7d3b6a-0f0b-4d5c-9a51-7a0e3c9d2f10",
        None,
    ),
    ("apigw_http_v2.json", "http", "POST", "/my/path", "192.0.2.1", "id", "Hello from Lambda"),
    ("alb_single_value.json", "alb", "GET", "/lambda", "72.12.164.125", None, None),
    ("alb_multi_value.json", "alb", "GET", "/", "72.21.198.66", None, "request_body"),
    ("lambda_url.json", "url", "POST", "/my/path", "123.123.123.123", "id", "Hello from client!"),
]


@pytest.mark.parametrize(("name", "kind", "method", "path", "ip", "gateway_id", "body"), DOCUMENTED)
def test_documented_event_is_read_as_aws_means_it(name, kind, method, path, ip, gateway_id, body):
    event = load(name)
    assert event_kind(event) == kind
    request = Request(event, context=FakeContext())
    assert (request.method, request.path, request.source_ip) == (method, path, ip)
    assert request.request_id == "lambda-req-1"
    assert request.gateway_request_id == gateway_id

    seen: dict[str, Any] = {}
    controller = Controller("tests.documented")
    controller.register(method, lambda **kw: seen.update(kw) or {"statusCode": 200, "body": "ok"})
    response = controller.dispatch(event, FakeContext(), "fn")
    assert response["statusCode"] == 200
    assert response["body"] == "ok"
    assert "body" in seen["event"], "the handler's event always has a body"
    assert seen["event"]["body"] == body
    if kind == "alb":
        assert response["statusDescription"] == "200 OK"
        shape = "multiValueHeaders" if "multiValueHeaders" in event else "headers"
        assert set(response) & {"headers", "multiValueHeaders"} == {shape}


@pytest.mark.parametrize("name", ["apigw_rest_proxy.json", "apigw_http_v2.json", "lambda_url.json"])
def test_documented_query_headers_and_cookies(name):
    request = Request(load(name))
    assert request.query_multi == {"parameter1": ["value1", "value2"], "parameter2": ["value"]}
    assert request.query == {"parameter1": "value2", "parameter2": "value"}
    if request.kind == "rest":
        # multiValueHeaders carries each value; a single look-up answers the last one.
        assert request.headers.get_all("header2") == ["value1", "value2"]
        assert dict(request.headers) == {"header1": "value1", "header2": "value2"}
    else:
        # HTTP APIs and function URLs join repeated headers with commas themselves.
        assert dict(request.headers) == {"header1": "value1", "header2": "value1,value2"}
        assert request.event["cookies"] == ["cookie1", "cookie2"]


def test_documented_alb_multi_value_event():
    request = Request(load("alb_multi_value.json"))
    assert request.multi_value_headers
    assert request.query_multi == {"myKey": ["val1", "val2"]}
    assert request.cookies == {"name1": "value1", "name2": "value2"}
    assert request.headers.get_all("cookie") == ["name1=value1", "name2=value2"]
    assert request.content_type == "text/plain"


def test_documented_alb_single_value_event():
    request = Request(load("alb_single_value.json"))
    assert not request.multi_value_headers
    assert request.query == {"query": "1234ABCD"}
    assert request.header("X-Forwarded-Proto") == "http"
    assert request.body == b""


def test_console_test_event_without_body_reaches_the_handler():
    """A console test event has no ``body`` key; reading ``event["body"]`` must not fail."""
    controller = Controller("tests.console")
    controller.register(
        "GET",
        lambda **kw: {
            "statusCode": 200,
            "body": {"body": kw["event"]["body"], "id": kw["request"].path_params["id"]},
        },
    )
    response = controller.dispatch(load("apigw_rest_console_test_no_body.json"), FakeContext())
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"body": None, "id": "42"}


def test_documented_v2_principal_comes_from_the_jwt_claims_only_when_there_is_a_sub():
    assert Request(load("apigw_http_v2.json")).principal_id is None
    event = load("apigw_http_v2.json")
    event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] = "user-7"
    assert Request(event).principal_id == "user-7"
