"""Where failed messages land, in the template: each queue the stack creates gets a
dead-letter queue (``<queue>-dlq``) and a redrive policy; a stream mapping gets bounded
retries, bisection and an ``OnFailure`` queue; an asynchronously invoked function (SNS, S3,
EventBridge, schedule) gets an ``EventInvokeConfig`` with retries and an ``OnFailure`` queue.
The failure queues are the function's own (``<function>-failures``): its role may send to
that one queue and no other. Every failure queue is an output of the stack.

The settings (``failures:`` in tight.yml for the app, each trigger's own keys for one
function) are checked when tight.yml is read (``tight_tasks.config``, ``tight_tasks.triggers``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tight_tasks.errors import TightTaskError
from tight_tasks.functions import camel

if TYPE_CHECKING:
    from tight_tasks.template import Builder

# SQS: a message received this many times without being deleted moves to the DLQ.
DEFAULT_MAX_RECEIVE_COUNT = 5
# Asynchronous invocations: Lambda's own default.
DEFAULT_ASYNC_RETRIES = 2
# Streams: Lambda's default retries a failing batch until its records expire (a day for
# Kinesis and DynamoDB), blocking the shard all along; three retries with bisection isolate
# the bad record in a few tries and send it to the OnFailure queue.
DEFAULT_STREAM_RETRIES = 3
DEFAULT_BISECT = True
# SQS's longest: a message keeps its first enqueue time when it moves to a DLQ, so the DLQ
# must keep messages longer than its source queue (4 days by default) does.
FAILURE_RETENTION = 14 * 24 * 3600
QUEUE_NAME_MAX = 80

ASYNC_TRIGGERS = ("sns", "s3", "eventbridge", "schedule")
STREAM_TRIGGERS = ("kinesis", "dynamodb_stream")


def failure_setting(
    builder: Builder, options: dict[str, Any], key: str, default: Any, app_key: str = ""
) -> Any:
    """A trigger's own value of ``key``, else the app's (``failures.<app_key or key>``),
    else ``default``."""
    return setting_of(builder.settings, options, key, default, app_key)


def setting_of(
    settings: dict[str, Any], options: dict[str, Any], key: str, default: Any, app_key: str = ""
) -> Any:
    value = options.get(key)
    if value is None:
        value = (settings.get("failures") or {}).get(app_key or key)
    return default if value is None else value


def retry_settings(
    settings: dict[str, Any], trigger: str, options: dict[str, Any]
) -> dict[str, Any]:
    """How often a failed event of ``trigger`` is retried (``retries``) and, for a stream,
    whether a failing batch is split (``bisect``): what the template deploys as
    ``MaximumRetryAttempts`` and ``BisectBatchOnFunctionError``, and what ``doit serve``
    does locally. Empty for a trigger without them (SQS, HTTP)."""
    if trigger in STREAM_TRIGGERS:
        return {
            "retries": setting_of(
                settings, options, "retries", DEFAULT_STREAM_RETRIES, "stream_retries"
            ),
            "bisect": setting_of(settings, options, "bisect", DEFAULT_BISECT),
        }
    if trigger in ASYNC_TRIGGERS:
        return {"retries": setting_of(settings, options, "retries", DEFAULT_ASYNC_RETRIES)}
    return {}


def max_receive_count(settings: dict[str, Any], options: dict[str, Any]) -> int:
    """Receives before an SQS trigger's message moves to its dead-letter queue: what the
    template deploys as ``maxReceiveCount`` and what the queue gets under ``doit serve``."""
    return int(setting_of(settings, options, "max_receive_count", DEFAULT_MAX_RECEIVE_COUNT))


def failure_queue_name(app: str, stage: str, function: str) -> str:
    """The function's own failure queue, as the template names it."""
    return f"{app}-{stage}-{function}-failures"


def failure_queue_resource(
    builder: Builder, logical: str, name: str, fifo: bool, description: str
) -> dict[str, Any]:
    """Add a failure queue named ``<app>-<stage>-<name>`` and its output; its ARN."""
    physical = f"{builder.app}-{builder.stage}-{name}{'.fifo' if fifo else ''}"
    if len(physical) > QUEUE_NAME_MAX:
        raise TightTaskError(
            f"the failure queue {physical} is longer than SQS's {QUEUE_NAME_MAX} characters; "
            "shorten the queue's or the function's name, the app's name or the stage"
        )
    properties: dict[str, Any] = {
        "QueueName": {"Fn::Sub": f"{builder.prefix}-{name}{'.fifo' if fifo else ''}"},
        "MessageRetentionPeriod": FAILURE_RETENTION,
    }
    if fifo:
        properties["FifoQueue"] = True
    builder.add(logical, {"Type": "AWS::SQS::Queue", "Properties": properties})
    builder.outputs[f"{logical}Url"] = {"Description": description, "Value": {"Ref": logical}}
    return {"Fn::GetAtt": [logical, "Arn"]}


def redrive_policy(
    builder: Builder, queue: str, fifo: bool, options: dict[str, Any]
) -> dict[str, Any]:
    """The ``RedrivePolicy`` of a queue the stack creates, after adding its dead-letter
    queue ``<queue>-dlq`` (FIFO when the queue is)."""
    count = max_receive_count(builder.settings, options)
    arn = failure_queue_resource(
        builder,
        camel(queue) + "DeadLetterQueue",
        f"{queue}-dlq",
        fifo,
        f"the dead-letter queue of {queue}: messages received {count} times without success",
    )
    return {"deadLetterTargetArn": arn, "maxReceiveCount": count}


def on_failure(
    builder: Builder,
    name: str,
    trigger: str,
    options: dict[str, Any],
    events: dict[str, Any],
    statements: list[dict[str, Any]],
) -> dict[str, Any]:
    """Where the function's failed events go: a stream's event gets its retries, bisection
    and destination (``events`` is changed in place), an asynchronously invoked function's
    ``EventInvokeConfig`` is returned (a property of the function). Either way the function's
    own failure queue is added, and the one statement its role needs to send to it."""
    if trigger == "sqs" and "max_receive_count" in options and "Queue" in events:
        queue = events["Queue"]["Properties"]["Queue"]
        if isinstance(queue, str):
            raise TightTaskError(
                f"functions.{name}.sqs.max_receive_count in tight.yml: the queue is given by "
                "ARN, so the template creates no dead-letter queue for it; set its redrive "
                "policy where the queue is defined, or drop max_receive_count"
            )
    if trigger not in ASYNC_TRIGGERS + STREAM_TRIGGERS:
        return {}
    arn = failure_queue_resource(
        builder,
        camel(name) + "FunctionFailures",
        f"{name}-failures",
        False,
        f"the failures of {name}: events it failed after every retry",
    )
    # Lambda sends to the destination with the function's role (SAM adds this statement
    # only to roles it creates, and every function here has its own).
    statements.append({"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": arn})
    retry = retry_settings(builder.settings, trigger, options)
    if trigger in STREAM_TRIGGERS:
        for event in events.values():
            event["Properties"].update(
                {
                    "MaximumRetryAttempts": retry["retries"],
                    "BisectBatchOnFunctionError": retry["bisect"],
                    "DestinationConfig": {"OnFailure": {"Destination": arn}},
                }
            )
        return {}
    return {
        "EventInvokeConfig": {
            "MaximumRetryAttempts": retry["retries"],
            "DestinationConfig": {"OnFailure": {"Type": "SQS", "Destination": arn}},
        }
    }


def check_queue_names(builder: Builder) -> None:
    """Two queues of the stack with one name (``orders-dlq`` in tight.yml beside the
    dead-letter queue of ``orders``) would fail the deploy halfway: an error now."""
    seen: dict[str, str] = {}
    for logical, resource in builder.resources.items():
        if resource.get("Type") != "AWS::SQS::Queue":
            continue
        name = (resource.get("Properties") or {}).get("QueueName")
        if isinstance(name, dict):
            name = name.get("Fn::Sub")
        if not isinstance(name, str):
            continue  # no name: CloudFormation makes one up
        if name in seen:
            shown = name.replace("${Stage}", builder.stage)
            raise TightTaskError(
                f"two queues would be named {shown} ({seen[name]} and {logical}); the template "
                "names dead-letter queues <queue>-dlq and failure queues <function>-failures: "
                "rename the queue in tight.yml"
            )
        seen[name] = logical
