"""Record once, replay offline, for a test written in any style: the scaffolded tests of
every function kind, a handler called directly, a model imported through its package, a
helper module, boto3 clients and HTTP clients made anywhere (at import time too).

A real app made by `tight generate_app`, recorded against the moto server `doit
dynamo_start` runs and a small HTTP API on 127.0.0.1, then replayed with both stopped.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from servers import quote_server

from tight.testing.servers import free_port

BIN = Path(sys.executable).parent
TRIGGERS = ("sqs", "sns", "s3", "kinesis", "dynamodb_stream", "eventbridge", "schedule")
TOKEN = "quote-token-5d4c3b2a1f0e"
COOKIE = "quote-cookie-9a8b7c6d5e4f"

STOCK_HANDLER = '''
"""A handler whose DynamoDB table is made at import time, with boto3.resource."""

import os

import boto3
import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy

from app.models.item import Item

TABLE = boto3.resource("dynamodb", endpoint_url=os.environ.get("TIGHT_DYNAMO_ENDPOINT")).Table(
    Item.table_name()
)


@lambda_proxy.get
def get_handler(*args, **kwargs):
    TABLE.put_item(Item={"id": "s1", "name": "stocked", "count": 3})
    return {"statusCode": 200, "body": TABLE.get_item(Key={"id": "s1"})["Item"]}
'''

QUOTES = '''
"""A helper module: a pooled requests session and a boto3 client, both made at import."""

import os

import boto3
import requests

SESSION = requests.Session()
DYNAMO = boto3.client("dynamodb", endpoint_url=os.environ.get("TIGHT_DYNAMO_ENDPOINT"))


def fetch():
    answer = SESSION.get(
        os.environ["QUOTE_URL"],
        headers={"Authorization": "Bearer " + os.environ["QUOTE_TOKEN"]},
        timeout=5,
    )
    return answer.json()


def tables():
    return DYNAMO.list_tables()["TableNames"]
'''

STYLES = '''
"""Tests that use none of Tight's fixtures but `event`."""

import http.client
import json
import os
import urllib.parse
import urllib.request

import boto3

from app.functions.stock import handler as stock
from app.lib import quotes
from app.models.item import Item

MODULE_SESSION = boto3.Session()


def test_a_model_imported_directly():
    assert Item.table_name() == "shop-dev-item"
    Item(id="m1", name="direct", count=1).save()
    assert Item.get("m1").name == "direct"


def test_a_handler_called_directly(event):
    answer = stock.get_handler(event=event("GET", "/stock"), context=None, request=None)
    assert answer["body"]["name"] == "stocked"


def test_a_client_made_in_the_test():
    client = boto3.client("dynamodb", endpoint_url=os.environ.get("TIGHT_DYNAMO_ENDPOINT"))
    assert "shop-dev-item" in client.list_tables()["TableNames"]


def test_a_session_made_at_module_level():
    resource = MODULE_SESSION.resource(
        "dynamodb", endpoint_url=os.environ.get("TIGHT_DYNAMO_ENDPOINT")
    )
    assert resource.Table("shop-dev-item").scan()["Count"] >= 0


def test_a_helper_module():
    assert quotes.fetch()["authorized"] is True
    assert "shop-dev-item" in quotes.tables()


def test_urllib_request():
    request = urllib.request.Request(
        os.environ["QUOTE_URL"], headers={"Authorization": "Bearer " + os.environ["QUOTE_TOKEN"]}
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert json.loads(answer.read())["authorized"] is True


def test_http_client():
    url = urllib.parse.urlsplit(os.environ["QUOTE_URL"])
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
    connection.request("GET", url.path)
    assert connection.getresponse().status == 401
    connection.close()
'''


def run(
    *command: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / command[0]), *command[1:]],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def tree(root: Path) -> set[str]:
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if "__pycache__" not in p.parts and ".pytest_cache" not in p.parts
    }


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An app with a model, an HTTP function, one function per trigger and tests of every
    style, whose local DynamoDB (`doit dynamo_start`) is moto's server."""
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    for key in ("TIGHT_RECORD", "TIGHT_DYNAMO_ENDPOINT", "AWS_ENDPOINT_URL", "TIGHT_PLAYBACK"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    assert run("tight", "generate_app", "name=shop", cwd=tmp_path).returncode == 0
    root = tmp_path / "shop"
    commands = [
        ("generate_model", "name=item"),
        ("generate_function", "name=items", "methods=get,post"),
        *(("generate_function", f"name=on_{t}", f"trigger={t}") for t in TRIGGERS),
        ("generate_function", "name=stock", "methods=get"),
    ]
    for command in commands:
        done = run("doit", *command, cwd=root)
        assert done.returncode == 0, done.stderr
    (root / "app/functions/stock/handler.py").write_text(textwrap.dedent(STOCK_HANDLER))
    (root / "app/lib/quotes.py").write_text(textwrap.dedent(QUOTES))
    (root / "tests/test_styles.py").write_text(textwrap.dedent(STYLES))
    # the scaffolded stock tests expected the scaffolded handler
    for test in root.glob("tests/functions/*/test_stock.py"):
        test.unlink()
    port = free_port()
    with (root / "tight.yml").open("a") as config:
        config.write(
            f"dynamo:\n  backend: command\n  port: {port}\n"
            f"  command: {sys.executable} -m moto.server -H 127.0.0.1 -p {{port}}\n"
        )
    return root


def pytest_in(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run("pytest", "-p", "no:cacheprovider", "-q", *args, cwd=root, env=dict(os.environ))


def counts(output: str) -> dict[str, int]:
    return {word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|error)", output)}


@pytest.mark.slow
def test_every_style_of_test_passes_recorded_and_then_offline(shop: Path) -> None:
    before = tree(shop)
    with quote_server(TOKEN, COOKIE) as url:
        with (shop / "env.yml").open("a") as env:
            env.write(f"QUOTE_URL: {url}\nQUOTE_TOKEN: {TOKEN}\n")
        started = run("doit", "dynamo_start", cwd=shop)
        assert started.returncode == 0, started.stdout + started.stderr
        assert "shop-dev-item" in started.stdout
        try:
            recorded = pytest_in(shop, "--tight-record")
        finally:
            assert run("doit", "dynamo_stop", cwd=shop).returncode == 0
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    # 23 scaffolded tests (HTTP, the seven triggers, the model) and 7 of other styles
    assert counts(recorded.stdout) == {"passed": 30}, recorded.stdout

    written = sorted(tree(shop) - before - {"env.yml", ".tight"})
    written = [p for p in written if not p.startswith(".tight/") and not (shop / p).is_dir()]
    assert written == [
        "tests/cassettes/test_a_helper_module.yaml",
        "tests/cassettes/test_http_client.yaml",
        "tests/cassettes/test_urllib_request.yaml",
        "tests/placebos/test_a_client_made_in_the_test/calls.json",
        "tests/placebos/test_a_client_made_in_the_test/dynamodb.ListTables_1.json",
        "tests/placebos/test_a_handler_called_directly/calls.json",
        "tests/placebos/test_a_handler_called_directly/dynamodb.GetItem_1.json",
        "tests/placebos/test_a_handler_called_directly/dynamodb.PutItem_1.json",
        "tests/placebos/test_a_helper_module/calls.json",
        "tests/placebos/test_a_helper_module/dynamodb.ListTables_1.json",
        "tests/placebos/test_a_model_imported_directly/calls.json",
        "tests/placebos/test_a_model_imported_directly/dynamodb.GetItem_1.json",
        "tests/placebos/test_a_model_imported_directly/dynamodb.PutItem_1.json",
        "tests/placebos/test_a_session_made_at_module_level/calls.json",
        "tests/placebos/test_a_session_made_at_module_level/dynamodb.Scan_1.json",
    ]
    # No empty placebos/ or cassettes/ folder anywhere (the scaffolded tests make no calls).
    folders = [p for p in shop.rglob("*") if p.name in ("placebos", "cassettes")]
    assert all(any(folder.iterdir()) for folder in folders)
    assert sorted(p.relative_to(shop).as_posix() for p in folders) == [
        "tests/cassettes",
        "tests/placebos",
    ]
    # The run ends by listing what it wrote, one file a line.
    lines = recorded.stdout.splitlines()
    start = lines.index(f"tight: wrote {len(written)} recording file(s):")
    assert [line.strip() for line in lines[start + 1 : start + 1 + len(written)]] == written
    manifest = shop / "tests/placebos/test_a_handler_called_directly/calls.json"
    calls = json.loads(manifest.read_text())["calls"]
    assert [c["call"] for c in calls] == ["DynamoDB.PutItem", "DynamoDB.GetItem"]
    assert TOKEN not in (shop / "tests/cassettes/test_a_helper_module.yaml").read_text()

    # Both servers are stopped now: every test passes from its recordings alone.
    recordings = {p: (shop / p).read_bytes() for p in written}
    after = tree(shop)
    replayed = pytest_in(shop)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert counts(replayed.stdout) == {"passed": 30}
    assert tree(shop) == after  # playback writes nothing
    assert {p: (shop / p).read_bytes() for p in written} == recordings
    assert "tight: wrote" not in replayed.stdout


SETTINGS_CONFTEST = """
import os

from app.models.note import Note

# imported before any test runs: the app's settings and env.yml are there already
AT_IMPORT = (os.environ.get("COLOUR"), Note.table_name())
"""

SETTINGS_TESTS = """
from app.models.note import Note
from conftest import AT_IMPORT


def test_at_import():
    assert AT_IMPORT == ("blue", "shop-qa-note")


def test_with_the_app_fixture(app):
    assert Note.table_name() == "shop-qa-note"


def test_after_the_app_fixture():
    assert Note.table_name() == "shop-qa-note"
"""


def test_the_apps_settings_hold_from_the_plugins_start(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yml", tight="name: shop\nstage: qa\n")
    (pytester.path / "env.yml").write_text("COLOUR: blue\nTIGHT_STAGE: dev\n")
    (pytester.path / "app_index.py").write_text(
        "from app.vendored.tight.providers.aws.lambda_app import app as app\napp.run()\n"
    )
    (pytester.path / "app/models").mkdir(parents=True)
    (pytester.path / "app/functions/hello").mkdir(parents=True)
    (pytester.path / "app/functions/hello/handler.py").write_text(
        "def handler(event, context):\n    return None\n"
    )
    (pytester.path / "app/__init__.py").write_text("")
    (pytester.path / "app/models/__init__.py").write_text("")
    (pytester.path / "app/models/note.py").write_text(
        "from tight.models import Model, String\n\n\nclass Note(Model):\n"
        '    hash_key = "id"\n    id = String()\n'
    )
    tests = pytester.mkdir("tests")
    (tests / "conftest.py").write_text(SETTINGS_CONFTEST)
    (tests / "test_settings.py").write_text(SETTINGS_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
