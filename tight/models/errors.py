"""The models' errors, and DynamoDB's errors raised as them.

Each is one of Tight's HTTP errors, so a handler that lets it through answers with its
status: ``ValidationError`` 400, ``ItemNotFound`` 404, ``ConditionFailed`` and
``TransactionConflict`` 409, ``Throttled`` 503. ``_dynamo`` makes a call to DynamoDB and
raises what it refuses as one of them, in Tight's words rather than botocore's.
"""

from tight.errors import BadRequest, Conflict, NotFound, ServiceUnavailable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any
else:
    Any = object

THROTTLED = (
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
)


class ValidationError(BadRequest):
    """A value does not fit its attribute; the message names the attribute."""

    reasons: list[dict[str, Any]] = []


class ItemNotFound(NotFound):
    """``Model.get`` found no item with that key."""


class ConditionFailed(Conflict):
    """A write's condition did not hold (the item exists, changed, or is missing).

    In a transaction, ``index`` is the position of the first action whose condition failed
    and ``reasons`` has one ``{"code", "message"}`` per action (code None where it was fine).
    """

    index: int | None = None
    reasons: list[dict[str, Any]] = []


class TransactionConflict(Conflict):
    """Another transaction changed an item of this one at the same time; retry."""

    reasons: list[dict[str, Any]] = []


class Throttled(ServiceUnavailable):
    """DynamoDB refused the work for lack of capacity; retry later (a 503).

    ``unprocessed`` counts what a batch left undone.
    """

    unprocessed = 0
    reasons: list[dict[str, Any]] = []


def _code(error: Any) -> str:
    return str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))


def _translated(error: Exception, what: str) -> Exception | None:
    """Tight's error for a DynamoDB error (its words, not botocore's), or None to re-raise."""
    code = _code(error)
    if code == "ConditionalCheckFailedException":
        return ConditionFailed(
            f"{what}: its condition did not hold (the item exists, changed since it was read, "
            "or is missing)"
        )
    if code == "TransactionCanceledException":
        return _cancelled(error)
    if code == "TransactionConflictException":
        return TransactionConflict(f"{what}: a transaction was changing the item; retry")
    if code in THROTTLED:
        return Throttled(f"{what}: DynamoDB is over its capacity; retry later")
    if code == "ValidationException":
        message = getattr(error, "response", {}).get("Error", {}).get("Message", "")
        return ValidationError(f"{what}: DynamoDB refused it: {message}")
    return None


def _cancelled(error: Exception) -> Exception | None:
    """One error for a cancelled transaction, chosen from its reasons (all in ``reasons``)."""
    raw = getattr(error, "response", {}).get("CancellationReasons") or []
    reasons = [
        {
            "code": None if r.get("Code") in (None, "None") else r.get("Code"),
            "message": r.get("Message"),
        }
        for r in raw
    ]

    def first(*codes: str) -> int | None:
        return next((i for i, r in enumerate(reasons) if r["code"] in codes), None)

    found: ConditionFailed | ValidationError | TransactionConflict | Throttled
    index = first("ConditionalCheckFailed")
    if index is not None:
        found = ConditionFailed(
            f"the transaction was cancelled: the condition of action {index} did not hold"
        )
        found.index = index
    elif (index := first("ValidationError")) is not None:
        found = ValidationError(
            f"the transaction was cancelled: DynamoDB refused action {index}: "
            f"{reasons[index]['message'] or 'invalid'}"
        )
    elif (index := first("TransactionConflict")) is not None:
        found = TransactionConflict(
            f"the transaction was cancelled: another transaction was changing the item of "
            f"action {index}; retry"
        )
    elif (index := first("ThrottlingError", "ProvisionedThroughputExceeded")) is not None:
        found = Throttled(
            f"the transaction was cancelled: DynamoDB is over its capacity (action {index}); "
            "retry later"
        )
    else:
        return None
    found.reasons = reasons
    return found


def _dynamo(what: str, call: "Callable[..., Any]", **options: Any) -> Any:
    """``call(**options)``, with DynamoDB's errors raised as Tight's."""
    try:
        return call(**options)
    except Exception as error:
        translated = _translated(error, what)
        if translated is None:
            raise
        raise translated from error
