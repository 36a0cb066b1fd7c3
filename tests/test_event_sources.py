"""Event sources in the template (tight_tasks.event_sources): a trigger's short form in
tight.yml, which tight.yml's check accepts, writes what its long form does."""

from __future__ import annotations

import pytest

from tight_tasks.config import validate
from tight_tasks.template import build_template


def record_handler(kind: str) -> str:
    return (
        f"import tight.providers.aws.controllers.{kind} as {kind}\n\n\n"
        f"@{kind}.record\ndef on_record(*args, **kwargs):\n    pass\n"
    )


@pytest.mark.parametrize(
    ("trigger", "key", "value"),
    [
        ("sqs", "queue", "orders"),
        ("sns", "topic", "alerts"),
        ("kinesis", "stream", "clicks"),
        ("s3", "bucket", "uploads"),
        ("sqs", "queue", "arn:aws:sqs:us-east-1:123456789012:orders"),
    ],
)
def test_a_short_trigger_writes_what_its_long_form_does(tmp_path, trigger, key, value):
    folder = tmp_path / "app/functions/worker"
    folder.mkdir(parents=True)
    (folder / "handler.py").write_text(record_handler(trigger))
    short = build_template(
        tmp_path, validate({"name": "shop", "functions": {"worker": {trigger: value}}}), "dev"
    )
    long = build_template(
        tmp_path,
        validate({"name": "shop", "functions": {"worker": {trigger: {key: value}}}}),
        "dev",
    )
    assert short == long
    assert short["Resources"]["WorkerFunction"]["Properties"]["Events"]


def worker_template(tmp_path, kind: str, settings: dict) -> dict:
    folder = tmp_path / "app/functions/worker"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "handler.py").write_text(record_handler(kind))
    return build_template(tmp_path, validate({"name": "shop", **settings}), "dev")


def test_a_fifo_queue_gets_a_fifo_dead_letter_queue(tmp_path):
    document = worker_template(
        tmp_path, "sqs", {"functions": {"worker": {"sqs": {"queue": "orders", "fifo": True}}}}
    )
    resources = document["Resources"]
    dlq = resources["OrdersDeadLetterQueue"]["Properties"]
    assert dlq["QueueName"] == {"Fn::Sub": "shop-${Stage}-orders-dlq.fifo"}
    assert dlq["FifoQueue"] is True  # SQS refuses a standard DLQ for a FIFO queue
    redrive = resources["OrdersQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["OrdersDeadLetterQueue", "Arn"]}


def test_a_queue_given_by_arn_gets_no_dead_letter_queue(tmp_path):
    arn = "arn:aws:sqs:us-east-1:123456789012:orders"
    document = worker_template(tmp_path, "sqs", {"functions": {"worker": {"sqs": arn}}})
    assert not [r for r in document["Resources"].values() if r["Type"] == "AWS::SQS::Queue"]


@pytest.mark.parametrize(
    ("kind", "trigger", "failures", "expected"),
    [
        # tight.yml's `failures:` sets the app's defaults ...
        ("sqs", {"sqs": "orders"}, {"max_receive_count": 3}, {"maxReceiveCount": 3}),
        ("sns", {"sns": "alerts"}, {"retries": 0}, {"MaximumRetryAttempts": 0}),
        (
            "kinesis",
            {"kinesis": "clicks"},
            {"stream_retries": 7, "bisect": False, "retries": 1},
            {"MaximumRetryAttempts": 7, "BisectBatchOnFunctionError": False},
        ),
        # ... and a trigger's own keys win over them.
        (
            "sqs",
            {"sqs": {"queue": "orders", "max_receive_count": 10}},
            {"max_receive_count": 3},
            {"maxReceiveCount": 10},
        ),
        (
            "eventbridge",
            {"schedule": {"expression": "rate(1 day)", "retries": 1}},
            {"retries": 0},
            {"MaximumRetryAttempts": 1},
        ),
        ("s3", {"s3": {"bucket": "uploads", "retries": 0}}, {}, {"MaximumRetryAttempts": 0}),
        (
            "dynamodb_stream",
            {"dynamodb_stream": {"model": "item", "retries": 0, "bisect": False}},
            {"stream_retries": 9},
            {"MaximumRetryAttempts": 0, "BisectBatchOnFunctionError": False},
        ),
    ],
)
def test_failure_settings_default_from_failures_and_are_set_per_trigger(
    tmp_path, kind, trigger, failures, expected
):
    models = tmp_path / "app/models"
    models.mkdir(parents=True)
    (models / "item.py").write_text(
        "from tight.models import Model, String\n\n\n"
        "class Item(Model):\n    hash_key = 'id'\n    id = String()\n"
    )
    settings = {"functions": {"worker": trigger}, "failures": failures}
    resources = worker_template(tmp_path, kind, settings)["Resources"]
    if kind == "sqs":
        found = resources["OrdersQueue"]["Properties"]["RedrivePolicy"]
    elif kind in ("kinesis", "dynamodb_stream"):
        (event,) = resources["WorkerFunction"]["Properties"]["Events"].values()
        found = event["Properties"]
    else:
        found = resources["WorkerFunction"]["Properties"]["EventInvokeConfig"]
    assert {key: found[key] for key in expected} == expected


def test_the_failure_defaults_are_lambdas_for_async_and_bounded_for_streams(tmp_path):
    from tight_tasks.failures import (
        DEFAULT_ASYNC_RETRIES,
        DEFAULT_BISECT,
        DEFAULT_MAX_RECEIVE_COUNT,
        DEFAULT_STREAM_RETRIES,
    )

    assert (DEFAULT_MAX_RECEIVE_COUNT, DEFAULT_ASYNC_RETRIES) == (5, 2)
    assert (DEFAULT_STREAM_RETRIES, DEFAULT_BISECT) == (3, True)
    document = worker_template(tmp_path, "sns", {"functions": {"worker": {"sns": "alerts"}}})
    config = document["Resources"]["WorkerFunction"]["Properties"]["EventInvokeConfig"]
    assert config["MaximumRetryAttempts"] == 2
