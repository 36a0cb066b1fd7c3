"""The record views read events as AWS documents them, and the ``event`` factory builds events
of the same shape.

The JSON under tests/aws_events/ is copied from AWS's documentation:
- sqs_*: Lambda Developer Guide, "Using Lambda with Amazon SQS" (standard and FIFO examples);
- sns_*: "Using Lambda with Amazon SNS"; s3_*: "Using Lambda with Amazon S3";
- kinesis_*: "Using Lambda with Amazon Kinesis"; dynamodb_stream_*: "Using Lambda with
  Amazon DynamoDB"; eventbridge_* and schedule_*: "Using Lambda with Amazon EventBridge
  (CloudWatch Events)".
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tight import sources
from tight.providers.aws.controllers.dynamodb_stream import (
    DynamoDBStreamRecord,
    plain_item,
    plain_value,
)
from tight.providers.aws.controllers.eventbridge import EventBridgeEvent
from tight.providers.aws.controllers.kinesis import KinesisRecord
from tight.providers.aws.controllers.s3 import S3Object
from tight.providers.aws.controllers.sns import SNSMessage
from tight.providers.aws.controllers.sqs import SQSMessage
from tight.testing.events import dynamodb_value, events

DOCUMENTED = Path(__file__).parent / "aws_events"


def documented(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DOCUMENTED / name).read_text())
    return data


# Maps whose keys are the sender's (attributes, item images, event detail): compared by type.
FREE_FORM = {"messageAttributes", "MessageAttributes", "Keys", "NewImage", "OldImage", "detail"}


def assert_same_shape(made: Any, expected: Any, path: str = "event") -> None:
    """Same keys at every level and the same JSON types for every value."""
    if isinstance(expected, dict):
        assert isinstance(made, dict), f"{path}: {type(made).__name__}, expected an object"
        assert set(made) == set(expected), f"{path}: keys {sorted(made)} != {sorted(expected)}"
        for key, value in expected.items():
            if key in FREE_FORM:
                assert isinstance(made[key], dict), f"{path}.{key}"
            else:
                assert_same_shape(made[key], value, f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(made, list), f"{path}: {type(made).__name__}, expected a list"
        if expected:
            assert made, f"{path}: empty, expected items"
            # Item by item when the lengths agree (records of different kinds), else each
            # against the first.
            likes = expected if len(made) == len(expected) else expected[:1] * len(made)
            pairs = zip(made, likes, strict=True)
            for index, (item, like) in enumerate(pairs):
                assert_same_shape(item, like, f"{path}[{index}]")
    else:
        assert type(made) is type(expected), f"{path}: {made!r} is not like {expected!r}"


# -- the factory against the documentation -------------------------------------------------
@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("sqs_standard.json", lambda: events.sqs(bodies=["a", {"b": 1}])),
        ("sqs_fifo.json", lambda: events.sqs(bodies=["a"], fifo=True)),
        (
            "sns_notification.json",
            lambda: events.sns(["hi"], subject="s", attributes={"Test": "x", "Bin": b"\x00"}),
        ),
        ("s3_object_created.json", lambda: events.s3("bucket", ["a.txt"])),
        ("kinesis_records.json", lambda: events.kinesis([b"\x00", "text", {"a": 1}])),
        (
            "dynamodb_stream_insert_modify.json",
            lambda: {
                "Records": events.dynamodb_stream([{"Id": 1, "Message": "x"}])["Records"]
                + events.dynamodb_stream(
                    [{"Id": 1, "Message": "y"}], "MODIFY", old_items=[{"Id": 1, "Message": "x"}]
                )["Records"]
            },
        ),
        (
            "eventbridge_rds_event.json",
            lambda: events.eventbridge("my.app", "Thing", {"a": 1}, resources=["arn:x"]),
        ),
        ("schedule_rule.json", lambda: events.schedule()),
    ],
)
def test_factory_builds_events_shaped_as_documented(name, make):
    expected = documented(name)
    made = make()
    assert_same_shape(made, expected)
    assert sources.event_source(made) == sources.event_source(expected) is not None


def test_factory_values_are_what_the_services_send():
    sqs = events.sqs(bodies=[{"n": 1}], fifo=True, queue="orders")
    record = sqs["Records"][0]
    assert record["eventSourceARN"].endswith(":orders.fifo")
    assert json.loads(record["body"]) == {"n": 1}
    assert record["attributes"]["MessageGroupId"] == "group-1"
    import hashlib

    assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()
    # One string body is one message, not one per character.
    assert len(events.sqs(bodies="hello")["Records"]) == 1
    s3 = events.s3("uploads", "incoming/my file!.txt", name="ObjectRemoved:Delete")
    obj = s3["Records"][0]["s3"]["object"]
    assert obj["key"] == "incoming/my+file%21.txt"
    assert "size" not in obj  # a deletion carries no size
    kinesis = events.kinesis([b"\xff\x00"])
    assert base64.b64decode(kinesis["Records"][0]["kinesis"]["data"]) == b"\xff\x00"
    schedule = events.schedule("nightly")
    assert schedule["detail-type"] == "Scheduled Event"
    assert schedule["resources"][0].endswith(":rule/nightly")


def test_event_fixture_still_builds_http_events():
    event = events("POST", "/items", body={"a": 1}, kind="http")
    assert event["requestContext"]["http"]["method"] == "POST"
    assert events.http("GET", "/")["httpMethod"] == "GET"


def test_dynamodb_stream_factory_rejects_what_dynamodb_cannot_hold():
    with pytest.raises(ValueError, match="INSERT, MODIFY or REMOVE"):
        events.dynamodb_stream([{"id": "1"}], event_name="UPSERT")
    with pytest.raises(TypeError, match="empty or mixed set"):
        events.dynamodb_stream([{"id": "1", "tags": set()}])
    with pytest.raises(ValueError, match="one old item per item"):
        events.dynamodb_stream([{"id": "1"}], "MODIFY", old_items=[])


# -- the views against the documentation ---------------------------------------------------
def test_sqs_views_of_the_documented_standard_and_fifo_events():
    first, second = (SQSMessage(r) for r in documented("sqs_standard.json")["Records"])
    assert first.message_id == first.item_id == "059f36b4-87a3-44ab-83d2-661975830a7d"
    assert second.message_id == "2e1424d4-f796-459a-8184-9c92662be6da"
    assert first.body == "Test message."
    assert first.attributes["SentTimestamp"] == "1545082649183"
    assert first.message_attributes == {}
    assert first.group_id is None
    assert first.queue_arn == "arn:aws:sqs:us-east-2:123456789012:my-queue"
    with pytest.raises(ValueError):
        first.json()  # "Test message." is not JSON
    (fifo,) = (SQSMessage(r) for r in documented("sqs_fifo.json")["Records"])
    assert fifo.group_id == "1"
    assert fifo.message_id == "11d6ee51-4cc7-4302-9e22-7cd8afdaadf5"


def test_sqs_view_decodes_json_bodies_and_message_attributes():
    event = events.sqs(
        bodies=[{"order": 7}], message_attributes={"kind": "new", "n": 3, "blob": b"\x01"}
    )
    message = SQSMessage(event["Records"][0])
    assert message.json() == {"order": 7}
    assert message.message_attributes == {"kind": "new", "n": "3", "blob": b"\x01"}


def test_sqs_view_is_read_only():
    message = SQSMessage(documented("sqs_standard.json")["Records"][0])
    with pytest.raises(AttributeError):
        message.body = "changed"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        message.extra = 1  # type: ignore[attr-defined]


def test_sns_view_of_the_documented_event():
    (message,) = (SNSMessage(r) for r in documented("sns_notification.json")["Records"])
    assert message.message_id == message.item_id == "95df01b4-ee98-5cb9-9903-4c221d41eb5e"
    assert message.message == "Hello from SNS!"
    assert message.subject == "TestInvoke"
    assert message.attributes == {"Test": "TestString", "TestBinary": "TestBinary"}
    assert message.topic_arn == "arn:aws:sns:us-east-2:123456789012:sns-lambda"
    made = SNSMessage(events.sns([{"a": [1, 2]}])["Records"][0])
    assert made.json() == {"a": [1, 2]}
    assert made.subject is None


def test_s3_view_of_the_documented_event():
    (obj,) = (S3Object(r) for r in documented("s3_object_created.json")["Records"])
    assert obj.event_name == "ObjectCreated:Put"
    assert obj.bucket == "DOC-EXAMPLE-BUCKET"
    assert obj.key == "b21b84d653bb07b05b1e6b33684dc11b"
    assert obj.size == 1305107
    assert obj.version_id is None
    assert obj.etag == "b21b84d653bb07b05b1e6b33684dc11b"


def test_s3_view_decodes_the_key_as_s3_encodes_it():
    event = documented("s3_object_created.json")
    event["Records"][0]["s3"]["object"]["key"] = "my+file%21.txt"
    assert S3Object(event["Records"][0]).key == "my file!.txt"
    # A literal "+" is sent as %2B and must stay a plus.
    made = events.s3("b", ["a+b c/é%.txt"], version_id="v1")
    obj = S3Object(made["Records"][0])
    assert obj.key == "a+b c/é%.txt"
    assert obj.version_id == "v1"


def test_kinesis_view_of_the_documented_event():
    first, second = (KinesisRecord(r) for r in documented("kinesis_records.json")["Records"])
    assert first.data == b"Hello, this is a test."
    assert second.data == b"This is only a test."
    assert first.partition_key == "1"
    assert (
        first.sequence_number
        == first.item_id
        == ("49590338271490256608559692538361571095921575989136588898")
    )
    assert first.arrival_time == 1545084650.987
    made = KinesisRecord(events.kinesis([{"click": 1}])["Records"][0])
    assert made.json() == {"click": 1}


def test_dynamodb_stream_view_of_the_documented_event():
    insert, modify = (
        DynamoDBStreamRecord(r) for r in documented("dynamodb_stream_insert_modify.json")["Records"]
    )
    assert insert.event_name == "INSERT"
    assert insert.sequence_number == insert.item_id == "111"
    assert insert.keys == {"Id": 101}
    assert insert.new_image == {"Message": "New item!", "Id": 101}
    assert insert.old_image is None
    assert modify.event_name == "MODIFY"
    assert modify.old_image == {"Message": "New item!", "Id": 101}
    assert modify.new_image == {"Message": "This item has changed", "Id": 101}


def test_dynamodb_values_of_every_documented_type():
    # The examples of each type from the DynamoDB API reference (AttributeValue).
    documented_values = {
        "S": ({"S": "Hello"}, "Hello"),
        "N": ({"N": "123.45"}, Decimal("123.45")),
        "B": ({"B": "dGhpcyB0ZXh0IGlzIGJhc2U2NC1lbmNvZGVk"}, b"this text is base64-encoded"),
        "SS": ({"SS": ["Giraffe", "Hippo", "Zebra"]}, {"Giraffe", "Hippo", "Zebra"}),
        "NS": ({"NS": ["42.2", "-19", "7.5", "3.14"]}, {Decimal("42.2"), -19, Decimal("7.5"),
                                                        Decimal("3.14")}),
        "BS": ({"BS": ["U3Vubnk=", "UmFpbnk=", "U25vd3k="]}, {b"Sunny", b"Rainy", b"Snowy"}),
        "M": ({"M": {"Name": {"S": "Joe"}, "Age": {"N": "35"}}}, {"Name": "Joe", "Age": 35}),
        "L": (
            {"L": [{"S": "Cookies"}, {"S": "Coffee"}, {"N": "3.14159"}]},
            ["Cookies", "Coffee", Decimal("3.14159")],
        ),
        "NULL": ({"NULL": True}, None),
        "BOOL": ({"BOOL": True}, True),
    }  # fmt: skip
    for kind, (typed, plain) in documented_values.items():
        value = plain_value(typed)
        assert value == plain, kind
        assert type(value) is type(plain), kind
        # The factory writes the same typed JSON back (sets in a stable order).
        again = dynamodb_value(plain)
        assert plain_value(again) == plain, kind
    assert plain_value({"N": "1E+3"}) == 1000 and type(plain_value({"N": "1E+3"})) is int
    assert plain_item(None) == {}
    with pytest.raises(ValueError, match="unknown DynamoDB type"):
        plain_value({"X": "1"})
    with pytest.raises(ValueError, match="not a DynamoDB attribute value"):
        plain_value({"S": "a", "N": "1"})


def test_dynamodb_stream_view_builds_model_instances():
    from tight.models import Model, Number, String, StringSet

    class Item(Model):
        hash_key = "id"
        id = String()
        name = String()
        count = Number()
        tags = StringSet()

    item = Item(id="7", name="teapot", count=3, tags={"kitchen"})
    record = DynamoDBStreamRecord(events.dynamodb_stream([item])["Records"][0])
    assert record.keys == {"id": "7"}
    built = record.model(Item)
    assert isinstance(built, Item)
    assert built == item
    removed = DynamoDBStreamRecord(events.dynamodb_stream([item], "REMOVE")["Records"][0])
    assert removed.new_image is None
    assert removed.model(Item) == item  # a removal gives the item as it was
    keys_only = events.dynamodb_stream([item], view_type="KEYS_ONLY")["Records"][0]
    with pytest.raises(ValueError, match="NEW_AND_OLD_IMAGES"):
        DynamoDBStreamRecord(keys_only).model(Item)


def test_eventbridge_views_of_the_documented_events():
    event = EventBridgeEvent(documented("eventbridge_rds_event.json"))
    assert event.id == "fe8d3c65-xmpl-c5c3-2c87-81584709a377"
    assert event.source == "aws.rds"
    assert event.detail_type == "RDS DB Instance Event"
    assert event.detail["Message"] == "Finished DB Instance backup"
    assert event.time == "2020-04-28T07:20:20Z"
    assert event.resources == ["arn:aws:rds:us-east-2:123456789012:db:rdz6xmpliljlb1"]
    scheduled = EventBridgeEvent(documented("schedule_rule.json"))
    assert scheduled.detail_type == "Scheduled Event"
    assert scheduled.source == "aws.events"
    assert scheduled.detail == {}


def test_views_tolerate_nulls_where_aws_may_send_them():
    assert SQSMessage({"messageId": "1", "attributes": None}).attributes == {}
    assert SNSMessage({"Sns": None}).message == ""
    assert S3Object({"s3": None}).key == ""
    assert EventBridgeEvent({"detail": None, "resources": None}).resources == []
    assert KinesisRecord({"kinesis": {}}).data == b""
