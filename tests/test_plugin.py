"""The pytest plugin as a user meets it: record against real local services, replay offline.

Each test writes a small Tight app with pytester and runs pytest on it in a subprocess (the
plugin loads through its pytest11 entry point). Recording talks to a moto server and a
small HTTP API on 127.0.0.1; playback runs with both stopped.
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import boto3
import pytest
from servers import moto_server, quote_server

from tight.request import event_kind
from tight.testing.events import KINDS, make_event

ACCESS_KEY = "AKIAQWERTYUIOPASDFGH"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRETKEY"
SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLESESSIONTOKENabcdef0123456789"
QUOTE_TOKEN = "quote-api-token-0f9e8d7c6b5a"
QUOTE_COOKIE = "cookie-secret-1a2b3c4d5e6f"
SECRETS = (ACCESS_KEY, SECRET_KEY, SESSION_TOKEN, QUOTE_TOKEN, QUOTE_COOKIE)

HANDLER = """
import os
import requests
import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy
from tight.providers.aws.clients import boto3_client


def table():
    dynamo = boto3_client.session().resource(
        "dynamodb", endpoint_url=os.environ["TIGHT_DYNAMO_ENDPOINT"]
    )
    return dynamo.Table("items")


@lambda_proxy.post
def post_handler(*args, **kwargs):
    item = kwargs["event"]["body"]
    table().put_item(Item=item)
    return {"statusCode": 201, "body": item}


@lambda_proxy.get
def get_handler(*args, **kwargs):
    item = table().get_item(Key={"id": kwargs["request"].path_params["id"]}).get("Item")
    quote = requests.get(
        os.environ["QUOTE_URL"],
        headers={"Authorization": "Bearer " + os.environ["QUOTE_TOKEN"]},
        cookies={"session": os.environ["QUOTE_COOKIE"]},
        timeout=5,
    ).json()
    return {"statusCode": 200, "body": {"item": item, "quote": quote}}
"""

WHOAMI = """
import os
import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy
from tight.providers.aws.clients import boto3_client


@lambda_proxy.get
def get_handler(*args, **kwargs):
    sts = boto3_client.session().client("sts", endpoint_url=os.environ["TIGHT_DYNAMO_ENDPOINT"])
    credentials = sts.get_session_token()["Credentials"]
    return {"statusCode": 200, "body": {"expires": credentials["Expiration"].year > 2000}}
"""

TESTS = """
def test_create_and_read(app, event, lambda_context, expect_response):
    created = app.items(event("POST", "/items", body={"id": "1", "name": "teapot"}), lambda_context)
    assert created["statusCode"] == 201, created
    got = app.items(event("GET", "/items/1", path_params={"id": "1"}), lambda_context)
    assert got["statusCode"] == 200, got
    expect_response(got)


def test_temporary_credentials(app, event, lambda_context):
    answer = app.whoami(event("GET", "/whoami"), lambda_context)
    assert answer["statusCode"] == 200, answer
"""


def write_app(pytester: pytest.Pytester, env: dict[str, str]) -> None:
    pytester.makefile(".yml", tight="name: shop\nstage: test\ncors: '*'\n")
    (pytester.path / "env.yml").write_text("".join(f"{k}: {v!r}\n" for k, v in env.items()))
    pytester.path.joinpath("app_index.py").write_text(
        "from app.vendored.tight.providers.aws.lambda_app import app as app\napp.run()\n"
    )
    for name, source in (("items", HANDLER), ("whoami", WHOAMI)):
        folder = pytester.path / "app" / "functions" / name
        folder.mkdir(parents=True)
        (folder / "handler.py").write_text(textwrap.dedent(source))
    tests = pytester.path / "tests"
    tests.mkdir()
    (tests / "test_items.py").write_text(textwrap.dedent(TESTS))


def files_under(root: Path) -> dict[Path, bytes]:
    return {
        p: p.read_bytes() for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.fixture
def recorded_app(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, recorded_once):
    """An app whose tests were recorded against moto and the quote API, both now stopped;
    recorded by the module's first test, a copy of that recording for the others."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("TIGHT_RECORD", raising=False)
    if recorded_once.made is None:
        recorded_once.keep(pytester.path, record(pytester))
    else:
        recorded_once.copy_to(pytester.path)
    return pytester, {pytester.path / name: data for name, data in recorded_once.made.items()}


def record(pytester: pytest.Pytester) -> dict[Path, bytes]:
    """Record the app's tests in ``pytester.path``; the files the plugin wrote, by path
    relative to it."""
    with moto_server() as endpoint, quote_server(QUOTE_TOKEN, QUOTE_COOKIE) as quote_url:
        boto3.client(
            "dynamodb",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        ).create_table(
            TableName="items",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        write_app(
            pytester,
            {
                "TIGHT_DYNAMO_ENDPOINT": endpoint,
                "QUOTE_URL": quote_url,
                "QUOTE_TOKEN": QUOTE_TOKEN,
                "QUOTE_COOKIE": QUOTE_COOKIE,
            },
        )
        before = files_under(pytester.path)
        result = pytester.runpytest_subprocess(
            "--tight-record", "--tight-update-expectations", "-p", "no:cacheprovider", timeout=120
        )
        result.assert_outcomes(passed=2)
    # What the plugin wrote: new files in the app (pytester's own captures live elsewhere).
    return {
        p.relative_to(pytester.path): b
        for p, b in files_under(pytester.path).items()
        if p not in before
        and not p.is_relative_to(pytester.path / "runpytest-0")
        and p.name not in ("stdout", "stderr")
    }


def playback(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=120)


def test_record_then_play_back_offline(recorded_app):
    pytester, written = recorded_app
    tests = pytester.path / "tests"
    names = sorted(str(p.relative_to(tests)) for p in written)
    assert names == [
        "cassettes/test_create_and_read.yaml",
        "expectations/test_create_and_read.yml",
        "placebos/test_create_and_read/calls.json",
        "placebos/test_create_and_read/dynamodb.GetItem_1.json",
        "placebos/test_create_and_read/dynamodb.PutItem_1.json",
        "placebos/test_temporary_credentials/calls.json",
        "placebos/test_temporary_credentials/sts.GetSessionToken_1.json",
    ]
    manifest = json.loads((tests / "placebos/test_create_and_read/calls.json").read_text())
    assert [c["call"] for c in manifest["calls"]] == ["DynamoDB.PutItem", "DynamoDB.GetItem"]
    expectation = (tests / "expectations/test_create_and_read.yml").read_text()
    assert "teapot" in expectation and "simple is better than complex" in expectation
    assert "authorized: true" in expectation
    # Both servers are stopped now: the same tests pass from the recordings alone.
    playback(pytester).assert_outcomes(passed=2)


def test_nothing_secret_is_written(recorded_app):
    pytester, written = recorded_app
    assert len(written) == 7
    for path, content in written.items():
        text = content.decode("utf-8", "replace")
        for secret in SECRETS:
            assert secret not in text, f"{secret[:6]}... leaked into {path}"
    cassette = (pytester.path / "tests/cassettes/test_create_and_read.yaml").read_text()
    assert "REDACTED" in cassette  # the Authorization, Cookie and Set-Cookie headers
    sts = json.loads(
        (
            pytester.path / "tests/placebos/test_temporary_credentials/sts.GetSessionToken_1.json"
        ).read_text()
    )
    credentials = sts["data"]["Credentials"]
    assert credentials["SecretAccessKey"] == credentials["SessionToken"] == "REDACTED"
    assert credentials["AccessKeyId"] == "REDACTED"


def test_a_call_with_no_recording_fails_naming_it(recorded_app):
    pytester, _ = recorded_app
    tests = pytester.path / "tests"
    (tests / "test_new.py").write_text(
        "def test_unrecorded(app, event, lambda_context):\n"
        "    app.items(event('GET', '/items/1', path_params={'id': '1'}), lambda_context)\n"
    )
    result = playback(pytester, "tests/test_new.py")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*no recording for DynamoDB.GetItem, call 1*--tight-record*"])


def test_a_stale_recording_fails_naming_the_call(recorded_app):
    pytester, _ = recorded_app
    test_file = pytester.path / "tests/test_items.py"
    # The code now reads before it writes: the recorded order no longer holds.
    source = test_file.read_text().replace(
        'created = app.items(event("POST"',
        'app.items(event("GET", "/items/1", path_params={"id": "1"}), lambda_context)\n'
        '    created = app.items(event("POST"',
    )
    test_file.write_text(source)
    result = playback(pytester, "-k", "create_and_read")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*stale recording: call 1 is DynamoDB.GetItem, but the recording has DynamoDB.PutItem*"]
    )


def test_an_unrecorded_http_call_fails_naming_it(recorded_app):
    pytester, _ = recorded_app
    cassette = pytester.path / "tests/cassettes/test_create_and_read.yaml"
    cassette.unlink()
    result = playback(pytester, "-k", "create_and_read")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*no recording for HTTP GET http://127.0.0.1:*/quote*"])


def test_network_is_refused_in_playback(recorded_app):
    pytester, _ = recorded_app
    (pytester.path / "tests/test_socket.py").write_text(
        "import socket\n"
        "def test_reaches_out(app):\n"
        "    socket.create_connection(('127.0.0.1', 9), timeout=1)\n"
    )
    result = playback(pytester, "tests/test_socket.py")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*network connection to 127.0.0.1:9 refused*"])


def test_expectations_compare_and_update(recorded_app):
    pytester, _ = recorded_app
    expectation = pytester.path / "tests/expectations/test_create_and_read.yml"
    expectation.write_text(expectation.read_text().replace("teapot", "kettle"))
    result = playback(pytester, "-k", "create_and_read")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*response differs from*", "*-*name: kettle*", "*+*name: teapot*"])
    playback(pytester, "-k", "create_and_read", "--tight-update-expectations").assert_outcomes(
        passed=1
    )
    assert "teapot" in expectation.read_text()
    playback(pytester, "-k", "create_and_read").assert_outcomes(passed=1)
    expectation.unlink()
    result = playback(pytester, "-k", "create_and_read")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*no expectation file*--tight-update-expectations*"])


def test_a_failed_recording_keeps_the_old_one(recorded_app, monkeypatch):
    pytester, _ = recorded_app
    placebos = pytester.path / "tests/placebos/test_create_and_read"
    before = {p.name: p.read_bytes() for p in placebos.iterdir()}
    # Record again with the services gone: the run fails, the recording stays as it was.
    result = pytester.runpytest_subprocess(
        "--tight-record", "-k", "create_and_read", "-p", "no:cacheprovider", timeout=120
    )
    result.assert_outcomes(failed=1)
    assert {p.name: p.read_bytes() for p in placebos.iterdir()} == before
    assert not [p for p in placebos.parent.iterdir() if p.name.startswith(".")]
    playback(pytester).assert_outcomes(passed=2)


def test_plugin_is_inert_without_tight_yml(pytester):
    pytester.makepyfile(test_plain="def test_ok():\n    assert 1 + 1 == 2\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert not [p for p in pytester.path.iterdir() if p.name in ("placebos", "cassettes")]


def test_app_fixture_without_tight_yml_says_what_to_do(pytester):
    pytester.makepyfile(test_app="def test_it(app):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*no tight.yml in*--tight-app-root*"])


@pytest.mark.parametrize("kind", KINDS)
def test_event_factory_builds_events_the_runtime_accepts(kind, event, lambda_context):
    from tight.providers.aws.controllers.lambda_proxy_event import Controller

    controller = Controller("tests.plugin_events")
    controller.register("POST", lambda **kw: {"statusCode": 201, "body": kw["event"]["body"]})
    built = event("POST", "/things", body={"a": 1}, query={"q": "x"}, kind=kind)
    assert event_kind(built) == kind
    response = controller.dispatch(built, lambda_context)
    assert response["statusCode"] == 201
    assert json.loads(response["body"]) == {"a": 1}
    assert lambda_context.get_remaining_time_in_millis() > 0
    assert lambda_context.aws_request_id


def test_event_factory_principal_id_per_kind():
    from tight.request import Request

    assert Request(make_event("GET", "/", principal_id="u1", kind="rest")).principal_id == "u1"
    assert Request(make_event("GET", "/", principal_id="u2", kind="http")).principal_id == "u2"
    with pytest.raises(ValueError, match="carry no authorizer"):
        make_event("GET", "/", principal_id="u3", kind="alb")


def test_env_yml_is_loaded_for_the_session_and_restored(pytester, monkeypatch):
    monkeypatch.delenv("TIGHT_TEST_COLOUR", raising=False)
    monkeypatch.setenv("TIGHT_TEST_SHAPE", "round")
    pytester.makefile(".yml", tight="name: envy\n")
    (pytester.path / "env.yml").write_text("TIGHT_TEST_COLOUR: blue\nTIGHT_TEST_SHAPE: square\n")
    pytester.mkdir("tests").joinpath("test_env.py").write_text(
        "import os\n"
        "def test_sees_env():\n"
        "    assert os.environ['TIGHT_TEST_COLOUR'] == 'blue'\n"
        "    assert os.environ['TIGHT_TEST_SHAPE'] == 'square'\n"
    )
    pytester.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert "TIGHT_TEST_COLOUR" not in os.environ
    assert os.environ["TIGHT_TEST_SHAPE"] == "round"


def test_env_yml_that_is_not_a_flat_mapping_is_a_clear_error(pytester):
    pytester.makefile(".yml", tight="name: envy\n")
    (pytester.path / "env.yml").write_text("COLOUR: blue\nNESTED:\n  a: 1\n")
    pytester.mkdir("tests").joinpath("test_env.py").write_text("def test_x():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.errlines == ["error: env.yml:2: NESTED must be a single value, not a mapping"]
    assert not result.outlines


@pytest.mark.parametrize(
    ("value", "expected"), [("1", True), ("true", True), ("YES", True), ("0", False), ("", False)]
)
def test_tight_record_environment_switch(pytestconfig, monkeypatch, value, expected):
    from tight.testing.plugin import is_recording

    monkeypatch.setenv("TIGHT_RECORD", value)
    assert is_recording(pytestconfig) is expected


NOTES_HANDLER = """
import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy
from tight.models import Model, String


class Note(Model):
    hash_key = "id"
    id = String()
    text = String()


@lambda_proxy.post
def post_handler(*args, **kwargs):
    Note(**kwargs["event"]["body"]).save()
    return {"statusCode": 201}


@lambda_proxy.get
def get_handler(*args, **kwargs):
    return {"statusCode": 200, "body": Note.get(kwargs["request"].path_params["id"]).to_dict()}
"""


def test_recording_uses_the_running_local_dynamodb(pytester, monkeypatch, tmp_path):
    import socket
    import subprocess
    import sys

    from tight.testing.servers import free_port

    port = free_port()
    for key in (
        "TIGHT_DYNAMO_ENDPOINT",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "TIGHT_RECORD",
    ):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no credentials anywhere
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    command = f"{sys.executable} -m moto.server -H 127.0.0.1 -p {{port}}"
    pytester.makefile(
        ".yml",
        tight=f"name: notes\nstage: dev\ndynamo:\n  backend: command\n  port: {port}\n"
        f"  command: {command}\n",
    )
    (pytester.path / "dodo.py").write_text("from tight_tasks import *\n")
    (pytester.path / "app_index.py").write_text(
        "from app.vendored.tight.providers.aws.lambda_app import app as app\napp.run()\n"
    )
    (pytester.path / "app/functions/notes").mkdir(parents=True)
    (pytester.path / "app/functions/notes/handler.py").write_text(NOTES_HANDLER)
    (pytester.path / "app/models").mkdir()
    (pytester.path / "app/models/note.py").write_text(
        "from tight.models import Model, String\n\n\nclass Note(Model):\n"
        '    hash_key = "id"\n    id = String()\n    text = String()\n'
    )
    pytester.mkdir("tests").joinpath("test_notes.py").write_text(
        "def test_note(app, event, lambda_context):\n"
        "    note = event('POST', '/notes', body={'id': 'n1', 'text': 'hi'})\n"
        "    created = app.notes(note, lambda_context)\n"
        "    assert created['statusCode'] == 201, created\n"
        "    got = app.notes(event('GET', '/notes/n1', path_params={'id': 'n1'}), lambda_context)\n"
        "    assert got['statusCode'] == 200, got\n"
    )
    doit = str(Path(sys.executable).parent / "doit")
    started = subprocess.run(
        [doit, "dynamo_start"], cwd=pytester.path, capture_output=True, text=True
    )
    assert started.returncode == 0, started.stderr
    assert "created tables: notes-dev-note" in started.stdout
    try:
        recorded = pytester.runpytest_subprocess("--tight-record", "-p", "no:cacheprovider")
        recorded.assert_outcomes(passed=1)
        # One line says where the recording went and with which credentials.
        recorded.stdout.fnmatch_lines(
            [
                f"tight: recording against DynamoDB at http://127.0.0.1:{port}, other services "
                "at AWS; region us-east-1; credentials from none found, using placeholders*"
            ]
        )
    finally:
        subprocess.run([doit, "dynamo_stop"], cwd=pytester.path, capture_output=True, check=True)
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    calls = json.loads((pytester.path / "tests/placebos/test_note/calls.json").read_text())
    calls = calls["calls"]
    assert [c["call"] for c in calls] == ["DynamoDB.PutItem", "DynamoDB.GetItem"]
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
