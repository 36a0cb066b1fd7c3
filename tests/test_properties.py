"""Property tests: whatever the event, whatever the handler returns or raises, dispatch answers
a well-formed response and raises nothing (but ``WrongEventSource`` for another service's
event)."""

from __future__ import annotations

import json
from typing import Any

from events import KINDS, make_event
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tight import errors
from tight.batch import LABELS
from tight.providers.aws.controllers.lambda_proxy_event import METHODS, Controller
from tight.response import Response
from tight.sources import event_source

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
            "headers": dict(request.headers),
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


def serve(controller: Controller, event: Any) -> None:
    """Dispatch ``event``: a well-formed answer, or WrongEventSource for another service's."""
    source = event_source(event)
    try:
        response = controller.dispatch(event, None, "fn")
    except errors.WrongEventSource as raised:
        assert source is not None and raised.got == LABELS.get(source, source)
        return
    assert source is None, f"a {source} event was answered instead of failing the invocation"
    assert_well_formed(response)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events())
def test_any_event_gets_a_well_formed_response(event: Any) -> None:
    serve(CONTROLLER, event)


@settings(max_examples=100, deadline=None)
@given(
    st.fixed_dictionaries(
        {"eventSource": st.sampled_from(["aws:sqs", "aws:s3", "aws:kinesis", "aws:dynamodb"])},
        optional={"body": json_values},
    ),
    st.sampled_from(["Records", "detail-type", "awslogs"]),
)
def test_another_services_event_always_fails_the_invocation(record: Any, key: str) -> None:
    event = {"Records": [record]} if key == "Records" else {key: record}
    try:
        CONTROLLER.dispatch(event, None, "fn")
    except errors.WrongEventSource:
        return
    raise AssertionError(f"{event!r} was answered")


class Weird:
    """A value no encoder knows, whose str() works."""


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no str for you")

    def __repr__(self) -> str:  # Hypothesis prints failing examples with repr
        return "Unprintable()"


odd_values = st.one_of(
    st.floats(),  # NaN and infinities included: JSON cannot carry them
    st.builds(Weird),
    st.builds(Unprintable),
    st.binary(max_size=20),
    st.sets(st.integers(), max_size=3),
    st.text(max_size=10).map(lambda t: t + "\udcff"),  # a lone surrogate
)
any_values = st.recursive(
    json_scalars | odd_values,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
header_maps = st.none() | any_values | st.dictionaries(st.text(max_size=10), any_values, max_size=3)
envelopes = st.fixed_dictionaries(
    {"statusCode": st.one_of(st.integers(-10, 1000), st.sampled_from([200, 404, 500]), any_values)},
    optional={
        "body": any_values,
        "headers": header_maps,
        "multiValueHeaders": header_maps,
        "cookies": st.none() | st.text(max_size=10) | st.lists(any_values, max_size=3) | any_values,
        "isBase64Encoded": any_values,
    },
)
responses = st.builds(
    Response,
    body=any_values,
    status=st.integers(0, 700) | any_values,
    headers=st.none() | st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3),
    cookies=st.none() | st.text(max_size=10) | st.lists(st.text(max_size=10), max_size=3),
)
results = st.one_of(st.none(), any_values, envelopes, responses)

error_classes = st.sampled_from(
    [
        errors.HTTPError,
        errors.BadRequest,
        errors.NotFound,
        errors.Conflict,
        errors.TooManyRequests,
        errors.ServiceUnavailable,
    ]
)
http_errors = st.builds(
    lambda cls, message, status, headers: cls(message, status_code=status, headers=headers),
    error_classes,
    st.none() | any_values,
    st.none() | st.integers(-5, 1200) | any_values,
    st.none() | st.dictionaries(st.text(max_size=8), any_values, max_size=2),
)
other_errors = st.sampled_from(
    [ValueError("bad"), KeyError("body"), TypeError("x"), RecursionError(), ZeroDivisionError()]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(KINDS), st.booleans(), results | http_errors | other_errors)
def test_any_handler_result_or_error_gets_a_well_formed_response(
    kind: str, multi_value: bool, outcome: Any
) -> None:
    def handler(**kwargs: Any) -> Any:
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    controller = Controller("tests.properties.results")
    controller.register("GET", handler)
    response = controller.dispatch(make_event(kind, multi_value=multi_value), None, "fn")
    assert_well_formed(response)
    status = getattr(outcome, "status_code", None)
    # An int, as error_response wants: 100.0 is in range(100, 600) too, and answered 500.
    if isinstance(outcome, errors.HTTPError) and type(status) is int and 100 <= status <= 599:
        assert response["statusCode"] == status
