"""The batch benchmark's three consumers report the same poisoned message, or its ratios mean
nothing; and the plugin's ``event`` fixture builds every kind of event in a user's tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "runtime"
sys.path.insert(0, str(BENCH))

import batch  # noqa: E402


@pytest.mark.parametrize("framework", batch.FRAMEWORKS)
def test_each_consumer_reports_the_poisoned_message_alike(framework, tmp_path):
    events = batch.write_events(tmp_path)
    poisoned = json.loads(events["poisoned"].read_text())["Records"][37]["messageId"]
    folder, entry = batch.build(framework, tmp_path)
    for mode, event, expected in (
        ("check", "poisoned", {"batchItemFailures": [{"itemIdentifier": poisoned}]}),
        ("cold", "one", {"batchItemFailures": []}),
    ):
        result = subprocess.run(
            [sys.executable, "-I", "-S", "-B", "-c", batch.CHILD, mode, str(folder), entry,
             str(events[event])],
            capture_output=True,
            text=True,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout.splitlines()[-1])["answer"] == expected


def test_the_interleaved_timing_runs_every_consumer_in_one_interpreter(tmp_path):
    events = batch.write_events(tmp_path)
    folders = {name: batch.build(name, tmp_path)[0] for name in batch.FRAMEWORKS}
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", batch.COMPARE, str(events["batch"]), "1"]
        + [f"{name}={folder}" for name, folder in folders.items()],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    timings = json.loads(result.stdout.splitlines()[-1])
    assert sorted(timings) == sorted(batch.FRAMEWORKS)
    assert all(seconds > 0 for seconds in timings.values())


def test_event_fixture_builds_every_kind(pytester: pytest.Pytester):
    pytester.makepyfile(
        """
        def test_kinds(event):
            assert event("GET", "/")["httpMethod"] == "GET"
            assert event.sqs(bodies=["a", "b"], fifo=True)["Records"][1]["attributes"][
                "MessageGroupId"
            ]
            assert event.sns(["x"])["Records"][0]["EventSource"] == "aws:sns"
            assert event.s3("b", ["k"], name="ObjectCreated:Put")["Records"][0]["eventName"]
            assert event.kinesis([b"x"])["Records"][0]["eventSource"] == "aws:kinesis"
            assert event.dynamodb_stream([{"id": "1"}], event_name="REMOVE")["Records"][0][
                "dynamodb"
            ]["OldImage"] == {"id": {"S": "1"}}
            assert event.eventbridge("my.app", "Thing", {"a": 1})["detail"] == {"a": 1}
            assert event.schedule()["detail-type"] == "Scheduled Event"
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
