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
from tight.batch import LABELS
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
    html = call({"statusCode": 200, "body": "<p>hi</p>", "headers": {"Content-Type": "text/html"}})
    assert html["body"] == "<p>hi</p>"
    response = call({"statusCode": 200, "body": b"\x89PNG"})
    assert response["isBase64Encoded"] is True
    assert base64.b64decode(response["body"]) == b"\x89PNG"
    assert response["headers"]["Content-Type"] == "application/octet-stream"


def test_default_status_is_200_and_other_values_are_bodies():
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
    result = {"statusCode": 200, "multiValueHeaders": {"X-Many": ["1", "2"], "Set-Cookie": ["c=3"]}}
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
    # Lambda's id, the one CloudWatch shows, for every kind; the gateway's in its own field.
    assert body["request_id"] == "lambda-req-1"
    log = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert log["level"] == "ERROR"
    assert log["request_id"] == "lambda-req-1"
    assert log.get("gateway_request_id") == (None if kind == "alb" else "rid-9")
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
    response = call({"statusCode": 200, "body": {"big": "x" * 100}}, method="GET")
    head = controller(get=lambda **kw: {"statusCode": 200, "body": {"big": "x" * 100}}).dispatch(
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
    c = controller(get=lambda **kw: {"statusCode": 200, "body": "ok"}, post=lambda **kw: None)
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
    response = call({"statusCode": 200, "headers": {"cache-control": "max-age=60"}})
    assert response["headers"]["cache-control"] == "max-age=60"
    assert "Cache-Control" not in response["headers"]
    assert response["headers"]["X-Frame-Options"] == "DENY"


def test_an_explicit_options_handler_wins_over_the_preflight():
    config.configure(cors="*")
    c = controller(options=lambda **kw: {"statusCode": 200, "body": "mine"})
    assert c.dispatch(make_event("rest", "OPTIONS"), None)["body"] == "mine"


# -- issue 11 ------------------------------------------------------------------------------
# Non-HTTP events, trimmed to the keys that say where they come from (AWS's documented shapes).
OTHER_SOURCES = {
    "sqs": {
        "Records": [
            {
                "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
                "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
                "body": "test",
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "098f6bcd4621d373cade4e832627b4f6",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:my-queue",
                "awsRegion": "us-east-1",
            }
        ]
    },
    "sns": {
        "Records": [
            {
                "EventVersion": "1.0",
                "EventSource": "aws:sns",
                "Sns": {"Type": "Notification", "Message": "Hello from SNS!"},
            }
        ]
    },
    "s3": {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": "my-bucket"}, "object": {"key": "test/key"}},
            }
        ]
    },
    "kinesis": {
        "Records": [
            {
                "kinesis": {"partitionKey": "1", "data": "SGVsbG8sIHRoaXMgaXMgYSB0ZXN0Lg=="},
                "eventSource": "aws:kinesis",
                "eventName": "aws:kinesis:record",
            }
        ]
    },
    "dynamodb_stream": {
        "Records": [
            {
                "eventID": "1",
                "eventName": "INSERT",
                "eventSource": "aws:dynamodb",
                "dynamodb": {"Keys": {"Id": {"N": "101"}}},
            }
        ]
    },
    "eventbridge": {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "detail": {"state": "running"},
    },
    "cloudwatch_logs": {"awslogs": {"data": "H4sIAAAAAAAAAHWPwQqCMBYGX2XsbEiJ..."}},
}


@pytest.mark.parametrize("source", sorted(OTHER_SOURCES))
def test_an_event_from_another_source_fails_the_invocation(source, capsys):
    called = []
    c = controller(get=lambda **kw: called.append(kw), post=lambda **kw: called.append(kw))
    with pytest.raises(errors.WrongEventSource) as raised:
        c.dispatch(OTHER_SOURCES[source], FakeContext(), "items")
    assert called == []
    label = LABELS[source]  # "SQS", "DynamoDB stream": as the record controllers say it
    assert (raised.value.function, raised.value.got, raised.value.serves) == (
        "items",
        label,
        "HTTP",
    )
    message = str(raised.value)
    assert f"function 'items' serves HTTP events but received a {label} event" in message
    log = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert log["level"] == "ERROR"
    assert log["message"] == message
    assert (log["function"], log["request_id"], log["source"]) == ("items", "lambda-req-1", source)


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"Records": []},
        {"Records": [{"body": "no source"}]},
        {"Records": "x"},
        {"path": "/x", "headers": {}},
        "GET /",
        None,
    ],
)
def test_a_malformed_http_like_event_is_still_a_400(event):
    response = controller(get=lambda **kw: None).dispatch(event, FakeContext(), "fn")
    assert response["statusCode"] == 400
    assert "not an HTTP request" in json.loads(response["body"])["message"]


@pytest.mark.parametrize("kind", KINDS)
def test_the_handler_event_always_has_a_body(kind):
    seen = []
    c = controller(get=lambda **kw: seen.append(kw["event"]), delete=lambda **kw: None)
    event = make_event(kind, "GET")
    event.pop("body", None)
    c.dispatch(event, None)
    assert seen[-1]["body"] is None
    assert "body" not in event, "the caller's event is not modified"
    for empty in (None, ""):
        c.dispatch({**make_event(kind, "GET"), "body": empty}, None)
        assert seen[-1]["body"] is None


@pytest.mark.parametrize(
    "result",
    [
        {"headers": ["id", "name"], "rows": [[1, "a"]]},
        {"title": "post", "body": "hello"},
        {"body": {"a": 1}},
        {"cookies": "yes please", "isBase64Encoded": "maybe"},
        {"multiValueHeaders": 3},
        {},
    ],
)
@pytest.mark.parametrize("kind", KINDS)
def test_a_dict_without_status_code_is_the_body(kind, result):
    response = call(result, kind)
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == result
    headers = response.get("headers") or {
        k: v[-1] for k, v in response["multiValueHeaders"].items()
    }
    assert headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("kind", ["http", "url"])
def test_a_string_is_one_header_value_and_one_cookie_in_v2_responses(kind):
    response = call(
        {
            "statusCode": 200,
            "headers": {"X-Both": "first"},
            "multiValueHeaders": {"X-One": "abc", "X-Both": ["second"], "Set-Cookie": "s=1"},
            "cookies": "a=1",
        },
        kind,
    )
    assert response["headers"]["X-One"] == "abc"
    assert response["headers"]["X-Both"] == "first,second"
    assert response["cookies"] == ["a=1", "s=1"]
    assert call(Response(cookies="a=1; Path=/"), kind)["cookies"] == ["a=1; Path=/"]


@pytest.mark.parametrize("kind", ["rest", "alb"])
def test_a_string_is_one_value_in_v1_multi_value_responses(kind):
    response = call(
        {"statusCode": 200, "multiValueHeaders": {"X-One": "abc"}, "cookies": "a=1"},
        kind,
        multi_value=True,
    )
    assert response["multiValueHeaders"]["X-One"] == ["abc"]
    assert response["multiValueHeaders"]["Set-Cookie"] == ["a=1"]


def test_a_single_value_alb_response_logs_what_it_drops(capsys):
    response = call(
        {
            "statusCode": 200,
            "headers": {"X-Many": "0"},
            "multiValueHeaders": {"X-Many": ["1", "2"], "X-One": ["only"]},
            "cookies": ["session=secret-token; HttpOnly", "theme=dark", "lang=en"],
        },
        "alb",
    )
    assert response["headers"]["Set-Cookie"] == "lang=en"
    assert response["headers"]["X-Many"] == "2"
    assert response["headers"]["X-One"] == "only"
    out = capsys.readouterr().out
    assert "secret-token" not in out, "cookie values may be secrets; only names are logged"
    log = json.loads(out.strip().splitlines()[-1])
    assert log["level"] == "WARNING"
    assert "dropped 2 of X-Many, 2 of Set-Cookie" in log["message"]
    assert "lambda.multi_value_headers.enabled" in log["message"]
    assert log["dropped_headers"] == {"X-Many": 2, "Set-Cookie": 2}
    assert log["dropped_cookies"] == ["session", "theme"]
    # Nothing is dropped, nothing is logged.
    call({"statusCode": 200, "cookies": ["a=1"], "headers": {"X": "1"}}, "alb")
    assert capsys.readouterr().out == ""


class Unencodable(errors.HTTPError):
    status_code = 422


@pytest.mark.parametrize("kind", KINDS)
def test_an_http_error_whose_payload_json_cannot_encode_is_answered_as_text(kind):
    def handler(**kw):
        raise Unencodable(object())  # type: ignore[arg-type]

    response = controller(get=handler).dispatch(make_event(kind), None)
    assert response["statusCode"] == 422
    assert response["body"].startswith("Unprocessable Entity: <object object at")
    headers = response.get("headers") or {
        k: v[-1] for k, v in response["multiValueHeaders"].items()
    }
    assert headers["Content-Type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize("status", [999, 0, 99, 600, -1, "404", 404.0])
@pytest.mark.parametrize("kind", KINDS)
def test_an_http_error_with_an_invalid_status_is_a_logged_500(kind, status, capsys):
    def handler(**kw):
        raise errors.HTTPError("odd", status_code=status)

    response = controller(get=handler).dispatch(make_event(kind), FakeContext(), "fn")
    assert response["statusCode"] == 500
    assert json.loads(response["body"])["request_id"] == "lambda-req-1"
    log = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert log["level"] == "ERROR"
    assert log["error_type"] == "ResponseError"
    assert f"status_code {status!r}" in log["traceback"]


def test_an_http_error_whose_body_breaks_is_a_500():
    class Broken(errors.HTTPError):
        def body(self):
            raise RuntimeError("no body today")

    def broken(**kw):
        raise Broken()

    assert controller(get=broken).dispatch(make_event("rest"), None)["statusCode"] == 500


def test_an_http_error_with_headers_no_response_can_carry_keeps_its_status(capsys):
    class BadHeaders(errors.HTTPError):
        status_code = 400

        def __init__(self, headers):
            super().__init__("bad")
            self.headers = headers

    class Unprintable:
        def __str__(self):
            raise RuntimeError("no str")

    for headers in ("Retry-After: 5", {"Retry-After": Unprintable()}):

        def handler(headers=headers, **kw):
            raise BadHeaders(headers)

        response = controller(get=handler).dispatch(make_event("rest"), None)
        assert response["statusCode"] == 400
        assert json.loads(response["body"]) == {"error": "Bad Request", "message": "bad"}
        log = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert log["level"] == "WARNING"
        assert "BadHeaders.headers must map header names to strings" in log["message"]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_json_body_with_nan_or_infinity_is_a_400(kind, constant):
    called = []
    response = controller(post=lambda **kw: called.append(kw)).dispatch(
        make_event(
            kind,
            "POST",
            body=f'{{"price": {constant}}}',
            headers={"Content-Type": "application/json"},
        ),
        None,
    )
    assert response["statusCode"] == 400
    assert called == []
    assert "is not a JSON number" in json.loads(response["body"])["message"]


def test_without_a_content_type_a_nan_body_stays_text_and_echoes_back():
    echo = controller(post=lambda **kw: {"statusCode": 200, "body": kw["event"]["body"]})
    response = echo.dispatch(make_event("rest", "POST", body='{"price": NaN}'), None)
    assert (response["statusCode"], response["body"]) == (200, '{"price": NaN}')


@pytest.mark.parametrize("kind", KINDS)
def test_log_lines_carry_lambdas_request_id_and_the_gateways_in_its_own_field(kind, capsys):
    from tight.core import logger

    def handler(**kw):
        logger.info(message="working", step=1)
        return None

    controller(get=handler).dispatch(make_event(kind, request_id="gw-7"), FakeContext(), "fn")
    log = json.loads(capsys.readouterr().out.strip())
    assert (log["function"], log["request_id"]) == ("fn", "lambda-req-1")
    assert log.get("gateway_request_id") == (None if kind == "alb" else "gw-7")


def test_an_http_error_whose_payload_cannot_even_be_printed_keeps_its_status():
    class Unprintable:
        def __str__(self):
            raise RuntimeError("no str")

    def handler(**kw):
        raise errors.NotFound(Unprintable())  # type: ignore[arg-type]

    response = controller(get=handler).dispatch(make_event("rest"), None)
    assert (response["statusCode"], response["body"]) == (404, "Not Found")


@pytest.mark.parametrize("batch", [[], [{"messageId": "1", "body": "{}"}], [1, "two"]])
def test_a_json_array_event_fails_the_invocation_instead_of_a_400(batch, capsys):
    """EventBridge Pipes invokes its target with a bare array of records: a 400 would count as
    success and the pipe would drop the batch."""
    called = []
    c = controller(get=lambda **kw: called.append(kw), post=lambda **kw: called.append(kw))
    with pytest.raises(errors.WrongEventSource) as raised:
        c.dispatch(batch, FakeContext(), "items")
    assert called == []
    assert raised.value.got == "EventBridge Pipes batch"
    assert "make the pipe's target an SQS queue" in str(raised.value)
    log = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (log["level"], log["function"]) == ("ERROR", "items")
