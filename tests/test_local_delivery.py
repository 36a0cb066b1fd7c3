"""Event sources driving real functions on moto's server on 127.0.0.1, as Lambda drives
them: SNS, S3 and EventBridge invoke asynchronously with retries and then the ``OnFailure``
queue; Kinesis and DynamoDB streams deliver each shard in order, retrying from the failed
record. Each function runs in the worker ``doit serve`` uses, and writes what it received
to a file the test reads."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from conftest import write_app
from servers import moto_server

from tight_tasks.async_delivery import (
    AsyncInvoker,
    AsyncTarget,
    QueueFeed,
    bus_events,
    ensure_local_queue,
    function_arn,
    local_queue_name,
    notify_bucket,
    route_bus,
    s3_events,
    sns_events,
    subscribe_topic,
)
from tight_tasks.stream_delivery import (
    ShardDelivery,
    StreamTarget,
    dynamodb_shards,
    kinesis_shards,
    table_stream_arn,
)
from tight_tasks.worker import Worker

CALLED = """
import json, os


def called(name, value):
    with open(os.path.join(os.environ["CALLS"], name), "a") as calls:
        calls.write(json.dumps(value) + "\\n")
"""

FUNCTIONS = {
    "notify": """
        from tight.providers.aws.controllers import sns
        from app.calls import called


        @sns.record
        def on_message(*args, **kwargs):
            message = kwargs["record"].message
            called("notify", message)
            if message == "poison":
                raise ValueError("poisoned message")
        """,
    "upload": """
        from tight.providers.aws.controllers import s3
        from app.calls import called


        @s3.record
        def on_upload(*args, **kwargs):
            key = kwargs["record"].key
            called("upload", key)
            if "broken" in key:
                raise OSError(f"cannot read {key}")
        """,
    "audit": """
        from tight.providers.aws.controllers import eventbridge
        from app.calls import called


        @eventbridge.record
        def on_event(*args, **kwargs):
            called("audit", kwargs["record"].detail)
        """,
    "ticks": """
        from tight.providers.aws.controllers import kinesis
        from app.calls import called


        @kinesis.record
        def on_tick(*args, **kwargs):
            data = kwargs["record"].data.decode()
            called("ticks", data)
            if data.startswith("bad"):
                raise ValueError(f"cannot read {data}")
        """,
    "nightly": """
        from tight.providers.aws.controllers import eventbridge
        from app.calls import called


        @eventbridge.record
        def on_tick(*args, **kwargs):
            record = kwargs["record"]
            called("nightly", [record.detail_type, record.resources])
        """,
    "changes": """
        from tight.providers.aws.controllers import dynamodb_stream
        from app.calls import called


        @dynamodb_stream.record
        def on_change(*args, **kwargs):
            record = kwargs["record"]
            called("changes", [record.event_name, record.keys, record.new_image])
        """,
}


class Local:
    """The moto server, its clients, the app's workers and what each function received."""

    def __init__(self, endpoint: str, root: Path, calls: Path) -> None:
        self.endpoint, self.root, self.calls = endpoint, root, calls
        self.session = boto3.session.Session(
            aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1"
        )
        self.workers: dict[str, Worker] = {}
        self.locks: dict[str, threading.Lock] = {}
        self.lines: list[str] = []

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint)

    def invoke(self, function: str, event: Any) -> dict[str, Any]:
        import os

        if function not in self.workers:
            env = dict(os.environ, CALLS=str(self.calls), PYTHONDONTWRITEBYTECODE="1")
            env.pop("PYTHONPATH", None)
            self.workers[function] = Worker(self.root, function, env, {}, 10, 128, lambda _: None)
            self.locks[function] = threading.Lock()
        with self.locks[function]:
            return self.workers[function].invoke(event)

    def received(self, function: str) -> list[Any]:
        path = self.calls / function
        if not path.is_file():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]

    def failure_queue(self, function: str) -> str:
        sqs = self.client("sqs")
        return str(sqs.create_queue(QueueName=f"shop-dev-{function}-failures")["QueueUrl"])

    def drain(self, url: str) -> list[dict[str, Any]]:
        sqs = self.client("sqs")
        found: list[dict[str, Any]] = []
        while True:
            reply = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
            messages = reply.get("Messages", [])
            if not messages:
                return found
            for message in messages:
                found.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


TIGHT_YML = """\
name: shop
functions:
  notify:
    sns: {topic: news, retries: 1}
  upload:
    s3: {bucket: shop-files, prefix: in/}
  audit:
    eventbridge: {pattern: {source: [shop.orders]}, bus: shop-bus}
  nightly:
    schedule: rate(1 minute)
  ticks:
    kinesis: {stream: ticks, starting_position: LATEST, retries: 0, bisect: false}
  changes:
    dynamodb_stream: {model: order, batch_size: 5}
"""

ORDER_MODEL = """\
from tight.models import Model, Number, String


class Order(Model):
    hash_key = "id"
    id = String()
    total = Number()
"""


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory):
    root = write_app(tmp_path_factory.mktemp("delivery") / "shop", FUNCTIONS)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "calls.py").write_text(CALLED)
    calls = root / "calls"
    calls.mkdir()
    with moto_server() as endpoint:
        here = Local(endpoint, root, calls)
        try:
            yield here
        finally:
            for worker in here.workers.values():
                worker.stop()


def wait_for(condition: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("the condition did not hold in time")


def async_target(local: Local, function: str, source: str, retries: int = 2) -> AsyncTarget:
    return AsyncTarget(
        function,
        function_arn(f"shop-dev-{function}"),
        retries,
        local.failure_queue(function),
        source,
    )


def feed_until_idle(feed: QueueFeed, invoker: AsyncInvoker, until: Callable[[], Any]) -> None:
    """Poll the source's queue and let the invoker work until ``until`` holds and nothing
    is left to do."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        feed.poll_once()
        if until() and invoker.idle():
            return
        time.sleep(0.05)
    raise AssertionError("the deliveries did not finish in time")


# -- asynchronous sources ----------------------------------------------------------------------
def test_a_publish_reaches_the_sns_function_and_a_poisoned_one_ends_in_the_failure_queue(local):
    sqs, sns = local.client("sqs"), local.client("sns")
    topic = sns.create_topic(Name="shop-dev-news")["TopicArn"]
    url, arn = ensure_local_queue(sqs, local_queue_name("shop-dev-notify"))
    subscription = subscribe_topic(sns, topic, arn)
    assert subscribe_topic(sns, topic, arn) == subscription  # once, however often serve starts
    target = async_target(local, "notify", "sns", retries=2)
    invoker = AsyncInvoker(local.invoke, sqs, local.lines.append, delays=(0.05, 0.1))
    invoker.start()
    feed = QueueFeed(sqs, url, sns_events(target, subscription), invoker, wait_seconds=0)
    try:
        sns.publish(TopicArn=topic, Message="hello", Subject="greeting")
        sns.publish(TopicArn=topic, Message="poison")
        feed_until_idle(feed, invoker, lambda: len(local.received("notify")) >= 4)
    finally:
        invoker.stop()
    received = local.received("notify")
    assert sorted(received) == ["hello", "poison", "poison", "poison"]  # 1 + 2 retries
    failures = local.drain(target.failure_queue or "")
    assert len(failures) == 1
    record = failures[0]
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["functionArn"].endswith(":function:shop-dev-notify:$LATEST")
    assert record["responsePayload"]["errorType"] == "ValueError"
    assert record["responsePayload"]["errorMessage"] == "poisoned message"
    sent = record["requestPayload"]["Records"][0]
    assert sent["EventSource"] == "aws:sns" and sent["EventSubscriptionArn"] == subscription
    assert sent["Sns"]["Message"] == "poison" and sent["Sns"]["TopicArn"] == topic
    # Both messages were settled: nothing comes back on the source's queue.
    assert local.drain(url) == []
    assert any("retry 2 of 2" in line for line in local.lines)
    assert any(
        "moved to shop-dev-notify-failures after 3 invocations" in line for line in local.lines
    )


def test_an_upload_reaches_the_s3_function_through_its_prefix_and_suffix_rules(local):
    sqs, s3 = local.client("sqs"), local.client("s3")
    s3.create_bucket(Bucket="shop-dev-uploads")
    other = sqs.create_queue(QueueName="someone-elses")["QueueUrl"]
    other_arn = sqs.get_queue_attributes(QueueUrl=other, AttributeNames=["QueueArn"])
    s3.put_bucket_notification_configuration(
        Bucket="shop-dev-uploads",
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": "theirs",
                    "QueueArn": other_arn["Attributes"]["QueueArn"],
                    "Events": ["s3:ObjectRemoved:*"],
                }
            ]
        },
    )
    url, arn = ensure_local_queue(sqs, local_queue_name("shop-dev-upload"))
    route = {"id": "tight-upload", "queue_arn": arn, "prefix": "incoming/", "suffix": ".csv"}
    notify_bucket(s3, "shop-dev-uploads", [route])
    notify_bucket(s3, "shop-dev-uploads", [route])  # a second start changes nothing
    kept = s3.get_bucket_notification_configuration(Bucket="shop-dev-uploads")
    assert sorted(q["Id"] for q in kept["QueueConfigurations"]) == ["theirs", "tight-upload"]
    target = async_target(local, "upload", "s3", retries=1)
    invoker = AsyncInvoker(local.invoke, sqs, local.lines.append, delays=(0.05,))
    invoker.start()
    feed = QueueFeed(sqs, url, s3_events(target), invoker, wait_seconds=0)
    try:
        for key in ("incoming/a.csv", "incoming/a.txt", "elsewhere/b.csv", "incoming/broken.csv"):
            s3.put_object(Bucket="shop-dev-uploads", Key=key, Body=b"x,y\n")
        feed_until_idle(feed, invoker, lambda: len(local.received("upload")) >= 3)
    finally:
        invoker.stop()
    assert sorted(local.received("upload")) == [
        "incoming/a.csv",
        "incoming/broken.csv",
        "incoming/broken.csv",  # 1 + 1 retry
    ]
    (failure,) = local.drain(target.failure_queue or "")
    assert failure["requestContext"]["approximateInvokeCount"] == 2
    assert failure["requestPayload"]["Records"][0]["s3"]["object"]["key"] == "incoming/broken.csv"
    assert failure["responsePayload"]["errorType"] == "OSError"


def test_put_events_reach_the_function_whose_pattern_matches_on_its_bus_and_no_other(local):
    sqs, events = local.client("sqs"), local.client("events")
    events.create_event_bus(Name="shop-dev-orders")
    url, arn = ensure_local_queue(sqs, local_queue_name("shop-dev-audit"))
    route_bus(events, "shop-dev-orders", local_queue_name("shop-dev-audit"), arn)
    pattern = {"source": ["shop.orders"], "detail": {"total": [{"numeric": [">=", 100]}]}}
    target = async_target(local, "audit", "eventbridge", retries=0)
    invoker = AsyncInvoker(local.invoke, sqs, local.lines.append, delays=(0.05,))
    invoker.start()
    feed = QueueFeed(sqs, url, bus_events(target, pattern), invoker, wait_seconds=0)

    def put(bus: str, source: str, total: int) -> None:
        entry = {
            "Source": source,
            "DetailType": "Order Placed",
            "Detail": json.dumps({"total": total}),
            "EventBusName": bus,
        }
        assert events.put_events(Entries=[entry])["FailedEntryCount"] == 0

    try:
        put("shop-dev-orders", "shop.orders", 20)  # the pattern's numeric range says no
        put("shop-dev-orders", "shop.billing", 500)  # another source
        put("default", "shop.orders", 300)  # another bus
        put("shop-dev-orders", "shop.orders", 150)
        feed_until_idle(feed, invoker, lambda: local.received("audit"))
        time.sleep(0.2)
        feed_until_idle(feed, invoker, lambda: True)
    finally:
        invoker.stop()
    assert local.received("audit") == [{"total": 150}]
    assert local.drain(url) == []  # the events that matched nothing are gone, not retried


def test_a_function_whose_worker_cannot_start_fails_like_a_raise(local):
    def broken(function: str, event: Any) -> dict[str, Any]:
        raise OSError("no such interpreter")

    sqs = local.client("sqs")
    target = async_target(local, "notify", "sns", retries=1)
    invoker = AsyncInvoker(broken, sqs, local.lines.append, delays=(0.01,))
    invoker.start()
    try:
        invoker.submit(target, {"Records": [{"EventSource": "aws:sns"}]})
        wait_for(invoker.idle)
    finally:
        invoker.stop()
    (failure,) = local.drain(target.failure_queue or "")
    assert failure["requestContext"]["approximateInvokeCount"] == 2
    assert failure["responsePayload"]["errorType"] == "OSError"


# -- streams -----------------------------------------------------------------------------------
def stream_target(local: Local, function: str, **settings: Any) -> StreamTarget:
    return StreamTarget(
        function,
        function_arn(f"shop-dev-{function}"),
        failure_queue=local.failure_queue(function),
        starting_position="TRIM_HORIZON",
        **settings,
    )


def test_a_kinesis_failure_is_retried_from_the_failed_record_then_recorded_and_passed(local):
    kinesis = local.client("kinesis")
    kinesis.create_stream(StreamName="shop-dev-ticks", ShardCount=1)
    for data in ("t1", "t2", "bad3", "t4", "t5"):
        kinesis.put_record(StreamName="shop-dev-ticks", Data=data.encode(), PartitionKey="k")
    target = stream_target(local, "ticks", batch_size=10, retries=2, bisect=True)
    (shard,) = kinesis_shards(kinesis, "shop-dev-ticks", target.starting_position)
    delivery = ShardDelivery(
        shard, target, local.invoke, local.client("sqs"), local.lines.append, retry_delay=0
    )
    assert delivery.poll_once() == 5
    # The function stops a stream batch at its first failure and reports it and the rest;
    # the retry starts at bad3 (t1 and t2 are not delivered again). That batch fails whole,
    # so it is bisected: [bad3] fails until its retries are spent, then [t4, t5] goes on.
    assert local.received("ticks") == ["t1", "t2", "bad3", "bad3", "bad3", "t4", "t5"]
    (failure,) = local.drain(target.failure_queue or "")
    info = failure["KinesisBatchInfo"]
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3
    assert info["shardId"] == shard.shard_id
    assert info["streamArn"].endswith(":stream/shop-dev-ticks")
    assert info["batchSize"] == 1
    sequences = [r["SequenceNumber"] for r in _all_records(kinesis, shard.shard_id)]
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == sequences[2]
    assert "bad3" not in json.dumps(failure) and "YmFkMw" not in json.dumps(failure)
    assert any("3 of 5 failed" in line for line in local.lines)  # the partial failure
    kinesis.put_record(StreamName="shop-dev-ticks", Data=b"t6", PartitionKey="k")
    assert delivery.poll_once() == 1
    assert local.received("ticks")[-1] == "t6"


def _all_records(kinesis: Any, shard_id: str) -> list[dict[str, Any]]:
    iterator = kinesis.get_shard_iterator(
        StreamName="shop-dev-ticks", ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    return list(kinesis.get_records(ShardIterator=iterator)["Records"])


def test_a_raising_batch_is_bisected_to_the_bad_record(local):
    kinesis = local.client("kinesis")
    kinesis.create_stream(StreamName="shop-dev-bisect", ShardCount=1)
    for data in ("a", "b", "c", "bad", "e"):
        kinesis.put_record(StreamName="shop-dev-bisect", Data=data.encode(), PartitionKey="k")
    target = stream_target(local, "ticks", batch_size=10, retries=3, bisect=True)
    (shard,) = kinesis_shards(kinesis, "shop-dev-bisect", target.starting_position)
    calls: list[list[str]] = []

    def raising_invoke(function: str, event: Any) -> dict[str, Any]:
        """The function as a whole raising for a batch holding "bad" (no partial answer)."""
        import base64

        datas = [base64.b64decode(r["kinesis"]["data"]).decode() for r in event["Records"]]
        calls.append(datas)
        if "bad" in datas:
            return {"error": "ValueError: cannot read bad", "cold": False}
        return local.invoke(function, event)

    delivery = ShardDelivery(shard, target, raising_invoke, local.client("sqs"), retry_delay=0)
    delivery.poll_once()
    assert calls == [
        ["a", "b", "c", "bad", "e"],
        ["a", "b"],
        ["c", "bad", "e"],
        ["c"],
        ["bad", "e"],
        ["bad"],  # the fourth invocation holding it: retries exhausted
        ["e"],
    ]
    (failure,) = local.drain(target.failure_queue or "")
    assert failure["KinesisBatchInfo"]["batchSize"] == 1
    assert failure["responseContext"]["functionError"] == "Unhandled"


def test_a_models_writes_reach_its_stream_consumer_in_order(local, monkeypatch):
    from tight import config
    from tight.models import Model, Number, String
    from tight.providers.aws.clients import boto3_client, dynamo_db

    class Order(Model):
        hash_key = "id"
        id = String()
        total = Number()
        stream = "NEW_AND_OLD_IMAGES"

    monkeypatch.setenv("TIGHT_DYNAMO_ENDPOINT", local.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    boto3_client.reset()
    dynamo_db.reset()
    config.configure(app_name="shop", stage="dev")
    try:
        assert Order.create_table()
        stream_arn = table_stream_arn(local.client("dynamodb"), Order.table_name())
        target = stream_target(local, "changes", batch_size=2)
        shards = dynamodb_shards(local.client("dynamodbstreams"), stream_arn, "LATEST")
        deliveries = [
            ShardDelivery(s, target, local.invoke, local.client("sqs"), retry_delay=0)
            for s in shards
        ]
        Order(id="o1", total=10).save()
        Order(id="o2", total=20).save()
        Order(id="o1", total=15).save()
        while sum(d.poll_once() for d in deliveries):
            pass
    finally:
        boto3_client.reset()
        dynamo_db.reset()
    assert local.received("changes") == [
        ["INSERT", {"id": "o1"}, {"id": "o1", "total": 10}],
        ["INSERT", {"id": "o2"}, {"id": "o2", "total": 20}],
        ["MODIFY", {"id": "o1"}, {"id": "o1", "total": 15}],
    ]


# -- the app's sources from tight.yml, as doit serve runs them ---------------------------------
def test_serve_sources_from_tight_yml_drive_every_function_and_stop_loses_nothing(local):
    import sys
    from datetime import datetime, timedelta, timezone

    from conftest import _forget_app_modules

    from tight_tasks.config import load
    from tight_tasks.dynamo import create_tables
    from tight_tasks.local_sources import LocalSources, local_plan

    root = local.root
    (root / "tight.yml").write_text(TIGHT_YML)
    (root / "app" / "models").mkdir(exist_ok=True)
    (root / "app" / "models" / "__init__.py").write_text("")
    (root / "app" / "models" / "order.py").write_text(ORDER_MODEL)
    try:
        settings = load(root)
        plan = local_plan(root, settings, "dev")
        create_tables(root, settings, local.endpoint)  # what dynamo_start does
    finally:
        _forget_app_modules()
        while str(root) in sys.path:
            sys.path.remove(str(root))
    by_function = {source.function: source for source in plan}
    assert {name: (s.trigger, s.source, s.retries) for name, s in by_function.items()} == {
        "notify": ("sns", "shop-dev-news", 1),
        "upload": ("s3", "shop-dev-shop-files", 2),
        "audit": ("eventbridge", "shop-bus", 2),
        "nightly": ("schedule", "rate(1 minute)", 2),
        "ticks": ("kinesis", "shop-dev-ticks", 0),
        "changes": ("dynamodb_stream", "shop-dev-order", 3),
    }
    assert by_function["changes"].bisect and not by_function["ticks"].bisect
    assert by_function["notify"].failure_queue == "shop-dev-notify-failures"
    for name in ("notify", "upload", "audit", "nightly", "changes"):
        (local.calls / name).unlink(missing_ok=True)
    lines: list[str] = []
    # The schedule's minute began 59.7 s ago: it fires in a moment.
    started = datetime.now(timezone.utc) - timedelta(seconds=59.7)
    sources = LocalSources(
        plan, local.client, local.invoke, lines.append, (0.05,), 0, started=started
    )
    sources.start()
    try:
        local.client("sns").publish(
            TopicArn="arn:aws:sns:us-east-1:123456789012:shop-dev-news", Message="hi"
        )
        s3 = local.client("s3")
        s3.put_object(Bucket="shop-dev-shop-files", Key="in/a.txt", Body=b"a")
        s3.put_object(Bucket="shop-dev-shop-files", Key="out/b.txt", Body=b"b")
        local.client("events").put_events(
            Entries=[
                {"Source": source, "DetailType": "t", "Detail": "{}", "EventBusName": "shop-bus"}
                for source in ("shop.billing", "shop.orders")
            ]
        )
        local.client("kinesis").put_record(
            StreamName="shop-dev-ticks", Data=b"live", PartitionKey="k"
        )
        local.client("dynamodb").put_item(
            TableName="shop-dev-order", Item={"id": {"S": "o9"}, "total": {"N": "9"}}
        )
        wait_for(lambda: local.received("notify") == ["hi"])
        wait_for(lambda: local.received("upload") == ["in/a.txt"])
        wait_for(lambda: len(local.received("audit")) == 1)
        wait_for(lambda: "live" in local.received("ticks"))
        wait_for(lambda: local.received("changes"))
        (nightly,) = wait_for(lambda: local.received("nightly"))
        assert nightly[0] == "Scheduled Event"
        assert nightly[1] == [
            "arn:aws:events:us-east-1:123456789012:rule/shop-dev-nightly-schedule"
        ]
        assert local.received("changes") == [["INSERT", {"id": "o9"}, {"id": "o9", "total": 9}]]
    finally:
        sources.stop()
    assert any(line.startswith("sns") and "notify" in line and " ok " in line for line in lines)
    # Stopped with an event between its retries: it goes back on its queue, not lost.
    slow = LocalSources(
        [by_function["notify"]], local.client, local.invoke, lines.append, (30.0,), 0
    )
    slow.start()
    try:
        local.client("sns").publish(
            TopicArn="arn:aws:sns:us-east-1:123456789012:shop-dev-news", Message="poison"
        )
        wait_for(lambda: "poison" in local.received("notify"))
    finally:
        slow.stop()
    sqs = local.client("sqs")
    url = sqs.get_queue_url(QueueName="shop-dev-notify--local")["QueueUrl"]
    (back,) = local.drain(url)
    assert back["Message"] == "poison"
    assert local.drain(sqs.get_queue_url(QueueName="shop-dev-notify-failures")["QueueUrl"]) == []


def test_a_restarted_serve_goes_on_where_its_stream_consumer_stopped(local, tmp_path):
    from tight_tasks.local_sources import LocalSources, Source

    source = Source(
        "ticks", "shop-dev-ticks", "kinesis", "shop-dev-restart", 0, "shop-dev-ticks-failures",
        {"starting_position": "LATEST"},
    )  # fmt: skip
    kinesis = local.client("kinesis")
    places = tmp_path / ".tight" / "streams.json"

    def serve_until(data: str, put: Callable[[], None]) -> None:
        sources = LocalSources([source], local.client, local.invoke, lambda _: None,
                               stream_retry_delay=0, checkpoints=places)  # fmt: skip
        sources.start()
        try:
            put()
            wait_for(lambda: data in local.received("ticks"))
        finally:
            sources.stop()

    def put(data: str) -> None:
        kinesis.put_record(StreamName="shop-dev-restart", Data=data.encode(), PartitionKey="k")

    serve_until("r1", lambda: put("r1"))
    put("r2")  # while serve is stopped: LATEST alone would skip it
    serve_until("r3", lambda: put("r3"))
    received = local.received("ticks")
    assert received[received.index("r1") :] == ["r1", "r2", "r3"]
    assert json.loads(places.read_text())  # the place, kept for the next start


# -- through doit serve ------------------------------------------------------------------------
TOPIC_HANDLER = """
from tight.core import logger
from tight.providers.aws.controllers import sns


@sns.record
def on_message(*args, **kwargs):
    message = kwargs["record"].message
    if message == "poison":
        raise ValueError("poisoned")
    logger.info(message="got", text=message)
"""


def test_doit_serve_delivers_a_publish_and_says_when_sources_cannot_run(tmp_path, monkeypatch):
    import sys

    from test_serve import run, serving

    from tight.testing.servers import free_port

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for key in ("AWS_ENDPOINT_URL", "TIGHT_DYNAMO_ENDPOINT"):
        monkeypatch.delenv(key, raising=False)
    assert run("tight", "generate_app", "name=shop", cwd=tmp_path).returncode == 0
    root = tmp_path / "shop"
    done = run("doit", "generate_function", "name=notify", "trigger=sns", cwd=root)
    assert done.returncode == 0, done.stderr
    (root / "app/functions/notify/handler.py").write_text(TOPIC_HANDLER)
    with serving(root) as served:
        shown = served.output_with("Ctrl-C")
    assert "event sources (sns) are not running: they need the local server; run `doit " in shown
    port = free_port()
    command = f"{sys.executable} -m moto.server -H 127.0.0.1 -p {{port}}"
    with (root / "tight.yml").open("a") as settings:
        settings.write(f"dynamo:\n  backend: command\n  port: {port}\n  command: {command}\n")
    started = run("doit", "dynamo_start", cwd=root)
    assert started.returncode == 0, started.stderr
    try:
        with serving(root) as served:
            served.output_with("Ctrl-C")
            topic = "arn:aws:sns:us-east-1:123456789012:shop-dev-" + _topic_of(root)
            sns = boto3.client(
                "sns", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                aws_access_key_id="local", aws_secret_access_key="local",
            )  # fmt: skip
            sns.publish(TopicArn=topic, Message="hello")
            shown = served.output_with("record  ok")
        assert f"sns             shop-dev-{_topic_of(root)}  -> notify" in shown
        assert 'got  text="hello"' in shown
        assert any(line.startswith("sns ") and "notify  1 record  ok" in line
                   for line in shown.splitlines())  # fmt: skip
    finally:
        run("doit", "dynamo_stop", cwd=root)


def _topic_of(root: Path) -> str:
    import yaml

    settings = yaml.safe_load((root / "tight.yml").read_text())
    trigger = settings["functions"]["notify"]["sns"]
    return str(trigger if isinstance(trigger, str) else trigger["topic"])
