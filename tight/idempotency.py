"""Exactly-once effects for retried records and requests: ``@idempotent``.

    @sqs.record
    @idempotent                          # key: the record's messageId / eventID
    def on_order(record, **kwargs): ...

    @lambda_proxy.post
    @idempotent(expires=3600)            # key: the request's Idempotency-Key header
    def create_order(request, **kwargs): ...

Place it below the controller's decorator: it wraps the handler (the one decorator of
Tight that does), and the controller registers the wrapper. A call with a key seen before
gets the first call's stored result and the handler is not run again; the same key with
another payload is refused (``KeyReused``, a 422); a duplicate that arrives while the first
call still runs is refused too (``StillRunning``, a 409, so a record fails and is retried).
A request without a key is a 400, never run unprotected.

Each key has one item in the model-backed table ``<app>-<stage>-idempotency``
(``IdempotencyRecord``; ``doit schema``, ``doit template`` and ``doit dynamo_start`` create
it), claimed with a conditional put so that of racing calls exactly one runs. The claim
lasts the invocation's remaining time (``context.get_remaining_time_in_millis()``), so a call
that timed out does not hold its key for ever; a result is kept ``expires`` seconds (a day by
default), after which DynamoDB's TTL removes it. A handler that raises stores nothing: its
claim is deleted, and the next delivery runs it again. The payload compared is the parsed
body (canonical JSON: key order and spacing do not matter), with the path and query of a
request; keys are scoped to the handler and to the caller (the authorizer's principal), so
one caller never gets another's stored answer.
"""

import hashlib
import json
import time
import uuid

from tight.errors import BadRequest, Conflict, UnprocessableEntity
from tight.models import TTL, ConditionFailed, ItemNotFound, Model, Number, String
from tight.serving import require_plain_function

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Handler = Callable[..., Any]
else:
    Any = Handler = object

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
DEFAULT_EXPIRES = 24 * 3600  # seconds a result is kept
NO_CONTEXT_CLAIM = 900  # seconds a claim lasts without a Lambda context: Lambda's longest run
MAX_KEY = 255  # characters of a client's key; longer keys of a key function are hashed
MAX_RESULT = 350_000  # bytes of a stored result: a DynamoDB item holds at most 400 KB
IN_PROGRESS = "IN_PROGRESS"
COMPLETED = "COMPLETED"
CLAIM_ATTEMPTS = 5
NOT_RETURNED = object()  # a refused claim whose server did not hand back the record


class IdempotencyRecord(Model):
    """One key's record: claimed by a running call, or completed with its result."""

    hash_key = "id"
    id = String()  # <handler>#<key> for a record, <handler>#<caller>#<key> for a request
    status = String(required=True)  # IN_PROGRESS or COMPLETED
    payload = String(required=True)  # sha256 of the canonical payload
    owner = String()  # the claiming call's token: only it completes or releases the claim
    until = Number()  # epoch milliseconds: a claim after this is abandoned (a timeout)
    result = String()  # the stored result as JSON; absent when too large to keep
    expires = TTL(required=True)  # epoch seconds: DynamoDB's TTL removes the record after
    ttl = "expires"

    @classmethod
    def model_name(cls) -> str:
        return "idempotency"


class KeyReused(UnprocessableEntity):
    """The key was used before with another payload (a 422): a new operation needs a new key."""


class StillRunning(Conflict):
    """A call with this key is still running (a 409): retry once it is done."""


def idempotent(
    handler: "Handler | None" = None,
    *,
    key: "Callable[[Any], Any] | None" = None,
    expires: int = DEFAULT_EXPIRES,
    header: str = HEADER,
) -> Any:
    """Make a record or HTTP handler run once per key (the module docstring has the rules).

    ``key``: a function of the record (or of the request) giving the key, instead of the
    record's id (or the ``header`` of the request); ``expires``: seconds a result is kept.
    """
    if not isinstance(expires, int) or isinstance(expires, bool) or expires < 1:
        raise ValueError(
            f"@idempotent(expires=...) takes a whole number of seconds, not {expires!r}"
        )
    if key is not None and not callable(key):
        raise TypeError(
            f"@idempotent(key=...) takes a function of the record or request, not {key!r}"
        )

    def decorate(function: "Handler") -> "Handler":
        return _wrap(function, key, expires, header)

    return decorate if handler is None else decorate(handler)


def _wrap(function: "Handler", key: Any, expires: int, header: str) -> "Handler":
    if not callable(function) or not hasattr(function, "__qualname__"):
        raise TypeError(f"@idempotent decorates a function, not {function!r}")
    require_plain_function(function, "idempotent")
    _refuse_registered(function)
    import functools

    scope = f"{function.__module__}.{function.__qualname__}"

    @functools.wraps(function)
    def once(*args: Any, **kwargs: Any) -> Any:
        if "record" in kwargs:
            record = kwargs["record"]
            given = key(record) if key else _record_key(record)
            if given is None or given == "":
                raise ValueError(
                    f"@idempotent on {function.__qualname__}: the record has no key "
                    "(no messageId or eventID); pass key=<a function of the record>"
                )
            text = str(given)
            if len(text) > MAX_KEY:
                text = hashlib.sha256(text.encode()).hexdigest()
            payload = _record_payload(record)
            return _run(function, args, kwargs, f"{scope}#{text}", payload, expires, False)
        request = kwargs.get("request")
        if request is None:
            raise TypeError(
                f"@idempotent on {function.__qualname__}: called without a record or a request; "
                "it serves handlers of @<source>.record and @lambda_proxy.<method>"
            )
        given = key(request) if key else request.headers.get(header)
        if given is None or str(given).strip() == "":
            raise BadRequest(
                f"this request needs an {header} header: a unique value (a UUID) per "
                "operation, sent again unchanged when the request is retried"
                if key is None
                else "this request carries no idempotency key"
            )
        text = str(given).strip()
        if len(text) > MAX_KEY:
            raise BadRequest(f"the {header} header is over {MAX_KEY} characters; send a UUID")
        # The caller, quoted so that no '#' in it or in a key can make two ids one.
        from urllib.parse import quote

        caller = quote(str(kwargs.get("principal_id") or ""), safe="")
        where = f"{scope}#{caller}#{text}"
        event = kwargs.get("event")
        body = event.get("body") if isinstance(event, dict) else None
        payload = {"path": request.path, "query": request.query_multi, "body": body}
        return _run(function, args, kwargs, where, payload, expires, True)

    return once


def _refuse_registered(function: "Handler") -> None:
    """A handler a controller registered already would be called without the check."""
    import sys

    from tight.batch import controller_of

    module = sys.modules.get(function.__module__)
    record = controller_of(module) if module is not None else None
    registered = record is not None and record.handler is function
    proxy = sys.modules.get("tight.providers.aws.controllers.lambda_proxy_event")
    http = proxy.controller_for(function.__module__) if proxy is not None else None
    registered = registered or (http is not None and function in http.handlers.values())
    if registered:
        raise TypeError(
            f"@idempotent is above the controller's decorator on {function.__qualname__}, so "
            "the controller would call the handler without it; put @idempotent below "
            "@<source>.record or @lambda_proxy.<method>"
        )


def _record_key(record: Any) -> Any:
    """The id its source gives a record: messageId (SQS), eventID (Kinesis, DynamoDB
    streams), the SNS message id, the EventBridge event id, else the record's own id."""
    raw = getattr(record, "raw", record)
    if isinstance(raw, dict):
        for name in ("messageId", "eventID"):
            if raw.get(name):
                return raw[name]
        sns = raw.get("Sns")
        if isinstance(sns, dict) and sns.get("MessageId"):
            return sns["MessageId"]
        if raw.get("id") and "detail-type" in raw:
            return raw["id"]
    return getattr(record, "item_id", None)


def _record_payload(record: Any) -> Any:
    """What a record carries, without what changes between deliveries of it (receipt
    handles, receive counts): the parsed body of a message, the object of an S3 event."""
    raw = getattr(record, "raw", record)
    if not isinstance(raw, dict):
        return raw
    if "body" in raw:  # SQS
        return _parsed(raw.get("body"))
    sns = raw.get("Sns")
    if isinstance(sns, dict):
        return {"subject": sns.get("Subject"), "message": _parsed(sns.get("Message"))}
    kinesis = raw.get("kinesis")
    if isinstance(kinesis, dict):
        return {"partition": kinesis.get("partitionKey"), "data": kinesis.get("data")}
    change = raw.get("dynamodb")
    if isinstance(change, dict):
        images = ("Keys", "NewImage", "OldImage")
        return {"event": raw.get("eventName"), **{k: change.get(k) for k in images}}
    s3 = raw.get("s3")
    if isinstance(s3, dict):
        return {
            "event": raw.get("eventName"),
            "bucket": s3.get("bucket"),
            "object": s3.get("object"),
        }
    if "detail-type" in raw:  # EventBridge
        return {k: raw.get(k) for k in ("source", "detail-type", "detail", "resources")}
    return raw


def _parsed(text: Any) -> Any:
    """JSON text as its value (so spacing and key order do not count), other text as is."""
    if isinstance(text, str):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def payload_hash(payload: Any) -> str:
    """sha256 of the payload as canonical JSON: sorted keys, no spacing, Decimal as number."""
    from tight.response import json_default

    text = json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=json_default
    )
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _claim_until(kwargs: "dict[str, Any]", now_ms: int) -> int:
    remaining = getattr(kwargs.get("context"), "get_remaining_time_in_millis", None)
    left = remaining() if callable(remaining) else None
    if not isinstance(left, (int, float)) or isinstance(left, bool):
        left = NO_CONTEXT_CLAIM * 1000
    return now_ms + max(0, int(left))


def _run(
    function: "Handler",
    args: "tuple[Any, ...]",
    kwargs: "dict[str, Any]",
    record_id: str,
    payload: Any,
    expires: int,
    http: bool,
) -> Any:
    digest = payload_hash(payload)
    token = uuid.uuid4().hex
    for _ in range(CLAIM_ATTEMPTS):
        now_ms = int(time.time() * 1000)
        until = _claim_until(kwargs, now_ms)
        found = _claim(record_id, digest, token, until, now_ms)
        if found is None:
            break
        if found is NOT_RETURNED:
            try:
                found = IdempotencyRecord.get(record_id, consistent=True)
            except ItemNotFound:  # released between our put and our read: claim it again
                continue
        return _answer_from(found, digest, http, now_ms)
    else:
        raise StillRunning(
            "the idempotency key is being claimed and released by other calls; retry"
        )
    try:
        result = function(*args, **kwargs)
        stored = _stored_result(result, http)
    except BaseException:
        _release(record_id, token)
        raise
    if http and stored is not None and json.loads(stored)["statusCode"] >= 500:
        _release(record_id, token)  # a server error is a failure: the next try runs again
        return result
    _complete(record_id, token, stored, expires)
    return result


def _claim(record_id: str, digest: str, token: str, until: int, now_ms: int) -> Any:
    """Put the in-progress record if the key is free: never seen, expired, or claimed by a
    call whose time ran out. None when this call holds the key; else the record holding it
    (as DynamoDB hands it back with the refusal: one request, not two), or NOT_RETURNED
    where the server does not hand it back (dynalite)."""
    from tight.models.errors import _dynamo

    claim = IdempotencyRecord(
        id=record_id,
        status=IN_PROGRESS,
        payload=digest,
        owner=token,
        until=until,
        expires=-(-until // 1000),  # whole seconds, never before the claim ends
    )
    try:
        _dynamo(
            f"claiming the idempotency key {record_id}",
            IdempotencyRecord._table().put_item,
            Item=claim.to_item(),
            ConditionExpression=(
                "attribute_not_exists(#id) OR #expires < :now OR "
                "(#status = :running AND #until < :now_ms)"
            ),
            ExpressionAttributeNames={
                "#id": "id", "#expires": "expires", "#status": "status", "#until": "until",
            },
            ExpressionAttributeValues={
                ":now": now_ms // 1000, ":now_ms": now_ms, ":running": IN_PROGRESS,
            },
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )  # fmt: skip
    except ConditionFailed as refused:
        stored = getattr(refused.__cause__, "response", {}).get("Item")
        if not stored:
            return NOT_RETURNED
        from boto3.dynamodb.types import TypeDeserializer

        plain = TypeDeserializer().deserialize({"M": stored})
        return IdempotencyRecord.from_item(plain)
    return None


def _answer_from(found: Any, digest: str, http: bool, now_ms: int) -> Any:
    """What a call gets when its key is taken: the stored result, or a refusal."""
    if found.payload != digest:
        raise KeyReused(
            "this idempotency key was used with another payload; send a new key for a new "
            "operation, or the first payload again to get its result"
        )
    if found.status != COMPLETED:
        wait = max(1, -(-(int(found.until or now_ms) - now_ms) // 1000))
        raise StillRunning(
            "a call with this idempotency key is still running; retry once it is done",
            headers={"Retry-After": str(min(wait, NO_CONTEXT_CLAIM))},
        )
    if found.result is None:
        if not http:  # a record is done either way: failing it would only retry it for ever
            return None
        raise Conflict(
            "this idempotency key's operation is done; its response was too large to keep"
        )
    value = json.loads(found.result)
    if http:
        headers = dict(value.get("headers") or {})
        headers[REPLAYED_HEADER] = "true"
        value["headers"] = headers
    return value


def _stored_result(result: Any, http: bool) -> "str | None":
    """The result as JSON to store: a response as the HTTP controller would send it, or a
    record handler's return value (one JSON cannot hold is stored as null)."""
    from tight.response import build, encode_json

    if http:
        from tight.request import REST

        value = build(result, REST, {})
    else:
        try:
            encode_json(result)
            value = result
        except (TypeError, ValueError, RecursionError):
            value = None
    text = encode_json(value)
    return text if len(text.encode("utf-8", "surrogatepass")) <= MAX_RESULT else None


def _complete(record_id: str, token: str, stored: "str | None", expires: int) -> None:
    """Mark the key done with its result, if this call still holds it."""
    from tight.models.errors import _dynamo

    values: dict[str, Any] = {
        ":done": COMPLETED,
        ":expires": int(time.time()) + expires,
        ":owner": token,
    }
    names = {"#status": "status", "#expires": "expires", "#until": "until", "#owner": "owner"}
    changes = "SET #status = :done, #expires = :expires"
    if stored is not None:
        names["#result"], values[":result"] = "result", stored
        changes += ", #result = :result"
    try:
        _dynamo(
            f"storing the result of the idempotency key {record_id}",
            IdempotencyRecord._table().update_item,
            Key={"id": record_id},
            UpdateExpression=changes + " REMOVE #until",
            ConditionExpression="#owner = :owner",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    except ConditionFailed:
        # The claim ran out and another call took the key: that call's result stands.
        from tight.core import logger

        logger.warn(
            message="an idempotent call finished after its claim ran out; its result is not kept",
            idempotency_record=record_id,
        )


def _release(record_id: str, token: str) -> None:
    """Delete this call's claim so that the next delivery runs the handler again."""
    from boto3.dynamodb.conditions import Attr

    try:
        IdempotencyRecord(id=record_id).delete(condition=Attr("owner").eq(token))
    except ConditionFailed:
        pass  # no longer ours: another call took the key after our claim ran out
    except Exception:  # noqa: BLE001 - the handler's own error is the one to raise
        from tight.core import logger

        logger.exception(
            message="could not release an idempotency claim; it frees itself when it runs out",
            idempotency_record=record_id,
        )
