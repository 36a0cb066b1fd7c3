"""Review: reproductions for the event-source controllers (tight/batch.py and
tight/providers/aws/controllers/*), which the review does not edit. Each is a strict
xfail: it fails today as described; when the fix lands it passes, pytest reports XPASS as a
failure, and the marker must go.

The events are AWS's documented examples (tests/aws_events/)."""

import json
from pathlib import Path

import pytest
from events import FakeContext

DOCUMENTED = Path(__file__).parent / "aws_events"

ASYNC_SQS = """
import tight.providers.aws.controllers.sqs as sqs

SEEN = []

@sqs.record
async def on_message(*args, **kwargs):
    SEEN.append(kwargs["record"].message_id)
    raise RuntimeError("poisoned")
"""

GENERATOR_SQS = """
import tight.providers.aws.controllers.sqs as sqs

@sqs.record
def on_message(*args, **kwargs):
    raise RuntimeError("poisoned")
    yield
"""

ASYNC_SNS = """
import tight.providers.aws.controllers.sns as sns

@sns.record
async def on_message(*args, **kwargs):
    raise RuntimeError("poisoned")
"""

NOT_RUN = (
    "an async (or generator) handler is never run: its coroutine is dropped, every message "
    "counts as processed and Lambda deletes the batch; it must be awaited, or refused at "
    "import with an error naming the function"
)


def handled_or_refused(call) -> str:
    """'lost' when the invocation succeeded without reporting the message failed."""
    try:
        result = call()
    except Exception:  # noqa: BLE001 - refused at import or failed: the batch is retried
        return "retried"
    failures = (result or {}).get("batchItemFailures") if isinstance(result, dict) else None
    return "retried" if failures else "lost"


@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited")
@pytest.mark.xfail(strict=True, reason=NOT_RUN)
def test_an_async_sqs_handler_never_loses_a_message(load_app):
    event = json.loads((DOCUMENTED / "sqs_standard.json").read_text())
    assert (
        handled_or_refused(lambda: load_app({"queue": ASYNC_SQS}).queue(event, FakeContext()))
        == "retried"
    )


@pytest.mark.xfail(strict=True, reason=NOT_RUN)
def test_a_generator_sqs_handler_never_loses_a_message(load_app):
    event = json.loads((DOCUMENTED / "sqs_standard.json").read_text())
    assert (
        handled_or_refused(lambda: load_app({"queue": GENERATOR_SQS}).queue(event, FakeContext()))
        == "retried"
    )


@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited")
@pytest.mark.xfail(strict=True, reason=NOT_RUN)
def test_an_async_sns_handler_fails_the_invocation(load_app):
    event = json.loads((DOCUMENTED / "sns_notification.json").read_text())
    assert (
        handled_or_refused(lambda: load_app({"topic": ASYNC_SNS}).topic(event, FakeContext()))
        == "retried"
    )
