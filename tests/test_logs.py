"""``doit logs stage=<stage> name=<function>`` in a real app, against moto's CloudWatch Logs on
127.0.0.1 (AWS_ENDPOINT_URL): Tight's JSON lines made readable, other lines as they are,
since=, follow=true until Ctrl-C, and one ``error:`` line for what cannot be read."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3
import pytest
import yaml
from servers import moto_server

from tight_tasks.errors import TightTaskError
from tight_tasks.logs import log_group, readable, since_ms

BIN = Path(sys.executable).parent
GROUP = "/aws/lambda/shop-dev-items"
REQUEST = "8f5d2c1e-5b9a-4f57-9a7d-1c2b3d4e5f60"


def tight_line(message: str, level: str = "INFO", **fields: object) -> str:
    """A line as tight.core.logger writes it."""
    entry = {"level": level, "message": message, "timestamp": "2024-05-01T12:00:00.123Z",
             "function": "items", "request_id": REQUEST, **fields}  # fmt: skip
    return json.dumps(entry, separators=(",", ":")) + "\n"


@pytest.fixture(scope="module")
def endpoint():
    with moto_server() as url:
        yield url


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("logs")
    env = dict(os.environ, XDG_CACHE_HOME=str(folder / "cache"))
    for command, cwd in (
        (["tight", "generate_app", "name=shop"], folder),
        (["doit", "generate_function", "name=items"], folder / "shop"),
    ):
        done = subprocess.run([str(BIN / command[0]), *command[1:]], cwd=cwd, env=env,
                              capture_output=True, text=True)  # fmt: skip
        assert done.returncode == 0, done.stderr
    return folder / "shop"


@pytest.fixture
def aws(endpoint, app):
    """The environment of a user whose AWS is the moto server, and a client of its logs."""
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_DEFAULT_REGION="eu-west-1",
               AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               XDG_CACHE_HOME=str(app.parent / "cache"))  # fmt: skip
    env.pop("AWS_PROFILE", None)
    requests = __import__("urllib.request").request
    requests.urlopen(requests.Request(f"{endpoint}/moto-api/reset", method="POST"))
    client = boto3.client(
        "logs", endpoint_url=endpoint, region_name="eu-west-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    return env, client


def put(client, *messages: str, ago_seconds: float = 5, stream: str = "2024/05/01/[$LATEST]abc"):
    try:
        client.create_log_stream(logGroupName=GROUP, logStreamName=stream)
    except client.exceptions.ResourceAlreadyExistsException:
        pass
    now = int((time.time() - ago_seconds) * 1000)
    events = [{"timestamp": now + i, "message": m} for i, m in enumerate(messages)]
    client.put_log_events(logGroupName=GROUP, logStreamName=stream, logEvents=events)


def doit_logs(app: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "doit"), "logs", *args], cwd=app, env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


INVOCATION = (
    f"START RequestId: {REQUEST} Version: $LATEST\n",
    tight_line("order received", order_id="o-1", lines=3, note="two words"),
    "a plain print\n",
    tight_line(
        "cannot charge",
        "ERROR",
        traceback="Traceback (most recent call last):\n"
        '  File "handler.py", line 9\nValueError: declined',
    ),
    f"END RequestId: {REQUEST}\n",
    f"REPORT RequestId: {REQUEST}\tDuration: 2.31 ms\tBilled Duration: 3 ms\n",
)
PRINTED = [
    f"START RequestId: {REQUEST} Version: $LATEST",
    f"2024-05-01T12:00:00.123Z INFO  {REQUEST} order received "
    'order_id=o-1 lines=3 note="two words"',
    "a plain print",
    f"2024-05-01T12:00:00.123Z ERROR {REQUEST} cannot charge",
    "    Traceback (most recent call last):",
    '      File "handler.py", line 9',
    "    ValueError: declined",
    f"END RequestId: {REQUEST}",
    f"REPORT RequestId: {REQUEST}\tDuration: 2.31 ms\tBilled Duration: 3 ms",
]


def test_prints_tight_lines_readable_and_other_lines_as_they_are(aws, app):
    env, client = aws
    client.create_log_group(logGroupName=GROUP)
    put(client, *INVOCATION)
    done = doit_logs(app, env, "stage=dev", "name=items")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == PRINTED
    assert done.stderr == ""


def platform(kind: str, **record: object) -> str:
    """Lambda's own record in the JSON log format the template's LoggingConfig selects."""
    entry = {"time": "2024-05-01T12:00:00.100Z", "type": f"platform.{kind}",
             "record": {"requestId": REQUEST, **record}}  # fmt: skip
    return json.dumps(entry) + "\n"


# The same invocation as INVOCATION, logged as the template deploys the function (LogFormat
# JSON): Lambda's records are JSON, a print stays text, the logging module's lines are JSON.
JSON_INVOCATION = (
    json.dumps(
        {
            "time": "2024-05-01T12:00:00.000Z",
            "type": "platform.initStart",
            "record": {
                "initializationType": "on-demand",
                "phase": "init",
                "runtimeVersion": "python:3.11.v41",
            },
        }
    )
    + "\n",
    platform("start", version="$LATEST"),
    tight_line("order received", order_id="o-1", lines=3, note="two words"),
    "a plain print\n",
    json.dumps(
        {
            "timestamp": "2024-05-01T12:00:00.200Z",
            "level": "WARNING",
            "message": "slow charge",
            "logger": "root",
            "requestId": REQUEST,
        }
    )
    + "\n",
    platform("runtimeDone", status="success", metrics={"durationMs": 2.31}),
    platform(
        "report",
        status="success",
        metrics={
            "durationMs": 2.31,
            "billedDurationMs": 3,
            "memorySizeMB": 256,
            "maxMemoryUsedMB": 67,
            "initDurationMs": 131.5,
        },
    ),
    platform(
        "report",
        status="timeout",
        errorType="Sandbox.Timedout",
        metrics={"durationMs": 30000.0, "billedDurationMs": 30000},
    ),
)
JSON_PRINTED = [
    "initStart initializationType=on-demand phase=init runtimeVersion=python:3.11.v41",
    f"START RequestId: {REQUEST} Version: $LATEST",
    PRINTED[1],
    "a plain print",
    f"2024-05-01T12:00:00.200Z WARNING {REQUEST} slow charge logger=root",
    f"END RequestId: {REQUEST}",
    f"REPORT RequestId: {REQUEST}\tDuration: 2.31 ms\tBilled Duration: 3 ms\t"
    "Memory Size: 256 MB\tMax Memory Used: 67 MB\tInit Duration: 131.5 ms",
    f"REPORT RequestId: {REQUEST}\tDuration: 30000 ms\tBilled Duration: 30000 ms"
    "  Status: timeout  Error Type: Sandbox.Timedout",
]


def test_prints_lambda_s_json_records_as_its_text_format_has_them(aws, app):
    env, client = aws
    client.create_log_group(logGroupName=GROUP)
    put(client, *JSON_INVOCATION)
    done = doit_logs(app, env, "stage=dev", "name=items")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == JSON_PRINTED
    assert done.stderr == ""


def test_since_reads_as_far_back_as_asked(aws, app):
    env, client = aws
    client.create_log_group(logGroupName=GROUP)
    put(client, "two hours ago\n", ago_seconds=2 * 3600)
    put(client, "just now\n", ago_seconds=1)
    assert doit_logs(app, env, "stage=dev", "name=items").stdout.splitlines() == ["just now"]
    back = doit_logs(app, env, "stage=dev", "name=items", "since=3h")
    assert back.stdout.splitlines() == ["two hours ago", "just now"]
    moment = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3 * 3600))
    at = doit_logs(app, env, "stage=dev", "name=items", f"since={moment}")
    assert at.stdout.splitlines() == ["two hours ago", "just now"]


def test_errors_are_one_line_with_the_way_out(aws, app):
    env, _ = aws
    missing = doit_logs(app, env, "stage=dev", "name=items")
    assert missing.returncode != 0
    assert missing.stderr.splitlines() == [
        f"error: no log group {GROUP}: deploy the function first (`doit deploy stage=dev`); "
        "Lambda creates its log group on its first run"
    ]
    unknown = doit_logs(app, env, "stage=dev", "name=itemz")
    assert unknown.stderr.splitlines() == [
        "error: no function 'itemz' in app/functions (functions here: items)"
    ]
    assert doit_logs(app, env, "stage=dev").stderr.startswith("error: name= is required")
    bad = doit_logs(app, env, "stage=dev", "name=items", "since=yesterday")
    assert bad.stderr.splitlines() == [
        "error: since must be a duration such as 30s, 10m, 2h or 1d, or an ISO time such as "
        "2024-05-01T12:00Z, not 'yesterday'"
    ]


def test_follow_prints_new_events_once_and_ends_cleanly_on_ctrl_c(aws, app):
    env, client = aws
    client.create_log_group(logGroupName=GROUP)
    put(client, "before\n")
    process = subprocess.Popen(
        [str(BIN / "doit"), "logs", "stage=dev", "name=items", "follow=true"],
        cwd=app, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in process.stdout], daemon=True).start()
    try:
        assert lines.get(timeout=30) == "before\n"
        put(client, tight_line("after", order_id="o-2"), "plain after\n", ago_seconds=0)
        assert lines.get(timeout=30).endswith(" INFO  " + REQUEST + " after order_id=o-2\n")
        assert lines.get(timeout=30) == "plain after\n"
        time.sleep(4.5)  # two more polls read the same events again: none prints twice
        assert lines.empty()
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr


def test_the_log_group_is_the_one_of_the_function_the_template_deploys(app):
    env = dict(os.environ, XDG_CACHE_HOME=str(app.parent / "cache"))
    done = subprocess.run([str(BIN / "doit"), "template", "stage=qa"], cwd=app, env=env,
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    template = yaml.safe_load((app / "build/template.yml").read_text())
    properties = template["Resources"]["ItemsFunction"]["Properties"]
    deployed = properties["FunctionName"]["Fn::Sub"].replace("${Stage}", "qa")
    assert log_group("shop", "qa", "items") == f"/aws/lambda/{deployed}"


def test_readable_and_since_by_themselves():
    assert readable('{"level": "INFO"}\n', 0) == '{"level": "INFO"}'  # not a Tight line
    assert readable("{not json\n", 0) == "{not json"
    line = readable('{"level":"WARNING","message":"m","request_id":null,"n":{"a":1}}', 1500)
    assert line == '1970-01-01T00:00:01.500Z WARNING - m n={"a": 1}'
    now = 1_700_000_000.0
    assert since_ms("30s", now) == (now - 30) * 1000
    assert since_ms("1d", now) == (now - 86400) * 1000
    assert since_ms("2024-05-01T12:00:00+02:00") == since_ms("2024-05-01T10:00:00Z")
    assert since_ms("2024-05-01T10:00:00") == since_ms("2024-05-01T10:00:00Z")
    with pytest.raises(TightTaskError, match="since must be"):
        since_ms("10 minutes")
