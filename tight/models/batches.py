"""Batches: many reads or writes to one table, 100 reads or 25 writes a request, what
DynamoDB leaves unprocessed retried with exponential backoff and jitter.

``Model.batch_get`` and ``Model.batch_write`` call these; this module is loaded on their
first call. When the attempts run out, ``Throttled`` (a 503) counts what is left undone.
"""

from tight.models.errors import Throttled, _dynamo
from tight.providers.aws.clients import dynamo_db

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

    from tight.models.model import Model
else:
    Any = object


def _backoff(attempt: int, base: float = 0.05, cap: float = 2.0) -> float:
    """Seconds to wait before retry ``attempt`` (0-based): exponential, half of it jitter."""
    import random

    ceiling = min(cap, base * 2**attempt)
    return float(ceiling / 2 + random.uniform(0, ceiling / 2))


def read_many(
    model: "type[Model]", keys: "Iterable[Any]", attempts: int, sleep: "Callable[[float], Any]"
) -> "list[Model]":
    """``Model.batch_get``: the items for many keys, each asked for once."""
    unique = {}  # DynamoDB refuses a request that asks for one key twice
    for k in keys:
        key = model.key(*k) if isinstance(k, tuple) else model.key(k)
        unique[tuple(sorted(key.items()))] = key
    wanted = list(unique.values())
    found: list[Model] = []
    resource = dynamo_db.connect().resource
    name = model.table_name()
    for start in range(0, len(wanted), 100):
        request: dict[str, Any] = {name: {"Keys": wanted[start : start + 100]}}
        for attempt in range(attempts):
            if attempt:
                sleep(_backoff(attempt - 1))
            response = _dynamo(
                f"reading many {model.__name__}",
                resource.batch_get_item,
                RequestItems=request,
            )
            found += [model.from_item(i) for i in response.get("Responses", {}).get(name, [])]
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
        else:
            left = len(request.get(name, {}).get("Keys", [])) + max(len(wanted) - start - 100, 0)
            raise _unfinished(f"{left} keys of {name} unread", attempts, left)
    return found


def write_many(
    model: "type[Model]",
    put: "Iterable[Model]",
    delete: "Iterable[Any]",
    attempts: int,
    sleep: "Callable[[float], Any]",
) -> None:
    """``Model.batch_write``: put and delete many items."""
    requests = [{"PutRequest": {"Item": item.to_item()}} for item in put]
    requests += [
        {"DeleteRequest": {"Key": model.key(*k) if isinstance(k, tuple) else model.key(k)}}
        for k in delete
    ]
    resource = dynamo_db.connect().resource
    name = model.table_name()
    for start in range(0, len(requests), 25):
        pending: dict[str, Any] = {name: requests[start : start + 25]}
        for attempt in range(attempts):
            if attempt:
                sleep(_backoff(attempt - 1))
            response = _dynamo(
                f"writing many {model.__name__}",
                resource.batch_write_item,
                RequestItems=pending,
            )
            pending = response.get("UnprocessedItems") or {}
            if not pending:
                break
        else:
            left = len(pending.get(name, [])) + max(len(requests) - start - 25, 0)
            raise _unfinished(f"{left} writes to {name} not done", attempts, left)


def _unfinished(what: str, attempts: int, left: int) -> Throttled:
    error = Throttled(
        f"DynamoDB left {what} after {attempts} attempts; retry later or raise the table's capacity"
    )
    error.unprocessed = left
    return error
