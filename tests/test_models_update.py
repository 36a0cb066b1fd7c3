"""Issue 23 (4): ``Model.update`` changes an item that exists and nothing else, against a
real DynamoDB (moto's server) on 127.0.0.1. A late update never brings a deleted item back,
and an opted-in upsert (``create=True``) never stores an item without its required
attributes."""

from __future__ import annotations

import pytest
from boto3.dynamodb.conditions import Attr
from test_models import Item, Reading, dynamo, tables  # noqa: F401 (fixtures)
from test_models_integrity import Doc, docs  # noqa: F401 (fixture)

from tight.errors import NotFound
from tight.models import ConditionFailed, ItemNotFound, Model, ValidationError

pytestmark = pytest.mark.usefixtures("tables")


def stored_items() -> list[dict]:
    return list(Item._table().scan(ConsistentRead=True)["Items"])


def test_a_late_update_leaves_a_deleted_item_deleted():
    Item(id="order", name="teapot", count=1).save()
    mine = Item.get("order")
    Item.get("order").delete()  # another request deletes it meanwhile
    with pytest.raises(ItemNotFound, match="no Item order: update changes an item that exists"):
        mine.update(add={"count": 1})
    assert isinstance(ItemNotFound("x"), NotFound)  # a handler letting it through answers 404
    with pytest.raises(ItemNotFound):
        Item.get("order", consistent=True)
    assert stored_items() == []
    # Never written at all: the same.
    with pytest.raises(ItemNotFound):
        Item(id="ghost", name="x").update(set={"price": 3})
    assert stored_items() == []


def test_an_existing_item_is_updated_and_its_own_condition_still_reports_409():
    Item(id="1", name="pan", count=5).save()
    assert Item.get("1").update(add={"count": 2}).count == 7
    with pytest.raises(ConditionFailed):  # there, but the caller's condition did not hold
        Item.get("1").update(set={"count": 0}, condition=Attr("count").lt(3))
    Item.get("1").delete()
    with pytest.raises(ItemNotFound):  # gone: not found, whatever the condition
        Item(id="1", name="pan").update(set={"count": 0}, condition=Attr("count").lt(3))
    assert stored_items() == []


def test_a_range_keyed_item_deleted_meanwhile_is_not_found():
    Reading(sensor="s", n=1, value=3).save()
    late = Reading.get("s", 1)
    Reading.get("s", 1).delete()
    with pytest.raises(ItemNotFound):
        late.update(set={"value": 4})
    assert Reading._table().scan()["Items"] == []


@pytest.mark.usefixtures("docs")
def test_a_versioned_item_deleted_meanwhile_is_not_found_not_a_conflict():
    Doc(id="d", text="one").save()
    late = Doc.get("d")
    Doc.get("d").delete()
    with pytest.raises(ItemNotFound):
        late.update(set={"text": "two"})
    assert Doc._table().scan()["Items"] == []


def test_create_true_needs_every_required_attribute_and_names_the_missing():
    with pytest.raises(ValidationError, match=r"needs name \(required\); give it in set="):
        Item(id="new").update(add={"count": 1}, create=True)
    assert stored_items() == []
    created = Item(id="new", name="kettle").update(add={"count": 1}, create=True)
    assert (created.name, created.count) == ("kettle", 1)
    # Upserting again adds, and the required value from the instance never overwrites.
    again = Item(id="new", name="other").update(add={"count": 1}, create=True)
    assert (again.name, again.count) == ("kettle", 2)
    renamed = Item(id="new").update(set={"name": "pot"}, create=True)
    assert renamed.name == "pot"
    items = stored_items()
    assert len(items) == 1 and all(item.get("name") for item in items)


def test_a_transaction_update_of_a_missing_item_fails_the_transaction():
    Item(id="a", name="A").save()
    with pytest.raises(ConditionFailed) as caught, Model.transaction() as transaction:
        transaction.update(Item.get("a"), set={"count": 1})
        transaction.update(Item(id="gone", name="G"), set={"count": 1})
    assert caught.value.index == 1
    assert [i["id"] for i in stored_items()] == ["a"] and Item.get("a").count == 0
    with pytest.raises(ValidationError, match="needs name"):
        Model.transaction().update(Item(id="b"), set={"count": 1}, create=True)
    with Model.transaction() as transaction:
        transaction.update(Item(id="b", name="B"), set={"count": 1}, create=True)
    assert Item.get("b", consistent=True).name == "B"
