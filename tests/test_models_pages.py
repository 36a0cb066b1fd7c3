"""``limit`` reaches DynamoDB, and pages resume from an opaque cursor that only the query
that gave it accepts, against a real DynamoDB (moto's server) on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import re

import pytest
from boto3.dynamodb.conditions import Attr
from events import make_event
from test_models import Item, Reading, dynamo, tables  # noqa: F401 (fixtures)

from tight.models import ValidationError
from tight.providers.aws.clients import dynamo_db
from tight.providers.aws.controllers.lambda_proxy_event import Controller

pytestmark = pytest.mark.usefixtures("tables")
URL_SAFE = re.compile(r"[A-Za-z0-9_-]+")


@pytest.fixture
def sent(request):
    """The parameters of every Query and Scan sent to DynamoDB."""
    request.getfixturevalue("tables")
    seen: list[dict] = []
    events = dynamo_db.connect().client.meta.events

    def record(params, model, **kwargs):
        seen.append({"operation": model.name, **params})

    events.register("before-parameter-build.dynamodb", record)
    yield seen
    events.unregister("before-parameter-build.dynamodb", record)


@pytest.fixture
def readings(request):
    request.getfixturevalue("tables")  # the app and stage first: they name the table
    Reading.batch_write(put=[Reading(sensor="s1", n=i, value=i * 10) for i in range(25)])
    Reading(sensor="s2", n=1, value=1).save()


def reads(seen: list[dict]) -> list[dict]:
    return [call for call in seen if call["operation"] in ("Query", "Scan")]


@pytest.mark.usefixtures("readings")
def test_limit_is_sent_as_dynamodbs_limit(sent):
    assert [r.n for r in Reading.query("s1", limit=1)] == [0]
    assert [call.get("Limit") for call in reads(sent)] == [1]  # a full page was read before
    sent.clear()
    assert [r.n for r in Reading.query("s1", limit=10, page_size=3)] == list(range(10))
    assert [call["Limit"] for call in reads(sent)] == [3, 3, 3, 1]  # min(left, page_size)
    sent.clear()
    assert len(Reading.scan(limit=4).items) == 4
    assert [call["Limit"] for call in reads(sent)] == [4]
    sent.clear()
    assert len(Reading.query("s1").all()) == 25
    assert "Limit" not in reads(sent)[0]


@pytest.mark.usefixtures("readings")
def test_pages_resume_from_the_cursor_until_it_is_none():
    seen, cursor, pages = [], None, 0
    while True:
        page = Reading.query("s1", limit=10, cursor=cursor)
        seen += [r.n for r in page.items]
        cursor, pages = page.cursor, pages + 1
        if cursor is None:
            break
        assert URL_SAFE.fullmatch(cursor)
    assert seen == list(range(25)) and pages == 3
    backwards = Reading.query("s1", limit=20, reverse=True)
    rest = Reading.query("s1", limit=20, reverse=True, cursor=backwards.cursor)
    assert [r.n for r in backwards.items + rest.items] == list(range(24, -1, -1))
    assert rest.cursor is None
    filtered = Reading.query("s1", filter=Attr("value").gte(200), limit=2, page_size=4)
    more = Reading.query("s1", filter=Attr("value").gte(200), limit=10, cursor=filtered.cursor)
    assert [r.n for r in filtered.items] == [20, 21]
    assert [r.n for r in more.items] == [22, 23, 24]
    small_pages = Reading.query("s1", limit=20, page_size=3)
    rest = Reading.query("s1", limit=20, page_size=3, cursor=small_pages.cursor)
    assert [r.n for r in small_pages.items + rest.items] == list(range(25))
    assert rest.cursor is None and Reading.query("s1", page_size=4).cursor is None
    every = [r.n for r in Reading.query("s1", limit=7)]  # iterating is as it was
    assert every == list(range(7))


@pytest.mark.usefixtures("readings")
def test_scan_and_index_pages_resume_too():
    found, cursor = [], None
    while True:
        page = Reading.scan(limit=6, cursor=cursor)
        found += [(r.sensor, r.n) for r in page.items]
        cursor = page.cursor
        if cursor is None:
            break
    assert sorted(found) == sorted([("s1", i) for i in range(25)] + [("s2", 1)])
    Item.batch_write(put=[Item(id=str(i), name="pot") for i in range(7)])
    first = Item.query("pot", index="by_name", limit=4)
    second = Item.query("pot", index="by_name", limit=4, cursor=first.cursor)
    ids = [i.id for i in first.items + second.items]
    assert sorted(ids) == [str(i) for i in range(7)] and len(set(ids)) == 7
    assert second.cursor is None


def tampered(cursor: str, change) -> str:
    payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    change(payload)
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.usefixtures("readings")
def test_a_garbage_or_tampered_cursor_is_a_validation_error():
    good = Reading.query("s1", limit=5).cursor
    assert good and Reading.query("s1", limit=5, cursor=good).items[0].n == 5
    Item(id="1", name="pot").save()
    Item(id="2", name="pot").save()
    item_cursor = Item.scan(limit=1).cursor
    index_cursor = Item.query("pot", index="by_name", limit=1).cursor
    assert item_cursor and index_cursor
    bad = [
        "!!!",
        "a",
        "abc",
        "x" * 5000,
        base64.urlsafe_b64encode(b"[" * 1500 + b"]" * 1500).decode(),  # deep JSON
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
        tampered(good, lambda p: p["k"]["n"].__setitem__(0, "S")),  # wrong type
        tampered(good, lambda p: p["k"]["n"].__setitem__(1, "NaN")),
        tampered(good, lambda p: p["k"]["n"].__setitem__(1, "1e999")),
        tampered(good, lambda p: p["k"].pop("n")),
        tampered(good, lambda p: p["k"].__setitem__("value", ["N", "1"])),
        tampered(good, lambda p: p.__setitem__("x", 1)),
        tampered(good, lambda p: p["k"].__setitem__("sensor", ["S", ""])),
        tampered(good, lambda p: p["k"].__setitem__("sensor", ["S", 7])),
    ]
    for cursor in bad:
        with pytest.raises(ValidationError, match="cursor is not valid here"):
            Reading.query("s1", limit=5, cursor=cursor)
    with pytest.raises(ValidationError, match="cursor is not valid here"):
        Reading.query("s1", cursor=12345)  # type: ignore[arg-type]
    other = {
        tampered(good, lambda p: p.__setitem__("t", Item.table_name())),
        tampered(good, lambda p: p.__setitem__("i", "by_kind")),
    }
    for cursor in other | {item_cursor}:
        with pytest.raises(ValidationError, match="cursor belongs to another table or index"):
            Reading.query("s1", limit=5, cursor=cursor)
    with pytest.raises(ValidationError, match="cursor belongs to another table or index"):
        Item.scan(limit=1, cursor=index_cursor)  # the index's cursor, used on the table
    with pytest.raises(ValidationError, match="cursor belongs to another table or index"):
        Item.query("pot", index="by_name", cursor=item_cursor)
    hopped = tampered(good, lambda p: p["k"].__setitem__("sensor", ["S", "s2"]))
    with pytest.raises(ValidationError, match="cursor belongs to another query"):
        Reading.query("s1", limit=5, cursor=hopped)  # another partition's key


@pytest.mark.usefixtures("readings")
def test_a_bad_cursor_or_limit_from_a_caller_is_a_400_not_a_500():
    controller = Controller("tests.models_pages")

    def list_readings(request, **kwargs):
        limit = int(request.query.get("limit", "10"))
        page = Reading.query("s1", limit=limit, cursor=request.query.get("cursor"))
        return {"items": [r.n for r in page.items], "cursor": page.cursor}

    controller.register("GET", list_readings)

    def get(**query: str) -> tuple[int, dict]:
        response = controller.dispatch(make_event("rest", query=query), None)
        return response["statusCode"], json.loads(response["body"])

    status, body = get(limit="20")
    assert status == 200 and body["items"] == list(range(20))
    status, body = get(cursor=body["cursor"])
    assert (status, body) == (200, {"items": [20, 21, 22, 23, 24], "cursor": None})
    status, body = get(cursor="not-a-cursor")
    assert status == 400 and body["message"].startswith("cursor is not valid here")
    status, body = get(limit="0")
    assert status == 400 and body["message"] == "limit must be a whole number of 1 or more, not 0"
