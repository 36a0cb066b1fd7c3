"""docs/tutorial.md cannot rot: every command in it runs here, in order, against moto.

Shell blocks (```sh) run line by line (``cd`` and ``export`` carry over, a line ending in
``&`` starts in the background); ```python file=<path> blocks are written to that path.
The emulator's port 5000 becomes a free port, so the run does not clash with anything.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from tight.testing.servers import free_port, wait_for_port

TUTORIAL = Path(__file__).resolve().parent.parent / "docs" / "tutorial.md"
BIN = Path(sys.executable).parent
BLOCK = re.compile(r"^```(sh|python file=(?P<path>\S+))\n(?P<body>.*?)^```$", re.M | re.S)


def steps(text: str) -> list[tuple[str, str, str]]:
    """("sh", line, "") for each command, ("file", path, content) for each file block."""
    found: list[tuple[str, str, str]] = []
    for match in BLOCK.finditer(text):
        if match["path"]:
            found.append(("file", match["path"], match["body"]))
        else:
            found += [("sh", line, "") for line in match["body"].splitlines() if line.strip()]
    return found


def assert_orders_has_its_dead_letter_queue(env: dict[str, str]) -> None:
    """Where the tutorial says a poisoned message ends up: moto runs no Lambda without
    Docker, so the deployed queue's redrive policy and its DLQ are checked instead."""
    import json

    import boto3

    sqs = boto3.client(
        "sqs",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )

    def attribute(name: str, key: str) -> str:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[key])["Attributes"][key]

    redrive = json.loads(attribute("shop-dev-orders", "RedrivePolicy"))
    assert redrive == {
        "deadLetterTargetArn": attribute("shop-dev-orders-dlq", "QueueArn"),
        "maxReceiveCount": 5,
    }
    assert attribute("shop-dev-orders-dlq", "MessageRetentionPeriod") == str(14 * 24 * 3600)


@pytest.mark.slow
def test_every_command_of_the_tutorial_runs(tmp_path):
    port, serve_port, local_port = free_port(), free_port(), free_port()
    text = TUTORIAL.read_text().replace("127.0.0.1:5000", f"127.0.0.1:{port}")
    text = text.replace("127.0.0.1:8000", f"127.0.0.1:{local_port}")
    text = text.replace("port: 8000", f"port: {local_port}")
    text = text.replace("moto_server -p 5000", f"moto_server -p {port}")
    text = text.replace("127.0.0.1:3000", f"127.0.0.1:{serve_port}")
    text = text.replace("serve port=3000", f"serve port={serve_port}")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "TIGHT_")) and key not in ("PYTEST_ADDOPTS",)
    }
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    cwd = tmp_path
    background: list[subprocess.Popen[bytes]] = []
    outputs: dict[str, list[str]] = {}
    commands = steps(text)
    assert len(commands) > 10
    try:
        for kind, line, content in commands:
            if kind == "file":
                path = cwd / line
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(content)
            elif line.startswith("cd "):
                cwd = cwd / line[3:].strip()
            elif line.startswith("export "):
                for assignment in shlex.split(line)[1:]:
                    key, _, value = assignment.partition("=")
                    env[key] = value
            elif line.endswith("&"):
                command = shlex.split(line[:-1])
                console = (tmp_path / f"console-{len(background)}.txt").open("w")
                background.append(
                    subprocess.Popen(
                        command, cwd=cwd, env=env, stdout=console, stderr=subprocess.STDOUT
                    )
                )
                console.close()
                wait_for_port(serve_port if f"port={serve_port}" in line else port)
            else:
                result = subprocess.run(
                    line, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=600
                )
                assert result.returncode == 0, f"{line}\n{result.stdout}\n{result.stderr}"
                outputs.setdefault(line, []).append(result.stdout)
                if line == "doit deploy stage=dev" and len(outputs[line]) == 1:
                    assert_orders_has_its_dead_letter_queue(env)
    finally:
        for process in background:
            process.terminate()
            process.wait(timeout=30)

    # The queue, locally: two orders processed, the poisoned one in the dead-letter queue.
    shown = (tmp_path / "console-1.txt").read_text()
    assert "sqs         orders  3 records  1 of 3 failed" in shown
    assert shown.count("order received") == 2
    assert "failed once (max_receive_count 1): SQS moves it to shop-dev-orders-dlq" in shown
    listed = outputs["doit dlq"][0].splitlines()
    at = listed.index("shop-dev-orders-dlq: 1 message (dead-letter queue of shop-dev-orders)")
    assert listed[at + 1].endswith("  not an order")
    served = outputs[f"curl -s http://127.0.0.1:{serve_port}/items/mug"]
    assert '"name": "Mug"' in served[0] and "in_stock" not in served[0]  # before the edit
    assert '"in_stock": true' in served[1]  # the edit, live on the next request
    deploys = outputs["doit deploy stage=dev"]
    assert "stack shop-dev: CREATE_COMPLETE" in deploys[0]
    assert "stack shop-dev is up to date: nothing to deploy" in deploys[1]
    assert "passed" in outputs["doit test"][0] and "failed" not in outputs["doit test"][0]
    undeployed = outputs["doit undeploy stage=dev yes=true"][0]
    assert "deleted stack shop-dev" in undeployed
    # The tutorial runs on moto, which deletes what RetainExceptOnCreate keeps on AWS.
    assert "table(s) shop-dev-item are gone although their DeletionPolicy" in undeployed
    app = tmp_path / "shop"
    typed = outputs[
        f"curl -s -X POST http://127.0.0.1:{serve_port}/items -H 'Content-Type: application/json'"
        """ -d '{"id": "Mug!", "name": ""}'"""
    ][0]
    assert [p["path"] for p in json.loads(typed)["problems"]] == ["/id", "/name"]
    document = json.loads((app / "build/openapi.json").read_text())
    validate(document)  # openapi-spec-validator: a valid OpenAPI 3.1 document
    assert json.loads(outputs[f"curl -s http://127.0.0.1:{serve_port}/openapi.json"][0]) == document
    post = document["paths"]["/items"]["post"]
    assert post["summary"] == "Store an item."
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/NewItem"
    }
    assert document["components"]["schemas"]["NewItem"]["properties"]["id"]["pattern"]
    refused = outputs[f"curl -s http://127.0.0.1:{serve_port}/items/mug"][2]
    assert json.loads(refused) == {"message": "Unauthorized"}  # the HTTP API's own 401
    allowed = outputs[
        f"curl -s http://127.0.0.1:{serve_port}/items/mug -H 'Authorization: Bearer let-me-in'"
    ][0]
    assert json.loads(allowed)["name"] == "Mug"
    assert list((app / "tests/functions/integration/placebos").rglob("*.json"))
    expectation = app / "tests/functions/integration/expectations"
    assert "teapot" in (expectation / "test_an_item_is_created_then_read.yml").read_text()
