"""Queue delivery benchmark: SQS messages through `doit serve` against a plain boto3 loop,
on the same moto server (the one `doit dynamo_start` runs), in one run.

One app, one SQS function (``orders``, the default batch size of 10); its handler writes
each message's body and the time it was called to a file. Tight delivers the queue
``shop-dev-orders`` under ``doit serve`` (a poller, a warm worker process, the answer's
``batchItemFailures``, deletes). The peer is the loop a developer would write without it:
``receive_message`` (10 at most, long polling), ``app_index.orders(event, context)`` called
in its own process, ``delete_message_batch``, on a queue of its own on the same server.

- per message: a burst of messages is sent; the time from the first send to the last
  message called and deleted, divided by their number; the peers alternate, each round;
- latency: one message at a time, the time from ``send_message`` to the handler's call.

Results print as ratios against the loop measured in this same run and are saved to
bench/results/serve_queues.json. Nothing here asserts a timing.

    python bench/serve/queues.py [--quick] [--results DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(HERE))

from run import percentile, run, server  # noqa: E402

PEERS = ("tight", "loop")

HANDLER = """\
import json
import os
import time
from pathlib import Path

from tight.providers.aws.controllers import sqs

CALLS = Path(__file__).resolve().parents[3] / "calls"


@sqs.record
def on_message(*args, **kwargs):
    called = time.time()
    with (CALLS / os.environ["AWS_LAMBDA_FUNCTION_NAME"]).open("a") as calls:
        calls.write(json.dumps({"body": kwargs["record"].body, "called": called}) + "\\n")
"""

# The plain loop: receive, call the function as Lambda would, delete; until stdin closes.
LOOP = """\
import json, os, sys, threading
import boto3

root, endpoint, url = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, root)
os.chdir(root)
from tight_tasks.worker import _load  # the app as doit serve's worker loads it

app_index = _load(root, {"app_name": "shop", "stage": "dev"})

sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="local", aws_secret_access_key="local")
arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
stopping = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stopping.set()), daemon=True).start()


class Context:
    function_name = "peer"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self):
        return 30000


print("ready", flush=True)
while not stopping.is_set():
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                   AttributeNames=["All"]).get("Messages", [])
    if not messages:
        continue
    event = {"Records": [
        {"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
         "attributes": m.get("Attributes", {}), "messageAttributes": {},
         "md5OfBody": m["MD5OfBody"], "eventSource": "aws:sqs", "eventSourceARN": arn,
         "awsRegion": "us-east-1"} for m in messages]}
    answer = app_index.orders(event, Context()) or {}
    failed = {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
    done = [m for m in messages if m["MessageId"] not in failed]
    if done:
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done)])
"""


def make_app(folder: Path, env: dict[str, str], port: int) -> Path:
    run([str(BIN / "tight"), "generate_app", "name=shop"], folder, env)
    root = folder / "shop"
    function = root / "app" / "functions" / "orders"
    function.mkdir(parents=True)
    (function / "__init__.py").write_text("")
    (function / "handler.py").write_text(HANDLER)
    (root / "calls").mkdir()
    command = f"{sys.executable} -m moto.server -H 127.0.0.1 -p {{port}}"
    with (root / "tight.yml").open("a") as settings:
        settings.write(
            "\nfunctions:\n  orders:\n    sqs: {queue: orders}\n"
            f"dynamo:\n  backend: command\n  port: {port}\n  command: {command}\n"
        )
    return root


class Peer:
    """One consumer's queue, and what its handler wrote."""

    def __init__(self, sqs: Any, url: str, calls: Path) -> None:
        self.sqs, self.url, self.calls = sqs, url, calls
        self.seen = 0

    def lines(self) -> list[dict[str, Any]]:
        if not self.calls.exists():
            return []
        return [json.loads(line) for line in self.calls.read_text().splitlines()]

    def wait_calls(self, count: int, bound: float = 60.0) -> list[dict[str, Any]]:
        """The next ``count`` calls, waited for."""
        deadline = time.monotonic() + bound
        while time.monotonic() < deadline:
            lines = self.lines()
            if len(lines) >= self.seen + count:
                new, self.seen = lines[self.seen : self.seen + count], self.seen + count
                return new
            time.sleep(0.002)
        raise RuntimeError(f"{self.calls.name}: {count} calls did not come within {bound} s")

    def wait_empty(self, bound: float = 30.0) -> None:
        deadline = time.monotonic() + bound
        keys = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        while time.monotonic() < deadline:
            found = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=keys)
            if not any(int(found["Attributes"][key]) for key in keys):
                return
            time.sleep(0.002)
        raise RuntimeError(f"{self.url} still holds messages after {bound} s")

    def burst(self, count: int) -> float:
        """Seconds per message: ``count`` sent, each called and deleted."""
        started = time.perf_counter()
        for first in range(0, count, 10):
            self.sqs.send_message_batch(
                QueueUrl=self.url,
                Entries=[
                    {"Id": str(n), "MessageBody": json.dumps({"n": first + n})}
                    for n in range(min(10, count - first))
                ],
            )
        calls = self.wait_calls(count)
        self.wait_empty()
        took = time.perf_counter() - started
        if sorted(json.loads(call["body"])["n"] for call in calls) != list(range(count)):
            raise RuntimeError(f"{self.calls.name} was not called once per message")
        return took / count

    def latency(self) -> float:
        """Seconds from ``send_message`` to the handler's call."""
        sent = time.time()
        self.sqs.send_message(QueueUrl=self.url, MessageBody=json.dumps({"sent": sent}))
        (call,) = self.wait_calls(1)
        self.wait_empty()
        return float(call["called"]) - sent


def stop(loop: subprocess.Popen[str] | None) -> None:
    if loop is not None and loop.poll() is None:
        assert loop.stdin is not None
        loop.stdin.close()
        loop.wait(timeout=30)


def main() -> int:
    import boto3

    from tight.testing.servers import free_port

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer messages (smoke run)")
    parser.add_argument(
        "--results", type=Path, default=HERE.parent / "results", help="where the JSON goes"
    )
    args = parser.parse_args()
    rounds, burst, pings = (2, 20, 5) if args.quick else (6, 200, 40)

    with tempfile.TemporaryDirectory(prefix="tight-bench-queues-") as tmp:
        folder = Path(tmp)
        env = dict(os.environ, XDG_CACHE_HOME=str(folder / "cache"), PYTHONDONTWRITEBYTECODE="1")
        for key in ("AWS_ENDPOINT_URL", "TIGHT_DYNAMO_ENDPOINT"):
            env.pop(key, None)
        port = free_port()
        root = make_app(folder, env, port)
        endpoint = f"http://127.0.0.1:{port}"
        run([str(BIN / "doit"), "dynamo_start"], root, env)
        loop: subprocess.Popen[str] | None = None
        try:
            sqs = boto3.client(
                "sqs", endpoint_url=endpoint, region_name="us-east-1",
                aws_access_key_id="local", aws_secret_access_key="local",
            )  # fmt: skip
            peer_url = sqs.create_queue(QueueName="shop-dev-peer")["QueueUrl"]
            loop_env = dict(env, AWS_LAMBDA_FUNCTION_NAME="peer")
            loop = subprocess.Popen(
                [sys.executable, "-c", LOOP, str(root), endpoint, peer_url],
                cwd=root, env=loop_env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            assert loop.stdout is not None
            if loop.stdout.readline().strip() != "ready":
                raise RuntimeError("the boto3 loop did not start")
            with server("tight", root, env):
                console = folder / "tight-console.txt"
                deadline = time.monotonic() + 60
                while "sqs " not in console.read_text() and time.monotonic() < deadline:
                    time.sleep(0.05)  # the sources are listed once they run
                peers = {
                    "tight": Peer(sqs, sqs.get_queue_url(QueueName="shop-dev-orders")["QueueUrl"],
                                  root / "calls" / "shop-dev-orders"),
                    "loop": Peer(sqs, peer_url, root / "calls" / "peer"),
                }  # fmt: skip
                for peer in peers.values():  # warm: worker started, connections open
                    peer.burst(10)
                print(f"per message: {rounds} rounds of {burst} messages per peer, alternating")
                per_message: dict[str, list[float]] = {peer: [] for peer in PEERS}
                for number in range(rounds):
                    for name in PEERS if number % 2 == 0 else PEERS[::-1]:
                        per_message[name].append(peers[name].burst(burst) * 1000)
                print(f"send -> call latency: {pings} single messages per peer, alternating")
                latency: dict[str, list[float]] = {peer: [] for peer in PEERS}
                for number in range(pings):
                    for name in PEERS if number % 2 == 0 else PEERS[::-1]:
                        latency[name].append(peers[name].latency() * 1000)
                stop(loop)  # before the server's check that nothing naming the app is left
        finally:
            stop(loop)
            run([str(BIN / "doit"), "dynamo_stop"], root, env)

    medians = {peer: statistics.median(values) for peer, values in per_message.items()}
    lat = {
        peer: {"p50": statistics.median(values), "p90": percentile(values, 0.9)}
        for peer, values in latency.items()
    }
    ratio = medians["tight"] / medians["loop"]
    results: dict[str, Any] = {
        "python": sys.version.split()[0],
        "per_message_ms": {"median": medians, "samples": per_message},
        "latency_ms": lat,
        "ratios": {
            "per_message": ratio,
            "latency_p50": lat["tight"]["p50"] / lat["loop"]["p50"],
        },
    }
    print("\nper message, sent, called and deleted (ms): median, samples")
    for peer, values in per_message.items():
        print(f"  {peer:<6} {medians[peer]:7.3f}  " + " ".join(f"{v:.3f}" for v in values))
    print("send -> call latency (ms): p50, p90")
    for peer, figure in lat.items():
        print(f"  {peer:<6} {figure['p50']:7.2f} {figure['p90']:7.2f}")
    print("\n== summary: doit serve's SQS delivery against a plain boto3 loop, this run ==")
    print(
        f"per message: tight {medians['tight']:.3f} ms = {ratio:.2f}x the loop "
        f"({medians['loop']:.3f} ms)"
    )
    print(
        f"send -> call p50: tight {lat['tight']['p50']:.2f} ms, loop {lat['loop']['p50']:.2f} ms"
        f" ({results['ratios']['latency_p50']:.2f}x)"
    )
    met = ratio <= 1.5
    results["targets"] = {"per message <= 1.5x the boto3 loop": met}
    print(f"targets: per message <= 1.5x the boto3 loop: {'met' if met else 'MISSED'}")
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "serve_queues.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nsaved {args.results / 'serve_queues.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
