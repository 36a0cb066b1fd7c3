"""The local moto DynamoDB's data kept across ``doit dynamo_stop`` and the next start.

moto's server holds everything in memory and (as of moto 5) has no snapshot of its own,
so ``stop`` reads every table through the DynamoDB API before it stops the server (its
keys, attribute definitions, indexes, stream, billing, TTL setting and every item) and
writes them to ``.tight/dynamo/moto-data.json``, whole or not at all (``write_atomic``: a
crash or a kill during ``stop`` leaves the previous file as it was). ``start`` creates the
tables again and puts the items back before anything else talks to the server.

The calls are plain JSON over HTTP, in DynamoDB's wire format: items are stored exactly as
the server answered them (binary values stay base64), and no SDK is loaded to do it.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tight_tasks.errors import TightTaskError

DATA_FILE = "moto-data.json"
FORMAT = 1
BATCH = 25  # BatchWriteItem's limit
_AUTH = (
    "AWS4-HMAC-SHA256 Credential=local/20200101/us-east-1/dynamodb/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=local"
)


class ServerError(Exception):
    """The local server refused a call or did not answer."""


def call(endpoint: str, operation: str, body: dict[str, Any]) -> dict[str, Any]:
    """One DynamoDB API call to the local server, its JSON answer."""
    request = urllib.request.Request(
        endpoint,
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": f"DynamoDB_20120810.{operation}",
            "X-Amz-Date": "20200101T000000Z",
            "Authorization": _AUTH,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return dict(json.loads(response.read() or b"{}"))
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace")[:300]
        raise ServerError(f"{operation}: HTTP {error.code} {detail}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise ServerError(f"{operation}: {error}") from None


def data_path(folder: Path) -> Path:
    return folder / DATA_FILE


# -- save ---------------------------------------------------------------------------------------
def _pages(endpoint: str, operation: str, body: dict[str, Any], key: str, cursor: str) -> list[Any]:
    """Every page of a paginated call, joined."""
    found: list[Any] = []
    body = dict(body)
    while True:
        answer = call(endpoint, operation, body)
        found.extend(answer.get(key, []))
        if not answer.get(cursor):
            return found
        body["ExclusiveStartKey" if cursor == "LastEvaluatedKey" else "ExclusiveStartTableName"] = (
            answer[cursor]
        )


def table_definition(description: dict[str, Any]) -> dict[str, Any]:
    """The CreateTable request that makes a table like the one ``DescribeTable`` described."""
    billing = (description.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")
    definition: dict[str, Any] = {
        "TableName": description["TableName"],
        "KeySchema": description["KeySchema"],
        "AttributeDefinitions": description["AttributeDefinitions"],
        "BillingMode": billing,
    }

    def throughput(described: dict[str, Any] | None) -> dict[str, int]:
        described = described or {}
        return {
            "ReadCapacityUnits": int(described.get("ReadCapacityUnits") or 1),
            "WriteCapacityUnits": int(described.get("WriteCapacityUnits") or 1),
        }

    if billing == "PROVISIONED":
        definition["ProvisionedThroughput"] = throughput(description.get("ProvisionedThroughput"))
    for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        indexes = []
        for index in description.get(kind) or []:
            kept = {k: index[k] for k in ("IndexName", "KeySchema", "Projection") if k in index}
            if kind == "GlobalSecondaryIndexes" and billing == "PROVISIONED":
                kept["ProvisionedThroughput"] = throughput(index.get("ProvisionedThroughput"))
            indexes.append(kept)
        if indexes:
            definition[kind] = indexes
    stream = description.get("StreamSpecification") or {}
    if stream.get("StreamEnabled"):
        definition["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": stream.get("StreamViewType", "NEW_AND_OLD_IMAGES"),
        }
    return definition


def snapshot(endpoint: str) -> dict[str, Any]:
    """Every table on the server: its definition, TTL setting and items."""
    tables = []
    for name in sorted(_pages(endpoint, "ListTables", {}, "TableNames", "LastEvaluatedTableName")):
        description = call(endpoint, "DescribeTable", {"TableName": name})["Table"]
        ttl = call(endpoint, "DescribeTimeToLive", {"TableName": name}).get(
            "TimeToLiveDescription", {}
        )
        items = _pages(endpoint, "Scan", {"TableName": name}, "Items", "LastEvaluatedKey")
        table: dict[str, Any] = {"definition": table_definition(description), "items": items}
        if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and ttl.get("AttributeName"):
            table["ttl"] = ttl["AttributeName"]
        tables.append(table)
    return {"format": FORMAT, "tables": tables}


def save(folder: Path, endpoint: str) -> str:
    """Write the server's tables and items to ``folder``, replacing the last save only once
    the new one is complete."""
    from tight_tasks.files import write_atomic

    try:
        data = snapshot(endpoint)
    except ServerError as error:
        return (
            f"could not read the tables to keep them ({error}); {DATA_FILE} keeps what the "
            "last stop saved"
        )
    text = json.dumps(data, separators=(",", ":"), sort_keys=True)
    write_atomic(data_path(folder), text + "\n")
    count = sum(len(table["items"]) for table in data["tables"])
    return f"kept {len(data['tables'])} table(s) and {count} item(s) in {DATA_FILE}"


# -- load ---------------------------------------------------------------------------------------
def read(folder: Path, shown: str) -> dict[str, Any] | None:
    """The saved data, or None when nothing was saved; a file that cannot be read is an
    error naming it and the two ways out (it is never half-written by Tight)."""
    path = data_path(folder)
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        data = {"problem": str(error)}
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        problem = data.get("problem") if isinstance(data, dict) else None
        raise TightTaskError(
            f"{shown}/{DATA_FILE} cannot be read ({problem or 'not data Tight saved'}); move it "
            "away to start empty, or run `doit dynamo_reset`, which removes it"
        )
    return data


def load(endpoint: str, data: dict[str, Any]) -> Callable[[], tuple[int, int]]:
    """Create the saved tables (those missing) with their TTL settings, then put their
    items back in a thread; returns the function that waits for it, ``(tables, items)``.

    ``start`` creates the models' tables meanwhile: moto does the writes while the toolkit
    loads the models, and a table saved here is already there for it to find."""
    existing = set(_pages(endpoint, "ListTables", {}, "TableNames", "LastEvaluatedTableName"))
    writes: list[tuple[str, list[Any]]] = []
    for table in data.get("tables", []):
        definition = table["definition"]
        name = definition["TableName"]
        if name in existing:
            continue  # a server that kept its own data: nothing to bring back
        call(endpoint, "CreateTable", definition)
        if table.get("ttl"):
            call(
                endpoint,
                "UpdateTimeToLive",
                {
                    "TableName": name,
                    "TimeToLiveSpecification": {"Enabled": True, "AttributeName": table["ttl"]},
                },
            )
        writes.append((name, list(table.get("items", []))))
    failure: list[ServerError] = []

    def put_items() -> None:
        try:
            for name, rows in writes:
                for start in range(0, len(rows), BATCH):
                    chunk = rows[start : start + BATCH]
                    pending: dict[str, Any] = {name: [{"PutRequest": {"Item": i}} for i in chunk]}
                    while pending:
                        answer = call(endpoint, "BatchWriteItem", {"RequestItems": pending})
                        pending = answer.get("UnprocessedItems") or {}
        except ServerError as error:
            failure.append(error)

    worker = threading.Thread(target=put_items, name="tight-dynamo-load", daemon=True)
    worker.start()

    def wait() -> tuple[int, int]:
        worker.join()
        if failure:
            raise failure[0]
        return len(writes), sum(len(rows) for _, rows in writes)

    return wait


def forget(folder: Path) -> bool:
    """Remove the saved data (``dynamo_reset``); True when there was some."""
    path = data_path(folder)
    existed = path.exists()
    path.unlink(missing_ok=True)
    return existed
