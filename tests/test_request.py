"""The request view: the same questions answered for each of the four event kinds."""

from __future__ import annotations

import pytest
from events import KINDS, FakeContext, make_event

from tight.errors import BadRequest
from tight.request import Headers, Request, event_kind


@pytest.mark.parametrize("kind", KINDS)
def test_kind_is_detected(kind):
    assert event_kind(make_event(kind)) == kind


@pytest.mark.parametrize("event", [None, [], "GET /", {}, {"foo": 1}, {"Records": []}])
def test_non_http_events_have_no_kind(event):
    assert event_kind(event) is None


@pytest.mark.parametrize("kind", KINDS)
def test_method_path_and_query(kind):
    event = make_event(kind, "patch", "/a/b", query={"q": "x y", "tag": ["1", "2"]})
    request = Request(event)
    assert request.method == "PATCH"
    assert request.path == "/a/b"
    assert request.query["q"] == "x y"
    # ALB without multi-value mode forwards only the last value of a repeated parameter.
    assert request.query_multi["tag"] == (["2"] if kind == "alb" else ["1", "2"])
    assert request.query["tag"] == "2"


def test_alb_query_is_percent_decoded_in_both_modes():
    for multi in (False, True):
        event = make_event("alb", query={"a b": "c&d=e"}, multi_value=multi)
        assert Request(event).query == {"a b": "c&d=e"}


@pytest.mark.parametrize("kind", KINDS)
def test_headers_are_case_insensitive(kind):
    event = make_event(kind, headers={"X-Trace-Id": "abc", "Accept": "text/html"})
    request = Request(event)
    assert request.headers["x-trace-id"] == "abc"
    assert request.headers.get("X-TRACE-ID") == "abc"
    assert request.header("accept") == "text/html"
    assert "ACCEPT" in request.headers
    assert request.header("missing") is None


def test_multi_value_headers_keep_every_value():
    event = make_event("alb", multi_value=True)
    event["multiValueHeaders"] = {"X-Forwarded-For": ["1.1.1.1", "2.2.2.2"]}
    request = Request(event)
    assert request.headers.get_all("x-forwarded-for") == ["1.1.1.1", "2.2.2.2"]
    assert request.headers["X-Forwarded-For"] == "2.2.2.2"
    assert request.multi_value_headers


def test_header_lookup_with_unusual_casing_falls_back_to_full_scan():
    event = make_event("rest", headers={"CONTENT-TYPE": "application/json"})
    assert Request(event).content_type == "application/json"


@pytest.mark.parametrize("kind", KINDS)
def test_cookies(kind):
    request = Request(make_event(kind, cookies={"session": "s1", "theme": "dark"}))
    assert request.cookies == {"session": "s1", "theme": "dark"}


@pytest.mark.parametrize("kind", KINDS)
def test_body_text_and_json(kind):
    request = Request(make_event(kind, "POST", body={"n": 1, "s": "é"}))
    assert request.json() == {"n": 1, "s": "é"}
    assert request.is_json
    assert request.body == request.text.encode()


@pytest.mark.parametrize("kind", KINDS)
def test_base64_body_is_decoded(kind):
    raw = b"\x00\x01binary\xff"
    request = Request(make_event(kind, "POST", body=raw, base64_body=True))
    assert request.body == raw
    with pytest.raises(BadRequest, match="UTF-8"):
        _ = request.text


def test_bad_base64_is_a_bad_request():
    event = make_event("rest", "POST", body="not base64!!")
    event["isBase64Encoded"] = True
    with pytest.raises(BadRequest, match="base64"):
        _ = Request(event).body


def test_invalid_json_is_a_bad_request():
    request = Request(
        make_event("http", "POST", body="{nope", headers={"content-type": "application/json"})
    )
    with pytest.raises(BadRequest, match="not valid JSON"):
        request.json()


def test_empty_body_json_is_none():
    assert Request(make_event("rest", "POST")).json() is None


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("application/vnd.api+json", True),
        ("text/plain", False),
        ("application/x-www-form-urlencoded", False),
    ],
)
def test_is_json(content_type, expected):
    assert Request(make_event("rest", headers={"Content-Type": content_type})).is_json is expected


@pytest.mark.parametrize(
    ("kind", "authorizer", "expected"),
    [
        ("rest", {"claims": {"sub": "cognito-user"}}, "cognito-user"),
        ("rest", {"principalId": "lambda-user", "extra": "x"}, "lambda-user"),
        ("http", {"jwt": {"claims": {"sub": "jwt-user"}, "scopes": None}}, "jwt-user"),
        ("http", {"lambda": {"principalId": "v2-lambda-user"}}, "v2-lambda-user"),
        ("url", {"iam": {"userId": "AIDA"}}, None),
        ("rest", None, None),
    ],
)
def test_principal_id(kind, authorizer, expected):
    assert Request(make_event(kind, authorizer=authorizer)).principal_id == expected


def test_request_id_is_lambdas_and_the_gateway_id_has_its_own_name():
    request = Request(make_event("rest", request_id="gw-1"), context=FakeContext())
    assert request.request_id == "lambda-req-1"
    assert request.gateway_request_id == "gw-1"
    alb = Request(make_event("alb"), context=FakeContext())
    assert (alb.request_id, alb.gateway_request_id) == ("lambda-req-1", None)
    assert Request(make_event("http", request_id="gw-2")).request_id is None


def test_source_ip():
    assert Request(make_event("rest")).source_ip == "203.0.113.9"
    assert Request(make_event("http")).source_ip == "203.0.113.9"


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        ("198.51.100.7", "198.51.100.7"),
        # The client sent the first entry; the load balancer appended the last one.
        ("6.6.6.6, 198.51.100.7", "198.51.100.7"),
        ("6.6.6.6,198.51.100.7 ", "198.51.100.7"),
        ("", None),
    ],
)
def test_alb_source_ip_is_the_entry_the_load_balancer_appended(forwarded, expected):
    alb = make_event("alb", headers={"X-Forwarded-For": forwarded})
    assert Request(alb).source_ip == expected
    multi = make_event("alb", multi_value=True)
    multi["multiValueHeaders"] = {"X-Forwarded-For": ["1.2.3.4", forwarded]}
    assert Request(multi).source_ip == expected


def test_nulls_in_the_event_are_tolerated():
    event = make_event("rest")
    event.update(
        headers=None,
        multiValueHeaders=None,
        queryStringParameters=None,
        pathParameters=None,
        requestContext=None,
        body=None,
    )
    request = Request(event)
    assert request.headers.get("x") is None
    assert request.query == {}
    assert request.path_params == {}
    assert request.principal_id is None
    assert request.cookies == {}
    assert request.body == b""


def test_headers_ignore_junk_entries():
    headers = Headers({"A": "1", 5: "x", "B": None, "C": ["2", None, "3"]})
    assert dict(headers.items()) == {"a": "1", "c": "3"}
    assert len(headers) == 2
    assert list(headers) == ["a", "c"]
    with pytest.raises(KeyError):
        headers["b"]


def test_headers_are_a_read_only_case_insensitive_mapping():
    from collections.abc import Mapping

    request = Request(make_event("rest", headers={"X-Trace-Id": "abc", "Accept": "text/html"}))
    headers = request.headers
    assert isinstance(headers, Mapping)
    assert dict(headers) == {"x-trace-id": "abc", "accept": "text/html"}
    assert {**headers}["accept"] == "text/html"
    assert headers["X-TRACE-ID"] == headers["x-trace-id"] == "abc"
    assert sorted(headers.keys()) == ["accept", "x-trace-id"]
    assert "text/html" in headers.values()
    assert headers == {"x-trace-id": "abc", "accept": "text/html"}
    with pytest.raises(TypeError):
        headers["accept"] = "x"  # type: ignore[index]
    with pytest.raises(TypeError):
        del headers["accept"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("kind", KINDS)
def test_json_with_nan_or_infinity_is_a_bad_request(kind, constant):
    body = f'{{"price": {constant}}}'
    request = Request(
        make_event(kind, "POST", body=body, headers={"Content-Type": "application/json"})
    )
    with pytest.raises(BadRequest, match=f"{constant.lstrip('-')} is not a JSON number"):
        request.json()


def test_deeply_nested_json_is_a_bad_request_not_a_crash():
    request = Request(make_event("rest", "POST", body="[" * 100_000 + "]" * 100_000))
    with pytest.raises(BadRequest, match="not valid JSON"):
        request.json()
