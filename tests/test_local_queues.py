"""SQS triggers under a real ``doit serve``, on the moto server ``doit dynamo_start`` runs on
127.0.0.1, and ``doit dlq`` over what lands in the failure queues.

One app, one server and one ``doit serve`` for the module: a standard queue with a poisoned
message, a FIFO queue with a poisoned message in one group, and a queue with a long batch
window whose messages are in flight when serve stops. The first two queues exist before
serve starts, with a one-second visibility timeout, so a failed message comes back at once
(serve reuses a queue as it is, adding the redrive policy); serve creates the third.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from servers import run, wait_for, worker_pids

from tight.testing.servers import free_port, wait_for_port

BIN = Path(sys.executable).parent

RECORDER = """
import json
from pathlib import Path

from tight.providers.aws.controllers import sqs

CALLS = Path(__file__).resolve().parents[3] / "calls"


@sqs.record
def on_message(*args, **kwargs):
    message = kwargs["record"]
    seen = {"body": message.body, "group": message.group_id,
            "receives": message.attributes["ApproximateReceiveCount"]}
    with (CALLS / "%(name)s").open("a") as calls:
        calls.write(json.dumps(seen) + "\\n")
    if message.body.startswith("poison"):
        raise ValueError(f"poisoned: {message.body}")
    if message.body.startswith("sleep"):
        import time

        time.sleep(60)
"""

NOTIFY = """
from tight.providers.aws.controllers import sns


@sns.record
def on_message(*args, **kwargs):
    pass
"""

FUNCTIONS = """
functions:
  orders:
    sqs: {queue: orders, max_receive_count: 2}
  ledger:
    sqs: {queue: ledger, fifo: true, max_receive_count: 2}
  slow:
    sqs: {queue: slow, batch_size: 50, batch_window: 20}
  sleepy:
    sqs: {queue: sleepy}
  notify:
    sns: news
"""


class Local:
    def __init__(self, root: Path, endpoint: str) -> None:
        self.root, self.endpoint = root, endpoint
        self.sqs = boto3.client(
            "sqs", endpoint_url=endpoint, region_name="us-east-1",
            aws_access_key_id="local", aws_secret_access_key="local",
        )  # fmt: skip
        self.console = root.parent / "console.txt"
        self.serve: subprocess.Popen[bytes] | None = None

    def url(self, name: str) -> str:
        return str(self.sqs.get_queue_url(QueueName=name)["QueueUrl"])

    def attributes(self, name: str) -> dict[str, str]:
        reply = self.sqs.get_queue_attributes(QueueUrl=self.url(name), AttributeNames=["All"])
        return dict(reply["Attributes"])

    def count(self, name: str, key: str = "ApproximateNumberOfMessages") -> int:
        return int(self.attributes(name)[key])

    def calls(self, function: str) -> list[dict[str, Any]]:
        path = self.root / "calls" / function
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def output(self) -> str:
        return self.console.read_text()

    def start_serve(self) -> None:
        port = free_port()
        with self.console.open("w") as out:
            self.serve = subprocess.Popen(
                [str(BIN / "doit"), "serve", f"port={port}"], cwd=self.root, stdout=out, stderr=out
            )
        wait_for_port(port)
        wait_for(lambda: "Ctrl-C" in self.output(), "serve started")

    def stop_serve(self) -> None:
        if self.serve is not None and self.serve.poll() is None:
            self.serve.terminate()
            self.serve.wait(timeout=60)


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Local]:
    import os

    folder = tmp_path_factory.mktemp("queues")
    environment = dict(os.environ, XDG_CACHE_HOME=str(folder / "cache"))
    for key in ("AWS_ENDPOINT_URL", "TIGHT_DYNAMO_ENDPOINT"):
        environment.pop(key, None)
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(environment)
    try:
        assert run("tight", "generate_app", "name=shop", cwd=folder).returncode == 0
        root = folder / "shop"
        for name in ("orders", "ledger", "slow", "sleepy", "notify"):
            folder = root / "app" / "functions" / name
            folder.mkdir(parents=True)
            (folder / "__init__.py").write_text("")
            code = NOTIFY if name == "notify" else RECORDER % {"name": name}
            (folder / "handler.py").write_text(code)
        (root / "calls").mkdir()
        settings = (root / "tight.yml").read_text().split("\nfunctions:")[0]
        port = free_port()
        command = f"{sys.executable} -m moto.server -H 127.0.0.1 -p {{port}}"
        settings += FUNCTIONS + f"dynamo:\n  backend: command\n  port: {port}\n"
        (root / "tight.yml").write_text(settings + f"  command: {command}\n")
        started = run("doit", "dynamo_start", cwd=root)
        assert started.returncode == 0, started.stderr
        here = Local(root, f"http://127.0.0.1:{port}")
        for name in ("shop-dev-orders", "shop-dev-ledger.fifo"):  # serve reuses these
            attributes = {"VisibilityTimeout": "1"}
            if name.endswith(".fifo"):
                attributes["FifoQueue"] = "true"
            here.sqs.create_queue(QueueName=name, Attributes=attributes)
        try:
            here.start_serve()
            yield here
        finally:
            here.stop_serve()
            run("doit", "dynamo_stop", cwd=root)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def deliveries(lines: list[str], function: str) -> list[tuple[str, str]]:
    """(records, result) of each console line ``sqs  <function>  3 records  ok  12 ms``."""
    import re

    pattern = re.compile(rf"sqs +{function}  (\d+ records?)  (.+)  \d+ ms$")
    return [found.groups() for line in lines if (found := pattern.match(line))]


def step_serve_creates_the_queues_the_template_would(local):
    slow = local.attributes("shop-dev-slow")
    dead = local.attributes("shop-dev-slow-dlq")
    assert json.loads(slow["RedrivePolicy"]) == {
        "deadLetterTargetArn": dead["QueueArn"],
        "maxReceiveCount": 5,  # the template's default
    }
    assert slow["VisibilityTimeout"] == str(6 * 30 + 20)  # 6 x the timeout + the window
    assert dead["MessageRetentionPeriod"] == str(14 * 24 * 3600)
    orders = local.attributes("shop-dev-orders")
    assert orders["VisibilityTimeout"] == "1"  # reused as it was, with the redrive policy
    assert json.loads(orders["RedrivePolicy"])["maxReceiveCount"] == 2
    assert local.attributes("shop-dev-ledger-dlq.fifo")["FifoQueue"] == "true"
    shown = local.output()
    assert "sqs             shop-dev-orders  -> orders" in shown
    assert "sqs             shop-dev-ledger.fifo  -> ledger" in shown


def step_a_poisoned_message_is_received_max_receive_count_times_then_sits_in_the_dlq(local):
    url = local.url("shop-dev-orders")
    local.sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": str(n), "MessageBody": body} for n, body in enumerate(["a", "poison", "c"])
        ],
    )
    wait_for(lambda: local.count("shop-dev-orders-dlq") == 1, "the poisoned message in the DLQ")
    bodies = [call["body"] for call in local.calls("orders")]
    assert sorted(bodies) == ["a", "c", "poison", "poison"]  # batch-mates once, poison twice
    assert [c["receives"] for c in local.calls("orders") if c["body"] == "poison"] == ["1", "2"]
    assert local.count("shop-dev-orders") == 0
    assert local.count("shop-dev-orders", "ApproximateNumberOfMessagesNotVisible") == 0
    moved = "SQS moves it to shop-dev-orders-dlq"
    lines = wait_for(lambda: moved in local.output() and local.output(), moved).splitlines()
    # One line per delivery; a batch whose every record failed raised (BatchFailed).
    assert deliveries(lines, "orders")[:2] == [
        ("3 records", "1 of 3 failed"),
        ("1 record", "raised"),
    ]
    (moving,) = [line for line in lines if line.startswith("dead-letter orders")]
    assert "failed 2 times (max_receive_count 2)" in moving


def step_a_fifo_group_stops_at_its_failed_message_and_keeps_its_order(local):
    url = local.url("shop-dev-ledger.fifo")
    entries = [("g2", "x"), ("g2", "y"), ("g1", "1"), ("g1", "poison-2"), ("g1", "3")]
    local.sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": str(n), "MessageBody": body, "MessageGroupId": group,
             "MessageDeduplicationId": f"{group}-{body}"}
            for n, (group, body) in enumerate(entries)
        ],
    )  # fmt: skip
    dead = "shop-dev-ledger-dlq.fifo"
    wait_for(lambda: local.count(dead) == 2, "the failed message and the one behind it in the DLQ")
    calls = local.calls("ledger")
    assert [c["body"] for c in calls if c["group"] == "g2"] == ["x", "y"]
    # The group stops at poison-2: 3 is never run before it, and comes back with it each
    # time, so it reaches the dead-letter queue with it, behind it (as on AWS).
    assert [c["body"] for c in calls if c["group"] == "g1"] == ["1", "poison-2", "poison-2"]
    assert deliveries(local.output().splitlines(), "ledger")[:2] == [
        ("5 records", "2 of 5 failed"),
        ("2 records", "raised"),
    ]
    # In that order: step_doit_dlq_lists_the_failure_queues_and_leaves_their_messages.


def step_an_edit_to_a_queue_function_is_live_on_its_next_delivery(local):
    """No HTTP request comes in between: the delivery itself looks at the files first, as
    each request does, so the worker restarts with the new code; a module of the app that
    the function imports is watched from its first delivery on, as for a request."""
    (local.root / "app" / "lib").mkdir(exist_ok=True)
    (local.root / "app" / "lib" / "__init__.py").touch()
    (local.root / "app" / "lib" / "marks.py").write_text("MARK = 'first'\n")
    handler = local.root / "app/functions/orders/handler.py"
    handler.write_text(
        "from app.lib.marks import MARK\n"
        + handler.read_text().replace('"receives":', '"mark": MARK, "receives":')
    )
    url = local.url("shop-dev-orders")

    def mark_of(body: str) -> Any:
        local.sqs.send_message(QueueUrl=url, MessageBody=body)
        calls = wait_for(
            lambda: [c for c in local.calls("orders") if c["body"] == body], f"{body} delivered"
        )
        return calls[0].get("mark")

    assert mark_of("after-handler-edit") == "first"  # the handler's edit is live
    (local.root / "app" / "lib" / "marks.py").write_text("MARK = 'second'\n")
    assert mark_of("after-module-edit") == "second"  # and so is its module's


def step_stopping_serve_with_messages_in_flight_loses_none(local):
    url = local.url("shop-dev-slow")
    for body in ("s1", "s2", "s3"):
        local.sqs.send_message(QueueUrl=url, MessageBody=body)
    # The poller holds them while its 20 s window fills.
    wait_for(lambda: local.count("shop-dev-slow", "ApproximateNumberOfMessagesNotVisible") == 3,
             "the batch in flight")  # fmt: skip
    # And one whose function runs when serve stops (it would sleep past its 30 s timeout).
    local.sqs.send_message(QueueUrl=local.url("shop-dev-sleepy"), MessageBody="sleep-1")
    wait_for(lambda: local.calls("sleepy"), "the sleeping invocation")
    started = time.monotonic()
    local.stop_serve()
    # Stopped without waiting for the invocation (its worker is stopped with the others).
    assert time.monotonic() - started < 15
    assert local.calls("slow") == []
    # Visible again at once, not after the queues' visibility timeouts (minutes).
    for name, held in (("shop-dev-slow", 3), ("shop-dev-sleepy", 1)):
        assert local.count(name) == held
        assert local.count(name, "ApproximateNumberOfMessagesNotVisible") == 0
    assert not worker_pids(local.root), "a worker outlived serve"


# -- doit dlq, once serve has stopped ------------------------------------------------------------
def step_doit_dlq_lists_the_failure_queues_and_leaves_their_messages(local):
    listed = run("doit", "dlq", cwd=local.root)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    dead = local.sqs.receive_message(QueueUrl=local.url("shop-dev-orders-dlq"), VisibilityTimeout=0)
    (poison,) = dead["Messages"]
    at = lines.index("shop-dev-orders-dlq: 1 message (dead-letter queue of shop-dev-orders)")
    assert lines[at + 1] == f"  {poison['MessageId']}  poison"
    fifo = lines.index(
        "shop-dev-ledger-dlq.fifo: 2 messages (dead-letter queue of shop-dev-ledger.fifo)"
    )
    assert [line.split()[-1] for line in lines[fifo + 1 : fifo + 3]] == ["poison-2", "3"]
    assert "shop-dev-slow-dlq: 0 messages (dead-letter queue of shop-dev-slow)" in lines
    assert "shop-dev-notify-failures: 0 messages (failed events of notify)" in lines
    assert local.count("shop-dev-orders-dlq") == 1  # a peek, not a receive that hides it
    # A deployed stage's queues, through the user's credentials and region (here moto's).
    import os

    aws = dict(os.environ, AWS_ENDPOINT_URL=local.endpoint, AWS_DEFAULT_REGION="us-east-1",
               AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")  # fmt: skip
    deployed = subprocess.run(
        [str(BIN / "doit"), "dlq", "name=orders-dlq", "stage=dev"],
        cwd=local.root, env=aws, capture_output=True, text=True,
    )  # fmt: skip
    assert deployed.returncode == 0, deployed.stderr
    assert deployed.stdout.splitlines()[-2:] == lines[at : at + 2]


def step_doit_dlq_redrive_moves_dead_letters_back_to_their_queue(local):
    moved = run("doit", "dlq", "name=orders", "redrive=true", cwd=local.root)
    assert moved.returncode == 0, moved.stderr
    assert "  moved 1 message back to shop-dev-orders" in moved.stdout.splitlines()
    assert local.count("shop-dev-orders-dlq") == 0
    back = local.sqs.receive_message(QueueUrl=local.url("shop-dev-orders"), VisibilityTimeout=0)
    assert [m["Body"] for m in back["Messages"]] == ["poison"]
    fifo = run("doit", "dlq", "name=ledger-dlq.fifo", "redrive=true", cwd=local.root)
    assert "  moved 2 messages back to shop-dev-ledger.fifo" in fifo.stdout.splitlines()
    back = local.sqs.receive_message(
        QueueUrl=local.url("shop-dev-ledger.fifo"), MaxNumberOfMessages=10,
        VisibilityTimeout=0, AttributeNames=["All"],
    )  # fmt: skip
    assert [(m["Body"], m["Attributes"]["MessageGroupId"]) for m in back["Messages"]] == [
        ("poison-2", "g1"),
        ("3", "g1"),
    ]


def step_doit_dlq_errors_name_the_fix(local):
    failures = run("doit", "dlq", "name=notify", "redrive=true", cwd=local.root)
    assert failures.returncode != 0
    (line,) = [line for line in failures.stderr.splitlines() if line.startswith("error:")]
    assert "there is no source queue to move them back to" in line
    unknown = run("doit", "dlq", "name=nope", cwd=local.root)
    assert unknown.returncode != 0
    assert (
        "error: no failure queue 'nope' in this app; its failure queues are: ledger-dlq.fifo, "
        "notify-failures, orders-dlq, sleepy-dlq, slow-dlq" in unknown.stderr
    )
    assert run("doit", "dynamo_stop", cwd=local.root).returncode == 0
    stopped = run("doit", "dlq", cwd=local.root)
    assert stopped.returncode != 0
    assert "error: no local server is running" in stopped.stderr


@pytest.mark.slow
def test_serve_then_stop_then_doit_dlq(local):
    """One scenario, its steps in order on one app and one local server (each step needs
    what the ones before it left: messages in the dead-letter queues, serve stopped), so it
    is one test wherever the suite's workers would run its steps."""
    for step in (
        step_serve_creates_the_queues_the_template_would,
        step_a_poisoned_message_is_received_max_receive_count_times_then_sits_in_the_dlq,
        step_a_fifo_group_stops_at_its_failed_message_and_keeps_its_order,
        step_an_edit_to_a_queue_function_is_live_on_its_next_delivery,
        step_stopping_serve_with_messages_in_flight_loses_none,
        step_doit_dlq_lists_the_failure_queues_and_leaves_their_messages,
        step_doit_dlq_redrive_moves_dead_letters_back_to_their_queue,
        step_doit_dlq_errors_name_the_fix,
    ):
        step(local)


# -- the poller's batching and its reading of answers, on a moto server in this process -----------
@pytest.fixture(scope="module")
def server_sqs() -> Iterator[Any]:
    from tight.testing.servers import moto_server

    with moto_server() as endpoint:
        yield boto3.client(
            "sqs", endpoint_url=endpoint, region_name="us-east-1",
            aws_access_key_id="local", aws_secret_access_key="local",
        )  # fmt: skip


def poller_for(
    sqs: Any,
    name: str,
    answer: Callable[[dict[str, Any]], dict[str, Any]],
    visibility: int = 1,
    **batching: Any,
):
    from tight_tasks.queue_delivery import QueuePoller, QueueTarget, ensure_queues

    url, arn, dead = ensure_queues(sqs, name, visibility, 3)
    events: list[dict[str, Any]] = []
    lines: list[str] = []

    def invoke(function: str, event: dict[str, Any]) -> dict[str, Any]:
        events.append(event)
        return answer(event)

    target = QueueTarget(name, url, arn, dead_letter=dead, max_receive_count=3, **batching)
    return QueuePoller(target, sqs, invoke, lines.append), url, events, lines


def send(sqs: Any, url: str, bodies: list[str]) -> None:
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": b} for n, b in enumerate(bodies)]
    )


def test_a_batch_holds_batch_size_or_what_came_in_its_window(server_sqs):
    # A visibility timeout longer than the window, as the template sets one.
    poller, url, events, _ = poller_for(server_sqs, "windowed", lambda e: {"result": None},
                                        visibility=30, batch_size=4, batch_window=1)  # fmt: skip
    send(server_sqs, url, ["1", "2", "3", "4", "5", "6"])
    assert poller.poll_once() == 4  # full before its window ended
    started = time.monotonic()
    assert poller.poll_once() == 2  # the rest, once the window passed
    assert time.monotonic() - started >= 0.9
    assert [len(event["Records"]) for event in events] == [4, 2]
    record = events[0]["Records"][0]
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"].endswith(":windowed")
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert (
        server_sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
        == "0"
    )


def test_a_message_received_again_within_the_window_is_one_record(server_sqs):
    """A visibility timeout shorter than the batch window lets SQS hand a held message out
    again before the window ends: the batch still holds it once, with its latest receipt
    (the one a delete needs), and it is deleted."""
    poller, url, events, _ = poller_for(server_sqs, "rewindowed", lambda e: {"result": None},
                                        visibility=1, batch_size=5, batch_window=3)  # fmt: skip
    send(server_sqs, url, ["only"])
    assert poller.poll_once() == 1
    (record,) = events[0]["Records"]
    assert record["body"] == "only" and int(record["attributes"]["ApproximateReceiveCount"]) > 1
    assert (
        server_sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
        == "0"
    )


def test_an_answer_naming_no_message_of_the_batch_keeps_the_whole_batch(server_sqs):
    stranger = {"result": {"batchItemFailures": [{"itemIdentifier": "not-in-the-batch"}]}}
    poller, url, events, lines = poller_for(server_sqs, "strict", lambda e: stranger)
    send(server_sqs, url, ["a", "b"])
    assert poller.poll_once() == 2
    assert "answered an unknown batchItemFailures id: all kept" in lines[0]
    time.sleep(1.1)  # the queue's visibility timeout: both come back
    assert poller.poll_once() == 2
    assert [r["attributes"]["ApproximateReceiveCount"] for r in events[1]["Records"]] == ["2", "2"]
    timed_out, _, _, timeout_lines = poller_for(server_sqs, "strict", lambda e: {"timeout": 3})
    time.sleep(1.1)
    assert timed_out.poll_once() == 2
    assert "2 records  timed out" in timeout_lines[0]
