"""A real app on disk, called as Lambda calls it: ``app_index.<name>(event, context)``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_app
from events import KINDS, FakeContext, make_event

import tight
from tight.errors import WrongEventSource
from tight.providers.aws.lambda_app import app as tight_app

ITEMS = """
import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy

@lambda_proxy.get
def get_handler(*args, **kwargs):
    request = kwargs["request"]
    return {"statusCode": 200, "body": {"id": request.path_params.get("id"),
                                         "principal": kwargs["principal_id"]}}

@lambda_proxy.post
def post_handler(*args, **kwargs):
    event = kwargs.pop("event")
    return {"statusCode": 201, "body": event["body"]}
"""

PING = """
import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy

@lambda_proxy.get
def get_handler(*args, **kwargs):
    return {"statusCode": 200, "body": "pong", "headers": {"Content-Type": "text/plain"}}
"""


@pytest.mark.parametrize("kind", KINDS)
def test_each_function_answers_each_kind(load_app, kind):
    app_index = load_app({"items": ITEMS, "ping": PING})
    got = app_index.items(
        make_event(kind, "GET", "/items/7", path_params={"id": "7"}), FakeContext()
    )
    assert got["statusCode"] == 200
    # ALB has no routes, so no path parameters.
    expected_id = None if kind == "alb" else "7"
    assert json.loads(got["body"]) == {"id": expected_id, "principal": None}
    posted = app_index.items(make_event(kind, "POST", "/items", body={"a": [1, 2]}), FakeContext())
    assert posted["statusCode"] == 201
    assert json.loads(posted["body"]) == {"a": [1, 2]}
    pong = app_index.ping(make_event(kind, "GET", "/ping"), FakeContext())
    assert (pong["statusCode"], pong["body"]) == (200, "pong")
    if kind == "alb":
        assert pong["statusDescription"] == "200 OK"


def test_run_exposes_one_callable_per_function_and_imports_lazily(load_app):
    app_index = load_app({"items": ITEMS, "ping": PING})
    assert isinstance(app_index.items, tight_app.LambdaFunction)
    assert isinstance(app_index.ping, tight_app.LambdaFunction)
    assert "app.functions.items.handler" not in sys.modules
    app_index.items(make_event("rest", "GET", "/items/1", path_params={"id": "1"}), None)
    assert "app.functions.items.handler" in sys.modules
    assert "app.functions.ping.handler" not in sys.modules
    module = sys.modules["app.functions.items.handler"]
    app_index.items(make_event("rest", "GET", "/items/1"), None)
    assert sys.modules["app.functions.items.handler"] is module


def test_vendored_and_plain_imports_share_one_runtime(load_app):
    app_index = load_app({"items": ITEMS})
    import tight.providers.aws.lambda_app.app as plain

    assert app_index.app is plain
    assert sys.modules["app.vendored.tight"] is tight
    import app.vendored.tight.providers.aws.controllers.lambda_proxy_event as vendored_proxy

    from tight.providers.aws.controllers import lambda_proxy_event

    assert vendored_proxy is lambda_proxy_event
    assert vendored_proxy.__spec__.name == "tight.providers.aws.controllers.lambda_proxy_event"
    app_index.items(make_event("rest", "GET", "/items/1"), None)
    controller = lambda_proxy_event.controller_for("app.functions.items.handler")
    assert controller is not None and sorted(controller.handlers) == ["GET", "POST"]


def test_handler_importing_the_vendored_name_registers_once(load_app):
    source = ITEMS.replace(
        "import tight.providers.aws.controllers.lambda_proxy_event",
        "import app.vendored.tight.providers.aws.controllers.lambda_proxy_event",
    )
    app_index = load_app({"items": source})
    got = app_index.items(make_event("http", "POST", "/items", body={"x": 1}), None)
    assert got["statusCode"] == 201


def test_handler_module_that_fails_to_import_is_logged_and_answered_500(load_app, capsys):
    app_index = load_app({"broken": "import no_such_module_here\n", "items": ITEMS})
    got = app_index.broken(make_event("rest", "GET", "/"), FakeContext())
    assert got["statusCode"] == 500
    body = json.loads(got["body"])
    assert body["request_id"] == "lambda-req-1"
    assert "no_such_module_here" not in got["body"]
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert logged and logged[0]["level"] == "ERROR"
    assert "app/functions/broken/handler.py" in logged[0]["message"]
    assert "no_such_module_here" in logged[0]["traceback"]
    # The other functions are unaffected.
    assert app_index.items(make_event("rest", "GET", "/"), None)["statusCode"] == 200


def test_module_without_handlers_is_a_500_naming_the_fix(load_app, capsys):
    app_index = load_app({"empty": "X = 1\n"})
    assert app_index.empty(make_event("url", "GET", "/"), None)["statusCode"] == 500
    assert "@lambda_proxy.get" in capsys.readouterr().out


SQS_EVENT = {
    "Records": [
        {
            "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
            "body": "test",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:my-queue",
        }
    ]
}


def test_an_sqs_batch_sent_to_an_http_function_fails_the_invocation(load_app, capsys):
    """Lambda must see a failure, or the queue deletes the batch unprocessed."""
    app_index = load_app({"items": ITEMS})
    with pytest.raises(WrongEventSource, match="function 'items' serves HTTP"):
        app_index.items(SQS_EVENT, FakeContext())
    logged = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (logged["level"], logged["function"], logged["source"]) == ("ERROR", "items", "sqs")
    assert "received a SQS event" in logged["message"]
    # A malformed HTTP-like event is still answered, with a 400.
    assert app_index.items({"Records": []}, FakeContext())["statusCode"] == 400


def test_plain_handler_function_serves_non_http_events(load_app):
    app_index = load_app(
        {"worker": "def handler(event, context):\n    return len(event['Records'])\n"}
    )
    assert app_index.worker({"Records": [1, 2, 3]}, None) == 3


def test_invalid_function_folder_is_a_clear_error(tmp_path):
    root = write_app(tmp_path / "bad", {"my-func": PING})
    with pytest.raises(tight_app.AppError, match=r"app/functions/my-func is not a valid Python"):
        tight_app.discover(str(root))
    root2 = write_app(tmp_path / "kw", {"class": PING})
    with pytest.raises(tight_app.AppError, match="app/functions/class"):
        tight_app.discover(str(root2))


def test_folders_without_handler_are_ignored(tmp_path):
    root = write_app(tmp_path / "a", {"items": ITEMS})
    (root / "app" / "functions" / "__pycache__").mkdir()
    (root / "app" / "functions" / "notes-folder").mkdir()
    assert tight_app.discover(str(root)) == ["items"]


def test_missing_functions_folder_names_the_fix(tmp_path):
    with pytest.raises(tight_app.AppError, match="generate_function"):
        tight_app.discover(str(tmp_path))


def test_function_named_like_an_existing_attribute_is_refused(tmp_path):
    root = write_app(tmp_path / "clash", {"app": PING})
    result = subprocess.run(
        [sys.executable, "-I", "-c", "import sys; sys.path.insert(0, '.'); import app_index"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "app/functions/app would replace app_index.app" in result.stderr


def test_app_runs_in_an_isolated_interpreter_like_lambda(tmp_path):
    """Only the app folder on the path: the vendored copy is the runtime that serves."""
    root = write_app(tmp_path / "iso", {"items": ITEMS})
    event = make_event("rest", "POST", "/items", body={"n": 1})
    script = (
        "import json, sys; sys.path.insert(0, '.'); import app_index, tight; "
        "r = app_index.items(json.loads(sys.stdin.read()), None); "
        "import tight.providers.aws.lambda_app.app as plain; "
        "import tight.providers.aws.controllers.lambda_proxy_event as proxy; "
        "import app.vendored.tight.providers.aws.controllers.lambda_proxy_event as vproxy; "
        "shared = [sys.modules['tight'] is sys.modules['app.vendored.tight'], "
        "app_index.app is plain, proxy is vproxy, "
        "sorted(k for k in sys.modules if k.endswith('lambda_proxy_event')), "
        "sorted(proxy._controllers)]; "
        "print(json.dumps([r, tight.__file__, shared]))"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", script],
        cwd=root,
        input=json.dumps(event),
        capture_output=True,
        text=True,
        check=True,
    )
    response, tight_file, shared = json.loads(result.stdout)
    assert response["statusCode"] == 201
    assert shared[:3] == [True, True, True]
    assert shared[3] == [
        "app.vendored.tight.providers.aws.controllers.lambda_proxy_event",
        "tight.providers.aws.controllers.lambda_proxy_event",
    ]
    assert shared[4] == ["app.functions.items.handler"]
    assert Path(tight_file).resolve() == (root / "app/vendored/tight/__init__.py").resolve()


def test_a_successful_request_loads_only_what_it_uses(tmp_path):
    """Cold start: errors, logging, event sources and collections.abc wait until needed."""
    root = write_app(tmp_path / "lean", {"items": ITEMS})
    script = (
        "import json, sys; sys.path.insert(0, '.'); before = set(sys.modules); "
        "import app_index; "
        "event = json.loads(sys.stdin.read()); "
        "ok = app_index.items(event, None)['statusCode']; "
        "lean = sorted(set(sys.modules) - before); "
        "bad = app_index.items({**event, 'headers': {'Content-Type': 'application/json'}, "
        "'body': '{'}, None)['statusCode']; "
        "print(json.dumps([ok, lean, bad, 'tight.errors' in sys.modules]))"
    )
    event = make_event("rest", "GET", "/items/1", path_params={"id": "1"})
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script],
        cwd=root,
        input=json.dumps(event),
        capture_output=True,
        text=True,
        check=True,
    )
    ok, lean, bad, errors_loaded = json.loads(result.stdout)
    assert ok == 200
    for module in ("tight.errors", "tight.core.logger", "tight.sources", "collections.abc"):
        assert module not in lean
    assert (bad, errors_loaded) == (400, True)
