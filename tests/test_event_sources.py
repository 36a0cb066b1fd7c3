"""Event sources in the template (tight_tasks.event_sources): a trigger's short form in
tight.yml, which tight.yml's check accepts, writes what its long form does."""

from __future__ import annotations

import pytest

from tight_tasks.config import validate
from tight_tasks.template import build_template


def record_handler(kind: str) -> str:
    return (
        f"import tight.providers.aws.controllers.{kind} as {kind}\n\n\n"
        f"@{kind}.record\ndef on_record(*args, **kwargs):\n    pass\n"
    )


@pytest.mark.parametrize(
    ("trigger", "key", "value"),
    [
        ("sqs", "queue", "orders"),
        ("sns", "topic", "alerts"),
        ("kinesis", "stream", "clicks"),
        ("s3", "bucket", "uploads"),
        ("sqs", "queue", "arn:aws:sqs:us-east-1:123456789012:orders"),
    ],
)
def test_a_short_trigger_writes_what_its_long_form_does(tmp_path, trigger, key, value):
    folder = tmp_path / "app/functions/worker"
    folder.mkdir(parents=True)
    (folder / "handler.py").write_text(record_handler(trigger))
    short = build_template(
        tmp_path, validate({"name": "shop", "functions": {"worker": {trigger: value}}}), "dev"
    )
    long = build_template(
        tmp_path,
        validate({"name": "shop", "functions": {"worker": {trigger: {key: value}}}}),
        "dev",
    )
    assert short == long
    assert short["Resources"]["WorkerFunction"]["Properties"]["Events"]
