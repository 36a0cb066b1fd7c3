"""The model API against a real DynamoDB (moto's server) on 127.0.0.1."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

import pytest
from boto3.dynamodb.conditions import Attr, Key
from events import make_event
from servers import moto_server

from tight import config
from tight.models import (
    TTL,
    ConditionFailed,
    DateTime,
    GlobalIndex,
    ItemNotFound,
    List,
    LocalIndex,
    Map,
    Model,
    Number,
    NumberSet,
    String,
    StringSet,
    ValidationError,
)
from tight.providers.aws.clients import boto3_client, dynamo_db
from tight.providers.aws.controllers.lambda_proxy_event import Controller


class Item(Model):
    hash_key = "id"
    id = String()
    name = String(required=True)
    count = Number(default=0)
    price = Number()
    tags = StringSet()
    sizes = NumberSet()
    details = Map(default=dict)
    history = List(default=list)
    expires = TTL()
    indexes = (GlobalIndex("by_name", hash_key="name"),)
    ttl = "expires"


class Reading(Model):
    hash_key = "sensor"
    range_key = "n"
    sensor = String()
    n = Number()
    value = Number()
    kind = String(default="temp")
    taken = DateTime()
    indexes = (LocalIndex("by_kind", range_key="kind"),)


@pytest.fixture(scope="module")
def dynamo():
    with pytest.MonkeyPatch.context() as patch, moto_server() as endpoint:
        patch.setenv("TIGHT_DYNAMO_ENDPOINT", endpoint)
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        boto3_client.reset()
        dynamo_db.reset()
        yield endpoint
    boto3_client.reset()
    dynamo_db.reset()


@pytest.fixture
def tables(dynamo):
    config.configure(app_name="shop", stage="test")
    assert Item.create_table() is True
    assert Reading.create_table() is True
    assert Item.create_table() is False  # already there
    yield
    client = dynamo_db.connect().client
    for model in (Item, Reading):
        client.delete_table(TableName=model.table_name())


def test_table_names_follow_app_stage_model():
    config.configure(app_name="shop", stage="prod")
    assert Item.table_name() == "shop-prod-item"
    assert Reading.table_name() == "shop-prod-reading"

    class LineItem(Model):
        hash_key = "id"
        id = String()

    assert LineItem.table_name() == "shop-prod-line_item"

    class Named(Model):
        table = "legacy-table"
        hash_key = "id"
        id = String()

    assert Named.table_name() == "legacy-table"


def test_connect_uses_the_local_endpoint_and_caches(dynamo, monkeypatch):
    first = dynamo_db.connect()
    assert first.endpoint == dynamo and first.region == "us-east-1"
    assert dynamo_db.connect() is first
    monkeypatch.delenv("TIGHT_DYNAMO_ENDPOINT")
    monkeypatch.setenv("USE_LOCAL_DB", "true")
    monkeypatch.setenv("TIGHT_DYNAMO_PORT", "8123")
    assert dynamo_db.connect().endpoint == "http://127.0.0.1:8123"
    monkeypatch.delenv("USE_LOCAL_DB")
    assert dynamo_db.connect().endpoint is None


def test_crud(tables):
    item = Item(id="1", name="teapot", price=12.5, tags={"kitchen"}, details={"w": 2})
    item.save()
    got = Item.get("1")
    assert got == item
    assert got.count == 0 and isinstance(got.count, int)
    assert got.price == Decimal("12.5") and not isinstance(got.price, float)
    assert got.details == {"w": 2} and isinstance(got.details["w"], int)
    got.update(set={"name": "kettle"}, add={"count": 3}, remove=["tags"])
    assert (got.name, got.count, got.tags) == ("kettle", 3, None)
    assert Item.get("1").count == 3
    got.delete()
    with pytest.raises(ItemNotFound, match="no Item 1"):
        Item.get("1")


def test_validation_names_the_attribute():
    with pytest.raises(ValidationError, match="count must be a number, not str"):
        Item(id="1", name="x", count="three")
    with pytest.raises(ValidationError, match="has no attribute colour"):
        Item(id="1", name="x", colour="blue")
    with pytest.raises(ValidationError, match="name is required"):
        Item(id="1").to_item()
    with pytest.raises(ValidationError, match="id is the table's key"):
        Item(name="x").to_item()
    with pytest.raises(ValidationError, match="taken must be a timezone-aware datetime"):
        Reading(sensor="s", n=1, taken=datetime.datetime(2024, 1, 1))
    assert Item(id="1", name="x", price=0.1).price == Decimal("0.1")


def test_model_declaration_errors():
    with pytest.raises(TypeError, match="needs a hash_key"):

        class NoKey(Model):
            id = String()

    with pytest.raises(TypeError, match="'owner' is used as a key but is not an attribute"):

        class BadIndex(Model):
            hash_key = "id"
            id = String()
            indexes = (GlobalIndex("by_owner", hash_key="owner"),)


def test_conditional_writes_raise_condition_failed(tables):
    Item(id="7", name="first").save(overwrite=False)
    with pytest.raises(ConditionFailed):
        Item(id="7", name="second").save(overwrite=False)
    assert Item.get("7").name == "first"
    with pytest.raises(ConditionFailed):
        Item.get("7").delete(condition=Attr("name").eq("other"))
    with pytest.raises(ConditionFailed):
        Item.get("7").update(set={"count": 1}, condition=Attr("count").gt(5))
    assert ConditionFailed.status_code == 409


def test_query_paginates_lazily_with_limits_and_conditions(tables):
    Reading.batch_write(put=[Reading(sensor="s1", n=i, value=i * 10) for i in range(25)])
    Reading(sensor="s2", n=1, value=1).save()
    results = Reading.query("s1", page_size=4)
    assert [r.n for r in results] == list(range(25))
    assert results.pages == 7
    assert [r.n for r in Reading.query("s1", limit=10, page_size=3)] == list(range(10))
    assert [r.n for r in Reading.query("s1", reverse=True, limit=3)] == [24, 23, 22]
    between = Reading.query("s1", Key("n").between(5, 8)).all()
    assert [r.n for r in between] == [5, 6, 7, 8]
    filtered = Reading.query("s1", filter=Attr("value").gte(200)).all()
    assert [r.n for r in filtered] == [20, 21, 22, 23, 24]
    assert len(Reading.scan(page_size=5).all()) == 26
    assert Reading.query("nope").first() is None


def test_indexes(tables):
    Item(id="1", name="pot").save()
    Item(id="2", name="pot").save()
    Item(id="3", name="pan").save()
    assert sorted(i.id for i in Item.query("pot", index="by_name")) == ["1", "2"]
    Reading(sensor="s", n=1, kind="humidity").save()
    Reading(sensor="s", n=2, kind="temp").save()
    by_kind = Reading.query("s", Key("kind").eq("temp"), index="by_kind").all()
    assert [r.n for r in by_kind] == [2]
    with pytest.raises(ValidationError, match="no index missing"):
        Item.query("x", index="missing")


def test_batches_cross_request_limits_and_retry_unprocessed(tables, monkeypatch):
    resource = dynamo_db.connect().resource
    real_write = resource.batch_write_item
    calls = {"write": 0}

    def flaky_write(RequestItems):
        # The first request "throttles" its second half, as DynamoDB may.
        calls["write"] += 1
        if calls["write"] == 1:
            ((name, requests),) = RequestItems.items()
            half = len(requests) // 2
            real_write(RequestItems={name: requests[:half]})
            return {"UnprocessedItems": {name: requests[half:]}}
        return real_write(RequestItems=RequestItems)

    monkeypatch.setattr(resource, "batch_write_item", flaky_write)
    Item.batch_write(put=[Item(id=str(i), name=f"n{i}") for i in range(60)])
    assert calls["write"] == 4  # 25 + 25 + 10, plus one retry
    found = Item.batch_get([str(i) for i in range(120)])
    assert sorted(int(i.id) for i in found) == list(range(60))
    Item.batch_write(delete=[str(i) for i in range(30)])
    assert len(Item.scan().all()) == 30


def test_transaction_is_all_or_nothing(tables):
    first, second = Item(id="a", name="A"), Item(id="b", name="B")
    with Model.transaction() as transaction:
        transaction.put(first)
        transaction.put(second)
    assert Item.get("a").name == "A"
    with pytest.raises(ConditionFailed, match="cancelled"), Model.transaction() as transaction:
        transaction.update(first, set={"name": "A2"})
        transaction.put(Item(id="c", name="C"))
        transaction.check(second, Attr("name").eq("not B"))
    assert Item.get("a").name == "A"
    with pytest.raises(ItemNotFound):
        Item.get("c")


def test_table_definition_declares_keys_indexes_ttl(tables):
    definition = Item.table_definition()
    assert definition["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert {a["AttributeName"]: a["AttributeType"] for a in definition["AttributeDefinitions"]} == {
        "id": "S",
        "name": "S",
    }
    assert definition["GlobalSecondaryIndexes"][0]["IndexName"] == "by_name"
    ttl = dynamo_db.connect().client.describe_time_to_live(TableName=Item.table_name())
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires"
    reading = Reading.table_definition()
    assert reading["LocalSecondaryIndexes"][0]["KeySchema"][1] == {
        "AttributeName": "kind",
        "KeyType": "RANGE",
    }


def test_not_found_becomes_a_404_for_http_callers(tables):
    controller = Controller("tests.models_http")
    controller.register("GET", lambda **kw: {"body": Item.get("missing").to_dict()})
    response = controller.dispatch(make_event("rest"), None)
    assert response["statusCode"] == 404
    assert json.loads(response["body"]) == {"error": "Not Found", "message": "no Item missing"}
