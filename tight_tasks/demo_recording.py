"""The demo's second stage: record one app test against a local AWS, then replay it offline.

Writes an app whose ``notes`` function keeps notes in DynamoDB, and a test for it written
with the plugin's fixtures. The test runs once with ``--tight-record`` against a moto
server on 127.0.0.1, which is then stopped, and again in playback with no server at all.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tight.testing.servers import moto_server

NOTES_HANDLER = """\
import os

import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy
from tight.errors import NotFound
from tight.providers.aws.clients import boto3_client


def notes():
    dynamo = boto3_client.session().resource(
        "dynamodb", endpoint_url=os.environ.get("TIGHT_DYNAMO_ENDPOINT")
    )
    return dynamo.Table("notes")


@lambda_proxy.post
def post_handler(*args, **kwargs):
    note = kwargs["event"]["body"]
    notes().put_item(Item=note)
    return {"statusCode": 201, "body": note}


@lambda_proxy.get
def get_handler(*args, **kwargs):
    note_id = kwargs["request"].path_params["id"]
    note = notes().get_item(Key={"id": note_id}).get("Item")
    if note is None:
        raise NotFound(f"no note {note_id}")
    return {"statusCode": 200, "body": note}
"""

NOTES_TEST = """\
def test_write_then_read_a_note(app, event, lambda_context, expect_response):
    note = {"id": "n1", "text": "record once, replay forever"}
    created = app.notes(event("POST", "/notes", body=note), lambda_context)
    assert created["statusCode"] == 201
    read = app.notes(event("GET", "/notes/n1", path_params={"id": "n1"}), lambda_context)
    expect_response(read)
    missing = app.notes(event("GET", "/notes/n2", path_params={"id": "n2"}), lambda_context)
    assert missing["statusCode"] == 404
"""


def write_app(root: Path, endpoint: str) -> None:
    (root / "tight.yml").write_text("name: notes_app\nstage: dev\n")
    (root / "env.yml").write_text(
        f"TIGHT_DYNAMO_ENDPOINT: {endpoint}\nAWS_DEFAULT_REGION: us-east-1\n"
    )
    (root / "app_index.py").write_text(
        "from app.vendored.tight.providers.aws.lambda_app import app as app\napp.run()\n"
    )
    function = root / "app" / "functions" / "notes"
    function.mkdir(parents=True)
    (function / "handler.py").write_text(NOTES_HANDLER)
    (root / "tests").mkdir()
    (root / "tests" / "test_notes.py").write_text(NOTES_TEST)


def run_pytest(root: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    summary = [line for line in completed.stdout.splitlines() if line.strip()][-1:]
    if completed.returncode != 0:
        print(completed.stdout[-3000:], completed.stderr[-2000:], file=sys.stderr)
    return completed.returncode, summary[0] if summary else ""


def main(root: Path) -> int:
    import boto3

    root.mkdir(parents=True)
    print("stage 3: record a test against a local AWS, then replay it offline")
    credentials = {"aws_access_key_id": "demo", "aws_secret_access_key": "demo"}
    with moto_server() as endpoint:
        write_app(root, endpoint)
        boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1", **credentials)
        boto3.resource(
            "dynamodb", endpoint_url=endpoint, region_name="us-east-1", **credentials
        ).create_table(
            TableName="notes",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        print(f"  moto server on {endpoint}; pytest --tight-record --tight-update-expectations")
        # moto takes any credentials; a real recording uses yours, and they are scrubbed.
        code, summary = run_pytest(
            root,
            "--tight-record",
            "--tight-update-expectations",
            env=dict(os.environ, AWS_ACCESS_KEY_ID="demo", AWS_SECRET_ACCESS_KEY="demo"),
        )
        print(f"  recording run: {summary}")
    if code != 0:
        return code
    for path in sorted((root / "tests").rglob("*")):
        if path.is_file() and path.suffix in (".json", ".yml", ".yaml"):
            print(f"    wrote {path.relative_to(root)}")
    print("  moto server stopped; pytest (playback, network refused)")
    code, summary = run_pytest(root)
    print(f"  playback run: {summary}")
    return code
