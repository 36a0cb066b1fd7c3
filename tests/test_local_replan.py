"""Event sources planned again while ``doit serve`` runs: a function generated with its
trigger, a trigger pointed elsewhere and a broken tight.yml, each without a restart.

One app, the moto server ``doit dynamo_start`` runs on 127.0.0.1, and one ``doit serve``,
in one ordered scenario (xdist must not split its steps).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import boto3
from servers import run, wait_for

from tight.testing.servers import free_port, wait_for_port

BIN = Path(sys.executable).parent


FAILING_NEWS = """
from tight.providers.aws.controllers import sns


@sns.record
def on_message(*args, **kwargs):
    raise ValueError("this news cannot be read")
"""


def test_serve_refuses_a_retry_delay_that_is_not_seconds(tmp_path):
    (tmp_path / "dodo.py").write_text("from tight_tasks import *  # noqa: F403\n")
    for value in ("soon", "-1", "nan", "3600"):
        done = run("doit", "serve", f"retry_delay={value}", cwd=tmp_path)
        assert done.returncode != 0
        assert f"retry_delay must be seconds from 0 to 900 (retry_delay=1), not '{value}'" in (
            done.stdout + done.stderr
        )
        assert "Traceback" not in done.stdout + done.stderr


def test_serve_plans_the_event_sources_again_on_each_edit(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for key in ("AWS_ENDPOINT_URL", "TIGHT_DYNAMO_ENDPOINT"):
        monkeypatch.delenv(key, raising=False)
    assert run("tight", "generate_app", "name=shop", cwd=tmp_path).returncode == 0
    root = tmp_path / "shop"
    assert run("doit", "generate_function", "name=items", cwd=root).returncode == 0
    port = free_port()
    command = f"{sys.executable} -m moto.server -H 127.0.0.1 -p {{port}}"
    with (root / "tight.yml").open("a") as settings:
        settings.write(f"dynamo:\n  backend: command\n  port: {port}\n  command: {command}\n")
    started = run("doit", "dynamo_start", cwd=root)
    assert started.returncode == 0, started.stderr
    sqs = boto3.client(
        "sqs", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
        aws_access_key_id="local", aws_secret_access_key="local",
    )  # fmt: skip
    console = tmp_path / "console.txt"
    serve_port = free_port()
    with console.open("w") as out:
        serve = subprocess.Popen(
            [str(BIN / "doit"), "serve", f"port={serve_port}", "retry_delay=0.3"],
            cwd=root,
            stdout=out,
            stderr=out,
            env=os.environ.copy(),
        )
    try:
        wait_for_port(serve_port)
        wait_for(lambda: "Ctrl-C" in console.read_text(), "serve started")
        assert "event sources" not in console.read_text()  # none yet

        def delivered(count: int) -> bool:
            lines = console.read_text().splitlines()
            return sum(1 for line in lines if line.startswith("sqs ") and " ok " in line) >= count

        # 1. A function generated with its trigger while serving runs with no restart.
        generated = run("doit", "generate_function", "name=orders", "trigger=sqs", cwd=root)
        assert generated.returncode == 0, generated.stdout + generated.stderr
        wait_for(
            lambda: (
                "the event sources changed (+ sqs shop-dev-orders -> orders)" in console.read_text()
            ),
            "the new trigger planned",
        )
        wait_for(lambda: "sqs             shop-dev-orders  -> orders" in console.read_text(), "")
        orders = sqs.get_queue_url(QueueName="shop-dev-orders")["QueueUrl"]
        sqs.send_message(QueueUrl=orders, MessageBody='{"n": 1}')
        wait_for(lambda: delivered(1), "the message delivered to orders")

        # 2. The trigger pointed at another queue: the new one is polled, the old one not.
        settings_file = root / "tight.yml"
        settings_file.write_text(settings_file.read_text().replace("queue: orders", "queue: jobs"))
        wait_for(
            lambda: (
                "+ sqs shop-dev-jobs -> orders; - sqs shop-dev-orders -> orders"
                in console.read_text()
            ),
            "the changed trigger planned",
        )
        wait_for(lambda: "sqs             shop-dev-jobs  -> orders" in console.read_text(), "")
        jobs = sqs.get_queue_url(QueueName="shop-dev-jobs")["QueueUrl"]
        sqs.send_message(QueueUrl=orders, MessageBody='{"n": 2}')
        sqs.send_message(QueueUrl=jobs, MessageBody='{"n": 3}')
        wait_for(lambda: delivered(2), "the message delivered from jobs")
        time.sleep(1.5)  # a poller on the old queue would have taken its message by now
        left = sqs.get_queue_attributes(QueueUrl=orders, AttributeNames=["All"])["Attributes"]
        assert (
            left["ApproximateNumberOfMessages"],
            left["ApproximateNumberOfMessagesNotVisible"],
        ) == ("1", "0")

        # 3. A tight.yml that cannot be read leaves the sources running as they were.
        good = settings_file.read_text()
        settings_file.write_text(good + "functions: [\n")
        wait_for(lambda: "serving the routes as they were" in console.read_text(), "the error")
        sqs.send_message(QueueUrl=jobs, MessageBody='{"n": 4}')
        wait_for(lambda: delivered(3), "a message delivered with tight.yml broken")
        settings_file.write_text(good)

        # 4. An SNS function added, then made to fail: its retry waits retry_delay, not
        # Lambda's minute, and the event then lands in its failure queue.
        generated = run("doit", "generate_function", "name=news", "trigger=sns", cwd=root)
        assert generated.returncode == 0, generated.stdout + generated.stderr
        (root / "app/functions/news/handler.py").write_text(FAILING_NEWS)
        text = settings_file.read_text()
        assert "sns: {topic: news}" in text, text
        settings_file.write_text(
            text.replace("sns: {topic: news}", "sns: {topic: news, retries: 1}")
        )
        wait_for(lambda: "sns             shop-dev-news  -> news" in console.read_text(), "")
        wait_for(
            lambda: "(their settings)" in console.read_text() or "+ sns" in console.read_text(), ""
        )
        sns = boto3.client(
            "sns", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
            aws_access_key_id="local", aws_secret_access_key="local",
        )  # fmt: skip
        topic = sns.create_topic(Name="shop-dev-news")["TopicArn"]  # the one serve made
        sns.publish(TopicArn=topic, Message="extra, extra")
        moved = "news  event moved to shop-dev-news-failures after 2 invocations"
        wait_for(lambda: moved in console.read_text(), "the failed event in the failure queue", 20)
        assert "(retry 1 of 1 in 0.3 s)" in console.read_text()
        # The function's own traceback is in its log lines; serve itself printed none.
        served = [line for line in console.read_text().splitlines() if " | " not in line]
        assert not [line for line in served if "Traceback" in line], served
    finally:
        serve.terminate()
        serve.wait(timeout=60)
        run("doit", "dynamo_stop", cwd=root)
    assert serve.returncode in (0, -15), console.read_text()
