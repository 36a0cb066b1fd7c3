"""Event sources in the template: for a function's tight.yml trigger (SQS, SNS, S3, Kinesis,
DynamoDB stream, EventBridge pattern or schedule), its SAM Events, the queue, topic, stream
or bucket the stack creates when the trigger names one instead of giving an ARN, and what
Lambda's poller needs in the function's role to read the source.

The shape of each trigger in tight.yml is checked when tight.yml is read
(``tight_tasks.triggers``); what is written here assumes it is valid.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from tight_tasks.errors import TightTaskError
from tight_tasks.failures import redrive_policy
from tight_tasks.functions import camel
from tight_tasks.policies import model_named, table_id
from tight_tasks.triggers import REQUIRED

if TYPE_CHECKING:
    from tight_tasks.template import Builder

BATCH_TRIGGERS = ("sqs", "kinesis", "dynamodb_stream")  # these report partial failures

# What Lambda's poller needs to read each polled source, and nothing more.
POLLER_ACTIONS = {
    "sqs": [
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ReceiveMessage",
    ],
    "kinesis": [
        "kinesis:DescribeStream",
        "kinesis:DescribeStreamSummary",
        "kinesis:GetRecords",
        "kinesis:GetShardIterator",
        "kinesis:ListShards",
        "kinesis:SubscribeToShard",
    ],
    "dynamodb_stream": [
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
    ],
}


def poller_statement(trigger: str, resource: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": list(POLLER_ACTIONS[trigger]), "Resource": resource}


def arn_or_create(value: Any, what: str, function: str) -> tuple[Any, str]:
    """``(arn, name)`` of a source given by ARN, ``(None, name)`` of one the stack creates."""
    if not isinstance(value, str) or not value:
        raise TightTaskError(
            f"functions.{function} in tight.yml: the {what} must be a name or an ARN"
        )
    if value.startswith("arn:"):
        return value, value
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", value):
        raise TightTaskError(
            f"functions.{function} in tight.yml: {what} {value!r} may hold only letters, "
            "digits, '.', '-' and '_'"
        )
    return None, value


def check_deployed_name(
    builder: Builder, function: str, trigger: str, name: str, fifo: bool = False
) -> None:
    """Refuse a source whose deployed name, ``<app>-<stage>-<name>`` for the stage being
    built, its service would refuse (``tight_tasks.aws_rules``): a long stage can push a
    name past a limit, an uppercase one makes a bucket name S3 refuses."""
    from tight_tasks.aws_rules import (
        bucket_name_problem,
        queue_name_problem,
        stream_name_problem,
        topic_name_problem,
    )

    deployed = f"{builder.app}-{builder.stage}-{name}"
    problem = {
        "sqs": lambda: queue_name_problem(deployed, fifo),
        "sns": lambda: topic_name_problem(deployed),
        "kinesis": lambda: stream_name_problem(deployed),
        "s3": lambda: bucket_name_problem(deployed),
    }[trigger]()
    if problem is not None:
        key = REQUIRED[trigger]
        raise TightTaskError(
            f"functions.{function}.{trigger}.{key} in tight.yml: the {key} name {deployed} "
            f"(<app>-<stage>-<{key}> for stage {builder.stage}) {problem}; shorten or rename "
            f"the {key}, the app or the stage"
        )


def queue_visibility(timeout: int, options: dict[str, Any]) -> int:
    """The visibility timeout of an SQS trigger's queue: six times the functions' timeout,
    as Lambda recommends for retries, plus the time a batch may wait to fill (a message is
    in flight from its first poll); SQS's longest at most."""
    return min(43200, 6 * timeout + int(options.get("batch_window", 0)))


def trigger_options(trigger: str, raw: Any) -> dict[str, Any]:
    """A trigger's tight.yml value as a mapping: ``sqs: orders`` is short for
    ``sqs: {queue: orders}`` (each source's main key), a schedule is its expression (or
    ``{expression, retries}``)."""
    if trigger == "schedule":
        return dict(raw) if isinstance(raw, dict) else {"expression": raw}
    if isinstance(raw, str):
        return {REQUIRED[trigger]: raw}
    return dict(raw)


def source_events(
    builder: Builder, name: str, trigger: str, raw: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The SAM Events of a function's tight.yml trigger, and the statements its role needs
    for Lambda to poll the source; a source named (not an ARN) is created in the stack."""
    options = trigger_options(trigger, raw)
    properties: dict[str, Any] = {}
    statements: list[dict[str, Any]] = []
    if "batch_size" in options:
        properties["BatchSize"] = options["batch_size"]
    if "batch_window" in options:
        properties["MaximumBatchingWindowInSeconds"] = options["batch_window"]
    if trigger in BATCH_TRIGGERS:
        properties["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
    if trigger in ("kinesis", "dynamodb_stream"):
        position = str(options.get("starting_position", "LATEST"))
        if position not in ("LATEST", "TRIM_HORIZON"):
            raise TightTaskError(
                f"functions.{name}.{trigger}.starting_position in tight.yml: the template "
                "takes LATEST or TRIM_HORIZON"
            )
        properties["StartingPosition"] = position
    if trigger == "sqs":
        arn, queue = arn_or_create(options.get("queue"), "queue", name)
        if arn is None:
            fifo = bool(options.get("fifo", False))
            check_deployed_name(builder, name, "sqs", f"{queue}{'.fifo' if fifo else ''}", fifo)
            queue_properties: dict[str, Any] = {
                "QueueName": {"Fn::Sub": f"{builder.prefix}-{queue}{'.fifo' if fifo else ''}"},
                "VisibilityTimeout": queue_visibility(builder.timeout_of(name), options),
            }
            if fifo:
                queue_properties["FifoQueue"] = True
            queue_properties["RedrivePolicy"] = redrive_policy(builder, queue, fifo, options)
            logical = builder.add(
                camel(queue) + "Queue",
                {"Type": "AWS::SQS::Queue", "Properties": queue_properties},
            )
            arn = {"Fn::GetAtt": [logical, "Arn"]}
            builder.outputs[f"{logical}Url"] = {"Value": {"Ref": logical}}
        properties["Queue"] = arn
        statements.append(poller_statement("sqs", arn))
        return {"Queue": {"Type": "SQS", "Properties": properties}}, statements
    if trigger == "kinesis":
        arn, stream = arn_or_create(options.get("stream"), "stream", name)
        if arn is None:
            check_deployed_name(builder, name, "kinesis", stream)
            logical = builder.add(
                camel(stream) + "Stream",
                {
                    "Type": "AWS::Kinesis::Stream",
                    "Properties": {
                        "Name": {"Fn::Sub": f"{builder.prefix}-{stream}"},
                        "StreamModeDetails": {"StreamMode": "ON_DEMAND"},
                    },
                },
            )
            arn = {"Fn::GetAtt": [logical, "Arn"]}
            builder.outputs[f"{logical}Name"] = {"Value": {"Ref": logical}}
        properties["Stream"] = arn
        statements.append(poller_statement("kinesis", arn))
        return {"Stream": {"Type": "Kinesis", "Properties": properties}}, statements
    if trigger == "dynamodb_stream":
        model = model_named(builder.models, str(options.get("model") or ""), name)
        table = builder.resources[table_id(model)]
        table["Properties"].setdefault(
            "StreamSpecification", {"StreamViewType": "NEW_AND_OLD_IMAGES"}
        )
        stream_arn = {"Fn::GetAtt": [table_id(model), "StreamArn"]}
        properties["Stream"] = stream_arn
        statements.append(poller_statement("dynamodb_stream", stream_arn))
        return {"Stream": {"Type": "DynamoDB", "Properties": properties}}, statements
    if trigger == "sns":
        arn, topic = arn_or_create(options.get("topic"), "topic", name)
        if arn is None:
            check_deployed_name(builder, name, "sns", topic)
            logical = builder.add(
                camel(topic) + "Topic",
                {
                    "Type": "AWS::SNS::Topic",
                    "Properties": {"TopicName": {"Fn::Sub": f"{builder.prefix}-{topic}"}},
                },
            )
            arn = {"Ref": logical}
            builder.outputs[f"{logical}Arn"] = {"Value": arn}
        return {"Topic": {"Type": "SNS", "Properties": {"Topic": arn}}}, statements
    if trigger == "s3":
        arn, bucket = arn_or_create(options.get("bucket"), "bucket", name)
        if arn is not None:
            raise TightTaskError(
                f"functions.{name}.s3 in tight.yml: CloudFormation can only notify from a "
                "bucket it creates; give a bucket name, or wire an existing bucket to the "
                "function with an EventBridge rule (functions.<name>.eventbridge)"
            )
        check_deployed_name(builder, name, "s3", bucket)
        logical = builder.add(camel(bucket) + "Bucket", {"Type": "AWS::S3::Bucket"})
        builder.outputs[f"{logical}Name"] = {"Value": {"Ref": logical}}
        events = options.get("events", ["s3:ObjectCreated:*"])
        s3: dict[str, Any] = {"Bucket": {"Ref": logical}, "Events": events}
        rules = [
            {"Name": key, "Value": str(options[key])}
            for key in ("prefix", "suffix")
            if options.get(key)
        ]
        if rules:
            s3["Filter"] = {"S3Key": {"Rules": rules}}
        return {"Upload": {"Type": "S3", "Properties": s3}}, statements
    if trigger == "schedule":
        expression = options["expression"].strip()
        return {
            "Schedule": {"Type": "Schedule", "Properties": {"Schedule": expression}}
        }, statements
    pattern = options["pattern"]
    event: dict[str, Any] = {"Pattern": pattern}
    if options.get("bus"):
        event["EventBusName"] = options["bus"]  # a name or an ARN; without one, the default bus
    return {"Rule": {"Type": "EventBridgeRule", "Properties": event}}, statements
