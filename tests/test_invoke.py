"""`doit invoke` in a real scaffolded app: an event from a file, from stdin or made on the
spot, run in the worker `doit serve` uses; the answer on stdout, the logs on stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tight.testing.events import sqs

BIN = Path(sys.executable).parent

ORDERS = """
from tight.core import logger
from tight.providers.aws.controllers import sqs


@sqs.record
def on_message(*args, **kwargs):
    message = kwargs["record"]
    order = message.json()
    if not isinstance(order, dict):
        raise TypeError(f"message {message.message_id} is not a JSON object")
    logger.info(message="order received", item=order.get("item"))
"""

PLAIN = """
def handler(event, context):
    if event.get("fail"):
        raise KeyError("missing")
    return {"seen": event, "left": context.get_remaining_time_in_millis() > 0}
"""

NIGHTLY = """
from tight.core import logger
from tight.providers.aws.controllers import eventbridge


@eventbridge.record
def on_schedule(*args, **kwargs):
    record = kwargs["record"]
    logger.info(message="fired", kind=record.detail_type, rule=record.resources[0])
"""


def run(*command: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=cwd, capture_output=True, text=True,
        input=stdin,
    )  # fmt: skip


def answer(done: subprocess.CompletedProcess[str]) -> object:
    """The JSON answer: stdout holds it alone, no task title, so it pipes into jq."""
    return json.loads(done.stdout)


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    folder = tmp_path_factory.mktemp("invoke")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(folder / "cache"))  # doit's state, per app
        assert run("tight", "generate_app", "name=shop", cwd=folder).returncode == 0
        root = folder / "shop"
        functions = (
            ["name=items", "methods=get,post"],
            ["name=orders", "trigger=sqs"],
            ["name=plain"],
            ["name=nightly", "trigger=schedule"],
        )
        for args in functions:
            done = run("doit", "generate_function", *args, cwd=root)
            assert done.returncode == 0, done.stderr
        (root / "app/functions/orders/handler.py").write_text(ORDERS)
        (root / "app/functions/plain/handler.py").write_text(PLAIN)
        (root / "app/functions/nightly/handler.py").write_text(NIGHTLY)
        yield root


def test_a_generated_http_event(shop):
    done = run(
        "doit", "invoke", "name=items", "kind=http", "method=POST", 'body={"a": 1}', cwd=shop
    )
    assert done.returncode == 0, done.stderr
    result = answer(done)
    assert result["statusCode"] == 201
    assert json.loads(result["body"])["received"] == {"a": 1}


def test_a_batch_from_a_file_reports_its_failures_and_logs_on_stderr(shop, tmp_path):
    batch = sqs(bodies=[{"item": "cup"}, "not an order"])
    path = tmp_path / "batch.json"
    path.write_text(json.dumps(batch))
    done = run("doit", "invoke", "name=orders", f"event={path}", cwd=shop)
    assert done.returncode == 0, done.stderr
    bad = batch["Records"][1]["messageId"]
    assert answer(done) == {"batchItemFailures": [{"itemIdentifier": bad}]}
    assert "order received" in done.stderr and "order received" not in done.stdout


def test_an_event_on_stdin_and_a_raise_is_named(shop):
    done = run("doit", "invoke", "name=plain", "event=-", cwd=shop, stdin='{"x": 1}')
    assert done.returncode == 0, done.stderr
    assert answer(done) == {"seen": {"x": 1}, "left": True}
    failed = run("doit", "invoke", "name=plain", "event=-", cwd=shop, stdin='{"fail": true}')
    assert failed.returncode != 0
    assert "error: function plain raised KeyError: 'missing'" in failed.stderr


def test_a_scheduled_function_fires_now_from_its_rule(shop):
    done = run("doit", "invoke", "name=nightly", cwd=shop)
    assert done.returncode == 0, done.stderr
    assert "Scheduled Event" in done.stderr
    assert "arn:aws:events:us-east-1:123456789012:rule/shop-dev-nightly-schedule" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["name=nope"], "error: no function 'nope' in app/functions"),
        (["name=orders", "kind=http"], "error: function orders serves sqs events, not http"),
        (["name=items", "event=-"], "error: the event in stdin is not JSON"),
    ],
)
def test_bad_input_is_one_error_line_and_changes_nothing(shop, args, message):
    before = snapshot(shop)
    done = run("doit", "invoke", *args, cwd=shop, stdin="{not json")
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(message), done.stderr
    assert snapshot(shop) == before
