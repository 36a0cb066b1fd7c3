"""Review: an item written by other code (another service, the console, a migration) with
a value of another type than the model declares must still load, and not be garbled by
a save; moto's DynamoDB server on 127.0.0.1 stores it as that code would."""

import datetime
from decimal import Decimal

import pytest
from test_models import dynamo  # noqa: F401 (fixture)

from tight import config
from tight.models import Binary, DateTime, Model, Number, NumberSet, String, StringSet
from tight.providers.aws.clients import dynamo_db

UTC = datetime.timezone.utc


class Thing(Model):
    table = "review-thing"
    hash_key = "id"
    id = String()
    blob = Binary()
    words = StringSet()
    numbers = NumberSet()
    when = DateTime()
    count = Number()


@pytest.fixture
def client(dynamo):  # noqa: F811
    config.configure(app_name="review", stage="test")
    Thing.create_table()
    client = dynamo_db.connect().client
    yield client
    client.delete_table(TableName=Thing.table_name())


def put_foreign(client, key: str, **values):
    """An item as other code writes it, past the model (boto3's plain Python values)."""
    client.put_item(TableName=Thing.table_name(), Item={"id": key, **values})


@pytest.mark.parametrize(
    ("stored", "read"),
    [
        ({"when": "yesterday"}, {"when": "yesterday"}),
        ({"when": Decimal(1700000000)}, {"when": 1700000000}),
        ({"blob": "abc"}, {"blob": "abc"}),
        ({"words": "abc"}, {"words": "abc"}),  # never {"a", "b", "c"}
        ({"numbers": "12"}, {"numbers": "12"}),
        ({"when": "2024-05-01T10:00:00"}, {"when": datetime.datetime(2024, 5, 1, 10, tzinfo=UTC)}),
    ],
)
def test_a_foreign_value_reads_back_as_stored(client, stored, read):
    put_foreign(client, "foreign", **stored)
    thing = Thing.get("foreign")
    assert {field: getattr(thing, field) for field in read} == read
    assert Thing.query("foreign").all()[0].to_dict() == thing.to_dict()


def test_saving_a_foreign_item_keeps_what_it_could_not_read(client):
    put_foreign(client, "foreign", words="abc", blob="abc", count=Decimal(3))
    thing = Thing.get("foreign")
    thing.count = 4
    thing.save()
    raw = client.get_item(TableName=Thing.table_name(), Key={"id": "foreign"})["Item"]
    assert raw["words"] == "abc" and raw["blob"] == "abc" and raw["count"] == 4


def test_a_naive_timestamp_is_utc_wherever_the_tests_run(client, monkeypatch):
    import time

    monkeypatch.setenv("TZ", "Asia/Kolkata")  # a developer's machine, not Lambda's UTC
    time.tzset()
    try:
        put_foreign(client, "naive", when="2024-05-01T10:00:00")
        thing = Thing.get("naive")
        thing.save()
        raw = client.get_item(TableName=Thing.table_name(), Key={"id": "naive"})["Item"]
    finally:
        monkeypatch.undo()
        time.tzset()
    assert raw["when"] == "2024-05-01T10:00:00+00:00"  # not shifted by the local offset
