"""Event sources in the template (tight_tasks.event_sources): a trigger's short form in
tight.yml, which tight.yml's check accepts, writes what its long form does; what is written
is what AWS takes (batch windows, buses, the names each service accepts for the stage)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import yaml

from tight_tasks.config import validate
from tight_tasks.deploy import to_cloudformation
from tight_tasks.errors import TightTaskError
from tight_tasks.template import build_template
from tight_tasks.triggers import REQUIRED


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


# -- templates AWS accepts -------------------------------------------------------------------
BIN = Path(sys.executable).parent


def worker(root: Path, trigger: str) -> Path:
    folder = root / "app/functions/worker"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "handler.py").write_text(record_handler(trigger))
    return root


def translate(document: dict) -> dict:
    locations = {"shop.zip": {"Bucket": "deploys", "Key": "shop/shop.zip"}}
    return to_cloudformation(document, locations, boto3.session.Session(region_name="us-east-1"))


def of_type(resources: dict, kind: str) -> list[dict]:
    return [value for value in resources.values() if value["Type"] == kind]


def test_an_sqs_batch_window_reaches_the_mapping_and_the_queue(tmp_path):
    settings = validate(
        {
            "name": "shop",
            "function": {"timeout": 20},
            "functions": {
                "worker": {"sqs": {"queue": "orders", "batch_size": 500, "batch_window": 30}}
            },
        }
    )
    resources = translate(build_template(worker(tmp_path, "sqs"), settings, "dev"))["Resources"]
    (mapping,) = of_type(resources, "AWS::Lambda::EventSourceMapping")
    assert mapping["Properties"]["BatchSize"] == 500
    assert mapping["Properties"]["MaximumBatchingWindowInSeconds"] == 30
    # The queue itself, beside its dead-letter queue.
    (queue,) = [
        q for q in of_type(resources, "AWS::SQS::Queue") if "RedrivePolicy" in q["Properties"]
    ]
    # Lambda wants the visibility timeout at least the function's timeout (six times, as it
    # recommends), and a batch holds its first message for the window as well.
    assert queue["Properties"]["VisibilityTimeout"] == 6 * 20 + 30


def test_an_eventbridge_bus_puts_the_rule_on_that_bus(tmp_path):
    settings = validate(
        {
            "name": "shop",
            "functions": {
                "worker": {"eventbridge": {"pattern": {"source": ["a"]}, "bus": "orders"}}
            },
        }
    )
    document = build_template(worker(tmp_path, "eventbridge"), settings, "dev")
    (rule,) = of_type(translate(document)["Resources"], "AWS::Events::Rule")
    assert rule["Properties"]["EventBusName"] == "orders"
    default = validate(
        {"name": "shop", "functions": {"worker": {"eventbridge": {"pattern": {"source": ["a"]}}}}}
    )
    (rule,) = of_type(
        translate(build_template(tmp_path, default, "dev"))["Resources"], "AWS::Events::Rule"
    )
    assert "EventBusName" not in rule["Properties"]


LONG = "q" * 45  # shop-dev-<45> is 54 characters; shop-<32-character stage>-<45> is 83


@pytest.mark.parametrize(
    ("trigger", "value", "stage", "message"),
    [
        ("sqs", LONG, "s" * 32, "is 83 characters long; SQS takes at most 80"),
        ("sqs", {"queue": "q" * 42, "fifo": True}, "s" * 32, "is 85 characters long"),
        ("sqs", "orders.fifo", "dev", "ends in .fifo, which SQS keeps for FIFO queues"),
        ("sqs", "a.b", "dev", "may hold only letters, digits, hyphens and underscores"),
        ("sns", "a.b", "dev", "may hold only letters, digits, hyphens and underscores"),
        ("s3", "uploads", "Qa", "may hold only lowercase letters"),
        ("s3", "u" * 40, "s" * 20, "is 66 characters long; S3 takes 3 to 63"),
        ("s3", "uploads-s3alias", "dev", "'-s3alias', which S3 keeps for itself"),
        ("kinesis", "c" * 100, "s" * 32, "Kinesis takes at most 128"),
    ],
)
def test_a_source_name_its_service_refuses_for_the_stage_is_named(
    tmp_path, trigger, value, stage, message
):
    settings = validate({"name": "shop", "functions": {"worker": {trigger: value}}})
    main = REQUIRED[trigger]
    with pytest.raises(
        TightTaskError, match=f"functions.worker.{trigger}.{main} in tight.yml"
    ) as e:
        build_template(worker(tmp_path, trigger), settings, stage)
    assert message in str(e.value) and f"for stage {stage}" in str(e.value)


def test_a_name_fine_for_one_stage_is_refused_for_a_longer_one(tmp_path, monkeypatch):
    """doit template: one error line for the long stage, nothing written; dev still builds."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert run("tight", "generate_app", "name=shop", cwd=tmp_path).returncode == 0
    root = worker(tmp_path / "shop", "sqs")
    settings = yaml.safe_load((root / "tight.yml").read_text())
    settings["functions"] = {"worker": {"sqs": LONG}}
    (root / "tight.yml").write_text(yaml.safe_dump(settings))
    stage = "s" * 32
    refused = run("doit", "template", f"stage={stage}", cwd=root)
    errors = [line for line in refused.stderr.splitlines() if line.strip()]
    assert refused.returncode != 0 and len(errors) == 1, refused.stderr
    assert errors[0].startswith("error: functions.worker.sqs.queue in tight.yml: the queue name")
    assert f"shop-{stage}-{LONG}" in errors[0]
    assert not (root / "build/template.yml").exists()
    assert run("doit", "template", cwd=root).returncode == 0


def run(*command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=cwd, capture_output=True, text=True
    )
