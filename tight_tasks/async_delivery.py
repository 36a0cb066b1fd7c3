"""Asynchronous invocations under ``doit serve``, as Lambda makes them for SNS, S3,
EventBridge and schedules: the event is invoked; when the function raises (or times out) it
is tried again after a delay, ``MaximumRetryAttempts`` times (the function's ``retries``,
read by ``tight_tasks.failures`` as the template reads it); then a Lambda-destination
record of the event and the error goes to the function's ``OnFailure`` queue.

The local server holds no Lambda, so each source reaches the function through a queue of
its own on that server (``<function's deployed name>--local``): the topic gets an SQS
subscription, the bucket a queue notification with the function's prefix and suffix rules,
the bus a rule that sends every event to the queue, where ``tight_tasks.event_patterns``
decides which functions it reaches. A ``QueueFeed`` polls one such queue and hands each
event to the ``AsyncInvoker``; the message is deleted only once its event succeeded or went
to the failure queue, so stopping the server loses none (they come back on the next start).
"""

from __future__ import annotations

import heapq
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tight_tasks.polling import Poller

ACCOUNT = "123456789012"
REGION = "us-east-1"
# Lambda retries an asynchronous event about a minute after the first failure, then about
# two minutes after the second.
RETRY_DELAYS = (60.0, 120.0)
# How long a source message stays in flight while its event is retried: past every delay.
FEED_VISIBILITY = 900
LOCAL_SUFFIX = "--local"
QUEUE_NAME_MAX = 80

Invoke = Callable[[str, Any], dict[str, Any]]
Report = Callable[[str], None]


@dataclass(frozen=True)
class AsyncTarget:
    """A function invoked asynchronously: its folder name, deployed ARN, retries and the
    URL of its ``OnFailure`` queue (None: failed events are only reported)."""

    function: str
    arn: str
    retries: int
    failure_queue: str | None
    source: str  # sns, s3, eventbridge or schedule: the console says which


def function_arn(deployed_name: str, region: str = REGION) -> str:
    return f"arn:aws:lambda:{region}:{ACCOUNT}:function:{deployed_name}"


def failed(answer: dict[str, Any]) -> bool:
    """A worker's answer that Lambda counts as a failed invocation: a raise or a timeout."""
    return "error" in answer or "timeout" in answer


class Stopped(Exception):
    """An invocation cut short because ``doit serve`` is stopping: neither a success nor a
    failure, so its event or records are not settled (they are delivered on the next start)."""


def stopped(answer: dict[str, Any]) -> bool:
    """An answer of an invocation that serve's stop cut short (or refused to start)."""
    return bool(answer.get("stopping"))


def invoke_safely(invoke: Invoke, function: str, event: Any) -> dict[str, Any]:
    """The worker's answer; a worker that could not run the function at all (it would not
    start) is a failed invocation too, as Lambda counts an init error."""
    try:
        return invoke(function, event)
    except Exception as error:  # noqa: BLE001 - answered as the invocation's error
        return {"error": f"{type(error).__name__}: {error}", "cold": True}


def error_payload(answer: dict[str, Any]) -> dict[str, Any]:
    """The ``responsePayload`` Lambda records for a failed invocation."""
    if "timeout" in answer:
        return {"errorMessage": f"Task timed out after {float(answer['timeout']):.2f} seconds"}
    kind, _, message = str(answer.get("error", "")).partition(": ")
    payload: dict[str, Any] = {"errorMessage": message, "errorType": kind}
    trace = answer.get("traceback")
    if trace:
        payload["stackTrace"] = str(trace).rstrip("\n").splitlines()[1:]
    return payload


def failure_record(
    target: AsyncTarget, event: Any, answer: dict[str, Any], invocations: int
) -> dict[str, Any]:
    """What Lambda sends an ``OnFailure`` destination for an event whose retries ran out."""
    import uuid

    return {
        "version": "1.0",
        "timestamp": _now_iso(),
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"{target.arn}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": invocations,
        },
        "requestPayload": event,
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "responsePayload": error_payload(answer),
    }


def _now_iso() -> str:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def delivery_line(source: str, function: str, count: int, result: str, seconds: float) -> str:
    return f"{source:<11} {function}  {count} record{'s' if count != 1 else ''}  {result}  " + (
        f"{seconds * 1000:.0f} ms"
    )


@dataclass(order=True)
class _Due:
    at: float
    order: int
    target: AsyncTarget = None  # type: ignore[assignment]
    event: Any = None
    invocations: int = 0
    settle: Callable[[bool], None] | None = None


class AsyncInvoker:
    """Lambda's queue of asynchronous events: ``submit`` an event for a target; it is
    invoked at once, again after each of ``delays`` while it fails (as many times as the
    target's retries), then recorded in the target's failure queue. Each function has a
    thread of its own, so one that runs long holds back no other. ``settle(True)`` is
    called once the event is done with (succeeded or recorded), ``settle(False)`` when
    ``stop`` leaves it undone."""

    def __init__(
        self,
        invoke: Invoke,
        sqs: Any,
        report: Report = print,
        delays: tuple[float, ...] = RETRY_DELAYS,
    ) -> None:
        self.invoke, self.sqs, self.report, self.delays = invoke, sqs, report, delays
        self._heaps: dict[str, list[_Due]] = {}  # per function, the soonest first
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._started = False
        self._stopping = False
        self._busy = 0
        self._threads: dict[str, threading.Thread] = {}

    def submit(
        self, target: AsyncTarget, event: Any, settle: Callable[[bool], None] | None = None
    ) -> None:
        due = _Due(time.monotonic(), next(self._order), target, event, 0, settle)
        with self._wake:
            heapq.heappush(self._heaps.setdefault(target.function, []), due)
            if self._started:
                self._lane(target.function)
            self._wake.notify_all()

    def _lane(self, function: str) -> None:
        """The function's thread, started once (the caller holds the lock)."""
        if function not in self._threads:
            thread = threading.Thread(
                target=self._run, args=(function,), name=f"tight-async-{function}", daemon=True
            )
            self._threads[function] = thread
            thread.start()

    def start(self) -> None:
        with self._wake:
            self._started = True
            for function in list(self._heaps):
                self._lane(function)

    def halt(self) -> None:
        """No event starts after this; one running goes on (``stop`` waits for it)."""
        with self._wake:
            self._stopping = True
            self._wake.notify_all()

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
            threads = list(self._threads.values())
        for thread in threads:
            thread.join()
        for heap in self._heaps.values():
            for due in heap:
                self._settle(due, False)
        self._heaps.clear()

    def idle(self) -> bool:
        """True when no event waits or runs (tests wait for this)."""
        with self._wake:
            return not any(self._heaps.values()) and not self._busy

    def _run(self, function: str) -> None:
        heap = self._heaps[function]
        while True:
            with self._wake:
                while not self._stopping and (not heap or heap[0].at > time.monotonic()):
                    wait = heap[0].at - time.monotonic() if heap else None
                    self._wake.wait(wait)
                if self._stopping:
                    return
                due = heapq.heappop(heap)
                self._busy += 1
            try:
                self._attempt(due)
            except Exception as error:  # noqa: BLE001 - the local server went away
                self.report(f"error: {due.target.function}: {error}; its event goes back")
                self._settle(due, False)
            finally:
                with self._wake:
                    self._busy -= 1

    def _attempt(self, due: _Due) -> None:
        target = due.target
        started = time.monotonic()
        answer = invoke_safely(self.invoke, target.function, due.event)
        if stopped(answer):  # not an attempt: the event goes back for the next start
            self._settle(due, False)
            return
        due.invocations += 1
        count = len(due.event.get("Records", [])) if isinstance(due.event, dict) else 1
        count = count or 1
        took = time.monotonic() - started
        if not failed(answer):
            self.report(delivery_line(target.source, target.function, count, "ok", took))
            self._settle(due, True)
            return
        result = "timed out" if "timeout" in answer else "raised"
        if due.invocations <= target.retries:
            delay = self.delays[min(due.invocations, len(self.delays)) - 1]
            self.report(
                delivery_line(target.source, target.function, count, result, took)
                + f"  (retry {due.invocations} of {target.retries} in {delay:g} s)"
            )
            with self._wake:
                due.at = time.monotonic() + delay
                heapq.heappush(self._heaps[target.function], due)
                self._wake.notify_all()
            return
        self.report(delivery_line(target.source, target.function, count, result, took))
        if target.failure_queue:
            record = failure_record(target, due.event, answer, due.invocations)
            self.sqs.send_message(QueueUrl=target.failure_queue, MessageBody=json.dumps(record))
            name = target.failure_queue.rsplit("/", 1)[-1]
            self.report(
                f"{'failure':<11} {target.function}  event moved to {name} after "
                f"{due.invocations} invocation{'s' if due.invocations != 1 else ''}"
            )
        self._settle(due, True)

    @staticmethod
    def _settle(due: _Due, done: bool) -> None:
        if due.settle is not None:
            due.settle(done)


# -- feeds: a source's queue on the local server ---------------------------------------------
class QueueFeed(Poller):
    """Polls the local queue a source sends to, turning each message into the event Lambda
    would receive (``to_event``; None drops the message, as an event no rule matches) and
    submitting it for ``targets`` (a list: one bus rule may reach several functions)."""

    name = "tight-feed"

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        to_events: Callable[[str], list[tuple[AsyncTarget, Any]]],
        invoker: AsyncInvoker,
        wait_seconds: int = 1,
    ) -> None:
        self.sqs, self.queue_url, self.to_events = sqs, queue_url, to_events
        self.invoker, self.wait_seconds = invoker, wait_seconds
        super().__init__()

    def poll_once(self) -> int:
        """Receive what waits (up to ten messages) and submit its events; how many came."""
        reply = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=self.wait_seconds,
            VisibilityTimeout=FEED_VISIBILITY,
        )
        messages = reply.get("Messages", [])
        for message in messages:
            try:
                deliveries = self.to_events(message["Body"])
            except ValueError:
                deliveries = []  # not an event this source sends: nothing to deliver
            self._submit(message["ReceiptHandle"], deliveries)
        return len(messages)

    def _submit(self, receipt: str, deliveries: list[tuple[AsyncTarget, Any]]) -> None:
        if not deliveries:
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=receipt)
            return
        left = [len(deliveries)]
        undone = [False]
        lock = threading.Lock()

        def settle(done: bool) -> None:
            with lock:
                left[0] -= 1
                undone[0] = undone[0] or not done
                if left[0]:
                    return
            if undone[0]:  # back on the queue at once, for the next start
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=receipt, VisibilityTimeout=0
                )
            else:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=receipt)

        for target, event in deliveries:
            self.invoker.submit(target, event, settle)


# -- what each source's message holds ---------------------------------------------------------
def sns_event(body: str, subscription_arn: str) -> dict[str, Any]:
    """Lambda's SNS event for one notification an SQS subscription received."""
    note = json.loads(body)
    if not isinstance(note, dict) or note.get("Type") != "Notification":
        raise ValueError("not an SNS notification")
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription_arn,
                "Sns": {
                    "Type": "Notification",
                    "MessageId": note.get("MessageId"),
                    "TopicArn": note.get("TopicArn"),
                    "Subject": note.get("Subject") or None,
                    "Message": note.get("Message", ""),
                    "Timestamp": note.get("Timestamp"),
                    "SignatureVersion": note.get("SignatureVersion", "1"),
                    "Signature": note.get("Signature", ""),
                    "SigningCertUrl": note.get("SigningCertURL", ""),
                    "UnsubscribeUrl": note.get("UnsubscribeURL", ""),
                    "MessageAttributes": note.get("MessageAttributes") or {},
                },
            }
        ]
    }


def s3_event(body: str) -> dict[str, Any] | None:
    """Lambda's S3 event for one notification a queue received; None for S3's test event
    (sent when the notification is set up; Lambda never sees it)."""
    from urllib.parse import quote_plus, unquote_plus

    event = json.loads(body)
    if not isinstance(event, dict) or "Records" not in event:
        return None
    for record in event["Records"]:
        obj = record.get("s3", {}).get("object", {})
        if isinstance(obj.get("key"), str):
            # S3 form-encodes a key but keeps its slashes; moto encodes those too.
            obj["key"] = quote_plus(unquote_plus(obj["key"]), safe="/")
    return event


# -- wiring a source to its local queue -------------------------------------------------------
def local_queue_name(deployed_function: str) -> str:
    name = f"{deployed_function}{LOCAL_SUFFIX}"
    if len(name) > QUEUE_NAME_MAX:  # keep the end (the function's name) readable and unique
        import hashlib

        digest = hashlib.sha1(name.encode()).hexdigest()[:8]
        name = f"{name[: QUEUE_NAME_MAX - len(LOCAL_SUFFIX) - 9]}-{digest}{LOCAL_SUFFIX}"
    return name


def ensure_local_queue(sqs: Any, name: str) -> tuple[str, str]:
    """The URL and ARN of the local queue ``name``, created when missing."""
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": str(FEED_VISIBILITY)})[
        "QueueUrl"
    ]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


def subscribe_topic(sns: Any, topic_arn: str, queue_arn: str) -> str:
    """Subscribe the queue to the topic (SNS returns the existing subscription when there
    is one); the subscription's ARN."""
    return str(
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)["SubscriptionArn"]
    )


def notify_bucket(s3: Any, bucket: str, routes: list[dict[str, Any]]) -> None:
    """Set the bucket's queue notifications for the local functions, keeping every other
    notification it has. ``routes``: ``{"id", "queue_arn", "events", "prefix", "suffix"}``,
    all the bucket's functions at once (S3 replaces the whole configuration)."""
    current = s3.get_bucket_notification_configuration(Bucket=bucket)
    current.pop("ResponseMetadata", None)
    ours = {route["id"] for route in routes}
    queues = [q for q in current.get("QueueConfigurations", []) if q.get("Id") not in ours]
    for route in routes:
        entry: dict[str, Any] = {
            "Id": route["id"],
            "QueueArn": route["queue_arn"],
            "Events": list(route.get("events") or ["s3:ObjectCreated:*"]),
        }
        rules = [
            {"Name": key, "Value": str(route[key])}
            for key in ("prefix", "suffix")
            if route.get(key)
        ]
        if rules:
            entry["Filter"] = {"Key": {"FilterRules": rules}}
        queues.append(entry)
    current["QueueConfigurations"] = queues
    # The functions' own (Lambda) notifications would reach no Lambda on the local server.
    current.pop("LambdaFunctionConfigurations", None)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=current)


def route_bus(events: Any, bus: str, rule_name: str, queue_arn: str) -> None:
    """A rule on ``bus`` sending every event to the queue; the functions' own patterns are
    matched by Tight (``tight_tasks.event_patterns``) as the events arrive."""
    events.put_rule(
        Name=rule_name,
        EventBusName=bus,
        EventPattern=json.dumps({"version": ["0"]}),  # every event EventBridge sends
        State="ENABLED",
    )
    events.put_targets(
        Rule=rule_name, EventBusName=bus, Targets=[{"Id": "tight-local", "Arn": queue_arn}]
    )


def rule_name(queue_name: str) -> str:
    """EventBridge's rule names stop at 64 characters."""
    if len(queue_name) <= 64:
        return queue_name
    import hashlib

    return f"{queue_name[:55]}-{hashlib.sha1(queue_name.encode()).hexdigest()[:8]}"


# -- each source's events, from its queue's messages -------------------------------------------
def sns_events(target: AsyncTarget, subscription_arn: str) -> Callable[[str], list[Any]]:
    return lambda body: [(target, sns_event(body, subscription_arn))]


def s3_events(target: AsyncTarget) -> Callable[[str], list[Any]]:
    def events(body: str) -> list[Any]:
        event = s3_event(body)
        return [] if event is None else [(target, event)]

    return events


def bus_events(target: AsyncTarget, pattern: dict[str, Any]) -> Callable[[str], list[Any]]:
    """The function's event when it matches its pattern, else nothing: an event that
    matches no rule reaches no function."""
    from tight_tasks.event_patterns import matches

    def events(body: str) -> list[Any]:
        event = json.loads(body)
        return [(target, event)] if isinstance(event, dict) and matches(pattern, event) else []

    return events
