"""Dispatch: handlers called with the right arguments, responses and errors shaped per kind."""

from __future__ import annotations

import base64
import datetime
import json
import uuid
from decimal import Decimal

import pytest
from events import KINDS, FakeContext, make_event

from tight import config, errors
from tight.providers.aws.controllers import lambda_proxy_event as lambda_proxy
from tight.providers.aws.controllers.lambda_proxy_event import Controller, DuplicateHandler
from tight.response import Response


def controller(**handlers):
    c = Controller("tests.fake_module")
    for method, handler in handlers.items():
        c.register(method.upper(), handler)
    return c


def call(handler_result, kind="rest", method="GET", **event_kwargs):
    c = controller(**{method.lower(): lambda **kw: handler_result})
    return c.dispatch(make_event(kind, method, "/x", **event_kwargs), FakeContext(), "fn")


def test_decorators_register_on_the_defining_module_and_return_the_function():
    def get_handler(*args, **kwargs):
        return {"statusCode": 200}

    def post_handler(*args, **kwargs):
        return None

    assert lambda_proxy.get(get_handler) is get_handler
    assert lambda_proxy.post(post_handler) is post_handler
    registered = lambda_proxy.controller_for(__name__)
    assert registered is not None
    assert registered.handlers["GET"] is get_handler
    assert registered.handlers["POST"] is post_handler
    for decorator, method in [
        (lambda_proxy.put, "PUT"),
        (lambda_proxy.patch, "PATCH"),
        (lambda_proxy.delete, "DELETE"),
        (lambda_proxy.options, "OPTIONS"),
        (lambda_proxy.head, "HEAD"),
    ]:
        fn = decorator(lambda **kw: None)
        assert registered.handlers[method] is fn
    del lambda_proxy._controllers[__name__]


def test_two_different_handlers_for_one_method_is_an_error():
    def first(**kw):
        return None

    def second(**kw):
        return None

    c = controller(get=first)
    c.register("GET", first)  # the same function again (a reload) is fine
    with pytest.raises(DuplicateHandler, match=r"two GET handlers, .*first and .*second"):
        c.register("GET", second)


@pytest.mark.parametrize("kind", KINDS)
def test_handler_gets_event_context_principal_and_request(kind):
    seen = {}

    def handler(*args, **kwargs):
        seen.update(kwargs, args=args)
        return {"statusCode": 200}

    event = make_event(
        kind,
        "POST",
        "/x",
        body={"a": 1},
        authorizer={"principalId": "p-1", "claims": {"sub": "p-1"}},
    )
    original_body = event["body"]
    response = controller(post=handler).dispatch(event, FakeContext(), "fn")
    assert response["statusCode"] == 200
    assert seen["args"] == ()
    assert seen["event"]["body"] == {"a": 1}
    assert event["body"] == original_body, "the caller's event is not modified"
    assert isinstance(seen["context"], FakeContext)
    expected_principal = None if kind == "alb" else "p-1"  # ALB has no authorizers
    assert seen["principal_id"] == expected_principal
    assert seen["request"].method == "POST"


def test_body_without_content_type_is_decoded_when_it_is_json():
    seen = {}
    c = controller(post=lambda **kw: seen.update(kw))
    c.dispatch(make_event("rest", "POST", body='{"k": [1]}'), None)
    assert seen["event"]["body"] == {"k": [1]}
    c.dispatch(make_event("rest", "POST", body="plain words"), None)
    assert seen["event"]["body"] == "plain words"


def test_non_json_content_type_leaves_the_body_alone():
    seen = {}
    c = controller(post=lambda **kw: seen.update(kw))
    form = "a=1&b=2"
    c.dispatch(
        make_event(
            "rest", "POST", body=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
        ),
        None,
    )
    assert seen["event"]["body"] == form


@pytest.mark.parametrize("kind", KINDS)
def test_body_that_claims_json_but_is_not_is_400(kind):
    response = call(
        {"statusCode": 200},
        kind,
        "POST",
        body="{oops",
        headers={"Content-Type": "application/json"},
    )
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"] == "Bad Request"


def test_json_body_encoding_of_dynamodb_and_python_types():
    body = {
        "int": Decimal("10"),
        "neg": Decimal("-3.000"),
        "float": Decimal("2.5"),
        "big": Decimal("12345678901234567890"),
        "when": datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc),
        "day": datetime.date(2024, 5, 6),
        "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "tags": {"b", "a"},
        "raw": b"\x00\x01",
    }
    response = call({"statusCode": 200, "body": body})
    assert response["headers"]["Content-Type"] == "application/json"
    text = response["body"]
    assert '"int": 10,' in text and '"neg": -3,' in text and '"big": 12345678901234567890' in text
    decoded = json.loads(text)
    assert decoded["float"] == 2.5
    assert decoded["when"] == "2024-05-06T07:08:09+00:00"
    assert decoded["day"] == "2024-05-06"
    assert decoded["id"] == "12345678-1234-5678-1234-567812345678"
    assert decoded["tags"] == ["a", "b"]
    assert decoded["raw"] == "AAE="


def test_unencodable_body_is_a_500():
    response = call({"statusCode": 200, "body": {"x": object()}})
    assert response["statusCode"] == 500
    assert "object" not in response["body"]


@pytest.mark.parametrize("kind", KINDS)
def test_none_is_204_with_an_empty_body(kind):
    response = call(None, kind)
    assert response["statusCode"] == 204
    assert response["body"] == ""


def test_str_body_is_sent_as_is_and_bytes_as_base64():
    assert (
        call({"body": "<p>hi</p>", "headers": {"Content-Type": "text/html"}})["body"] == "<p>hi</p>"
    )
    response = call({"statusCode": 200, "body": b"\x89PNG"})
    assert response["isBase64Encoded"] is True
    assert base64.b64decode(response["body"]) == b"\x89PNG"
    assert response["headers"]["Content-Type"] == "application/octet-stream"


def test_default_status_is_200_and_other_values_are_bodies():
    assert call({"body": {"a": 1}})["statusCode"] == 200
    listed = call([1, 2, 3])
    assert (listed["statusCode"], json.loads(listed["body"])) == (200, [1, 2, 3])
    plain = call({"hello": "world"})
    assert (plain["statusCode"], json.loads(plain["body"])) == (200, {"hello": "world"})


def test_response_object():
    response = call(
        Response({"id": 3}, status=201, headers={"Location": "/x/3"}, cookies=["a=1"]), "http"
    )
    assert response["statusCode"] == 201
    assert response["headers"]["Location"] == "/x/3"
    assert response["cookies"] == ["a=1"]


@pytest.mark.parametrize("status", [0, 99, 600, "200", 200.0, None])
def test_invalid_status_code_is_a_500(status):
    assert call({"statusCode": status})["statusCode"] == 500


def test_cookies_are_shaped_per_kind():
    result = {"statusCode": 200, "cookies": ["a=1; Path=/", "b=2"], "headers": {"X": "1"}}
    assert call(result, "http")["cookies"] == ["a=1; Path=/", "b=2"]
    assert call(result, "url")["cookies"] == ["a=1; Path=/", "b=2"]
    rest = call(result, "rest")
    assert rest["multiValueHeaders"] == {"Set-Cookie": ["a=1; Path=/", "b=2"]}
    assert rest["headers"] == {"X": "1"}
    alb_multi = call(result, "alb", multi_value=True)
    assert alb_multi["multiValueHeaders"]["Set-Cookie"] == ["a=1; Path=/", "b=2"]
    assert alb_multi["multiValueHeaders"]["X"] == ["1"]
    assert "headers" not in alb_multi
    assert alb_multi["statusDescription"] == "200 OK"
    alb_single = call(result, "alb")
    assert alb_single["headers"]["Set-Cookie"] == "b=2"
    assert "multiValueHeaders" not in alb_single


def test_multi_value_headers_from_a_v2_handler_are_joined():
    result = {"multiValueHeaders": {"X-Many": ["1", "2"], "Set-Cookie": ["c=3"]}}
    response = call(result, "http")
    assert response["headers"]["X-Many"] == "1,2"
    assert response["cookies"] == ["c=3"]


@pytest.mark.parametrize("kind", KINDS)
def test_http_errors_become_their_status(kind):
    def handler(**kw):
        raise errors.Conflict("item 3 exists", headers={"Retry-After": "5"})

    response = controller(put=handler).dispatch(make_event(kind, "PUT"), None)
    assert response["statusCode"] == 409
    assert json.loads(response["body"]) == {"error": "Conflict", "message": "item 3 exists"}
    headers = response.get("headers") or {
        k: v[-1] for k, v in response["multiValueHeaders"].items()
    }
    assert headers["Retry-After"] == "5"


@pytest.mark.parametrize(
    "error",
    [
        errors.BadRequest,
        errors.Unauthorized,
        errors.Forbidden,
        errors.NotFound,
        errors.Gone,
        errors.UnprocessableEntity,
        errors.TooManyRequests,
        errors.ServiceUnavailable,
    ],
)
def test_every_error_class_maps_to_its_status(error):
    def handler(**kw):
        raise error()

    response = controller(get=handler).dispatch(make_event("rest"), None)
    assert response["statusCode"] == error.status_code
    assert json.loads(response["body"])["error"] == errors.reason(error.status_code)


@pytest.mark.parametrize("kind", KINDS)
def test_unexpected_exception_is_a_generic_500_and_logged(kind, capsys):
    def handler(**kw):
        raise RuntimeError("database password is hunter2")

    response = controller(get=handler).dispatch(
        make_event(kind, request_id="rid-9"), FakeContext(), "fn"
    )
    assert response["statusCode"] == 500
    assert "hunter2" not in json.dumps(response)
    assert "Traceback" not in json.dumps(response)
    body = json.loads(response["body"])
    expected_id = "lambda-req-1" if kind == "alb" else "rid-9"
    assert body["request_id"] == expected_id
    log = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert log["level"] == "ERROR"
    assert log["request_id"] == expected_id
    assert log["function"] == "fn"
    assert "hunter2" in log["traceback"]


@pytest.mark.parametrize("kind", KINDS)
def test_method_without_handler_is_405_with_allow(kind):
    response = controller(get=lambda **kw: None, post=lambda **kw: None).dispatch(
        make_event(kind, "DELETE"), None
    )
    assert response["statusCode"] == 405
    allow = response.get("headers", {}).get("Allow") or response["multiValueHeaders"]["Allow"][0]
    assert allow == "GET, POST, HEAD"


def test_head_runs_get_without_a_body():
    response = call({"body": {"big": "x" * 100}}, method="GET")
    head = controller(get=lambda **kw: {"body": {"big": "x" * 100}}).dispatch(
        make_event("rest", "HEAD"), None
    )
    assert head["statusCode"] == 200
    assert head["body"] == ""
    assert head["headers"]["Content-Type"] == response["headers"]["Content-Type"]


def test_non_http_event_is_a_400_not_an_exception():
    response = controller(get=lambda **kw: None).dispatch({"Records": []}, None)
    assert response["statusCode"] == 400


def test_cors_headers_and_preflight():
    config.configure(cors={"allow_origin": "*", "allow_headers": ["Content-Type"], "max_age": 30})
    c = controller(get=lambda **kw: {"body": "ok"}, post=lambda **kw: None)
    got = c.dispatch(make_event("rest"), None)
    assert got["headers"]["Access-Control-Allow-Origin"] == "*"
    preflight = c.dispatch(
        make_event(
            "http",
            "OPTIONS",
            headers={"Origin": "https://a.example", "Access-Control-Request-Method": "POST"},
        ),
        None,
    )
    assert preflight["statusCode"] == 204
    assert preflight["headers"]["Access-Control-Allow-Methods"] == "GET, POST, OPTIONS, HEAD"
    assert preflight["headers"]["Access-Control-Allow-Headers"] == "Content-Type"
    assert preflight["headers"]["Access-Control-Max-Age"] == "30"
    assert preflight["headers"]["Access-Control-Allow-Origin"] == "*"


def test_without_cors_options_is_405():
    c = controller(get=lambda **kw: None)
    assert c.dispatch(make_event("rest", "OPTIONS"), None)["statusCode"] == 405


def test_cors_with_a_list_of_origins_echoes_an_allowed_origin():
    config.configure(
        cors={"allow_origin": ["https://a.example", "https://b.example"], "allow_credentials": True}
    )
    c = controller(get=lambda **kw: None)
    allowed = c.dispatch(make_event("rest", headers={"Origin": "https://b.example"}), None)
    assert allowed["headers"]["Access-Control-Allow-Origin"] == "https://b.example"
    assert allowed["headers"]["Access-Control-Allow-Credentials"] == "true"
    assert allowed["headers"]["Vary"] == "Origin"
    other = c.dispatch(make_event("rest", headers={"Origin": "https://evil.example"}), None)
    assert "Access-Control-Allow-Origin" not in other["headers"]


def test_handler_headers_override_defaults_case_insensitively():
    config.configure(headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"})
    response = call({"headers": {"cache-control": "max-age=60"}})
    assert response["headers"]["cache-control"] == "max-age=60"
    assert "Cache-Control" not in response["headers"]
    assert response["headers"]["X-Frame-Options"] == "DENY"


def test_an_explicit_options_handler_wins_over_the_preflight():
    config.configure(cors="*")
    c = controller(options=lambda **kw: {"statusCode": 200, "body": "mine"})
    assert c.dispatch(make_event("rest", "OPTIONS"), None)["body"] == "mine"
