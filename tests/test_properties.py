"""Property test: whatever the event, a well-formed response comes back and nothing escapes."""

from __future__ import annotations

import json
from typing import Any

from events import KINDS, make_event
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tight.providers.aws.controllers.lambda_proxy_event import METHODS, Controller

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
EVENT_KEYS = [
    "httpMethod",
    "path",
    "resource",
    "headers",
    "multiValueHeaders",
    "queryStringParameters",
    "multiValueQueryStringParameters",
    "pathParameters",
    "requestContext",
    "body",
    "isBase64Encoded",
    "version",
    "rawPath",
    "rawQueryString",
    "cookies",
    "routeKey",
]
methods = st.sampled_from([*METHODS, "get", "TRACE", "", "BREW"]) | st.text(max_size=6)
bodies = st.one_of(
    st.none(),
    st.text(max_size=200),
    st.sampled_from(["{", "[1,", "not base64!", "e30=", "////", '{"a": 1}', "null", "\udcff"]),
    st.binary(max_size=50).map(lambda b: b.decode("latin-1")),
    st.just("x" * 300_000),
    json_values,
)


@st.composite
def events(draw: st.DrawFn) -> Any:
    choice = draw(st.integers(0, 3))
    if choice == 0:
        return draw(json_values)  # anything at all
    kind = draw(st.sampled_from(KINDS))
    event = make_event(
        kind,
        draw(st.sampled_from(METHODS)),
        draw(st.text(max_size=30)),
        headers=draw(st.dictionaries(st.text(max_size=15), st.text(max_size=30), max_size=4)),
        query=draw(
            st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=8), max_size=3)
        ),
        multi_value=draw(st.booleans()),
        authorizer=draw(
            st.none()
            | st.dictionaries(
                st.sampled_from(["claims", "jwt", "principalId", "lambda"]), json_values
            )
        ),
    )
    event["body"] = draw(bodies)
    event["isBase64Encoded"] = draw(st.booleans() | json_scalars)
    if choice >= 2:  # damage it: drop keys, null them, or put junk in them
        for key in draw(st.lists(st.sampled_from(EVENT_KEYS), max_size=5)):
            action = draw(st.integers(0, 2))
            if action == 0:
                event.pop(key, None)
            elif action == 1:
                event[key] = None
            else:
                event[key] = draw(json_values)
        if draw(st.booleans()):
            event["httpMethod" if kind in ("rest", "alb") else "rawPath"] = draw(methods)
    return event


def nosy_handler(*args: Any, **kwargs: Any) -> Any:
    """Reads every part of the request, as a curious handler might."""
    request = kwargs["request"]
    return {
        "statusCode": 200,
        "body": {
            "method": request.method,
            "path": request.path,
            "route": request.route,
            "query": request.query,
            "headers": dict(request.headers.items()),
            "cookies": request.cookies,
            "principal": request.principal_id,
            "ip": request.source_ip,
            "json": request.json() if request.is_json else None,
            "text_len": len(request.text),
            "params": request.path_params,
            "event_body_type": type(kwargs["event"].get("body")).__name__,
        },
    }


CONTROLLER = Controller("tests.properties")
for method in ("GET", "POST", "PUT", "DELETE"):
    CONTROLLER.register(method, nosy_handler)


def assert_well_formed(response: Any) -> None:
    assert isinstance(response, dict)
    assert isinstance(response["statusCode"], int) and 100 <= response["statusCode"] <= 599
    assert isinstance(response["body"], str)
    assert isinstance(response["isBase64Encoded"], bool)
    assert "headers" in response or "multiValueHeaders" in response
    for name, value in (response.get("headers") or {}).items():
        assert isinstance(name, str) and isinstance(value, str)
    for name, values in (response.get("multiValueHeaders") or {}).items():
        assert isinstance(name, str) and all(isinstance(v, str) for v in values)
    json.dumps(response)  # Lambda must be able to serialise it
    if response["statusCode"] == 500:
        assert "Traceback" not in response["body"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events())
def test_any_event_gets_a_well_formed_response(event: Any) -> None:
    assert_well_formed(CONTROLLER.dispatch(event, None, "fn"))


@settings(max_examples=100, deadline=None)
@given(json_values)
def test_any_handler_result_gets_a_well_formed_response(result: Any) -> None:
    controller = Controller("tests.properties.results")
    controller.register("GET", lambda **kw: result)
    for kind in KINDS:
        assert_well_formed(controller.dispatch(make_event(kind), None))
