"""``doit dlq [name=<queue>] [redrive=true] [stage=<stage>]``: what sits in the app's failure
queues, and moving a dead-letter queue's messages back to their queue.

The failure queues are the ones the template creates (``tight_tasks.failures``): each SQS
trigger's dead-letter queue (``<queue>-dlq``) and each asynchronous or stream function's
``<function>-failures`` queue, with the same names ``doit serve`` gives them locally. Without
``stage=`` they are read on the server ``doit dynamo_start`` runs (where ``doit serve``
puts them); with it, in the deployed stage, with your AWS credentials (``AWS_ENDPOINT_URL``
points boto3 at an emulator).

Listing peeks (messages are received with no visibility timeout, so they stay where they
are). ``redrive=true`` moves a dead-letter queue's messages to the queue whose redrive
policy names it, each one sent before it is deleted, so a failure halfway loses none. A
``-failures`` queue holds Lambda's records of events that failed, not messages of a queue:
there is nowhere to move them back to, and ``doit dlq`` says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tight_tasks.errors import TightTaskError, as_action
from tight_tasks.taskkit import failing, param, settings_or_error

SHOWN = 5  # messages listed per queue
BODY_WIDTH = 72
RECEIVE_MAX = 10
REDRIVE_VISIBILITY = 60  # seconds a message being moved is hidden, should a send fail


@dataclass(frozen=True)
class FailureQueue:
    """A failure queue of the app: its name, its function, and for a dead-letter queue the
    queue the template gives it to (``source``; "" for a ``-failures`` queue)."""

    name: str
    function: str
    source: str = ""
    prefix: str = ""  # <app>-<stage>-

    @property
    def short(self) -> str:
        return self.name[len(self.prefix) :] if self.name.startswith(self.prefix) else self.name

    @property
    def kind(self) -> str:
        if self.source:
            return f"dead-letter queue of {self.source}"
        return f"failed events of {self.function}"


def failure_queues(root: Path, settings: dict[str, Any], stage: str) -> list[FailureQueue]:
    """The app's failure queues, as the template names them for ``stage``."""
    from tight_tasks.config import app_name
    from tight_tasks.local_sources import local_plan

    prefix = f"{app_name(root, settings)}-{stage}-"
    found: list[FailureQueue] = []
    for source in local_plan(root, settings, stage):
        if not source.failure_queue:
            continue  # an SQS queue given by ARN: its dead-letter queue is not the app's
        upstream = source.source if source.trigger == "sqs" else ""
        found.append(FailureQueue(source.failure_queue, source.function, upstream, prefix))
    return sorted(found, key=lambda queue: queue.name)


def pick(queues: list[FailureQueue], name: str) -> list[FailureQueue]:
    """The queues ``name=`` means: a failure queue by its name with or without the
    ``<app>-<stage>-`` prefix, or every failure queue of the function or queue so named."""
    if not name:
        return queues
    wanted = name.strip()
    chosen = [
        queue
        for queue in queues
        if wanted in (queue.name, queue.short, queue.function)
        or (queue.source and wanted in (queue.source, queue.source[len(queue.prefix) :]))
        or (queue.source and f"{queue.prefix}{wanted}.fifo" == queue.source)
    ]
    if not chosen:
        known = ", ".join(queue.short for queue in queues)
        raise TightTaskError(
            f"no failure queue {wanted!r} in this app; its failure queues are: {known} "
            "(give one of them, its function or its queue as name=)"
        )
    return chosen


def summary(body: str) -> str:
    """A message's body on one line, cut short; Lambda's failure records by their error."""
    try:
        record = json.loads(body)
    except ValueError:
        record = None
    text = " ".join(body.split())
    if isinstance(record, dict) and isinstance(record.get("requestContext"), dict):
        condition = record["requestContext"].get("condition", "")
        error = record.get("responsePayload") or {}
        if isinstance(error, dict) and error.get("errorMessage") is not None:
            kind = error.get("errorType") or "error"
            text = f"{condition}: {kind}: {error.get('errorMessage')}"
        else:
            batch = {k: v for k, v in record.items() if k.endswith("BatchInfo")}
            for key, info in batch.items():
                count = info.get("batchSize") if isinstance(info, dict) else None
                text = f"{condition}: {key} of {count} record(s)"
    return text if len(text) <= BODY_WIDTH else text[: BODY_WIDTH - 1] + "…"


# -- against SQS ---------------------------------------------------------------------------------
def _url(sqs: Any, name: str) -> str | None:
    try:
        return str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
    except sqs.exceptions.QueueDoesNotExist:
        return None


def peek(sqs: Any, url: str) -> tuple[int, list[dict[str, Any]]]:
    """How many messages the queue holds, and the first few, left where they are."""
    reply = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    count = int(reply["ApproximateNumberOfMessages"]) + int(
        reply["ApproximateNumberOfMessagesNotVisible"]
    )
    if not count:
        return 0, []
    shown = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=SHOWN, VisibilityTimeout=0)
    messages = list(shown.get("Messages", []))
    if url.endswith(".fifo") and messages:
        # Said again, though received with none: moto keeps a FIFO message "in flight" until
        # told, and would then hand out a group's later message before it.
        sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for n, m in enumerate(messages)
            ],
        )
    return count, messages


def _attributes_to_send(message: dict[str, Any]) -> dict[str, Any]:
    sent: dict[str, Any] = {}
    for key, value in (message.get("MessageAttributes") or {}).items():
        kept = {k: value[k] for k in ("DataType", "StringValue", "BinaryValue") if k in value}
        sent[key] = kept
    return sent


def redrive(sqs: Any, dead_url: str, source_url: str) -> int:
    """Move every message of the dead-letter queue to ``source_url``; how many moved. Each
    is sent, then deleted: a failure between the two leaves a copy, never a loss."""
    fifo = source_url.endswith(".fifo")
    moved = 0
    seen: set[str] = set()
    while True:
        reply = sqs.receive_message(
            QueueUrl=dead_url,
            MaxNumberOfMessages=RECEIVE_MAX,
            VisibilityTimeout=REDRIVE_VISIBILITY,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = [m for m in reply.get("Messages", []) if m["MessageId"] not in seen]
        if not messages:
            return moved
        entries = []
        for n, message in enumerate(messages):
            seen.add(message["MessageId"])
            entry: dict[str, Any] = {"Id": str(n), "MessageBody": message["Body"]}
            attributes = _attributes_to_send(message)
            if attributes:
                entry["MessageAttributes"] = attributes
            if fifo:
                system = message.get("Attributes") or {}
                entry["MessageGroupId"] = system.get("MessageGroupId", "redrive")
                # A new id: SQS drops a FIFO message whose id it saw in the last 5 minutes.
                entry["MessageDeduplicationId"] = message["MessageId"]
            entries.append(entry)
        sent = sqs.send_message_batch(QueueUrl=source_url, Entries=entries)
        done = {item["Id"] for item in sent.get("Successful", [])}
        if sent.get("Failed"):
            failure = sent["Failed"][0]
            raise TightTaskError(
                f"could not send a message back to {source_url.rsplit('/', 1)[-1]}: "
                f"{failure.get('Message') or failure.get('Code')}; {moved} moved so far, "
                "the rest are still in the dead-letter queue"
            )
        sqs.delete_message_batch(
            QueueUrl=dead_url,
            Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                for n, m in enumerate(messages)
                if str(n) in done
            ],
        )
        moved += len(done)


def source_of(sqs: Any, dead_url: str, queue: FailureQueue) -> str:
    """The URL of the queue whose redrive policy names this dead-letter queue."""
    reply = sqs.list_dead_letter_source_queues(QueueUrl=dead_url)
    urls = list(reply.get("queueUrls", []))
    if not urls:
        raise TightTaskError(
            f"no queue names {queue.name} as its dead-letter queue (its redrive policy); "
            f"start `doit serve` (or deploy) once so {queue.source} gets it"
        )
    return str(urls[0])


def show_queues(
    sqs: Any, queues: list[FailureQueue], move: bool, where: str, out: Any = None
) -> None:
    import sys

    out = out or sys.stdout
    for queue in queues:
        url = _url(sqs, queue.name)
        if url is None:
            out.write(f"{queue.name}: not there yet ({queue.kind}; {where})\n")
            continue
        count, messages = peek(sqs, url)
        plural = "message" if count == 1 else "messages"
        out.write(f"{queue.name}: {count} {plural} ({queue.kind})\n")
        for message in messages:
            out.write(f"  {message['MessageId']}  {summary(message['Body'])}\n")
        if count > len(messages):
            out.write(f"  ... and {count - len(messages)} more\n")
        if not move or not count:
            continue
        if not queue.source:
            out.write(
                f"  not moved: {queue.name} holds Lambda's records of {queue.function}'s failed "
                "events, with no source queue to move them to; fix the function, then send "
                f"each record's requestPayload again: doit invoke name={queue.function} event=-\n"
            )
            continue
        target = source_of(sqs, url, queue)
        moved = redrive(sqs, url, target)
        plural = "message" if moved == 1 else "messages"
        out.write(f"  moved {moved} {plural} back to {target.rsplit('/', 1)[-1]}\n")


def dlq(
    root: Path, settings: dict[str, Any], stage: str, name: str, move: bool, deployed: bool
) -> None:
    from tight_tasks.deploy import _aws_error, _aws_errors

    queues = failure_queues(root, settings, stage)
    if not queues:
        raise TightTaskError(
            "this app has no failure queues: only SQS triggers (a dead-letter queue each) and "
            "SNS, S3, EventBridge, schedule, Kinesis and DynamoDB stream triggers (a "
            "<function>-failures queue each) have one"
        )
    chosen = pick(queues, name)
    if move and name and all(not queue.source for queue in chosen):
        raise TightTaskError(
            f"{chosen[0].name} holds Lambda's records of {chosen[0].function}'s failed events, "
            "not messages of a queue: there is no source queue to move them back to; list them "
            f"with `doit dlq name={chosen[0].short}`, fix the function, then send an event again "
            f"with `doit invoke name={chosen[0].function} event=-`"
        )
    if deployed:
        from tight_tasks.deploy import session

        sqs = session().client("sqs")
        where = f"deploy stage {stage} to create it: doit deploy stage={stage}"
    else:
        sqs = local_sqs(root)
        where = "`doit serve` creates it"
    try:
        show_queues(sqs, chosen, move, where)
    except _aws_errors() as error:
        raise _aws_error(error, "cannot read the failure queues") from None


def local_sqs(root: Path) -> Any:
    """An SQS client for the server ``doit dynamo_start`` runs; an error when none runs."""
    import boto3
    from botocore.config import Config

    from tight_tasks.async_delivery import REGION
    from tight_tasks.serve import local_dynamo

    endpoint = local_dynamo(root)
    if not endpoint:
        raise TightTaskError(
            "no local server is running, so there are no local failure queues: start it with "
            "`doit dynamo_start` (then `doit serve`), or give stage=<stage> for a deployed "
            "stage's queues"
        )
    sqs = boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 1}),
    )
    try:
        sqs.list_queues()
    except Exception:  # noqa: BLE001 - whatever it answers, it is no SQS
        raise TightTaskError(
            f"the local server at {endpoint} serves DynamoDB only, so it has no queues; use "
            "dynamo: {backend: moto} in tight.yml"
        ) from None
    return sqs


def _dlq(name: str, redrive: str, stage: str) -> None:
    from tight_tasks.config import find_app_root, load
    from tight_tasks.events_cli import flag
    from tight_tasks.template import stage_of

    root = find_app_root()
    settings = load(root)
    move = flag("redrive", redrive) if redrive else False
    dlq(root, settings, stage_of(stage, settings), name, move, deployed=bool(stage))


def task_dlq() -> dict[str, Any]:
    """Show the failure queues' messages (local, or stage=); redrive=true sends DLQs back."""
    _, settings, problem = settings_or_error()
    if settings is None:
        return failing(problem or "no tight.yml")
    return {
        "actions": [(as_action(_dlq),)],
        "params": [
            param(
                "name",
                "one failure queue: orders-dlq, notify-failures, or the function or queue it "
                "belongs to (default: all of them)",
            ),
            param(
                "redrive",
                "true: move each dead-letter queue's messages back to the queue they came "
                "from (a <function>-failures queue has none)",
            ),
            param(
                "stage",
                "read a deployed stage's queues, with your AWS credentials (default: the local "
                "server's, which doit dynamo_start runs and doit serve fills, for the stage "
                "in tight.yml)",
            ),
        ],
        "uptodate": [False],
        "verbosity": 2,
    }
