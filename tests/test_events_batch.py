"""Event-source functions served through a real app, as Lambda calls them: one handler call per
record, partial batch failure for queues and streams, raise-after-logging for the asynchronous
sources, wrong sources and mixed kinds refused."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from events import FakeContext, make_event

from tight.batch import BatchFailed, KindConflict
from tight.errors import WrongEventSource
from tight.providers.aws.lambda_app.app import AppError
from tight.testing.events import events

DOCUMENTED = Path(__file__).parent / "aws_events"

# A handler that records what it saw and fails the records whose "n" is in FAIL.
RECORDER = """
import tight.providers.aws.controllers.{kind} as {kind}

SEEN = []
FAIL = set()


@{kind}.record
def on_record(*args, **kwargs):
    record = kwargs["record"]
    assert set(kwargs) == {{"record", "event", "context"}}
    n = {read}
    SEEN.append(n)
    if n in FAIL:
        raise ValueError("cannot process " + str(n))
"""

READS = {
    "sqs": 'record.json()["n"]',
    "sns": 'record.json()["n"]',
    "kinesis": 'record.json()["n"]',
    "s3": "int(record.key.split('-')[1])",
    "dynamodb_stream": 'record.new_image["n"]',
    "eventbridge": 'record.detail["n"]',
}


def recorder(kind: str) -> str:
    return RECORDER.format(kind=kind, read=READS[kind])


def handler_module(function: str = "worker"):
    """The function's handler module (imported now if no call has imported it yet)."""
    import importlib

    return importlib.import_module(f"app.functions.{function}.handler")


def batch_of(kind: str, count: int, **kwargs):
    bodies = [{"n": n} for n in range(count)]
    if kind == "sqs":
        return events.sqs(bodies=bodies, **kwargs)
    if kind == "sns":
        return events.sns(bodies, **kwargs)
    if kind == "kinesis":
        return events.kinesis(bodies, **kwargs)
    if kind == "s3":
        return events.s3("bucket", [f"file-{n}" for n in range(count)], **kwargs)
    if kind == "dynamodb_stream":
        return events.dynamodb_stream([{"id": str(n), "n": n} for n in range(count)], **kwargs)
    raise AssertionError(kind)


def ids(event, kind: str, positions) -> list[dict[str, str]]:
    records = event["Records"]
    if kind == "sqs":
        return [{"itemIdentifier": records[i]["messageId"]} for i in positions]
    if kind == "kinesis":
        return [{"itemIdentifier": records[i]["kinesis"]["sequenceNumber"]} for i in positions]
    return [{"itemIdentifier": records[i]["dynamodb"]["SequenceNumber"]} for i in positions]


def logged(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]


# -- partial batch failure -----------------------------------------------------------------
def test_standard_queue_tries_every_message_and_reports_only_the_failed(load_app):
    app_index = load_app({"worker": recorder("sqs")})
    event = batch_of("sqs", 5)
    assert app_index.worker(event, FakeContext()) == {"batchItemFailures": []}
    assert handler_module().SEEN == [0, 1, 2, 3, 4]
    handler_module().SEEN.clear()
    handler_module().FAIL.update({1, 3})
    answer = app_index.worker(event, FakeContext())
    assert answer == {"batchItemFailures": ids(event, "sqs", [1, 3])}
    assert handler_module().SEEN == [0, 1, 2, 3, 4]


def test_fifo_queue_stops_at_the_first_failure_and_reports_every_later_message(load_app):
    app_index = load_app({"worker": recorder("sqs")})
    handler_module().FAIL.update({2, 4})
    event = batch_of("sqs", 5, fifo=True)
    assert app_index.worker(event, FakeContext()) == {
        "batchItemFailures": ids(event, "sqs", [2, 3, 4])
    }
    assert handler_module().SEEN == [0, 1, 2]


@pytest.mark.parametrize("kind", ["kinesis", "dynamodb_stream"])
def test_streams_stop_at_the_first_failure_and_report_it_with_every_later_record(load_app, kind):
    app_index = load_app({"worker": recorder(kind)})
    event = batch_of(kind, 4)
    assert app_index.worker(event, FakeContext()) == {"batchItemFailures": []}
    handler_module().SEEN.clear()
    handler_module().FAIL.update({1, 3})
    assert app_index.worker(event, FakeContext()) == {
        "batchItemFailures": ids(event, kind, [1, 2, 3])
    }
    assert handler_module().SEEN == [0, 1]


@pytest.mark.parametrize(
    ("kind", "options", "tried", "message"),
    [
        ("sqs", {}, [0, 1, 2], r"all 3 records of the SQS batch failed: 3 raised \(the first a "),
        ("sqs", {"fifo": True}, [0], r"1 raised .*, 2 not tried after it to keep their order"),
        ("kinesis", {}, [0], r"all 3 records of the Kinesis batch failed"),
        ("dynamodb_stream", {}, [0], r"all 3 records of the DynamoDB stream batch failed"),
    ],
)
def test_a_batch_that_fails_entirely_raises_with_the_count_and_first_error_type(
    load_app, kind, options, tried, message
):
    app_index = load_app({"worker": recorder(kind)})
    handler_module().FAIL.update({0, 1, 2})
    with pytest.raises(BatchFailed, match=message) as raised:
        app_index.worker(batch_of(kind, 3, **options), FakeContext())
    assert "ValueError" in str(raised.value)
    assert isinstance(raised.value.__cause__, ValueError)
    assert tried == handler_module().SEEN


def test_documented_events_are_served_and_reported_by_their_ids(load_app):
    app_index = load_app(
        {
            "queue": """
import tight.providers.aws.controllers.sqs as sqs

@sqs.record
def on_message(*args, **kwargs):
    if kwargs["record"].message_id.startswith("2e14"):
        raise RuntimeError("poisoned")
""",
            "stream": """
import tight.providers.aws.controllers.kinesis as kinesis

@kinesis.record
def on_record(*args, **kwargs):
    if kwargs["record"].data == b"This is only a test.":
        raise RuntimeError("poisoned")
""",
        }
    )
    sqs = json.loads((DOCUMENTED / "sqs_standard.json").read_text())
    assert app_index.queue(sqs, FakeContext()) == {
        "batchItemFailures": [{"itemIdentifier": "2e1424d4-f796-459a-8184-9c92662be6da"}]
    }
    kinesis = json.loads((DOCUMENTED / "kinesis_records.json").read_text())
    assert app_index.stream(kinesis, FakeContext()) == {
        "batchItemFailures": [
            {"itemIdentifier": "49590338271490256608559692540925702759324208523137515618"}
        ]
    }


def test_a_failed_record_is_logged_with_id_type_and_traceback_never_its_body(load_app, capsys):
    app_index = load_app({"worker": recorder("sqs")})
    handler_module().FAIL.add(1)
    event = events.sqs(bodies=[{"n": 0}, {"n": 1, "card": "4111-SECRET"}])
    capsys.readouterr()
    app_index.worker(event, FakeContext())
    out = capsys.readouterr().out
    (line,) = [json.loads(text) for text in out.splitlines()]
    assert line["level"] == "ERROR"
    assert line["record_id"] == event["Records"][1]["messageId"]
    assert line["error_type"] == "ValueError"
    assert "cannot process 1" in line["traceback"]
    assert line["function"] == "worker"
    assert line["request_id"] == "lambda-req-1"
    assert "4111-SECRET" not in out


def test_a_failed_record_without_an_id_fails_the_whole_batch(load_app):
    app_index = load_app({"worker": recorder("sqs")})
    handler_module().FAIL.add(1)
    event = batch_of("sqs", 3)
    del event["Records"][1]["messageId"]
    with pytest.raises(BatchFailed, match="no id to report it by"):
        app_index.worker(event, FakeContext())


def test_an_empty_batch_reports_no_failures(load_app):
    app_index = load_app({"worker": recorder("sqs")})
    assert app_index.worker({"Records": []}, FakeContext()) == {"batchItemFailures": []}


# -- asynchronous sources ------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["sns", "s3"])
def test_asynchronous_sources_raise_the_handlers_error_after_logging_it(load_app, capsys, kind):
    app_index = load_app({"worker": recorder(kind)})
    assert app_index.worker(batch_of(kind, 2), FakeContext()) is None
    assert handler_module().SEEN == [0, 1]
    handler_module().FAIL.add(0)
    capsys.readouterr()
    with pytest.raises(ValueError, match="cannot process 0"):
        app_index.worker(batch_of(kind, 2), FakeContext())
    (line,) = logged(capsys)
    assert line["error_type"] == "ValueError" and line["record_id"]
    assert "traceback" in line


def test_eventbridge_and_schedules_call_the_handler_once_per_event(load_app, capsys):
    app_index = load_app(
        {
            "audit": recorder("eventbridge"),
            "nightly": """
import tight.providers.aws.controllers.eventbridge as eventbridge

RUNS = []

@eventbridge.record
def run(*args, **kwargs):
    RUNS.append(kwargs["record"].detail_type)
""",
        }
    )
    assert app_index.audit(events.eventbridge("my.app", "Thing", {"n": 5}), None) is None
    assert handler_module("audit").SEEN == [5]
    handler_module("audit").FAIL.add(6)
    with pytest.raises(ValueError):
        app_index.audit(events.eventbridge("my.app", "Thing", {"n": 6}), None)
    documented = json.loads((DOCUMENTED / "schedule_rule.json").read_text())
    app_index.nightly(documented, None)
    app_index.nightly(events.schedule(), None)
    assert handler_module("nightly").RUNS == ["Scheduled Event", "Scheduled Event"]


# -- wrong sources and wrong modules -------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "event", "got"),
    [
        ("sqs", make_event("rest", "GET", "/"), "HTTP"),
        ("sqs", events.sns(["x"]), "SNS"),
        ("kinesis", events.dynamodb_stream([{"id": "1"}]), "DynamoDB stream"),
        ("dynamodb_stream", events.sqs(["x"]), "SQS"),
        ("s3", events.schedule(), "EventBridge"),
        ("sns", {"hello": "world"}, "unrecognised"),
        ("sqs", [1, 2], "EventBridge Pipes batch"),
    ],
)
def test_an_event_from_another_source_raises_wrong_event_source(load_app, kind, event, got):
    app_index = load_app({"worker": recorder(kind)})
    with pytest.raises(WrongEventSource, match=f"function 'worker' serves .* received a {got} "):
        app_index.worker(event, FakeContext())
    assert handler_module().SEEN == []


def test_eventbridge_function_refuses_a_queue_batch(load_app):
    app_index = load_app({"audit": recorder("eventbridge")})
    with pytest.raises(WrongEventSource, match="serves EventBridge events but received a SQS"):
        app_index.audit(events.sqs(["x"]), None)


TWO_KINDS = """
import tight.providers.aws.controllers.sqs as sqs
import tight.providers.aws.controllers.sns as sns

@sqs.record
def on_message(*args, **kwargs):
    pass

@sns.record
def on_notification(*args, **kwargs):
    pass
"""

HTTP_AND_SQS = """
import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy
import tight.providers.aws.controllers.sqs as sqs

@sqs.record
def on_message(*args, **kwargs):
    pass

@lambda_proxy.get
def get_handler(*args, **kwargs):
    return {"statusCode": 200}
"""


@pytest.mark.parametrize(
    ("source", "names"),
    [
        (TWO_KINDS, "@sqs.record and @sns.record"),
        (HTTP_AND_SQS, r"HTTP handlers \(@lambda_proxy.get, ...\) and @sqs.record"),
        (HTTP_AND_SQS.replace("@sqs.record\ndef on_message", "def on_message").replace(
            "    return {\"statusCode\": 200}",
            "    return {\"statusCode\": 200}\n\non_message = sqs.record(on_message)",
        ), r"HTTP handlers \(@lambda_proxy.get, ...\) and @sqs.record"),
    ],
)  # fmt: skip
def test_a_module_registering_two_kinds_is_an_import_error_naming_the_function(
    load_app, capsys, source, names
):
    app_index = load_app({"orders": source})
    capsys.readouterr()
    with pytest.raises(AppError, match=r"app/functions/orders/handler\.py could not be loaded"):
        app_index.orders(events.sqs(["x"]), FakeContext())
    (line,) = logged(capsys)
    assert "function 'orders'" in line["traceback"]
    assert "KindConflict" in line["traceback"]
    assert names.replace("\\", "") in line["traceback"]
    # An HTTP caller still gets a 500, never a traceback.
    answer = app_index.orders(make_event("rest", "GET", "/"), FakeContext())
    assert answer["statusCode"] == 500 and "KindConflict" not in answer["body"]


def test_two_record_handlers_in_one_module_are_refused():
    import tight.providers.aws.controllers.sqs as sqs

    namespace: dict = {"__name__": "app.functions.orders.handler", "sqs": sqs}
    exec("def first(**kwargs): pass\ndef second(**kwargs): pass", namespace)
    sqs.record(namespace["first"])
    assert sqs.record(namespace["first"]) is namespace["first"]  # a re-run registers it again
    with pytest.raises(KindConflict, match=r"two @sqs\.record handlers, first and second"):
        sqs.record(namespace["second"])
    with pytest.raises(TypeError, match="decorates a function"):
        sqs.record("not a function")  # type: ignore[arg-type]


def test_the_decorator_returns_the_function_unchanged_for_unit_tests():
    import tight.providers.aws.controllers.sqs as sqs

    namespace: dict = {"__name__": "tests.unit_handler"}
    exec("def on_message(*args, **kwargs):\n    return kwargs['record'].json()", namespace)
    function = namespace["on_message"]
    assert sqs.record(function) is function
    from tight.providers.aws.controllers.sqs import SQSMessage

    record = SQSMessage(events.sqs([{"a": 1}])["Records"][0])
    assert function(record=record, event={}, context=None) == {"a": 1}


# -- functions that cannot be loaded must not lose events ----------------------------------
@pytest.mark.parametrize(
    "source", ["import no_such_module_here\n", "X = 1\n"], ids=["import-error", "no-handler"]
)
def test_a_function_that_cannot_load_raises_for_non_http_events(load_app, source):
    app_index = load_app({"broken": source})
    for event in (events.sqs(["x"]), events.kinesis(["x"]), events.schedule(), {"any": 1}):
        with pytest.raises(AppError, match="Lambda retries it"):
            app_index.broken(event, FakeContext())
    assert app_index.broken(make_event("http", "GET", "/"), FakeContext())["statusCode"] == 500


def test_plain_handler_logs_with_its_function_name_and_request_id(load_app, capsys):
    app_index = load_app(
        {
            "worker": """
from tight.core import logger

def handler(event, context):
    logger.info(message="working", count=len(event["Records"]))
    return "done"
"""
        }
    )
    capsys.readouterr()
    assert app_index.worker({"Records": [1, 2]}, FakeContext()) == "done"
    (line,) = logged(capsys)
    assert (line["function"], line["request_id"], line["count"]) == ("worker", "lambda-req-1", 2)


# -- cold start ----------------------------------------------------------------------------
IMPORT_PROBE = """
import json, sys
before = set(sys.modules)
import tight.providers.aws.controllers.sqs as sqs
import tight.providers.aws.controllers.sns, tight.providers.aws.controllers.s3
import tight.providers.aws.controllers.kinesis, tight.providers.aws.controllers.eventbridge
import tight.providers.aws.controllers.dynamodb_stream as dynamodb_stream
loaded_by_import = sorted(set(sys.modules) - before)
namespace = {"__name__": "probe", "sqs": sqs, "dynamodb_stream": dynamodb_stream}
exec("@sqs.record\\ndef on(**kw):\\n    kw['record'].json()\\n", namespace)
controller = namespace["__tight_record_controller__"]
event = {"Records": [{"messageId": "1", "body": "{}", "eventSource": "aws:sqs",
                      "eventSourceARN": "arn:aws:sqs:us-east-1:1:q"}]}
assert controller.dispatch(event, None, "probe") == {"batchItemFailures": []}
from tight.providers.aws.controllers.dynamodb_stream import DynamoDBStreamRecord
assert DynamoDBStreamRecord({"dynamodb": {"Keys": {"a": {"B": "AA=="}}}}).keys == {"a": b"\\0"}
print(json.dumps([loaded_by_import, sorted(set(sys.modules) - before)]))
"""


def test_event_source_modules_import_only_the_standard_library_and_no_typing():
    import subprocess

    result = subprocess.run(
        [sys.executable, "-I", "-c", IMPORT_PROBE], capture_output=True, text=True, check=True
    )
    by_import, in_all = json.loads(result.stdout)
    stdlib = set(sys.stdlib_module_names)
    for name in in_all:
        top = name.split(".")[0]
        assert top == "tight" or top in stdlib or top.startswith("_"), name
    assert "typing" not in by_import
    assert not any(name.startswith(("boto3", "botocore")) for name in in_all)
    # The controllers alone load neither the HTTP stack nor the logger.
    assert "tight.request" not in by_import and "tight.core.logger" not in by_import
