"""``doit invoke name=<function>``: run one function once, in the worker ``doit serve`` uses,
with a JSON event from a file, from stdin (``event=-``) or made by the event factory
(``kind=rest|http|alb|url|sqs|sns|s3|kinesis|dynamodb_stream|eventbridge|schedule``, with
``method``, ``path`` and ``body``). The answer is printed as JSON on stdout, the function's
logs on stderr; the task fails, naming the error, when the function raised.
"""

from __future__ import annotations

import json
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


def _invoke(name: str, event: str, kind: str, method: str, path: str, body: str, stage: str) -> Any:
    from tight_tasks.config import find_app_root, load

    root = find_app_root()
    settings = load(root)
    if not name:
        raise TightTaskError("name the function: doit invoke name=<function>")
    kinds = served_kinds(root, settings, name)
    if event:
        payload = read_event(event)
        given = event_kind_of(payload)
    else:
        given = kind or (kinds[0] if kinds else "rest")
        from tight_tasks.config import app_name

        stage_name = stage or str(settings.get("stage") or "dev")
        # A scheduled function fires now, as its rule would: `doit invoke name=nightly`.
        rule = f"{app_name(root, settings)}-{stage_name}-{name}-schedule"
        payload = generated_event(given, method, path, body, rule)
    if kinds is not None and given is not None and given not in kinds:
        raise TightTaskError(
            f"function {name} serves {', '.join(kinds)} events, not {given}; "
            f"give kind={kinds[0]} or another event"
        )
    reply = invoke(root, settings, name, payload, stage or str(settings.get("stage") or "dev"))
    if "timeout" in reply:
        raise TightTaskError(f"function {name} ran past its {reply['timeout']} s timeout")
    if "error" in reply:
        raise TightTaskError(f"function {name} raised {reply['error']}")
    print(json.dumps(reply["result"], indent=2))


def task_invoke() -> dict[str, Any]:
    """Run one function locally: name=x [event=file.json|- | kind=sqs body=...]."""
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
            param("method", "for an HTTP kind: the method (default GET)"),
            param("path", "for an HTTP kind: the path (default /); for s3: the key"),
            param("body", "the body or message: JSON, or text"),
            stage_param("the stage the function sees"),
        ],
        "uptodate": [False],
        "verbosity": 2,
        "meta": {"pipeable": True},  # stdout is the answer alone: `doit invoke ... | jq`
    }
