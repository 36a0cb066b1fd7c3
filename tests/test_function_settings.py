"""A function's own settings (tight.yml ``functions.<name>``: timeout, memory_size,
reserved_concurrency) in the template and under ``doit serve``, which runs one warm worker
per concurrent invocation, as Lambda runs instances, up to the reserved concurrency.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml
from servers import run, wait_for

from tight.testing.servers import free_port, wait_for_port

BIN = Path(sys.executable).parent

# Each request leaves its mark, then waits (at most ?wait= seconds) until ?expect= requests
# have: requests that run at once all see each other; requests run one at a time do not.
GATHER = """
import os
import time
from pathlib import Path

import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy

MARKS = Path(__file__).resolve().parents[3] / "marks" / "%(name)s"


@lambda_proxy.get
def get_handler(*args, **kwargs):
    query = kwargs["event"]["queryStringParameters"]
    MARKS.mkdir(parents=True, exist_ok=True)
    (MARKS / query["n"]).write_text("")
    deadline = time.monotonic() + float(query["wait"])
    while len(list(MARKS.iterdir())) < int(query["expect"]) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(float(query.get("sleep", 0)))
    seen = len(list(MARKS.iterdir()))
    return {"statusCode": 200, "body": {"seen": seen, "pid": os.getpid()}}
"""

SETTINGS = """
function:
  timeout: 10
functions:
  single:
    reserved_concurrency: 1
  slow:
    timeout: 1
    memory_size: 512
  orders:
    timeout: 20
    sqs: {queue: orders}
"""

ORDERS = """
from tight.providers.aws.controllers import sqs


@sqs.record
def on_message(*args, **kwargs):
    pass
"""


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    folder = tmp_path_factory.mktemp("settings")
    assert run("tight", "generate_app", "name=shop", cwd=folder).returncode == 0
    root = folder / "shop"
    for name in ("gather", "single", "slow"):
        assert run("doit", "generate_function", f"name={name}", cwd=root).returncode == 0
        (root / f"app/functions/{name}/handler.py").write_text(GATHER % {"name": name})
    (root / "app/functions/orders").mkdir()
    (root / "app/functions/orders/__init__.py").write_text("")
    (root / "app/functions/orders/handler.py").write_text(ORDERS)
    with (root / "tight.yml").open("a") as settings:
        settings.write(SETTINGS)
    return root


def test_the_template_gives_each_function_its_own_settings(shop):
    made = run("doit", "template", cwd=shop)
    assert made.returncode == 0, made.stdout + made.stderr
    document = yaml.safe_load((shop / "build/template.yml").read_text())
    resources = document["Resources"]
    assert document["Globals"]["Function"]["Timeout"] == 10
    single = resources["SingleFunction"]["Properties"]
    assert single["ReservedConcurrentExecutions"] == 1
    assert "Timeout" not in single and "MemorySize" not in single  # every function's
    slow = resources["SlowFunction"]["Properties"]
    assert (slow["Timeout"], slow["MemorySize"]) == (1, 512)
    assert "ReservedConcurrentExecutions" not in slow
    # A queue's visibility timeout follows its own function's timeout: 6 x 20 s.
    assert resources["OrdersQueue"]["Properties"]["VisibilityTimeout"] == 120
    linted = run("cfn-lint", "build/template.yml", cwd=shop)
    assert linted.returncode == 0, linted.stdout + linted.stderr


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("timeout: 0", "functions.slow.timeout must be a whole number of seconds from 1 to 900"),
        (
            "reserved_concurrency: 0",
            "functions.slow.reserved_concurrency must be a whole number of instances from 1 "
            "to 1000",
        ),
        ("memory_size: big", "functions.slow.memory_size must be a whole number of MB"),
    ],
)
def test_a_bad_setting_is_one_error(shop, setting, message):
    settings = shop / "tight.yml"
    original = settings.read_text()
    slow = "  slow:\n    timeout: 1\n    memory_size: 512\n"
    assert slow in original
    settings.write_text(original.replace(slow, f"  slow:\n    {setting}\n"))
    try:
        made = run("doit", "template", cwd=shop)
    finally:
        settings.write_text(original)
    assert made.returncode != 0
    output = made.stdout + made.stderr
    assert message in output, output
    assert "Traceback" not in output


def get_all(port: int, paths: list[str]) -> list[tuple[int, dict]]:
    """The answers to ``paths``, all requested at once, each on a connection of its own."""
    answers: list[tuple[int, dict] | None] = [None] * len(paths)

    def one(index: int, path: str) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request("GET", path)
        response = connection.getresponse()
        answers[index] = (response.status, json.loads(response.read()))
        connection.close()

    threads = [threading.Thread(target=one, args=(i, p)) for i, p in enumerate(paths)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(answer is not None for answer in answers)
    return answers  # type: ignore[return-value]


def test_serve_runs_concurrent_invocations_in_instances_of_their_own(shop):
    port = free_port()
    console = shop.parent / "console.txt"
    with console.open("w") as out:
        serve = subprocess.Popen(
            [str(BIN / "doit"), "serve", f"port={port}"], cwd=shop, stdout=out, stderr=out
        )
    try:
        wait_for_port(port)
        # Three at once: three instances, each seeing all three requests arrive.
        answers = get_all(port, [f"/gather?n={n}&expect=3&wait=20" for n in range(3)])
        assert [status for status, _ in answers] == [200, 200, 200], answers
        assert [body["seen"] for _, body in answers] == [3, 3, 3]
        assert len({body["pid"] for _, body in answers}) == 3

        def cold_lines() -> list[str]:
            lines = console.read_text().splitlines()
            return [line for line in lines if "/gather" in line and line.rstrip().endswith("cold")]

        # The console's line for a request follows its answer: wait for all three.
        wait_for(lambda: len(cold_lines()) >= 3, "three cold starts on the console")
        assert len(cold_lines()) == 3, console.read_text()
        # Once they are warm, one more request takes one of them.
        (again,) = get_all(port, ["/gather?n=3&expect=0&wait=0"])
        assert again[1]["pid"] in {body["pid"] for _, body in answers}

        # reserved_concurrency: 1: one instance, so the second request waits its turn and
        # the first never sees it arrive.
        answers = get_all(port, [f"/single?n={n}&expect=2&wait=1" for n in range(2)])
        assert sorted(body["seen"] for _, body in answers) == [1, 2], answers
        assert len({body["pid"] for _, body in answers}) == 1

        # Its own timeout: 1 s, where every other function has 10.
        (late,) = get_all(port, ["/slow?n=0&expect=0&wait=0&sleep=3"])
        assert late[0] == 502
        assert "slow ran past its 1 s timeout" in console.read_text()
    finally:
        serve.terminate()
        serve.wait(timeout=60)
