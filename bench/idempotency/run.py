"""Idempotency benchmark: Tight's ``@idempotent`` against Powertools for AWS Lambda's
``idempotent_function``, both on one moto server in the same run.

Per call, the median time of a record handler's first call (claim, run, store: two writes)
and of a repeated call (the claim refused, the stored result read), for each library and for
the bare handler; then the cold import of each library's idempotency code in a fresh
interpreter (what a cold start pays). Ratios are Tight's time over Powertools'. Nothing
asserts a timing.

    python bench/idempotency/run.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

IMPORTS = {
    "tight": "import tight.idempotency",
    "powertools": "import aws_lambda_powertools.utilities.idempotency",
}


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def calls(endpoint: str, rounds: int) -> dict[str, float]:
    import boto3
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    from tight.idempotency import IdempotencyRecord, idempotent
    from tight.providers.aws.clients import boto3_client, dynamo_db
    from tight.providers.aws.controllers.sqs import SQSMessage
    from tight.testing import events
    from tight.testing.events import LambdaContext

    os.environ.update(TIGHT_DYNAMO_ENDPOINT=endpoint, AWS_ACCESS_KEY_ID="local",
                      AWS_SECRET_ACCESS_KEY="local", AWS_DEFAULT_REGION="us-east-1",
                      TIGHT_APP="bench", TIGHT_STAGE="dev")  # fmt: skip
    boto3_client.reset()
    dynamo_db.reset()
    IdempotencyRecord.create_table()
    client = boto3.session.Session().client(
        "dynamodb", endpoint_url=endpoint, region_name="us-east-1"
    )
    client.create_table(
        TableName="powertools-idempotency",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    persistence = DynamoDBPersistenceLayer(table_name="powertools-idempotency", boto3_client=client)
    settings = IdempotencyConfig(event_key_jmespath="messageId")
    context = LambdaContext(timeout_seconds=900)
    settings.register_lambda_context(context)

    def work(record: Any) -> dict[str, Any]:
        return {"done": record["body"] if isinstance(record, dict) else record.body}

    tight_handler = idempotent(lambda **kwargs: work(kwargs["record"]))

    @idempotent_function(
        data_keyword_argument="record", persistence_store=persistence, config=settings
    )
    def powertools_handler(record: dict[str, Any]) -> dict[str, Any]:
        return work(record)

    runs = {
        "bare": lambda raw: work(SQSMessage(raw)),
        "tight": lambda raw: tight_handler(record=SQSMessage(raw), context=context),
        "powertools": lambda raw: powertools_handler(record=raw),
    }
    results: dict[str, float] = {}
    for name, run in runs.items():
        first: list[float] = []
        repeat: list[float] = []
        for index in range(rounds + 10):
            [raw] = events.sqs([{"order": uuid.uuid4().hex}])["Records"]
            started = time.perf_counter()
            one = run(raw)
            middle = time.perf_counter()
            two = run(raw)
            ended = time.perf_counter()
            assert one == two, (name, one, two)
            if index >= 10:  # warm-up calls are not counted
                first.append(middle - started)
                repeat.append(ended - middle)
        results[f"{name} first"] = median_ms(first)
        results[f"{name} repeat"] = median_ms(repeat)
    return results


def import_ms(rounds: int) -> dict[str, float]:
    found = {}
    for name, statement in IMPORTS.items():
        code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
        command = [sys.executable, "-c", code]
        samples = [
            float(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
            for _ in range(rounds)
        ]
        found[name] = median_ms(samples)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls")
    quick = parser.parse_args().quick
    rounds, imports = (40, 3) if quick else (200, 9)
    from tight.testing.servers import moto_server

    with moto_server() as endpoint:
        times = calls(endpoint, rounds)
    cold = import_ms(imports)
    print(f"an idempotent SQS record handler on moto, median of {rounds} keys (ms)")
    for name, value in times.items():
        print(f"  {name:<18} {value:7.3f}")
    first = times["tight first"] / times["powertools first"]
    repeat = times["tight repeat"] / times["powertools repeat"]
    print(f"tight / powertools: first call {first:.2f}x, repeated call {repeat:.2f}x")
    print(f"cold import of the idempotency code, median of {imports} interpreters (ms)")
    for name, value in cold.items():
        print(f"  {name:<18} {value:7.1f}")
    ratio = cold["tight"] / cold["powertools"]
    print(f"tight / powertools: import {ratio:.2f}x")
    out = HERE.parent / "results"
    out.mkdir(exist_ok=True)
    ratios = {"first": first, "repeat": repeat, "import": ratio}
    results = {"calls_ms": times, "import_ms": cold, "ratios": ratios}
    (out / "idempotency.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
