"""``doit invoke name=<function>``: run one function once, in the worker ``doit serve`` uses,
with a JSON event from a file, from stdin (``event=-``) or made by the event factory
(``kind=rest|http|alb|url|sqs|sns|s3|kinesis|dynamodb_stream|eventbridge|schedule``, with
``method``, ``path`` and ``body``). The answer is printed as JSON on stdout, the function's
logs on stderr; the task fails, naming the error, when the function raised.

A Lambda authorizer (``trigger=authorizer``) gets the event API Gateway sends it for the
app's API: a REST API's REQUEST event with its ``methodArn``, an HTTP API's payload 2.0
with ``identitySource``, for ``method`` and ``path`` (a route it guards) and the caller's
``token`` in its identity header, made by the code ``doit serve`` calls it with
(``tight_tasks.serve_auth``). Its answer is judged as the API would judge it, and a line on
stderr says so: ``allowed: principal ..., context {...}`` or ``denied: 403 ...``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from tight_tasks.errors import TightTaskError, as_action
from tight_tasks.taskkit import param

HTTP_KINDS = ("rest", "http", "alb", "url")
RECORD_KINDS = ("sqs", "sns", "s3", "kinesis", "dynamodb_stream", "eventbridge", "schedule")


def _body(text: str) -> Any:
    """``body=`` as JSON when it is JSON, else the text itself."""
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def generated_event(kind: str, method: str, path: str, body: str, rule: str = "") -> Any:
    """An event of ``kind`` from the event factory the ``event`` fixture uses; a schedule's
    comes from ``rule`` (the rule ``doit serve`` fires the function's schedule from)."""
    from tight.testing import events

    value = _body(body)
    if kind in HTTP_KINDS:
        return events.make_event(method or "GET", path or "/", body=value, kind=kind)
    if kind == "sqs":
        return events.sqs(bodies=[value if value is not None else {}])
    if kind == "sns":
        return events.sns(messages=[value if value is not None else {}])
    if kind == "s3":
        return events.s3(keys=[path.lstrip("/") or "incoming/file.txt"])
    if kind == "kinesis":
        return events.kinesis(data=[value if value is not None else {}])
    if kind == "dynamodb_stream":
        return events.dynamodb_stream(items=[value if isinstance(value, dict) else {"id": "1"}])
    if kind == "eventbridge":
        return events.eventbridge(detail=value if isinstance(value, dict) else {})
    if kind == "schedule":
        return events.schedule(rule) if rule else events.schedule()
    raise TightTaskError(
        f"kind {kind} is unknown; use one of {', '.join(HTTP_KINDS + RECORD_KINDS)}"
    )


def read_event(source: str) -> Any:
    """The JSON event in file ``source``, or on stdin for ``-``."""
    if source == "-":
        text, where = sys.stdin.read(), "stdin"
    else:
        path = Path(source)
        if not path.is_file():
            raise TightTaskError(f"no event file {source}")
        text, where = path.read_text(), source
    try:
        return json.loads(text)
    except ValueError as error:
        raise TightTaskError(f"the event in {where} is not JSON: {error}") from None


def served_kinds(root: Path, settings: dict[str, Any], name: str) -> tuple[str, ...] | None:
    """The event kinds function ``name`` serves (None: a plain handler takes any)."""
    from tight_tasks.functions import app_functions, function_entry, function_trigger, read_code
    from tight_tasks.routes import api_kind

    if name not in app_functions(root, settings):
        raise TightTaskError(
            f"no function {name!r} in app/functions; run `doit generate_function name={name}`"
        )
    code = read_code(root, name)
    trigger = function_trigger(name, function_entry(settings, name), code)
    if trigger:
        return (trigger,)
    if code.kind == "http":
        return (api_kind(settings), *[k for k in HTTP_KINDS if k != api_kind(settings)])
    return None


def event_kind_of(event: Any) -> str | None:
    from tight.request import event_kind
    from tight.sources import event_source

    return event_kind(event) or event_source(event)


def invoke(
    root: Path, settings: dict[str, Any], name: str, event: Any, stage: str
) -> dict[str, Any]:
    """Run ``name`` once on ``event`` in a fresh worker; its logs go to stderr."""
    from tight_tasks.config import runtime_config
    from tight_tasks.functions import DEFAULT_MEMORY, DEFAULT_TIMEOUT, own_setting
    from tight_tasks.serve import lambda_environment, local_dynamo
    from tight_tasks.worker import Worker

    def log(line: str) -> None:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    config = runtime_config(settings)
    config["stage"] = stage
    worker = Worker(
        root,
        name,
        lambda_environment(root, settings, stage, name, local_dynamo(root)),
        config,
        own_setting(settings, name, "timeout", DEFAULT_TIMEOUT),
        own_setting(settings, name, "memory_size", DEFAULT_MEMORY),
        log,
    )
    try:
        return worker.invoke(event)
    finally:
        worker.stop()


# -- Lambda authorizers ----------------------------------------------------------------------
def authorizer_request(
    root: Path, settings: dict[str, Any], name: str, method: str, path: str, token: str, stage: str
) -> dict[str, Any]:
    """The event the app's API sends authorizer ``name`` for ``method path`` with ``token``
    in its identity header: built as ``doit serve`` builds it, for the route the request
    reaches. ``path`` defaults to the first route the authorizer guards; one that guards no
    route (not in tight.yml yet) is called as if it guarded ``method path`` (``/``)."""
    from tight.config import ConfigError
    from tight_tasks.auth import Auth
    from tight_tasks.routes import Route, api_kind, routes
    from tight_tasks.serve import HttpRequest, Match, RouteTable, http_event, rest_event
    from tight_tasks.serve_auth import Refusal, authorizer_event

    api = api_kind(settings)
    try:
        table = routes(root, settings)
    except ConfigError as error:
        raise TightTaskError(str(error)) from None
    guarded = [r for r in table if r.auth is not None and r.auth.function == name]
    method = method.upper()
    if not path and guarded:
        first = next((r for r in guarded if r.method == (method or r.method)), guarded[0])
        method, path = first.method, re.sub(r"\{[^}]+\}", "1", first.path)
    method, path = method or "GET", path or "/"
    match = RouteTable(guarded).match(method, path)
    if match is None and guarded:
        routes_of = ", ".join(f"{r.method} {r.path}" for r in guarded)
        raise TightTaskError(
            f"API Gateway calls {name} for its routes only ({routes_of}), not for "
            f"{method} {path}; give one of them as method= and path="
        )
    unwired = Auth(kind="function", function=name)
    if match is None:  # it guards no route yet: called as if it guarded this one
        match = Match(Route(method, path, name, "Invoke", api, False, unwired), {})
    auth = match.route.auth or unwired
    headers = [("Host", "127.0.0.1"), ("User-Agent", "doit-invoke")]
    if token:
        headers.append((auth.headers[0], token))
    request = HttpRequest(method, path, headers, b"", "127.0.0.1")
    import uuid

    request_id = str(uuid.uuid4())
    if api == "http":
        event = http_event(request, match, request_id, "127.0.0.1")
    else:
        event = rest_event(request, match, stage, request_id, "127.0.0.1")
    try:
        return authorizer_event(auth, request, event)
    except Refusal as refusal:
        said = f"{refusal.status} {json.dumps({'message': refusal.message})}"
        raise TightTaskError(
            f"no token: API Gateway answers {said} without calling {name}, as there is "
            f"{refusal.why}; give token=<the caller's {auth.headers[0]}>"
        ) from None


def authorizer_verdict(name: str, reply: dict[str, Any], request_event: Any) -> str:
    """One line saying what the API makes of authorizer ``name``'s ``reply`` to
    ``request_event`` (an HTTP API's when the event is payload 2.0, else a REST API's):
    allowed, with the principal and context the route's function would get, or denied
    with the API's answer. A ``TightTaskError`` when the API would fail (a 500)."""
    from tight_tasks.serve_auth import Refusal, authorizer_answer, authorizer_context

    api = (
        "http"
        if isinstance(request_event, dict) and request_event.get("version") == "2.0"
        else "rest"
    )
    event = request_event if isinstance(request_event, dict) else {}
    try:
        answer = authorizer_answer(name, api, reply)
        found = authorizer_context(name, api, answer, {"methodArn": "", **event})
    except Refusal as refusal:
        said = f"{refusal.status} {json.dumps({'message': refusal.message})}"
        if refusal.status >= 500:
            raise TightTaskError(f"the API would answer {said}: {refusal.why}") from None
        return f"denied: {said} ({refusal.why})"
    context = dict(found["lambda"]) if api == "http" else dict(found)
    context.pop("integrationLatency", None)
    principal = context.pop("principalId", None)
    return f"allowed: principal {principal}, context {json.dumps(context)}"


def _invoke(
    name: str,
    event: str,
    kind: str,
    method: str,
    path: str,
    body: str,
    token: str,
    stage: str,
) -> Any:
    from tight_tasks.config import find_app_root, load
    from tight_tasks.functions import read_code

    root = find_app_root()
    settings = load(root)
    if not name:
        raise TightTaskError("name the function: doit invoke name=<function>")
    kinds = served_kinds(root, settings, name)
    stage = stage or str(settings.get("stage") or "dev")
    if read_code(root, name).kind == "authorizer":
        return _invoke_authorizer(
            root, settings, name, event, kind, method, path, body, token, stage
        )
    if token:
        raise TightTaskError(
            f"token= is the caller's credential for a Lambda authorizer; {name} is none "
            "(give its event a header instead: event=file.json)"
        )
    if event:
        payload = read_event(event)
        given = event_kind_of(payload)
    else:
        given = kind or (kinds[0] if kinds else "rest")
        from tight_tasks.config import app_name

        # A scheduled function fires now, as its rule would: `doit invoke name=nightly`.
        rule = f"{app_name(root, settings)}-{stage}-{name}-schedule"
        payload = generated_event(given, method, path, body, rule)
    if kinds is not None and given is not None and given not in kinds:
        raise TightTaskError(
            f"function {name} serves {', '.join(kinds)} events, not {given}; "
            f"give kind={kinds[0]} or another event"
        )
    reply = invoke(root, settings, name, payload, stage)
    if "timeout" in reply:
        raise TightTaskError(f"function {name} ran past its {reply['timeout']} s timeout")
    if "error" in reply:
        raise TightTaskError(f"function {name} raised {reply['error']}")
    print(json.dumps(reply["result"], indent=2))


def _invoke_authorizer(
    root: Path,
    settings: dict[str, Any],
    name: str,
    event: str,
    kind: str,
    method: str,
    path: str,
    body: str,
    token: str,
    stage: str,
) -> None:
    from tight_tasks.routes import api_kind

    api = api_kind(settings)
    if kind and kind != api:
        raise TightTaskError(
            f"{name} is a Lambda authorizer of this app's {api} API, which makes its event; "
            f"leave out kind=, or give an event file: event=file.json"
        )
    if body:
        raise TightTaskError(f"API Gateway sends {name} no body; leave out body=")
    if event:
        payload = read_event(event)
    else:
        payload = authorizer_request(root, settings, name, method, path, token, stage)
    reply = invoke(root, settings, name, payload, stage)
    if "result" in reply:
        print(json.dumps(reply["result"], indent=2))
    verdict = authorizer_verdict(name, reply, payload)
    sys.stderr.write(verdict + "\n")


def task_invoke() -> dict[str, Any]:
    """Run one function locally: name=x [event=file.json|- | kind=sqs body=... | token=...]."""
    from tight_tasks.taskkit import stage_param

    return {
        "actions": [(as_action(_invoke),)],
        "params": [
            param("name", "the function to run (a folder of app/functions)"),
            param("event", "a JSON event file, or - for stdin"),
            param(
                "kind",
                "without event=: the kind of event to make, "
                + ", ".join(HTTP_KINDS + RECORD_KINDS)
                + " (default: what the function serves)",
            ),
            param(
                "method",
                "for an HTTP kind: the method (default GET); for a Lambda authorizer: the "
                "route's (default: the first route it guards)",
            ),
            param(
                "path",
                "for an HTTP kind: the path (default /); for s3: the key; for a Lambda "
                "authorizer: the route's (default: the first route it guards)",
            ),
            param("body", "the body or message: JSON, or text"),
            param(
                "token",
                "for a Lambda authorizer: the caller's credential, sent in its identity "
                "header (Authorization unless its auth names headers), e.g. token='Bearer abc'",
            ),
            stage_param("the stage the function sees"),
        ],
        "uptodate": [False],
        "verbosity": 2,
        "meta": {"pipeable": True},  # stdout is the answer alone: `doit invoke ... | jq`
    }
