"""Review: reproductions for the event-source controllers (tight/batch.py and
tight/providers/aws/controllers/*), which the review does not edit. Each failed
as described until its fix landed.

The events are AWS's documented examples (tests/aws_events/)."""

import json
from pathlib import Path

import pytest
from events import FakeContext

DOCUMENTED = Path(__file__).parent / "aws_events"

ASYNC_SQS = """
import tight.providers.aws.controllers.sqs as sqs

SEEN = []

@sqs.record
async def on_message(*args, **kwargs):
    SEEN.append(kwargs["record"].message_id)
    raise RuntimeError("poisoned")
"""

GENERATOR_SQS = """
import tight.providers.aws.controllers.sqs as sqs

@sqs.record
def on_message(*args, **kwargs):
    raise RuntimeError("poisoned")
    yield
"""

ASYNC_SNS = """
import tight.providers.aws.controllers.sns as sns

@sns.record
async def on_message(*args, **kwargs):
    raise RuntimeError("poisoned")
"""

NOT_RUN = (
    "an async (or generator) handler is never run: its coroutine is dropped, every message "
    "counts as processed and Lambda deletes the batch; it must be awaited, or refused at "
    "import with an error naming the function"
)


def handled_or_refused(call) -> str:
    """'lost' when the invocation succeeded without reporting the message failed."""
    try:
        result = call()
    except Exception:  # noqa: BLE001 - refused at import or failed: the batch is retried
        return "retried"
    failures = (result or {}).get("batchItemFailures") if isinstance(result, dict) else None
    return "retried" if failures else "lost"


@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited")
def test_an_async_sqs_handler_never_loses_a_message(load_app):
    event = json.loads((DOCUMENTED / "sqs_standard.json").read_text())
    assert (
        handled_or_refused(lambda: load_app({"queue": ASYNC_SQS}).queue(event, FakeContext()))
        == "retried"
    )


def test_a_generator_sqs_handler_never_loses_a_message(load_app):
    event = json.loads((DOCUMENTED / "sqs_standard.json").read_text())
    assert (
        handled_or_refused(lambda: load_app({"queue": GENERATOR_SQS}).queue(event, FakeContext()))
        == "retried"
    )


@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited")
def test_an_async_sns_handler_fails_the_invocation(load_app):
    event = json.loads((DOCUMENTED / "sns_notification.json").read_text())
    assert (
        handled_or_refused(lambda: load_app({"topic": ASYNC_SNS}).topic(event, FakeContext()))
        == "retried"
    )


HTTP = """
import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy

@lambda_proxy.post
def post_handler(*args, **kwargs):
    return {"statusCode": 201}
"""

# Top-level eventSource events (AWS's documented shapes, trimmed): Lambda commits Kafka
# offsets / acknowledges MQ messages when the invocation succeeds, so a 400 answer to one
# sent to an HTTP function by a mis-wired trigger loses the batch.
MSK = {
    "eventSource": "aws:kafka",
    "eventSourceArn": "arn:aws:kafka:us-east-1:123456789012:cluster/vpc-2priv-2pub/751d2973",
    "bootstrapServers": "b-2.demo-cluster-1.a1bcde.c1.kafka.us-east-1.amazonaws.com:9092",
    "records": {"mytopic-0": [{"topic": "mytopic", "partition": 0, "offset": 15,
                               "timestamp": 1545084650987, "timestampType": "CREATE_TIME",
                               "value": "SGVsbG8sIHRoaXMgaXMgYSB0ZXN0Lg==", "headers": []}]},
}  # fmt: skip
MQ = {
    "eventSource": "aws:mq",
    "eventSourceArn": "arn:aws:mq:us-east-2:111122223333:broker:test:b-9bcfa592-423a",
    "messages": [{"messageID": "ID:b-9bcfa592-423a-4942-879d-eb284b418fc8-1.mq.us-east-2",
                  "messageType": "jms/text-message", "data": "QUJDOkFBQUE="}],
}  # fmt: skip


@pytest.mark.parametrize("event", [MSK, MQ], ids=["msk", "mq"])
def test_a_kafka_or_mq_batch_sent_to_an_http_function_fails_the_invocation(load_app, event):
    from tight.errors import WrongEventSource

    with pytest.raises(WrongEventSource):
        load_app({"api": HTTP}).api(event, FakeContext())


@pytest.mark.parametrize(
    ("decorate", "kind"),
    [
        ("tight.providers.aws.controllers.sqs.record", "an async function"),
        ("tight.providers.aws.controllers.lambda_proxy_event.post", "an async function"),
    ],
)
def test_an_async_handler_is_refused_when_decorated_naming_it(decorate, kind):
    import importlib

    module_name, _, attribute = decorate.rpartition(".")
    decorator = getattr(importlib.import_module(module_name), attribute)

    async def on_message(*args, **kwargs):
        return None

    with pytest.raises(TypeError) as refused:
        decorator(on_message)
    assert "on_message" in str(refused.value) and kind in str(refused.value)
    assert "plain def" in str(refused.value)


def test_a_generator_handler_is_refused_when_decorated():
    import tight.providers.aws.controllers.kinesis as kinesis

    def on_record(*args, **kwargs):
        yield

    with pytest.raises(TypeError, match=r"on_record .* is a generator"):
        kinesis.record(on_record)


def test_a_fifo_batch_without_its_arn_still_keeps_order(load_app):
    event = json.loads((DOCUMENTED / "sqs_standard.json").read_text())
    for index, record in enumerate(event["Records"]):
        record.pop("eventSourceARN", None)
        record["attributes"]["MessageGroupId"] = "group-1"
        record["body"] = "poison" if index == 0 else "fine"
    app = load_app(
        {
            "queue": """
import tight.providers.aws.controllers.sqs as sqs

@sqs.record
def on_message(*args, **kwargs):
    if kwargs["record"].body == "poison":
        raise RuntimeError("poisoned")
"""
        }
    )
    assert len(event["Records"]) >= 2
    # The first fails: it and every later message are reported, none run out of order.
    with pytest.raises(Exception, match="all 2 records"):
        app.queue(event, FakeContext())
