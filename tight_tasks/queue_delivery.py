"""SQS triggers under ``doit serve``, delivered as Lambda's SQS poller delivers them: the
function's queue is polled, up to ``batch_size`` messages (gathered for ``batch_window``
seconds when one is set) become one event, and the function's answer is honoured.

- The messages a function reports in ``batchItemFailures`` stay on the queue and come back
  once the queue's visibility timeout passes; the others are deleted. A raised (or timed
  out) invocation keeps the whole batch, and so does an answer naming a message that is not
  in the batch (Lambda counts it as a failed batch).
- After ``max_receive_count`` receives the queue's redrive policy moves the message to its
  dead-letter queue. SQS does that on its own (moto's server too, on the next receive once
  the message is visible again), so the poller only reports it.
- A FIFO queue hands out one group's messages in order and holds a group back while one of
  its messages is in flight; the function stops at a group's failed message (Tight's SQS
  controller reports it with every later one), so the group waits for it. moto's server
  breaks that order when several messages of a group come back at once after their
  visibility timeout (it frees the group as it passes each one, so a later message can go
  out before the failed one); the poller therefore makes a FIFO batch's kept messages
  visible itself, together, when their timeout is due (the server's own return set a
  second later), so no receive sees them half-returned.

The queue and its dead-letter queue get the names and settings the template gives them
(``ensure_queues``); an existing queue is reused as it is, gaining only the redrive policy
when it has none. Stopping the poller hands every message it holds but has not delivered
back to the queue at once, so a stop loses none.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tight_tasks.async_delivery import REGION, delivery_line, failed, invoke_safely, stopped
from tight_tasks.polling import Poller

Invoke = Callable[[str, Any], dict[str, Any]]
Report = Callable[[str], None]
RECEIVE_MAX = 10  # SQS hands out at most ten messages per ReceiveMessage
LONG_POLL = 1  # seconds; short, so a stop is quick
VISIBILITY_MAX = 43200  # SQS's longest visibility timeout


@dataclass(frozen=True)
class QueueTarget:
    """An SQS consumer: its folder name, the queue's URL and ARN, its batching, and the
    dead-letter queue's name with the receives before a message moves there (0: none)."""

    function: str
    url: str
    arn: str
    batch_size: int = 10
    batch_window: int = 0
    max_receive_count: int = 0
    dead_letter: str = ""
    visibility: int = 30  # the queue's visibility timeout, seconds

    @property
    def name(self) -> str:
        return self.arn.rsplit(":", 1)[-1]

    @property
    def fifo(self) -> bool:
        return self.name.endswith(".fifo")


def dead_letter_name(queue: str) -> str:
    """The dead-letter queue the template gives ``queue`` (``<queue>-dlq``, FIFO kept)."""
    if queue.endswith(".fifo"):
        return f"{queue[: -len('.fifo')]}-dlq.fifo"
    return f"{queue}-dlq"


def queue_arn(sqs: Any, url: str) -> str:
    reply = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(reply["Attributes"]["QueueArn"])


def ensure_queues(
    sqs: Any, name: str, visibility: int, max_receive_count: int | None
) -> tuple[str, str, str]:
    """The queue ``name``'s URL, ARN and dead-letter queue's name ("" without one),
    creating what is missing as the template would: the dead-letter queue (kept 14 days),
    then the queue with its visibility timeout and redrive policy. An existing queue keeps
    its own settings and gains the redrive policy when it has none or another count;
    ``max_receive_count`` None (a queue given by ARN, which the template does not create)
    leaves its redrive policy alone."""
    from tight_tasks.failures import FAILURE_RETENTION

    fifo = name.endswith(".fifo")
    fifo_attributes = {"FifoQueue": "true"} if fifo else {}
    try:
        url = str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
    except sqs.exceptions.QueueDoesNotExist:
        url = ""
    if max_receive_count is None:
        if not url:
            attributes = {"VisibilityTimeout": str(visibility), **fifo_attributes}
            url = str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])
        return url, queue_arn(sqs, url), _named_dead_letter(sqs, url)
    dead_letter = dead_letter_name(name)
    attributes = {"MessageRetentionPeriod": str(FAILURE_RETENTION), **fifo_attributes}
    try:
        dead_url = str(sqs.get_queue_url(QueueName=dead_letter)["QueueUrl"])
    except sqs.exceptions.QueueDoesNotExist:
        dead_url = str(sqs.create_queue(QueueName=dead_letter, Attributes=attributes)["QueueUrl"])
    policy = json.dumps(
        {"deadLetterTargetArn": queue_arn(sqs, dead_url), "maxReceiveCount": max_receive_count}
    )
    if not url:
        attributes = {
            "VisibilityTimeout": str(visibility),
            "RedrivePolicy": policy,
            **fifo_attributes,
        }
        url = str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])
    else:
        current = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])
        if _policy(current) != json.loads(policy):
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": policy})
    return url, queue_arn(sqs, url), dead_letter


def _policy(reply: dict[str, Any]) -> dict[str, Any]:
    text = (reply.get("Attributes") or {}).get("RedrivePolicy")
    if not text:
        return {}
    policy = json.loads(text)
    return {
        "deadLetterTargetArn": policy.get("deadLetterTargetArn"),
        "maxReceiveCount": int(policy.get("maxReceiveCount", 0)),
    }


def _named_dead_letter(sqs: Any, url: str) -> str:
    reply = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])
    arn = _policy(reply).get("deadLetterTargetArn")
    return str(arn).rsplit(":", 1)[-1] if arn else ""


def receive_limit(sqs: Any, url: str) -> int:
    """The queue's ``maxReceiveCount`` (0 without a redrive policy)."""
    reply = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])
    return int(_policy(reply).get("maxReceiveCount") or 0)


def visibility_timeout(sqs: Any, url: str) -> int:
    reply = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])
    return int(reply["Attributes"]["VisibilityTimeout"])


# -- the event Lambda builds from received messages --------------------------------------------
def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    attribute: dict[str, Any] = {
        "stringListValues": list(value.get("StringListValues") or []),
        "binaryListValues": [
            base64.b64encode(item).decode() for item in value.get("BinaryListValues") or []
        ],
        "dataType": value.get("DataType", "String"),
    }
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return attribute


LAMBDA_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "MessageDeduplicationId",
    "AWSTraceHeader",
)


def sqs_record(message: dict[str, Any], arn: str) -> dict[str, Any]:
    """Lambda's record of one message ``ReceiveMessage`` returned (all attributes asked)."""
    attributes = message.get("Attributes") or {}
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {k: str(attributes[k]) for k in LAMBDA_ATTRIBUTES if k in attributes},
        "messageAttributes": {
            name: _message_attribute(value)
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": arn.split(":")[3] if arn.count(":") >= 5 else REGION,
    }


def reported_failures(answer: Any, ids: list[str]) -> set[str] | None:
    """The ids of the messages a successful invocation reports failed; None when the
    answer makes Lambda fail the whole batch (an id that is empty or not in the batch)."""
    if not isinstance(answer, dict):
        return set()
    items = answer.get("batchItemFailures")
    if not items:
        return set()
    if not isinstance(items, list):
        return None
    found: set[str] = set()
    for item in items:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in ids:
            return None
        found.add(identifier)
    return found


# -- the poller ------------------------------------------------------------------------------
class QueuePoller(Poller):
    """A thread polling one function's queue and delivering each batch to it."""

    name = "tight-sqs"

    def __init__(
        self,
        target: QueueTarget,
        sqs: Any,
        invoke: Invoke,
        report: Report = print,
        wait_seconds: int = LONG_POLL,
    ) -> None:
        self.target, self.sqs, self.invoke, self.report = target, sqs, invoke, report
        self.wait_seconds = wait_seconds
        super().__init__()
        self._held: list[dict[str, Any]] = []  # received, not yet delivered
        self._received = 0.0  # when the batch held was received (monotonic)
        # A FIFO batch's kept messages: when their visibility timeout ends, their receipts.
        self._returning: list[tuple[float, list[str]]] = []

    # -- one batch ---------------------------------------------------------------------
    def _receive(self, count: int, wait: int) -> list[dict[str, Any]]:
        reply = self.sqs.receive_message(
            QueueUrl=self.target.url,
            MaxNumberOfMessages=max(1, min(RECEIVE_MAX, count)),
            WaitTimeSeconds=wait,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(reply.get("Messages", []))

    def _hold(self, messages: list[dict[str, Any]]) -> None:
        """Add what a receive during the window returned. A held message received again
        (its visibility timeout ended before the window did) is the same message: its new
        receipt replaces the old one, never a second record in the batch."""
        at = {m["MessageId"]: n for n, m in enumerate(self._held)}
        for message in messages:
            if message["MessageId"] in at:
                self._held[at[message["MessageId"]]] = message
            else:
                at[message["MessageId"]] = len(self._held)
                self._held.append(message)

    def gather(self) -> list[dict[str, Any]]:
        """A batch as Lambda's poller makes one: what one poll returns, or, with a batch
        window, what arrives until the batch is full or the window has passed."""
        target = self.target
        self._return_due()
        wait = self.wait_seconds
        if self._returning and min(at for at, _ in self._returning) - time.monotonic() < wait:
            wait = 0  # a long poll must not hold their return back
        self._received = time.monotonic()
        self._held = self._receive(target.batch_size, wait)
        if not self._held and not wait:
            self._stopping.wait(0.05)
        if not self._held or not target.batch_window:
            return self._held
        deadline = time.monotonic() + target.batch_window
        while len(self._held) < target.batch_size and not self._stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            wait = min(self.wait_seconds, max(0, int(left)))
            more = self._receive(target.batch_size - len(self._held), wait)
            self._hold(more)
            if not more and wait == 0:
                self._stopping.wait(min(left, 0.05))
        return self._held

    def deliver(self, messages: list[dict[str, Any]]) -> None:
        """Invoke the function with the batch and settle each message by its answer."""
        target = self.target
        event = {"Records": [sqs_record(message, target.arn) for message in messages]}
        ids = [message["MessageId"] for message in messages]
        started = time.monotonic()
        answer = invoke_safely(self.invoke, target.function, event)
        took = time.monotonic() - started
        if stopped(answer):  # cut short by serve's stop: the batch is back on the queue now
            self._make_visible([m["ReceiptHandle"] for m in messages])
            self._held = []
            return
        if failed(answer):
            kept = set(ids)
            result = "timed out" if "timeout" in answer else "raised"
        else:
            reported = reported_failures(answer.get("result"), ids)
            if reported is None:
                kept, result = set(ids), "answered an unknown batchItemFailures id: all kept"
            else:
                kept = reported
                result = f"{len(kept)} of {len(ids)} failed" if kept else "ok"
        done = [m for m in messages if m["MessageId"] not in kept]
        if target.fifo and kept:
            handles = [m["ReceiptHandle"] for m in messages if m["MessageId"] in kept]
            # The server's own return pushed a second past ours, so no receive finds the
            # group half-returned even when a poll is late.
            self._make_visible(handles, min(target.visibility + 1, VISIBILITY_MAX))
            self._returning.append((self._received + target.visibility, handles))
        for start in range(0, len(done), RECEIVE_MAX):
            self.sqs.delete_message_batch(
                QueueUrl=target.url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                    for n, m in enumerate(done[start : start + RECEIVE_MAX])
                ],
            )
        self._held = []
        self.report(delivery_line("sqs", target.function, len(ids), result, took))
        if target.max_receive_count and target.dead_letter:
            for message in messages:
                receives = int((message.get("Attributes") or {}).get("ApproximateReceiveCount", 1))
                if message["MessageId"] in kept and receives >= target.max_receive_count:
                    times = "once" if receives == 1 else f"{receives} times"
                    self.report(
                        f"{'dead-letter':<11} {target.function}  message {message['MessageId']} "
                        f"failed {times} (max_receive_count {target.max_receive_count}): "
                        f"SQS moves it to {target.dead_letter}"
                    )

    def poll_once(self) -> int:
        """Gather one batch and deliver it; how many messages it held."""
        messages = self.gather()
        if not messages:
            return 0
        if self._stopping.is_set():
            self.release()
            return 0
        self.deliver(messages)
        return len(messages)

    def release(self) -> None:
        """Hand the messages held but not delivered, and a FIFO batch's kept ones, back to
        the queue, visible at once."""
        held, self._held = self._held, []
        returning, self._returning = self._returning, []
        self._make_visible(
            [m["ReceiptHandle"] for m in held] + [h for _, handles in returning for h in handles]
        )

    def _return_due(self) -> None:
        now = time.monotonic()
        due = [handles for at, handles in self._returning if at <= now]
        if due:
            self._returning = [(at, handles) for at, handles in self._returning if at > now]
            self._make_visible([handle for handles in due for handle in handles])

    def _make_visible(self, handles: list[str], after: int = 0) -> None:
        for start in range(0, len(handles), RECEIVE_MAX):
            self.sqs.change_message_visibility_batch(
                QueueUrl=self.target.url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": handle, "VisibilityTimeout": after}
                    for n, handle in enumerate(handles[start : start + RECEIVE_MAX])
                ],
            )

    # -- running -----------------------------------------------------------------------
    def stopped(self) -> None:
        try:
            self.release()
        except Exception:  # noqa: BLE001 - the server is gone: SQS's timeout brings them back
            pass
