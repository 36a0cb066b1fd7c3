"""Kinesis and DynamoDB streams under ``doit serve``, read as Lambda's poller reads them:
each shard in order, in batches of the function's ``batch_size``.

A batch that fails is retried, and the records before a failure are never delivered again:
a partial failure (``batchItemFailures``) checkpoints at the first failed record and retries
from it; a raise fails the whole batch, which is split in two when ``bisect`` is on (the
template's ``BisectBatchOnFunctionError``) so the bad record is found in a few tries. After
``retries`` retries (``MaximumRetryAttempts``) the failed records' metadata (shard, first
and last sequence numbers, count: never the data, as Lambda sends it) goes to the
function's ``OnFailure`` queue and the shard moves on.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from tight_tasks.async_delivery import (
    ACCOUNT,
    REGION,
    Stopped,
    delivery_line,
    failed,
    invoke_safely,
    stopped,
)
from tight_tasks.polling import Poller

Invoke = Callable[[str, Any], dict[str, Any]]
Report = Callable[[str], None]
# Lambda backs off between retries of a stream batch; locally a short pause does.
RETRY_DELAY = 0.5
IDLE_POLL = 0.5  # a shard with nothing new is read again after this long (Lambda: 1 s)


@dataclass(frozen=True)
class StreamTarget:
    """A stream consumer: folder name, deployed ARN, batch size, retries, bisection,
    failure queue URL (None: only reported), where a new reader starts."""

    function: str
    arn: str
    batch_size: int = 100
    retries: int = 3
    bisect: bool = True
    failure_queue: str | None = None
    starting_position: str = "LATEST"


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return round(value.timestamp(), 3)
    return float(value)


def _iso(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Shard:
    """One shard's reader: its iterator, and how its records become Lambda's records."""

    kind = ""
    info_key = ""

    def __init__(
        self,
        client: Any,
        stream_arn: str,
        shard_id: str,
        position: str,
        after: str | None = None,
        stream_id: str = "",
    ) -> None:
        self.client, self.stream_arn, self.shard_id = client, stream_arn, shard_id
        # The stream's identity across restarts of the local server: a stream made again
        # under the same name is another stream, and a checkpoint in it means nothing.
        self.stream_id = stream_id or stream_arn
        self.iterator: str | None = self._iterator(position, after)

    def _iterator(self, position: str, after: str | None) -> str | None:
        raise NotImplementedError

    def _where(self, position: str, after: str | None) -> dict[str, str]:
        """The iterator's arguments: after a checkpoint, else at ``position``."""
        if after:
            return {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": after}
        return {"ShardIteratorType": position}

    def read(self, limit: int) -> list[dict[str, Any]]:
        """The next records (Lambda's shape), at most ``limit``; [] when none are new."""
        if self.iterator is None:
            return []  # a closed shard read to its end
        reply = self.client.get_records(ShardIterator=self.iterator, Limit=limit)
        self.iterator = reply.get("NextShardIterator")
        return [self.record(raw) for raw in reply.get("Records", [])]

    def record(self, raw: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    @staticmethod
    def sequence(record: dict[str, Any]) -> str:
        raise NotImplementedError

    @staticmethod
    def arrival(record: dict[str, Any]) -> float:
        raise NotImplementedError


class KinesisShard(Shard):
    kind = "kinesis"
    info_key = "KinesisBatchInfo"

    def __init__(
        self,
        client: Any,
        stream_arn: str,
        shard_id: str,
        position: str,
        after: str | None = None,
        stream_id: str = "",
    ) -> None:
        self.stream_name = stream_arn.rsplit("/", 1)[-1]
        super().__init__(client, stream_arn, shard_id, position, after, stream_id)

    def _iterator(self, position: str, after: str | None) -> str | None:
        reply = self.client.get_shard_iterator(
            StreamName=self.stream_name, ShardId=self.shard_id, **self._where(position, after)
        )
        iterator = reply.get("ShardIterator")
        return str(iterator) if iterator else None

    def record(self, raw: dict[str, Any]) -> dict[str, Any]:
        sequence = raw["SequenceNumber"]
        return {
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": raw["PartitionKey"],
                "sequenceNumber": sequence,
                "data": base64.b64encode(raw["Data"]).decode(),
                "approximateArrivalTimestamp": _epoch(raw["ApproximateArrivalTimestamp"]),
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": f"{self.shard_id}:{sequence}",
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": f"arn:aws:iam::{ACCOUNT}:role/lambda-role",
            "awsRegion": REGION,
            "eventSourceARN": self.stream_arn,
        }

    @staticmethod
    def sequence(record: dict[str, Any]) -> str:
        return str(record["kinesis"]["sequenceNumber"])

    @staticmethod
    def arrival(record: dict[str, Any]) -> float:
        return float(record["kinesis"]["approximateArrivalTimestamp"])


class DynamoShard(Shard):
    kind = "dynamodb_stream"
    info_key = "DDBStreamBatchInfo"

    def _iterator(self, position: str, after: str | None) -> str | None:
        reply = self.client.get_shard_iterator(
            StreamArn=self.stream_arn, ShardId=self.shard_id, **self._where(position, after)
        )
        iterator = reply.get("ShardIterator")
        return str(iterator) if iterator else None

    def record(self, raw: dict[str, Any]) -> dict[str, Any]:
        change = dict(raw["dynamodb"])
        if "ApproximateCreationDateTime" in change:
            change["ApproximateCreationDateTime"] = _epoch(change["ApproximateCreationDateTime"])
        return {
            "eventID": raw.get("eventID"),
            "eventName": raw.get("eventName"),
            "eventVersion": raw.get("eventVersion", "1.1"),
            "eventSource": "aws:dynamodb",
            "awsRegion": raw.get("awsRegion", REGION),
            "dynamodb": change,
            "eventSourceARN": self.stream_arn,
        }

    @staticmethod
    def sequence(record: dict[str, Any]) -> str:
        return str(record["dynamodb"]["SequenceNumber"])

    @staticmethod
    def arrival(record: dict[str, Any]) -> float:
        return float(record["dynamodb"].get("ApproximateCreationDateTime") or time.time())


def first_failure(answer: dict[str, Any], batch: list[dict[str, Any]], shard: Shard) -> int | None:
    """Where the batch failed: None when it succeeded, 0 when the invocation raised (or
    answered a failure Lambda cannot place), else the index of the first failed record."""
    if failed(answer):
        return 0
    result = answer.get("result")
    if not isinstance(result, dict) or not result.get("batchItemFailures"):
        return None
    positions = {shard.sequence(record): i for i, record in enumerate(batch)}
    found = []
    for failure in result["batchItemFailures"]:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if identifier not in positions:
            return 0  # Lambda treats an unknown or empty identifier as the whole batch failing
        found.append(positions[identifier])
    return min(found)


class ShardDelivery:
    """Delivers one shard's records to its consumer in order, with Lambda's retries."""

    def __init__(
        self,
        shard: Shard,
        target: StreamTarget,
        invoke: Invoke,
        sqs: Any,
        report: Report = print,
        retry_delay: float = RETRY_DELAY,
        checkpoints: Checkpoints | None = None,
    ) -> None:
        self.shard, self.target, self.invoke, self.sqs = shard, target, invoke, sqs
        self.report, self.retry_delay, self.checkpoints = report, retry_delay, checkpoints

    def poll_once(self) -> int:
        """Read the next batch and deliver it to the end (retries and all); its size."""
        records = self.shard.read(self.target.batch_size)
        if records:
            self.deliver(records)
            if self.checkpoints is not None:
                self.checkpoints.save(
                    checkpoint_key(self.target, self.shard), self.shard.sequence(records[-1])
                )
        return len(records)

    def deliver(self, records: list[dict[str, Any]]) -> None:
        # (records, invocations so far): the front is always the oldest undelivered record.
        pending: deque[tuple[list[dict[str, Any]], int]] = deque([(records, 0)])
        while pending:
            batch, invocations = pending.popleft()
            started = time.monotonic()
            answer = invoke_safely(self.invoke, self.target.function, {"Records": batch})
            if stopped(answer):  # no retry, no failure queue, no checkpoint: next start
                raise Stopped(self.target.function)
            invocations += 1
            took = time.monotonic() - started
            at = first_failure(answer, batch, self.shard)
            source = self.shard.kind
            if at is None:
                self.report(delivery_line(source, self.target.function, len(batch), "ok", took))
                continue
            rest = batch[at:]
            raised = failed(answer)
            result = "raised" if raised else f"{len(rest)} of {len(batch)} failed"
            line = delivery_line(source, self.target.function, len(batch), result, took)
            if invocations > self.target.retries:
                self.report(line)
                self._give_up(rest, answer, invocations)
                continue
            self.report(line + f"  (retry {invocations} of {self.target.retries})")
            if raised and self.target.bisect and len(rest) > 1:
                half = len(rest) // 2
                pending.appendleft((rest[half:], invocations))
                pending.appendleft((rest[:half], invocations))
            else:
                pending.appendleft((rest, invocations))
            if self.retry_delay:
                time.sleep(self.retry_delay)

    def _give_up(
        self, records: list[dict[str, Any]], answer: dict[str, Any], invocations: int
    ) -> None:
        """Send the records' metadata to the failure queue; the shard moves on."""
        import uuid

        info = {
            "shardId": self.shard.shard_id,
            "startSequenceNumber": self.shard.sequence(records[0]),
            "endSequenceNumber": self.shard.sequence(records[-1]),
            "approximateArrivalOfFirstRecord": _iso(self.shard.arrival(records[0])),
            "approximateArrivalOfLastRecord": _iso(self.shard.arrival(records[-1])),
            "batchSize": len(records),
            "streamArn": self.shard.stream_arn,
        }
        record = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self.target.arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": invocations,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "version": "1.0",
            "timestamp": _iso(time.time()),
            self.shard.info_key: info,  # the records' place, not their data (as Lambda)
        }
        if self.target.failure_queue:
            self.sqs.send_message(
                QueueUrl=self.target.failure_queue, MessageBody=json.dumps(record)
            )
            where = "moved to " + self.target.failure_queue.rsplit("/", 1)[-1]
        else:
            where = "dropped (no failure queue)"
        count = len(records)
        self.report(
            f"{'failure':<11} {self.target.function}  {count} record{'s' if count != 1 else ''}"
            f" of {self.shard.shard_id} {where} after {invocations} invocations; "
            "the shard moves on"
        )


# -- where each consumer stopped --------------------------------------------------------------
class Checkpoints:
    """The last record each consumer finished in each shard, kept in a JSON file, so a
    restarted ``doit serve`` goes on after it (as an event source mapping keeps its place)
    instead of skipping what was written meanwhile (LATEST) or starting over."""

    def __init__(self, path: Any) -> None:
        from pathlib import Path

        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            loaded = json.loads(self.path.read_text())
        except (OSError, ValueError):
            loaded = {}
        self.places: dict[str, str] = loaded if isinstance(loaded, dict) else {}

    def get(self, key: str) -> str | None:
        return self.places.get(key)

    def save(self, key: str, sequence: str) -> None:
        import os

        with self._lock:
            self.places[key] = sequence
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_suffix(".tmp")
            partial.write_text(json.dumps(self.places, indent=1, sort_keys=True))
            os.replace(partial, self.path)  # never half a file


def checkpoint_key(target: StreamTarget, shard: Shard) -> str:
    return f"{target.function} {shard.stream_id} {shard.shard_id}"


# -- the shards of a stream -------------------------------------------------------------------
def kinesis_shards(
    kinesis: Any,
    stream_name: str,
    position: str,
    checkpoints: Checkpoints | None = None,
    function: str = "",
) -> list[Shard]:
    description = kinesis.describe_stream(StreamName=stream_name)["StreamDescription"]
    arn = description["StreamARN"]
    stream_id = f"{arn}@{_epoch(description['StreamCreationTimestamp'])}"
    shards: list[Shard] = []
    for shard in description["Shards"]:
        after = (
            checkpoints.get(f"{function} {stream_id} {shard['ShardId']}") if checkpoints else None
        )
        shards.append(KinesisShard(kinesis, arn, shard["ShardId"], position, after, stream_id))
    return shards


def dynamodb_shards(
    streams: Any,
    stream_arn: str,
    position: str,
    checkpoints: Checkpoints | None = None,
    function: str = "",
) -> list[Shard]:
    """A table's stream ARN names its creation time: a table made again has another."""
    description = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]
    shards: list[Shard] = []
    for shard in description["Shards"]:
        after = (
            checkpoints.get(f"{function} {stream_arn} {shard['ShardId']}") if checkpoints else None
        )
        shards.append(DynamoShard(streams, stream_arn, shard["ShardId"], position, after))
    return shards


def table_stream_arn(dynamodb: Any, table: str) -> str:
    """The stream of a table, which must have one (``doit serve`` creates models' tables
    with the stream their consumers need)."""
    arn = dynamodb.describe_table(TableName=table)["Table"].get("LatestStreamArn")
    if not arn:
        from tight_tasks.errors import TightTaskError

        raise TightTaskError(f"table {table} has no stream; enable one (NEW_AND_OLD_IMAGES)")
    return str(arn)


class StreamPoller(Poller):
    """A thread reading every shard of one stream for one consumer, round-robin, each shard
    in order; a shard with nothing new is read again after ``idle`` seconds."""

    name = "tight-stream"

    def __init__(self, deliveries: list[ShardDelivery], idle: float = IDLE_POLL) -> None:
        self.deliveries = deliveries
        self.idle = idle
        super().__init__()

    def poll_once(self) -> int:
        return sum(delivery.poll_once() for delivery in self.deliveries)
