"""Issue 11's model items against a real DynamoDB (moto's server) on 127.0.0.1: no write
makes an item unreadable, Tight's words for DynamoDB's errors, batch backoff, optimistic
locking, one client per connection."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

import boto3
import pytest
from boto3.dynamodb.conditions import Attr
from boto3.dynamodb.types import Binary as DynamoBinary
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from events import make_event
from test_models import Item, Reading, dynamo, tables  # noqa: F401 (fixtures)

from tight.errors import Conflict
from tight.models import (
    ConditionFailed,
    DateTime,
    Model,
    String,
    Throttled,
    TransactionConflict,
    ValidationError,
    Version,
)
from tight.providers.aws.clients import boto3_client, dynamo_db
from tight.providers.aws.controllers.lambda_proxy_event import Controller

pytestmark = pytest.mark.usefixtures("tables")


class Doc(Model):
    hash_key = "id"
    id = String()
    text = String()
    version = Version()


@pytest.fixture
def docs(request):
    request.getfixturevalue("tables")  # the app and stage first: they name the table
    assert Doc.create_table() is True
    yield
    dynamo_db.connect().client.delete_table(TableName=Doc.table_name())


def raw_item(model: type[Model], **key: object) -> dict:
    """The item exactly as DynamoDB stores it, read with a plain (typed) boto3 client."""
    connection = dynamo_db.connect()
    client = boto3.client(
        "dynamodb", endpoint_url=connection.endpoint, region_name=connection.region
    )
    typed_key = {name: TypeSerializer().serialize(value) for name, value in key.items()}
    return client.get_item(TableName=model.table_name(), Key=typed_key)["Item"]


def answer(handler) -> tuple[int, dict]:
    controller = Controller("tests.models_integrity")
    controller.register("GET", lambda **kw: handler())
    response = controller.dispatch(make_event("rest"), None)
    return response["statusCode"], json.loads(response["body"])


# -- 1. no write makes an item unreadable ---------------------------------------------------
def test_an_empty_set_in_update_removes_the_attribute_and_the_item_stays_readable():
    Item(id="1", name="pot", tags={"kitchen"}, sizes={1, 2}).save()
    item = Item.get("1")
    item.update(set={"tags": set(), "sizes": [], "name": "pan"})
    assert (item.tags, item.sizes, item.name) == (None, None, "pan")
    again = Item.get("1")  # raised TypeError for good when NULL was stored
    assert (again.tags, again.sizes, again.name) == (None, None, "pan")
    stored = raw_item(Item, id="1")
    assert "tags" not in stored and "sizes" not in stored
    assert not any("NULL" in value for value in stored.values())


def test_none_in_update_is_refused_naming_the_attribute_and_nothing_is_written():
    Item(id="2", name="pot", price=3).save()
    Reading(
        sensor="s", n=1, taken=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    ).save()
    with pytest.raises(ValidationError, match=r"price cannot be set to None.*remove=\['price'\]"):
        Item.get("2").update(set={"price": None})
    with pytest.raises(ValidationError, match="taken cannot be set to None"):
        Reading.get("s", 1).update(set={"taken": None})  # AttributeError before
    with pytest.raises(ValidationError, match="name is required and cannot be removed"):
        Item.get("2").update(set={"tags": set()}, remove=["name"])
    with pytest.raises(ValidationError, match="count: add needs a number"):
        Item.get("2").update(add={"count": None})
    assert Item.get("2").price == 3
    Reading.get("s", 1).update(remove=["kind"])  # an index key may go: the index is sparse
    assert Reading.get("s", 1).kind is None
    assert Reading.get("s", 1).taken.year == 2024
    with pytest.raises(ValidationError, match="taken must be a timezone-aware datetime"):
        DateTime(name="taken").to_dynamo(None)


def test_save_stores_no_null_for_none_or_empty_sets():
    Item(id="3", name="pot", price=None, tags=set(), sizes=()).save()
    stored = raw_item(Item, id="3")
    assert set(stored) == {"id", "name", "count", "details", "history"}
    assert Item.get("3").tags is None


def test_reads_accept_null_for_any_attribute_written_by_other_code():
    names = ["count", "price", "tags", "sizes", "details", "history", "expires"]
    table = dynamo_db.connect().table(Item.table_name())
    table.put_item(Item={"id": "4", **dict.fromkeys(names), "extra": "kept by others"})
    assert all("NULL" in raw_item(Item, id="4")[name] for name in names)
    item = Item.get("4")
    assert all(getattr(item, name) is None for name in names)
    reading = dynamo_db.connect().table(Reading.table_name())
    reading.put_item(Item={"sensor": "x", "n": 1, "taken": None, "kind": "t", "value": None})
    assert Reading.get("x", 1).taken is None
    reading.put_item(Item={"sensor": "x", "n": 2, "taken": "2024-05-01T10:00:00Z"})
    assert Reading.get("x", 2).taken == datetime.datetime(
        2024, 5, 1, 10, tzinfo=datetime.timezone.utc
    )


def test_from_item_builds_a_model_from_a_deserialized_stream_image():
    # The NewImage of a DynamoDB stream record, as AWS documents its shape.
    image = {
        "id": {"S": "9"},
        "name": {"S": "teapot"},
        "count": {"N": "3"},
        "price": {"N": "12.50"},
        "tags": {"SS": ["a", "b"]},
        "sizes": {"NS": ["1", "2.5"]},
        "details": {"M": {"w": {"N": "2"}, "raw": {"B": b"\x00\x01"}, "ns": {"NS": ["7"]}}},
        "history": {"L": [{"S": "made"}, {"NULL": True}, {"BOOL": True}]},
        "expires": {"NULL": True},
        "unknown": {"S": "ignored"},
    }
    plain = {k: TypeDeserializer().deserialize(v) for k, v in image.items()}
    assert isinstance(plain["details"]["raw"], DynamoBinary)
    item = Item.from_item(plain)
    assert item.to_dict() == {
        "id": "9",
        "name": "teapot",
        "count": 3,
        "price": Decimal("12.5"),
        "tags": {"a", "b"},
        "sizes": {1, Decimal("2.5")},
        "details": {"w": 2, "raw": b"\x00\x01", "ns": {7}},
        "history": ["made", None, True],
        "expires": None,
    }
    assert isinstance(item.count, int)


def test_values_dynamodb_would_refuse_are_validation_errors_before_any_call():
    with pytest.raises(ValidationError, match="price has more than the 38 significant digits"):
        Item(id="5", name="x", price=Decimal("1." + "1" * 40))
    with pytest.raises(ValidationError, match="price must be between 1E-130 and 1E\\+126"):
        Item(id="5", name="x", price=1e300)
    with pytest.raises(ValidationError, match="price must be a finite number"):
        Item(id="5", name="x", price=Decimal("NaN"))
    with pytest.raises(ValidationError, match="name must be valid Unicode text"):
        Item(id="5", name="\ud800")
    with pytest.raises(ValidationError, match="details keys must be non-empty strings"):
        Item(id="5", name="x", details={1: "a"})
    with pytest.raises(ValidationError, match="details can hold strings, numbers"):
        Item(id="5", name="x", details={"a": object()})
    deep: list = []
    for _ in range(40):
        deep = [deep]
    with pytest.raises(ValidationError, match="history nests deeper than the 32 levels"):
        Item(id="5", name="x", history=deep)
    with pytest.raises(ValidationError, match="name is a key of the table or an index"):
        Item(id="5", name="").save()
    with pytest.raises(ValidationError, match="id is a key and cannot be empty"):
        Item.get("")
    big = 10**125
    assert Item(id="5", name="x", price=big).save() and Item.get("5").price == big


# -- 3. errors carry Tight's words ----------------------------------------------------------
def test_a_failed_condition_answers_409_in_tights_words():
    Item(id="6", name="first").save()
    status, body = answer(lambda: Item(id="6", name="second").save(overwrite=False))
    assert status == 409
    assert body["message"].startswith("saving Item 6: its condition did not hold")
    assert "An error occurred" not in body["message"]
    assert "Exception" not in body["message"] and "PutItem" not in body["message"]


def test_a_cancelled_transaction_names_the_failing_action_and_keeps_every_reason():
    Item(id="a", name="A").save()
    Item(id="c", name="C").save()
    with pytest.raises(ConditionFailed) as caught, Model.transaction() as transaction:
        transaction.put(Item(id="b", name="B"))
        transaction.update(Item.get("a"), set={"name": "A2"})
        transaction.check(Item.get("c"), Attr("name").eq("not C"))
    assert caught.value.index == 2
    assert "action 2" in caught.value.message and "Exception" not in caught.value.message
    assert [r["code"] for r in caught.value.reasons] == [None, None, "ConditionalCheckFailed"]
    assert Item.get("a").name == "A"


def cancelled(*codes: str) -> ClientError:
    """A TransactionCanceledException shaped as DynamoDB sends it."""
    client = dynamo_db.connect().client
    return client.exceptions.TransactionCanceledException(
        {
            "Error": {
                "Code": "TransactionCanceledException",
                "Message": f"Transaction cancelled, please refer cancellation reasons for "
                f"specific reasons [{', '.join(codes)}]",
            },
            "CancellationReasons": [
                {"Code": code} if code == "None" else {"Code": code, "Message": f"{code} here"}
                for code in codes
            ],
        },
        "TransactWriteItems",
    )


@pytest.mark.parametrize(
    ("codes", "error", "status", "index"),
    [
        (("None", "ConditionalCheckFailed"), ConditionFailed, 409, 1),
        (("TransactionConflict", "None"), TransactionConflict, 409, 0),
        (("None", "ThrottlingError"), Throttled, 503, 1),
        (("ProvisionedThroughputExceeded",), Throttled, 503, 0),
        (("None", "None", "ValidationError"), ValidationError, 400, 2),
        (("TransactionConflict", "ConditionalCheckFailed"), ConditionFailed, 409, 1),
    ],
)
def test_each_cancellation_reason_has_its_own_error_and_status(
    monkeypatch, codes, error, status, index
):
    client = dynamo_db.connect().client

    def refuse(**options):
        raise cancelled(*codes)

    monkeypatch.setattr(client, "transact_write_items", refuse)

    def write():
        with Model.transaction() as transaction:
            for n in range(len(codes)):
                transaction.put(Item(id=f"t{n}", name="T"))

    with pytest.raises(error) as caught:
        write()
    assert caught.value.status_code == status
    assert f"action {index}" in caught.value.message
    assert [r["code"] for r in caught.value.reasons] == [None if c == "None" else c for c in codes]
    got_status, body = answer(write)
    assert got_status == status and "TransactionCanceledException" not in body["message"]
    assert issubclass(TransactionConflict, Conflict)


def test_throttling_and_dynamodbs_validation_errors_are_503_and_400(monkeypatch):
    table = dynamo_db.connect().table(Item.table_name())

    def throttled(**options):
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
            "GetItem",
        )

    monkeypatch.setattr(table, "get_item", throttled)
    status, body = answer(lambda: Item.get("1"))
    assert (status, body["message"]) == (
        503,
        "reading Item 1: DynamoDB is over its capacity; retry later",
    )
    monkeypatch.undo()
    Item(id="7", name="x").save()
    too_big = "x" * 410_000  # over DynamoDB's 400 KB item limit
    status, body = answer(lambda: Item.get("7").update(set={"details": {"blob": too_big}}))
    assert status == 400 and body["message"].startswith("updating Item 7: DynamoDB refused it")


# -- 4. batch retries back off, never after the last attempt -----------------------------
def test_batch_get_backs_off_exponentially_with_jitter_and_counts_what_is_left(monkeypatch):
    resource = dynamo_db.connect().resource
    calls: list[int] = []

    def nothing_done(RequestItems):
        ((name, request),) = RequestItems.items()
        calls.append(len(request["Keys"]))
        return {"Responses": {name: []}, "UnprocessedKeys": RequestItems}

    monkeypatch.setattr(resource, "batch_get_item", nothing_done)
    runs = []
    for _ in range(2):
        sleeps: list[float] = []
        with pytest.raises(Throttled) as caught:
            Item.batch_get([str(i) for i in range(130)], attempts=5, sleep=sleeps.append)
        runs.append(sleeps)
        assert caught.value.unprocessed == 130 and caught.value.status_code == 503
        assert "DynamoDB left 130 keys of shop-test-item unread after 5 attempts" in str(
            caught.value
        )
    assert calls == [100] * 10  # 5 attempts of the first 100, twice; the rest never sent
    for sleeps in runs:
        assert len(sleeps) == 4  # between attempts, never after the last
        for attempt, seconds in enumerate(sleeps):
            ceiling = min(2.0, 0.05 * 2**attempt)
            assert ceiling / 2 <= seconds <= ceiling
    assert runs[0] != runs[1]  # jitter


def test_batch_write_retries_only_what_is_left_and_sleeps_between(monkeypatch):
    resource = dynamo_db.connect().resource
    real_write = resource.batch_write_item
    sent: list[int] = []

    def half_done(RequestItems):
        ((name, requests),) = RequestItems.items()
        sent.append(len(requests))
        if len(requests) > 1:
            real_write(RequestItems={name: requests[:1]})
            return {"UnprocessedItems": {name: requests[1:]}}
        return real_write(RequestItems=RequestItems)

    monkeypatch.setattr(resource, "batch_write_item", half_done)
    sleeps: list[float] = []
    Item.batch_write(put=[Item(id=str(i), name="n") for i in range(3)], sleep=sleeps.append)
    assert sent == [3, 2, 1] and len(sleeps) == 2
    assert sorted(i.id for i in Item.scan()) == ["0", "1", "2"]
    assert sorted(i.id for i in Item.batch_get(["0", "2", "0"])) == ["0", "2"]  # asked twice
    sleeps.clear()
    with pytest.raises(Throttled, match="left 29 writes to shop-test-item not done") as caught:
        Item.batch_write(put=[Item(id=str(i), name="n") for i in range(30)], attempts=1,
                         sleep=sleeps.append)  # fmt: skip
    assert caught.value.unprocessed == 29 and sleeps == []


# -- 5. optimistic locking --------------------------------------------------------------------
@pytest.mark.usefixtures("docs")
def test_version_guards_save_update_and_delete():
    doc = Doc(id="d", text="one").save()
    assert doc.version == 1 and Doc.get("d").version == 1
    mine, theirs = Doc.get("d"), Doc.get("d")
    mine.update(set={"text": "two"})
    assert mine.version == 2 and Doc.get("d").version == 2
    for stale_write in (
        lambda: theirs.update(set={"text": "lost"}),
        lambda: theirs.save(),
        lambda: theirs.delete(),
        lambda: Doc(id="d", text="new").save(),  # a new item must not overwrite one
    ):
        with pytest.raises(ConditionFailed, match="condition did not hold"):
            stale_write()
    assert theirs.version == 1  # a failed write leaves the instance as it was
    assert Doc.get("d").text == "two"
    mine.text = "three"
    mine.save()
    assert mine.version == 3 and Doc.get("d").to_dict() == {
        "id": "d",
        "text": "three",
        "version": 3,
    }
    with pytest.raises(ValidationError, match="version is the Version; Tight sets it"):
        mine.update(set={"version": 9})
    with pytest.raises(ConditionFailed), Model.transaction() as transaction:
        transaction.update(theirs, set={"text": "lost"})
    with Model.transaction() as transaction:
        transaction.update(mine, set={"text": "four"})
    assert mine.version == 4 and Doc.get("d").version == 4
    mine.delete()
    with pytest.raises(TypeError, match="has 2 Version attributes"):

        class Twice(Model):
            hash_key = "id"
            id = String()
            a = Version()
            b = Version()


# -- 6. one client ----------------------------------------------------------------------------
def test_connect_builds_one_client_the_resources_own(monkeypatch):
    dynamo_db.reset()
    session = boto3_client.session()
    made: list[str] = []
    real_client = session.client

    def counting_client(*args, **kwargs):
        made.append(args[0] if args else kwargs["service_name"])
        return real_client(*args, **kwargs)

    monkeypatch.setattr(session, "client", counting_client)
    connection = dynamo_db.connect()
    assert connection.client is connection.resource.meta.client
    assert made == ["dynamodb"]  # the resource's; there used to be a second
    Item(id="c1", name="one").save()
    assert Item.get("c1").name == "one"
    dynamo_db.reset()
