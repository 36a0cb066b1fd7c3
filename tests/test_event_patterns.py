"""EventBridge's pattern rules, as ``doit serve`` matches them: the filters of AWS's
"Content filtering in Amazon EventBridge event patterns" and "Comparison operators" pages,
each with an event it matches and one it does not (the examples restated as data)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tight_tasks.event_patterns import matches, pattern_problem

# An EC2 state-change notification shaped like the sample on AWS's event pages.
EC2_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "111122223333",
    "time": "2017-12-22T18:43:48Z",
    "region": "us-west-1",
    "resources": [
        "arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0",
        "arn:aws:ec2:us-west-1:123456789012:instance/i-0aaaaaaaaaaaaaaaa",
    ],
    "detail": {
        "instance-id": "i-1234567890abcdef0",
        "state": "terminated",
        "c-count": 5,
        "d-count": 7,
        "x-limit": 301.8,
        "source-ip": "10.0.0.123",
        "FileName": "photo.PNG",
        "service": "eventbridge-pipes",
        "responseElements": None,
        "eventVersion": "",
        "items": [{"name": "disk", "size": 100}, {"name": "nic", "size": 3}],
    },
}


def event_with(**detail: Any) -> dict[str, Any]:
    event = copy.deepcopy(EC2_EVENT)
    event["detail"].update(detail)
    return event


# (what the docs show, pattern, event it matches, event it does not)
CASES = [
    (
        "exact values, and between fields",
        {"source": ["aws.ec2"], "detail": {"state": ["terminated", "stopped"]}},
        EC2_EVENT,
        event_with(state="running"),
    ),
    (
        "a number matches the same number written otherwise",
        {"detail": {"c-count": [5.0]}},
        EC2_EVENT,
        event_with(**{"c-count": "5"}),
    ),
    (
        "null and the empty string are values",
        {"detail": {"responseElements": [None], "eventVersion": [""]}},
        EC2_EVENT,
        event_with(responseElements={"ok": True}),
    ),
    (
        "an array in the event matches when one element does",
        {"resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-0aaaaaaaaaaaaaaaa"]},
        EC2_EVENT,
        {**EC2_EVENT, "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-other"]},
    ),
    (
        "nested fields inside an array of objects",
        {"detail": {"items": {"name": ["nic"]}}},
        EC2_EVENT,
        event_with(items=[{"name": "disk"}]),
    ),
    (
        "prefix",
        {"time": [{"prefix": "2017-12-22"}]},
        EC2_EVENT,
        {**EC2_EVENT, "time": "2017-12-23T00:00:00Z"},
    ),
    (
        "prefix, ignoring case",
        {"detail": {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}},
        EC2_EVENT,
        event_with(service="events"),
    ),
    (
        "suffix",
        {"detail": {"FileName": [{"suffix": ".PNG"}]}},
        EC2_EVENT,
        event_with(FileName="photo.png"),
    ),
    (
        "suffix, ignoring case",
        {"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}},
        EC2_EVENT,
        event_with(FileName="photo.jpg"),
    ),
    (
        "equals-ignore-case",
        {"detail-type": [{"equals-ignore-case": "ec2 instance state-change notification"}]},
        EC2_EVENT,
        {**EC2_EVENT, "detail-type": "EC2 Spot Instance Interruption Warning"},
    ),
    (
        "anything-but a string",
        {"detail": {"state": [{"anything-but": "initializing"}]}},
        EC2_EVENT,
        event_with(state="initializing"),
    ),
    (
        "anything-but a number",
        {"detail": {"x-limit": [{"anything-but": 123}]}},
        EC2_EVENT,
        event_with(**{"x-limit": 123}),
    ),
    (
        "anything-but a list",
        {"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}},
        EC2_EVENT,
        event_with(state="overloaded"),
    ),
    (
        "anything-but needs the field",
        {"detail": {"state": [{"anything-but": "stopped"}]}},
        EC2_EVENT,
        {**EC2_EVENT, "detail": {"instance-id": "i-1"}},
    ),
    (
        "anything-but a prefix",
        {"detail": {"state": [{"anything-but": {"prefix": "init"}}]}},
        EC2_EVENT,
        event_with(state="initializing"),
    ),
    (
        "anything-but a suffix",
        {"detail": {"FileName": [{"anything-but": {"suffix": ".txt"}}]}},
        EC2_EVENT,
        event_with(FileName="notes.txt"),
    ),
    (
        "anything-but, ignoring case",
        {"detail": {"state": [{"anything-but": {"equals-ignore-case": ["Stopped", "Over"]}}]}},
        EC2_EVENT,
        event_with(state="STOPPED"),
    ),
    (
        "anything-but a wildcard",
        {"detail": {"FileName": [{"anything-but": {"wildcard": "*/lib/*"}}]}},
        EC2_EVENT,
        event_with(FileName="/usr/lib/x.so"),
    ),
    (
        "a numeric range, an upper bound and an equality together",
        {
            "detail": {
                "c-count": [{"numeric": [">", 0, "<=", 5]}],
                "d-count": [{"numeric": ["<", 10]}],
                "x-limit": [{"numeric": ["=", 3.018e2]}],
            }
        },
        EC2_EVENT,
        event_with(**{"c-count": 6}),
    ),
    (
        "numeric matches numbers only",
        {"detail": {"c-count": [{"numeric": [">=", 5]}]}},
        EC2_EVENT,
        event_with(**{"c-count": "5"}),
    ),
    (
        "an IP address in a CIDR block",
        {"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}},
        EC2_EVENT,
        event_with(**{"source-ip": "10.0.1.5"}),
    ),
    (
        "exists: true",
        {"detail": {"state": [{"exists": True}]}},
        EC2_EVENT,
        {**EC2_EVENT, "detail": {"instance-id": "i-1"}},
    ),
    (
        "exists: false",
        {"detail": {"c-count": [{"exists": False}]}},
        {**EC2_EVENT, "detail": {"state": "terminated"}},
        EC2_EVENT,
    ),
    (
        "exists applies to leaves only: an object is not an existing leaf",
        {"detail": {"state": [{"exists": False}]}},
        event_with(state={"name": "terminated"}),
        EC2_EVENT,
    ),
    (
        "exists: false of a nested object the event lacks",
        {"detail": {"error": {"code": [{"exists": False}]}}},
        EC2_EVENT,
        event_with(error={"code": "E1"}),
    ),
    (
        "a wildcard",
        {"resources": [{"wildcard": "arn:aws:ec2:us-west-1:*:instance/i-0aaa*"}]},
        EC2_EVENT,
        {**EC2_EVENT, "resources": ["arn:aws:ec2:us-east-1:1:instance/i-0aaa"]},
    ),
    (
        "$or between fields",
        {
            "detail": {
                "$or": [
                    {"c-count": [{"numeric": [">", 0, "<=", 5]}]},
                    {"d-count": [{"numeric": ["<", 10]}]},
                    {"x-limit": [{"numeric": ["=", 3.018e2]}]},
                ]
            }
        },
        event_with(**{"c-count": 50, "d-count": 20}),
        event_with(**{"c-count": 50, "d-count": 20, "x-limit": 1}),
    ),
    (
        "$or at the top, beside other fields",
        {"source": ["aws.ec2"], "$or": [{"region": ["us-east-1"]}, {"account": ["111122223333"]}]},
        EC2_EVENT,
        {**EC2_EVENT, "account": "999999999999"},
    ),
]


@pytest.mark.parametrize(
    ("pattern", "hit", "miss"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_pattern_matches_its_event_and_not_the_other(pattern, hit, miss):
    assert pattern_problem(pattern) is None
    assert matches(pattern, hit)
    assert not matches(pattern, miss)


def test_a_field_the_pattern_does_not_name_is_ignored_and_a_missing_one_never_matches():
    assert matches({"source": ["aws.ec2"]}, EC2_EVENT)
    assert not matches({"detail": {"nothing": ["x"]}}, EC2_EVENT)
    assert not matches({"detail": {"nothing": [{"prefix": ""}]}}, EC2_EVENT)


@pytest.mark.parametrize(
    ("pattern", "named"),
    [
        ({"source": "aws.ec2"}, "pattern.source must be a list of values"),
        ({"source": []}, "pattern.source is an empty list"),
        ({"detail": {"n": [{"numeric": [">", "x"]}]}}, "pattern.detail.n: numeric takes"),
        ({"detail": {"n": [{"numeric": ["<", 5, ">", 1]}]}}, "a lower bound"),
        ({"detail": {"n": [{"exists": "yes"}]}}, "exists takes true or false"),
        ({"detail": {"n": [{"begins": "x"}]}}, "unknown filter 'begins'"),
        ({"detail": {"n": [{"cidr": "10.0.0/33"}]}}, "is not a network"),
        ({"$or": [{"source": ["a"]}]}, "pattern.$or must be a list of two or more"),
        ({}, "pattern must be a non-empty mapping"),
    ],
)
def test_a_pattern_eventbridge_refuses_is_named_with_its_field(pattern, named):
    problem = pattern_problem(pattern)
    assert problem is not None and named in problem


def test_tight_yml_refuses_a_pattern_eventbridge_would_refuse():
    from tight.config import ConfigError
    from tight_tasks.triggers import check_trigger

    check_trigger("audit", "eventbridge", {"pattern": {"source": [{"prefix": "my."}]}})
    with pytest.raises(ConfigError) as refused:
        check_trigger("audit", "eventbridge", {"pattern": {"source": "my.app"}})
    assert str(refused.value) == (
        "functions.audit.eventbridge in tight.yml: pattern.source must be a list of values "
        '(such as ["my.app"]) or a mapping of nested fields'
    )
