"""The shape of each trigger in tight.yml's ``functions:`` section, checked when tight.yml
is read (``tight_tasks.config`` calls ``check_trigger`` for every trigger it finds).

    functions:
      orders:
        sqs: {queue: orders, batch_size: 10, fifo: false}
      nightly:
        schedule: "rate(1 day)"

Unknown keys, missing ones and values of the wrong kind are one-line errors naming the
function. Whether a trigger matches the decorator its handler uses is checked by
``doit template``, which reads the handlers with ``ast`` (``tight_tasks.functions.read_code``).
"""

import re
from typing import Any

from tight.config import ConfigError

TRIGGERS = ("sqs", "sns", "s3", "kinesis", "dynamodb_stream", "eventbridge", "schedule")


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _batch_size(value: Any) -> bool:
    return type(value) is int and 1 <= value <= 10000


def _batch_window(value: Any) -> bool:
    return type(value) is int and 1 <= value <= 300  # Lambda's MaximumBatchingWindowInSeconds


def _flag(value: Any) -> bool:
    return isinstance(value, bool)


def _position(value: Any) -> bool:
    return value in ("LATEST", "TRIM_HORIZON")


def _s3_events(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, str) and v.startswith("s3:") for v in value)
    )


BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def _bucket(value: Any) -> bool:
    """An S3 bucket name (lowercase letters, digits, dots, hyphens; 3 to 63) or an ARN."""
    return isinstance(value, str) and (
        value.startswith("arn:") or (BUCKET_NAME.match(value) is not None and ".." not in value)
    )


def _pattern(value: Any) -> bool:
    return isinstance(value, dict) and bool(value)


def _receives(value: Any) -> bool:
    return type(value) is int and 1 <= value <= 1000


def _async_retries(value: Any) -> bool:
    return type(value) is int and 0 <= value <= 2


def _stream_retries(value: Any) -> bool:
    return type(value) is int and 0 <= value <= 10000


TEXT = (_text, "a non-empty string")
# Where failures land (tight_tasks.failures): receives before a message moves to the queue's
# dead-letter queue; retries of an asynchronous invocation (Lambda allows 0 to 2) or of a
# stream batch; whether a failing stream batch is split in two to find the bad record.
RECEIVES = (_receives, "a whole number of receives from 1 to 1000")
ASYNC_RETRIES = (_async_retries, "0, 1 or 2 (Lambda retries an asynchronous event at most twice)")
STREAM_RETRIES = (_stream_retries, "a whole number from 0 to 10000")
BISECT = (_flag, "true or false")
KEYS: dict[str, dict[str, tuple[Any, str]]] = {
    "sqs": {
        "queue": TEXT,
        "batch_size": (_batch_size, "a whole number from 1 to 10000"),
        "batch_window": (_batch_window, "a whole number of seconds from 1 to 300"),
        "fifo": (_flag, "true or false"),
        "max_receive_count": RECEIVES,
    },
    "sns": {"topic": TEXT, "retries": ASYNC_RETRIES},
    "s3": {
        "bucket": (_bucket, "a bucket name: 3 to 63 lowercase letters, digits, dots or hyphens"),
        "events": (_s3_events, 'a list of S3 event names such as ["s3:ObjectCreated:*"]'),
        "prefix": TEXT,
        "suffix": TEXT,
        "retries": ASYNC_RETRIES,
    },
    "kinesis": {
        "stream": TEXT,
        "starting_position": (_position, "LATEST or TRIM_HORIZON"),
        "batch_size": (_batch_size, "a whole number from 1 to 10000"),
        "retries": STREAM_RETRIES,
        "bisect": BISECT,
    },
    "dynamodb_stream": {
        "model": TEXT,
        "starting_position": (_position, "LATEST or TRIM_HORIZON"),
        "batch_size": (_batch_size, "a whole number from 1 to 10000"),
        "retries": STREAM_RETRIES,
        "bisect": BISECT,
    },
    "eventbridge": {
        "pattern": (_pattern, 'an event pattern such as {source: ["my.app"]}'),
        "bus": TEXT,
        "retries": ASYNC_RETRIES,
    },
}
REQUIRED = {
    "sqs": "queue",
    "sns": "topic",
    "s3": "bucket",
    "kinesis": "stream",
    "dynamodb_stream": "model",
    "eventbridge": "pattern",
}
# The controller module a trigger's handler registers with (a schedule is an EventBridge rule).
CONTROLLER = {trigger: trigger for trigger in TRIGGERS} | {"schedule": "eventbridge"}


def check_trigger(function: str, trigger: str, spec: Any) -> None:
    """Raise ``ConfigError`` naming the function when ``spec`` is not a valid ``trigger``.

    ``sqs: orders`` is short for ``sqs: {queue: orders}`` (and likewise for the other
    sources' main key); ``schedule`` takes its expression, or ``{expression, retries}``.
    """
    from tight_tasks.aws_rules import schedule_problem, sqs_batch_problem

    where = f"functions.{function}.{trigger} in tight.yml"
    if spec is None:
        raise ConfigError(empty_trigger(where, trigger))
    if trigger == "schedule" and isinstance(spec, dict):
        # The long form: {expression: "rate(1 day)", retries: 0}.
        unknown = sorted(str(k) for k in spec if k not in ("expression", "retries"))
        if unknown:
            raise ConfigError(
                f"{where} has unknown key(s) {', '.join(unknown)}; it takes expression, retries"
            )
        if "retries" in spec and not _async_retries(spec["retries"]):
            retries = spec["retries"]
            raise ConfigError(f"{where}: retries must be {ASYNC_RETRIES[1]}, not {retries!r}")
        spec = spec.get("expression")
    if trigger == "schedule":
        problem = schedule_problem(spec)
        if problem is not None:
            raise ConfigError(f"{where}: {spec!r} {problem}")
        return
    keys = KEYS[trigger]
    main = REQUIRED[trigger]
    if isinstance(spec, str):
        spec = {main: spec}
    if not isinstance(spec, dict):
        raise ConfigError(f"{where} must be a mapping such as {{{main}: ...}}, not {spec!r}")
    unknown = sorted(str(k) for k in spec if k not in keys)
    if unknown:
        raise ConfigError(
            f"{where} has unknown key(s) {', '.join(unknown)}; it takes {', '.join(keys)}"
        )
    if main not in spec:
        raise ConfigError(f"{where} needs {main}")
    for key, value in spec.items():
        check, wanted = keys[key]
        if not check(value):
            raise ConfigError(f"{where}: {key} must be {wanted}, not {value!r}")
    if trigger == "eventbridge":
        from tight_tasks.event_patterns import pattern_problem

        problem = pattern_problem(spec["pattern"])
        if problem is not None:
            raise ConfigError(f"{where}: {problem}")
    if trigger == "sqs":
        batch = sqs_batch_problem(spec)
        if batch is not None:
            raise ConfigError(f"{where}: {batch[0]} {batch[1]}")


def empty_trigger(where: str, trigger: str) -> str:
    """The error for a trigger written with nothing after it (``sqs:``): it has no source."""
    if trigger == "schedule":
        return f'{where} is empty; give its expression: schedule: "rate(1 day)"'
    main = REQUIRED[trigger]
    if trigger == "eventbridge":
        example = 'eventbridge: {pattern: {source: ["my.app"]}}'
        return f"{where} is empty; give its pattern: {example}"
    example = f"{trigger}: <{main}> or {trigger}: {{{main}: <{main}>}}"
    return f"{where} is empty; name its {main}: {example}"
