"""Issue 23 (2): the idempotency table from the toolkit, through real doit commands.
``doit schema`` and ``doit template`` write ``<app>-<stage>-idempotency`` with its TTL when
a function's code uses ``@idempotent`` (read with ``ast``, never imported), only that
function's role may use it, and ``doit dynamo_start`` creates it on a local moto server,
where ``doit invoke`` then runs the function once per key."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import yaml

from tight.testing.servers import free_port

BIN = Path(sys.executable).parent

# Imported from a helper module, as `from app.vendored.tight...` in a shipped app: the
# template must still find it.
ORDERS = """\
import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy
from app.lib.once import idempotent


@lambda_proxy.post
@idempotent
def create_order(*args, **kwargs):
    import uuid

    return {"statusCode": 201, "body": {"order": uuid.uuid4().hex, **kwargs["event"]["body"]}}
"""
ONCE = "from app.vendored.tight.idempotency import idempotent  # noqa: F401\n"
PLAIN = """\
import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy


@lambda_proxy.get
def read(*args, **kwargs):
    return {"idempotency": "is only a word here"}
"""


def run(*command: str, cwd: Path, env: dict[str, str] | None = None):
    return subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=cwd, capture_output=True, text=True,
        env=dict(os.environ, **(env or {})),
    )  # fmt: skip


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("idem")
    env = {"XDG_CACHE_HOME": str(folder / "cache")}
    assert run("tight", "generate_app", "name=shop", cwd=folder, env=env).returncode == 0
    root = folder / "shop"
    for name, source in {"orders": ORDERS, "plain": PLAIN}.items():
        (root / "app/functions" / name).mkdir(parents=True)
        (root / "app/functions" / name / "handler.py").write_text(source)
    (root / "app/lib").mkdir(exist_ok=True)
    (root / "app/lib/once.py").write_text(ONCE)
    yield root
    for record in root.rglob(".tight/dynamo/server.json"):  # never leave a server behind
        try:
            os.killpg(json.loads(record.read_text())["pid"], signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_schema_writes_the_idempotency_table_with_its_ttl_and_no_models_needed(app):
    result = run("doit", "schema", cwd=app)
    assert result.returncode == 0, result.stderr
    document = yaml.safe_load((app / "schemas/dynamo/tight_idempotency.yml").read_text())
    table = document["Resources"]["IdempotencyRecordTable"]["Properties"]
    assert table["TableName"] == {"Fn::Sub": "shop-${Stage}-idempotency"}
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires", "Enabled": True}
    combined = yaml.safe_load((app / "schemas/dynamo/template.yml").read_text())
    assert "IdempotencyRecordTable" in combined["Resources"]
    linted = run("cfn-lint", "schemas/dynamo/template.yml", cwd=app)
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_template_gives_the_table_to_the_function_using_it_and_to_no_other(app):
    result = run("doit", "template", cwd=app)
    assert result.returncode == 0, result.stdout + result.stderr
    document = yaml.safe_load((app / "build/template.yml").read_text())
    resources = document["Resources"]
    table = resources["IdempotencyRecordTable"]
    assert table["DeletionPolicy"] == "RetainExceptOnCreate"
    assert table["Properties"]["TimeToLiveSpecification"]["AttributeName"] == "expires"

    def statements(function: str) -> list[dict]:
        policy = resources[f"{function}Role"]["Properties"]["Policies"][0]["PolicyDocument"]
        return policy["Statement"]

    [granted] = [s for s in statements("OrdersFunction") if "dynamodb:PutItem" in s["Action"]]
    assert granted["Action"] == [
        "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
    ]  # fmt: skip
    assert granted["Resource"] == [{"Fn::GetAtt": ["IdempotencyRecordTable", "Arn"]}]
    assert not [s for s in statements("PlainFunction") if "dynamodb" in json.dumps(s)]
    linted = run("cfn-lint", "build/template.yml", cwd=app)
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_dynamo_start_creates_the_table_and_invoke_runs_a_key_once(app):
    port = free_port()
    command = f"{sys.executable} -m moto.server -H 127.0.0.1 -p {{port}}"
    settings = yaml.safe_load((app / "tight.yml").read_text())
    settings["dynamo"] = {"backend": "command", "port": port, "command": command}
    (app / "tight.yml").write_text(yaml.safe_dump(settings))
    started = run("doit", "dynamo_start", cwd=app)
    assert started.returncode == 0, started.stderr
    assert "created tables: shop-dev-idempotency" in started.stdout
    try:
        client = boto3.client(
            "dynamodb", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
            aws_access_key_id="local", aws_secret_access_key="local",
        )  # fmt: skip
        ttl = client.describe_time_to_live(TableName="shop-dev-idempotency")
        assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires"
        event = {
            "httpMethod": "POST",
            "path": "/orders",
            "headers": {"Content-Type": "application/json", "Idempotency-Key": "k-1"},
            "body": json.dumps({"sku": "tea"}),
            "requestContext": {"requestId": "r"},
        }
        (app / "event.json").write_text(json.dumps(event))
        answers = []
        for _ in range(2):
            invoked = run("doit", "invoke", "name=orders", "event=event.json", cwd=app)
            assert invoked.returncode == 0, invoked.stdout + invoked.stderr
            answers.append(json.loads(invoked.stdout[invoked.stdout.index("{") :]))
        first, second = answers
        assert first["statusCode"] == 201 and second["statusCode"] == 201
        assert json.loads(second["body"]) == json.loads(first["body"])  # the same order id
        assert second["headers"]["Idempotent-Replayed"] == "true"
        [stored] = client.scan(TableName="shop-dev-idempotency")["Items"]
        assert stored["status"] == {"S": "COMPLETED"}
    finally:
        assert run("doit", "dynamo_stop", cwd=app).returncode == 0
