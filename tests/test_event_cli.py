"""``doit event kind=<kind> [fields]``: every kind, key by key against AWS's documented sample
(tests/aws_events/), the issue's examples run for real, and bad input as one ``error:`` line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pytest

from tight_tasks.errors import TightTaskError
from tight_tasks.events_cli import KINDS, build_event

DOCUMENTED = Path(__file__).parent / "aws_events"
BIN = Path(sys.executable).parent

# Maps whose keys are the caller's or the sender's (headers, query, attributes, images, the
# event's detail, an authorizer's context): compared as maps, not key by key.
FREE_FORM = {
    "headers", "multiValueHeaders", "queryStringParameters", "multiValueQueryStringParameters",
    "pathParameters", "stageVariables", "messageAttributes", "MessageAttributes", "Keys",
    "NewImage", "OldImage", "detail", "claims",
}  # fmt: skip

# Keys AWS's sample shows that AWS sends only in some requests, none of which the factory
# makes: each with the condition under which it appears.
ONLY_SOMETIMES = {
    "rest": {
        "requestContext.identity.clientCert": "mutual TLS on a custom domain",
        "requestContext.authorizer": "an authorizer (checked below with principal_id)",
    },
    "http": {
        "stageVariables": "a stage with stage variables",
        "requestContext.authentication": "mutual TLS on a custom domain",
    },
    "url": {"requestContext.authorizer": "AuthType AWS_IAM"},
}

# kind -> (AWS's sample, the fields, as typed, that make an event like it)
HTTP_LIKE = {
    "method": "POST",
    "path": "/my/path",
    "body": "Hello from Lambda!",
    "headers": '{"header1": "value1"}',
    "query": "parameter1=value1&parameter1=value2&parameter2=value",
    "cookies": "cookie1=a; cookie2=b",
}
CASES: dict[str, tuple[str, dict[str, str]]] = {
    "rest": ("apigw_rest_proxy.json", HTTP_LIKE),
    "http": (
        "apigw_http_v2.json",
        {**HTTP_LIKE, "path_params": '{"parameter1": "value1"}', "principal_id": "user-1"},
    ),
    "alb": ("alb_single_value.json", {"path": "/lambda", "query": "query=1234ABCD"}),
    "url": ("lambda_url.json", HTTP_LIKE),
    "sqs": ("sqs_standard.json", {"body": '{"id": 1}', "count": "2"}),
    "sns": ("sns_notification.json", {"message": "Hello from SNS!", "subject": "TestInvoke"}),
    "s3": ("s3_object_created.json", {"bucket": "uploads", "key": "incoming/a b.csv"}),
    "kinesis": ("kinesis_records.json", {"data": "Hello, this is a test.", "count": "2"}),
    "dynamodb_stream": (
        "dynamodb_stream_insert_modify.json",
        {"item": '{"Id": 101, "Message": "New item!"}', "event_name": "INSERT"},
    ),
    "eventbridge": (
        "eventbridge_rds_event.json",
        {
            "source": "my.app",
            "detail_type": "OrderPlaced",
            "detail": '{"id": 1}',
            "resources": "arn:aws:rds:us-east-2:123456789012:db:rdz6xmpliljlb1",
        },
    ),
    "schedule": ("schedule_rule.json", {"rule": "nightly"}),
}


def documented(name: str) -> Any:
    return json.loads((DOCUMENTED / name).read_text())


def key_differences(made: Any, sample: Any, skip: dict[str, str], path: str = "") -> list[str]:
    """Where ``made`` and ``sample`` differ in their keys, at every level."""
    if isinstance(sample, dict):
        if not isinstance(made, dict):
            return [f"{path or 'event'}: {made!r} is not an object"]
        expected = {k for k in sample if f"{path}{k}" not in skip}
        found = {k for k in made if f"{path}{k}" not in skip}
        problems = []
        if found != expected:
            problems.append(
                f"{path or 'event'}: missing {sorted(expected - found)}, "
                f"extra {sorted(found - expected)}"
            )
        for key in expected & found:
            if key in FREE_FORM:
                if sample[key] is not None and not isinstance(made[key], dict):
                    problems.append(f"{path}{key}: {made[key]!r} is not a map")
            else:
                problems += key_differences(made[key], sample[key], skip, f"{path}{key}.")
        return problems
    if isinstance(sample, list) and sample and isinstance(sample[0], dict):
        if not isinstance(made, list) or not made:
            return [f"{path}: {made!r} is not a list of records"]
        problems = []
        for index, item in enumerate(made):
            like = sample[index] if index < len(sample) else sample[0]
            problems += key_differences(item, like, skip, path)
        return problems
    return []


def test_every_kind_has_a_case():
    assert set(CASES) == set(KINDS)


@pytest.mark.parametrize("kind", list(CASES))
def test_each_kind_has_the_keys_of_aws_sample(kind):
    sample_name, fields = CASES[kind]
    event = build_event(kind, fields)
    assert key_differences(event, documented(sample_name), ONLY_SOMETIMES.get(kind, {})) == []


def test_the_skipped_keys_are_really_in_aws_samples():
    for kind, skipped in ONLY_SOMETIMES.items():
        sample = documented(CASES[kind][0])
        for dotted in skipped:
            node = sample
            for part in dotted.split("."):
                node = node[part]


def test_rest_authorizer_and_multi_value_alb_and_modified_items():
    rest = build_event("rest", {"principal_id": "user-1"})
    assert rest["requestContext"]["authorizer"]["principalId"] == "user-1"
    alb = build_event("alb", {"multi_value": "true", "headers": '{"Accept": "*/*"}'})
    sample = documented("alb_multi_value.json")
    assert key_differences(alb, sample, {"body": "", "isBase64Encoded": ""}) == []
    modify = build_event(
        "dynamodb_stream",
        {"item": '{"Id": 1, "Message": "y"}', "old_item": '{"Id": 1, "Message": "x"}',
         "event_name": "MODIFY"},
    )  # fmt: skip
    sample = documented("dynamodb_stream_insert_modify.json")
    assert key_differences(modify["Records"][0], sample["Records"][1], {}) == []
    assert modify["Records"][0]["dynamodb"]["OldImage"]["Message"] == {"S": "x"}


def test_values_are_the_ones_given():
    sqs = build_event("sqs", {"body": '{"id": 1}', "count": "3"})
    assert [json.loads(r["body"]) for r in sqs["Records"]] == [{"id": 1}] * 3
    assert len({r["messageId"] for r in sqs["Records"]}) == 3
    http = build_event("http", {"method": "post", "path": "/items", "body": '{"name": "tea"}'})
    assert http["requestContext"]["http"]["method"] == "POST"
    assert http["rawPath"] == "/items"
    assert json.loads(http["body"]) == {"name": "tea"}
    assert http["headers"]["content-type"] == "application/json"
    text = build_event("rest", {"body": "a=1", "content_type": "application/x-www-form-urlencoded"})
    assert text["body"] == "a=1"
    assert text["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    typed = build_event("url", {"body": '{"a":  1 ', "content_type": "text/plain"})
    assert typed["body"] == '{"a":  1 '  # as typed: its Content-Type says it is not JSON
    s3 = build_event("s3", {"bucket": "uploads", "key": "incoming/a b.csv"})["Records"][0]["s3"]
    assert s3["bucket"]["name"] == "uploads"
    assert unquote_plus(s3["object"]["key"]) == "incoming/a b.csv"
    bridge = build_event(
        "eventbridge", {"source": "my.app", "detail_type": "OrderPlaced", "detail": '{"id": 1}'}
    )
    assert (bridge["source"], bridge["detail-type"], bridge["detail"]) == (
        "my.app", "OrderPlaced", {"id": 1},
    )  # fmt: skip
    assert build_event("schedule", {"rule": "nightly"})["resources"][0].endswith(":rule/nightly")


@pytest.mark.parametrize(
    ("kind", "fields", "expected"),
    [
        ("sqss", {}, "unknown kind 'sqss'; kind= is one of rest, http, alb, url, sqs, sns,"),
        ("", {}, "no kind given; kind= is one of rest, http,"),
        ("sqs", {"method": "GET"}, "kind=sqs takes no method; its fields are body, count,"),
        ("sqs", {"body": '{"id": 1'}, "body must be JSON, such as body="),
        ("eventbridge", {"detail": "[1]"}, "detail must be a JSON object"),
        ("sqs", {"count": "0"}, "count must be a whole number from 1 to 1000, not '0'"),
        ("http", {"method": "FETCH"}, "method must be one of GET, POST,"),
        ("http", {"path": "items"}, "path must start with /"),
        ("url", {"cookies": "a"}, "cookies must be name=value pairs"),
        ("sqs", {"fifo": "maybe"}, "fifo must be true or false"),
        ("dynamodb_stream", {"event_name": "UPSERT"}, "event_name must be one of INSERT,"),
    ],
)
def test_bad_input_says_what_is_accepted(kind, fields, expected):
    with pytest.raises(TightTaskError) as raised:
        build_event(kind, fields)
    assert str(raised.value).startswith(expected)
    assert "\n" not in str(raised.value)


# -- the command, for real -------------------------------------------------------------------
def tight(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    return subprocess.run(
        [str(BIN / "tight"), *args], cwd=tmp_path, env=env, capture_output=True, text=True
    )


def test_the_issue_examples_print_json_alone(tmp_path):
    done = tight(tmp_path, "event", "kind=sqs", 'body={"id": 1}', "count=3")
    assert done.returncode == 0, done.stderr
    assert [json.loads(r["body"]) for r in json.loads(done.stdout)["Records"]] == [{"id": 1}] * 3
    done = tight(tmp_path, "event", "kind=http", "method=POST", "path=/items",
                 'body={"name": "tea"}')  # fmt: skip
    assert json.loads(json.loads(done.stdout)["body"]) == {"name": "tea"}
    done = tight(tmp_path, "event", "kind=s3", "bucket=uploads", "key=incoming/a b.csv")
    assert json.loads(done.stdout)["Records"][0]["s3"]["object"]["key"] == "incoming/a+b.csv"
    done = tight(tmp_path, "event", "kind=eventbridge", "source=my.app",
                 "detail_type=OrderPlaced", 'detail={"id": 1}')  # fmt: skip
    assert json.loads(done.stdout)["detail"] == {"id": 1}
    done = tight(tmp_path, "event", "--kind", "schedule", "--rule", "nightly")
    assert json.loads(done.stdout)["detail-type"] == "Scheduled Event"


def test_errors_are_one_line_and_help_lists_kinds_and_fields(tmp_path):
    done = tight(tmp_path, "event", "kind=sqs", "bodyy=1")
    assert done.returncode != 0
    assert done.stderr.splitlines() == [
        "error: kind=sqs takes no bodyy; its fields are body, count, fifo, queue, group_id "
        "(`doit help event` lists every field)"
    ]
    assert done.stdout == ""
    shown = tight(tmp_path, "help", "event").stdout
    assert ", ".join(KINDS) in shown
    for field in ("--body", "--count", "--detail_type", "--principal_id", "--rule"):
        assert field in shown
