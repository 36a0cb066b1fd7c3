"""Issue 23: ``@idempotent`` against real local DynamoDB servers on 127.0.0.1, moto's and
dynalite: racing threads run a key once, a timed-out claim frees its key, a reused key with
another payload is refused, a failing handler stores nothing, and an SQS batch with a
poisoned and a duplicate message processes each body exactly once across the retries."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from events import make_event

from tight.batch import RecordController
from tight.errors import Conflict, UnprocessableEntity
from tight.idempotency import IdempotencyRecord, KeyReused, StillRunning, idempotent
from tight.models import ItemNotFound
from tight.providers.aws.clients import boto3_client, dynamo_db
from tight.providers.aws.controllers import sqs
from tight.providers.aws.controllers.lambda_proxy_event import Controller
from tight.testing import events
from tight.testing.events import LambdaContext
from tight.testing.servers import free_port, moto_server, wait_for_port

CACHE = Path(__file__).resolve().parent.parent / ".cache"


def dynalite_server(folder: Path):
    """dynalite (in memory) on 127.0.0.1, installed offline from make test's npm cache."""
    from contextlib import contextmanager

    @contextmanager
    def run():
        offline = dict(os.environ, npm_config_cache=str(CACHE / "npm"), npm_config_offline="true")
        subprocess.run(
            ["npm", "install", "--prefix", str(folder), "--no-audit", "--no-fund", "--silent",
             "dynalite@4"], env=offline, check=True, capture_output=True,
        )  # fmt: skip
        port = free_port()
        cli = folder / "node_modules/dynalite/cli.js"
        server = subprocess.Popen(
            ["node", str(cli), "--host", "127.0.0.1", "--port", str(port), "--createTableMs", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_for_port(port)
            yield f"http://127.0.0.1:{port}"
        finally:
            server.terminate()
            server.wait(10)

    return run()


@pytest.fixture(scope="module", params=["moto", "dynalite"])
def store(request, tmp_path_factory):
    if request.param == "dynalite" and not (shutil.which("node") and (CACHE / "npm").is_dir()):
        pytest.skip("dynalite needs node and the npm cache `make test` fills")
    server = (
        moto_server()
        if request.param == "moto"
        else dynalite_server(tmp_path_factory.mktemp("dynalite"))
    )
    with pytest.MonkeyPatch.context() as patch, server as endpoint:
        for name, value in {
            "TIGHT_DYNAMO_ENDPOINT": endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "TIGHT_APP": "shop",
            "TIGHT_STAGE": "test",
        }.items():
            patch.setenv(name, value)
        boto3_client.reset()
        dynamo_db.reset()
        assert IdempotencyRecord.table_name() == "shop-test-idempotency"
        assert IdempotencyRecord.create_table() is True
        yield request.param
    boto3_client.reset()
    dynamo_db.reset()


def stored(record_id_part: str) -> list[dict]:
    items = IdempotencyRecord._table().scan(ConsistentRead=True)["Items"]
    return [item for item in items if record_id_part in item["id"]]


# -- HTTP ----------------------------------------------------------------------------------------


def http_app(handler, **options):
    controller = Controller("tests.idempotent")
    controller.register("POST", idempotent(**options)(handler) if options else idempotent(handler))
    return controller


def post(controller, key: str | None, body, context=None, principal=None):
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    event = make_event("rest", "POST", "/orders", body=body, headers=headers)
    if principal:
        event["requestContext"]["authorizer"] = {"principalId": principal}
    if isinstance(body, str):
        event["body"] = body
    return controller.dispatch(event, context or LambdaContext())


def test_a_repeated_key_gets_the_first_answer_and_the_handler_runs_once(store):
    calls = []

    def create_order(**kwargs):
        calls.append(kwargs["event"]["body"])
        return {"statusCode": 201, "body": {"order": len(calls)}, "headers": {"X-Order": "1"}}

    app, key = http_app(create_order), str(uuid.uuid4())
    first = post(app, key, '{"sku": "tea", "qty": 2}')
    assert first["statusCode"] == 201 and json.loads(first["body"]) == {"order": 1}
    # The same payload parsed: key order and spacing do not count.
    again = post(app, key, '{ "qty": 2,\n "sku": "tea" }')
    assert again["statusCode"] == 201 and json.loads(again["body"]) == {"order": 1}
    assert again["headers"]["Idempotent-Replayed"] == "true" and again["headers"]["X-Order"] == "1"
    assert calls == [{"sku": "tea", "qty": 2}]
    # Another key is another operation; another caller with the same key is too.
    assert json.loads(post(app, str(uuid.uuid4()), {"sku": "tea"})["body"]) == {"order": 2}
    assert json.loads(post(app, key, '{"sku": "tea", "qty": 2}', principal="bob")["body"]) == {
        "order": 3
    }
    # Nobody reads bob's answer by putting his name into a key.
    forged = post(app, f"bob#{key}", '{"sku": "tea", "qty": 2}')
    assert json.loads(forged["body"]) == {"order": 4} and len(calls) == 4
    [record] = [r for r in stored(key) if "bob" not in r["id"]]
    assert record["status"] == "COMPLETED" and "until" not in record
    assert record["expires"] > time.time() + 23 * 3600  # kept a day by default


def test_a_key_reused_with_another_payload_is_a_422(store):
    calls = []
    app, key = http_app(lambda **kw: calls.append(1) or {"statusCode": 201}), str(uuid.uuid4())
    assert post(app, key, {"sku": "tea"})["statusCode"] == 201
    reused = post(app, key, {"sku": "coffee"})
    assert reused["statusCode"] == 422
    assert "used with another payload" in json.loads(reused["body"])["message"]
    assert isinstance(KeyReused(), UnprocessableEntity) and calls == [1]


def test_a_request_without_a_key_is_refused_and_nothing_is_stored(store):
    calls = []
    app = http_app(lambda **kw: calls.append(1))
    before = len(stored("tests.test_idempotency"))
    for key in (None, "  "):
        refused = post(app, key, {"sku": "tea"})
        assert refused["statusCode"] == 400
        assert "needs an Idempotency-Key header" in json.loads(refused["body"])["message"]
    assert calls == [] and len(stored("tests.test_idempotency")) == before


def test_a_failing_handler_stores_nothing_and_the_retry_runs(store):
    attempts = []

    def flaky(**kwargs):
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("the payment service is down")
        if len(attempts) == 2:
            return {"statusCode": 503, "body": "try later"}
        return {"statusCode": 201, "body": {"paid": True}}

    app, key = http_app(flaky), str(uuid.uuid4())
    assert post(app, key, {"amount": 5})["statusCode"] == 500
    assert stored(key) == []  # released: nothing kept for a failure
    assert post(app, key, {"amount": 5})["statusCode"] == 503  # a 5xx answer is a failure too
    assert stored(key) == []
    assert post(app, key, {"amount": 5})["statusCode"] == 201
    replay = post(app, key, {"amount": 5})
    assert replay["statusCode"] == 201 and json.loads(replay["body"]) == {"paid": True}
    assert len(attempts) == 3


def test_a_duplicate_while_the_first_runs_is_a_409_and_a_timed_out_claim_frees_the_key(store):
    started, finish, calls = threading.Event(), threading.Event(), []

    def slow(**kwargs):
        calls.append(kwargs["context"])
        number = len(calls)
        if number == 1:  # the first call hangs until the test lets it go
            started.set()
            finish.wait(10)
        return {"statusCode": 201, "body": {"call": number}}

    app, key = http_app(slow), str(uuid.uuid4())
    first_context = LambdaContext(timeout_seconds=0.8)
    answers: list[dict] = []
    first = threading.Thread(target=lambda: answers.append(post(app, key, {"a": 1}, first_context)))
    first.start()
    assert started.wait(10)
    busy = post(app, key, {"a": 1})
    assert busy["statusCode"] == 409 and 1 <= int(busy["headers"]["Retry-After"]) <= 2
    assert isinstance(StillRunning(), Conflict)
    # The first call's time runs out (Lambda would have stopped it): its claim ends with it.
    time.sleep(max(0, first_context.get_remaining_time_in_millis() / 1000) + 0.1)
    second = post(app, key, {"a": 1})
    assert second["statusCode"] == 201 and len(calls) == 2
    assert json.loads(second["body"]) == {"call": 2}
    finish.set()
    first.join(10)
    assert json.loads(answers[0]["body"]) == {"call": 1}
    # The late first call finished after its claim ran out: the second call's result stands.
    third = post(app, key, {"a": 1})
    assert third["body"] == second["body"] and third["headers"]["Idempotent-Replayed"] == "true"


def test_racing_threads_on_one_key_run_the_handler_once(store):
    calls, gate = [], threading.Barrier(8)

    def charge(**kwargs):
        calls.append(1)
        time.sleep(0.3)  # the others arrive while this one runs
        return {"statusCode": 201, "body": {"charged": 1}}

    app, key = http_app(charge), str(uuid.uuid4())
    statuses: list[int] = []

    def racer() -> None:
        gate.wait(10)
        statuses.append(post(app, key, {"amount": 10})["statusCode"])

    threads = [threading.Thread(target=racer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(calls) == 1
    assert sorted(Counter(statuses)) in ([201, 409], [201])  # the rest: busy, or its answer
    assert statuses.count(201) + statuses.count(409) == 8
    assert post(app, key, {"amount": 10})["statusCode"] == 201 and len(calls) == 1


# -- records -------------------------------------------------------------------------------------


def test_an_sqs_batch_with_a_poisoned_and_a_duplicate_message_processes_each_body_once(store):
    processed, attempts = [], Counter()

    def on_message(**kwargs):
        body = kwargs["record"].body
        attempts[body] += 1
        if body.startswith("poison") and attempts[body] < 3:
            raise ValueError("cannot parse it yet")  # fails its first two deliveries
        processed.append(body)
        return {"done": body}

    wrapped = idempotent(on_message)
    controller = RecordController(sqs.SOURCE, wrapped, "tests.idempotent_sqs")
    tag = uuid.uuid4().hex
    good, poison = events.sqs([f"order {tag}", f"poison {tag}"])["Records"]

    def deliver(*records: dict) -> list[str]:
        answer = controller.dispatch({"Records": list(records)}, LambdaContext())
        return [failure["itemIdentifier"] for failure in answer["batchItemFailures"]]

    # The first delivery carries the good message twice (SQS delivers at least once).
    assert deliver(good, poison, good) == [poison["messageId"]]
    assert deliver(poison, good) == [poison["messageId"]]  # the retry, and a late duplicate
    assert deliver(poison) == []
    assert deliver(good, poison) == []  # duplicates of both, after both are done
    assert processed == [f"order {tag}", f"poison {tag}"]
    assert attempts == {f"order {tag}": 1, f"poison {tag}": 3}
    # The stored result comes back for a duplicate, without running the handler.
    assert wrapped(record=sqs.SQSMessage(good), event={}, context=None) == {"done": f"order {tag}"}
    assert attempts[f"order {tag}"] == 1


def test_a_record_key_function_and_a_record_reusing_a_key_with_another_body(store):
    seen = []
    handler = idempotent(key=lambda record: record.json()["order"])(
        lambda **kwargs: seen.append(kwargs["record"].json())
    )
    order = uuid.uuid4().hex
    first, same, other = events.sqs(
        [{"order": order, "qty": 1}, {"qty": 1, "order": order}, {"order": order, "qty": 9}]
    )["Records"]
    handler(record=sqs.SQSMessage(first))
    handler(record=sqs.SQSMessage(same))  # another message id, the same order and payload
    with pytest.raises(KeyReused):
        handler(record=sqs.SQSMessage(other))
    assert seen == [{"order": order, "qty": 1}]


def test_a_claim_past_its_expiry_lets_the_next_call_run(store):
    """A simulated timeout: the in-progress record of a call Lambda stopped, past its time."""
    from tight.idempotency import payload_hash

    runs = []
    handler = idempotent(lambda **kwargs: runs.append(1) or "ok")
    [message] = events.sqs([f"late {uuid.uuid4().hex}"])["Records"]
    record = sqs.SQSMessage(message)
    scope = f"{handler.__module__}.{handler.__qualname__}"
    now = int(time.time() * 1000)
    abandoned = IdempotencyRecord(
        id=f"{scope}#{message['messageId']}",
        status="IN_PROGRESS",
        payload=payload_hash(message["body"]),
        owner="stopped-call",
        until=now - 1,
        expires=now // 1000 + 600,
    ).save()
    assert handler(record=record, context=LambdaContext()) == "ok" and runs == [1]
    assert IdempotencyRecord.get(abandoned.id, consistent=True).status == "COMPLETED"
    assert handler(record=record, context=LambdaContext()) == "ok" and runs == [1]


def test_idempotent_below_the_controller_decorator_only():
    def handler(**kwargs):
        return None

    controller_module = type(os)("tests.fake_handler")
    handler.__module__ = controller_module.__name__
    import sys

    sys.modules[controller_module.__name__] = controller_module
    try:
        vars(controller_module)["__tight_record_controller__"] = RecordController(
            sqs.SOURCE, handler, controller_module.__name__
        )
        with pytest.raises(TypeError, match="put @idempotent below"):
            idempotent(handler)
    finally:
        del sys.modules[controller_module.__name__]
    with pytest.raises(ValueError, match="whole number of seconds"):
        idempotent(expires=0)


def test_a_released_record_is_gone_not_left_behind(store):
    def broken(**kwargs):
        raise RuntimeError("no")

    handler = idempotent(broken)
    [message] = events.sqs(["x"])["Records"]
    with pytest.raises(RuntimeError):
        handler(record=sqs.SQSMessage(message), context=LambdaContext())
    scope = f"{handler.__module__}.{handler.__qualname__}"
    with pytest.raises(ItemNotFound):
        IdempotencyRecord.get(f"{scope}#{message['messageId']}", consistent=True)


def test_a_result_is_kept_for_expires_seconds_then_the_key_runs_again(store):
    from tight.idempotency import payload_hash

    runs = []
    handler = idempotent(expires=60)(lambda **kwargs: runs.append(1) or len(runs))
    [message] = events.sqs(["kept"])["Records"]
    record = sqs.SQSMessage(message)
    assert handler(record=record) == 1 and handler(record=record) == 1
    scope = f"{handler.__module__}.{handler.__qualname__}"
    kept = IdempotencyRecord.get(f"{scope}#{message['messageId']}", consistent=True)
    assert time.time() + 55 < kept.expires <= time.time() + 61
    # Past its time (DynamoDB's TTL removes items late, or never on dynalite): not replayed.
    IdempotencyRecord(
        id=kept.id, status="COMPLETED", payload=payload_hash("kept"), result="1",
        expires=int(time.time()) - 1,
    ).save()  # fmt: skip
    assert handler(record=record) == 2 and runs == [1, 1]


def test_a_result_too_large_to_keep_still_marks_its_key_done(store):
    runs = []
    big = "x" * 400_000  # over what one DynamoDB item holds

    def export(**kwargs):
        runs.append(1)
        return big

    app, key = http_app(export), str(uuid.uuid4())
    assert post(app, key, {"all": True})["body"] == big
    again = post(app, key, {"all": True})
    assert (
        again["statusCode"] == 409 and "too large to keep" in json.loads(again["body"])["message"]
    )
    handler = idempotent(export)
    [message] = events.sqs(["export"])["Records"]
    assert handler(record=sqs.SQSMessage(message)) == big
    assert handler(record=sqs.SQSMessage(message)) is None  # done: not failed, not run again
    assert len(runs) == 2
