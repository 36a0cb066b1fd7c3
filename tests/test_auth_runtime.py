"""The runtime's side of auth: a Lambda authorizer's answer in the shape of the API that
asked (REST policy, HTTP API simple response), and what a function reads of its caller
(``request.claims``, ``principal_id``, ``authorizer_context``, ``iam_identity``) from each
authorizer kind's event, as API Gateway shapes it."""

from __future__ import annotations

import json

import pytest

from tight.request import Request
from tight.testing.events import authorizer_request, make_event

AUTHORIZER = """
from tight.errors import Unauthorized
from tight.providers.aws.controllers import authorizer


@authorizer.request
def check(*args, **kwargs):
    request = kwargs["request"]
    token = request.header("authorization")
    if token == "good":
        return authorizer.allow("user-7", context={"plan": "pro", "seats": 3, "trial": False})
    if token == "expired":
        raise Unauthorized("expired")
    if token == "dict":
        return {"principalId": "raw", "policyDocument": {}}
    if token == "nested":
        return authorizer.allow("user-7", context={"roles": ["a"]})
    if token == "wrong":
        return True
    return authorizer.deny()
"""


@pytest.fixture
def app(load_app):
    return load_app({"auth": AUTHORIZER})


def rest(token: str | None) -> dict:
    headers = {"Authorization": token} if token else {}
    return authorizer_request("GET", "/items/1", headers, kind="rest")


def http(token: str | None) -> dict:
    headers = {"Authorization": token} if token else {}
    return authorizer_request("POST", "/items", headers, kind="http")


def test_a_rest_api_gets_a_policy_for_the_whole_stage(app):
    event = rest("good")
    assert event["methodArn"].endswith("/dev/GET/items/1")
    answer = app.auth(event, None)
    statement = answer["policyDocument"]["Statement"][0]
    assert answer["principalId"] == "user-7"
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "execute-api:Invoke"
    # The whole stage: a cached answer also covers the caller's other routes.
    assert statement["Resource"] == event["methodArn"].split("/")[0] + "/dev/*"
    assert answer["context"] == {"plan": "pro", "seats": 3, "trial": False}
    denied = app.auth(rest("bad"), None)
    assert denied["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert "context" not in denied


def test_an_http_api_gets_a_simple_response(app):
    event = http("good")
    assert event["identitySource"] == ["good"]
    assert event["routeArn"].endswith("/$default/POST/items")
    assert app.auth(event, None) == {
        "isAuthorized": True,
        "context": {"plan": "pro", "seats": 3, "trial": False, "principalId": "user-7"},
    }
    assert app.auth(http("bad"), None) == {"isAuthorized": False}


def test_unauthorized_is_a_401_on_rest_and_a_refusal_on_http(app):
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        app.auth(rest("expired"), None)
    assert app.auth(http("expired"), None) == {"isAuthorized": False}


def test_an_answer_built_by_hand_passes_and_a_wrong_one_fails_the_authorizer(app):
    assert app.auth(rest("dict"), None) == {"principalId": "raw", "policyDocument": {}}
    with pytest.raises(TypeError, match=r"returns authorizer\.allow"):
        app.auth(rest("wrong"), None)
    with pytest.raises(TypeError, match="strings, numbers and booleans only"):
        app.auth(rest("nested"), None)


def test_an_authorizer_refuses_events_that_are_not_authorizer_requests(app, event):
    with pytest.raises(TypeError, match="REQUEST authorizer events"):
        app.auth(event("GET", "/items"), None)
    with pytest.raises(TypeError, match="REQUEST authorizer events"):
        app.auth(event.sqs(bodies=["x"]), None)


def with_identity(event: dict, **identity: str) -> dict:
    event["requestContext"]["identity"].update(identity)
    return event


USER_ARN = "arn:aws:iam::123456789012:user/alice"
CASES = {
    "rest cognito": (
        make_event(authorizer={"claims": {"sub": "u-1", "email": "a@example.com"}}),
        "u-1",
        {"sub": "u-1", "email": "a@example.com"},
        {},
        {},
    ),
    "http jwt": (
        make_event(kind="http", authorizer={"jwt": {"claims": {"sub": "u-2"}, "scopes": None}}),
        "u-2",
        {"sub": "u-2"},
        {},
        {},
    ),
    "rest lambda": (
        make_event(authorizer={"principalId": "p-3", "plan": "pro", "integrationLatency": 7}),
        "p-3",
        {},
        {"plan": "pro"},
        {},
    ),
    "http lambda": (
        make_event(kind="http", authorizer={"lambda": {"plan": "pro", "principalId": "p-4"}}),
        "p-4",
        {},
        {"plan": "pro"},
        {},
    ),
    "rest iam": (
        with_identity(make_event(), accessKey="AKID", userArn=USER_ARN),
        USER_ARN,
        {},
        {},
        {"accessKey": "AKID", "userArn": USER_ARN},
    ),
    "http iam": (
        make_event(kind="http", authorizer={"iam": {"accessKey": "AKID", "userArn": USER_ARN}}),
        USER_ARN,
        {},
        {},
        {"accessKey": "AKID", "userArn": USER_ARN},
    ),
    "open": (make_event(kind="http"), None, {}, {}, {}),
}


@pytest.mark.parametrize("case", CASES)
def test_a_function_reads_its_caller_whatever_the_authorizer(case):
    event, principal, claims, context, iam = CASES[case]
    request = Request(event)
    assert request.principal_id == principal
    assert request.claims == claims
    assert request.authorizer_context == context
    identity = request.iam_identity
    assert {k: identity[k] for k in iam} == iam and bool(identity) == bool(iam)


def test_a_handler_gets_the_principal_id_as_a_keyword(load_app, event):
    app = load_app(
        {
            "me": """
            import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy

            @lambda_proxy.get
            def get_handler(*args, **kwargs):
                return {"who": kwargs["principal_id"], "claims": kwargs["request"].claims}
            """
        }
    )
    answer = app.me(event("GET", "/me", kind="http", principal_id="u-9"), None)
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"]) == {"who": "u-9", "claims": {"sub": "u-9"}}
