"""What AWS itself accepts, checked before a template is written: the names SQS, SNS, S3 and
Kinesis take, EventBridge's schedule expressions and Lambda's SQS batching limits.

Each check returns the problem in words (``None`` when there is none), so the caller
words the error with the key at fault: tight.yml's check (``tight_tasks.triggers``) for
what tight.yml alone decides, ``doit template`` for names, which depend on the stage.
"""

from __future__ import annotations

import re
from typing import Any

# -- names ------------------------------------------------------------------------------------

QUEUE_NAME = re.compile(r"[A-Za-z0-9_-]+")
TOPIC_NAME = re.compile(r"[A-Za-z0-9_-]+")
STREAM_NAME = re.compile(r"[A-Za-z0-9_.-]+")
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]*[a-z0-9]")
IP_ADDRESS = re.compile(r"\d+\.\d+\.\d+\.\d+")
# Prefixes and suffixes S3 keeps for its own endpoints and access points.
BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def queue_name_problem(name: str, fifo: bool) -> str | None:
    """SQS: 1 to 80 letters, digits, hyphens and underscores; a FIFO queue's name, suffix
    included, ends in ``.fifo`` (and only a FIFO queue's)."""
    base = name.removesuffix(".fifo") if fifo else name
    if not fifo and name.endswith(".fifo"):
        return "ends in .fifo, which SQS keeps for FIFO queues (set fifo: true)"
    if not QUEUE_NAME.fullmatch(base):
        return "may hold only letters, digits, hyphens and underscores"
    if len(name) > 80:
        return f"is {len(name)} characters long; SQS takes at most 80"
    return None


def topic_name_problem(name: str, fifo: bool = False) -> str | None:
    """SNS: 1 to 256 letters, digits, hyphens and underscores; ``.fifo`` for FIFO topics."""
    base = name.removesuffix(".fifo") if fifo else name
    if not fifo and name.endswith(".fifo"):
        return "ends in .fifo, which SNS keeps for FIFO topics"
    if not TOPIC_NAME.fullmatch(base):
        return "may hold only letters, digits, hyphens and underscores"
    if len(name) > 256:
        return f"is {len(name)} characters long; SNS takes at most 256"
    return None


def stream_name_problem(name: str) -> str | None:
    """Kinesis: 1 to 128 letters, digits, underscores, hyphens and dots."""
    if not STREAM_NAME.fullmatch(name):
        return "may hold only letters, digits, hyphens, underscores and dots"
    if len(name) > 128:
        return f"is {len(name)} characters long; Kinesis takes at most 128"
    return None


def bucket_name_problem(name: str) -> str | None:
    """S3 (general purpose buckets): 3 to 63 lowercase letters, digits, dots and hyphens,
    starting and ending with a letter or digit, no two dots together, not an IP address,
    none of the prefixes and suffixes S3 keeps for itself."""
    if not 3 <= len(name) <= 63:
        return f"is {len(name)} characters long; S3 takes 3 to 63"
    if not BUCKET_NAME.fullmatch(name):
        return (
            "may hold only lowercase letters, digits, dots and hyphens, and must start and "
            "end with a letter or digit"
        )
    if ".." in name or ".-" in name or "-." in name:
        return "may not have a dot next to another dot or a hyphen"
    if IP_ADDRESS.fullmatch(name):
        return "may not look like an IP address"
    reserved = [p for p in BUCKET_PREFIXES if name.startswith(p)]
    reserved += [s for s in BUCKET_SUFFIXES if name.endswith(s)]
    if reserved:
        return f"may not use {reserved[0]!r}, which S3 keeps for itself"
    return None


# -- schedules --------------------------------------------------------------------------------

RATE = re.compile(r"rate\(\s*(\d+)\s+([a-z]+)\s*\)")
CRON = re.compile(r"cron\((.*)\)")
RATE_UNITS = ("minute", "hour", "day")
MONTHS = "JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC"
DAYS = "SUN|MON|TUE|WED|THU|FRI|SAT"


def _cron_field(names: str = "", extra: str = "") -> re.Pattern[str]:
    """One cron field: ``*``, values, ranges, steps and lists of them (``1-5,10/2``)."""
    value = r"\d+" + (f"|{names}" if names else "")
    item = rf"(\*|(?:{value})(?:-(?:{value}))?)(?:/\d+)?"
    if extra:
        item = f"(?:{extra}|{item})"
    return re.compile(rf"{item}(?:,{item})*", re.IGNORECASE)


# (name, pattern, lowest, highest) of cron's six fields, as EventBridge reads them.
CRON_FIELDS = (
    ("minutes", _cron_field(), 0, 59),
    ("hours", _cron_field(), 0, 23),
    ("day-of-month", _cron_field(extra=r"\?|L|LW|\d+W"), 1, 31),
    ("month", _cron_field(MONTHS), 1, 12),
    ("day-of-week", _cron_field(DAYS, extra=rf"\?|L|[1-7]L|(?:[1-7]|{DAYS})#[1-5]"), 1, 7),
    ("year", _cron_field(), 1970, 2199),
)


def schedule_problem(expression: Any) -> str | None:
    """EventBridge's rules: ``rate(1 hour)`` (a singular unit for 1, plural above, never
    0) or ``cron(minutes hours day-of-month month day-of-week year)``, six fields with
    exactly one ``?``, in day-of-month or day-of-week."""
    if not isinstance(expression, str):
        return "is not an expression"
    text = expression.strip()
    rate = RATE.fullmatch(text)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2)
        if unit.rstrip("s") not in RATE_UNITS:
            return f"has the unit {unit!r}; rate takes minute(s), hour(s) or day(s)"
        if value == 0:
            return "is a rate of 0; the value must be 1 or more"
        wanted = unit.rstrip("s") + ("" if value == 1 else "s")
        if unit != wanted:
            return f"must say rate({value} {wanted}): EventBridge takes the singular for 1 only"
        return None
    if text.startswith("rate("):
        return 'must be rate(<number> <unit>), such as "rate(5 minutes)" or "rate(1 hour)"'
    cron = CRON.fullmatch(text)
    if not cron:
        return (
            'must be rate(...) or cron(...), for example "rate(1 day)", "rate(5 minutes)" '
            'or "cron(0 3 * * ? *)"'
        )
    fields = cron.group(1).split()
    if len(fields) != 6:
        return (
            f"has {len(fields)} cron field(s); EventBridge takes six: minutes hours "
            "day-of-month month day-of-week year"
        )
    for value, (name, pattern, low, high) in zip(fields, CRON_FIELDS, strict=True):
        if not pattern.fullmatch(value):
            return f"has {value!r} as its {name}, which cron does not read"
        numbers = [int(n) for n in re.findall(r"(?<![/#\d])\d+(?![W#L\d])", value)]
        if any(not low <= n <= high for n in numbers):
            return f"has {value!r} as its {name}; it takes {low} to {high}"
    marks = [fields[2] == "?", fields[4] == "?"]
    if sum(marks) != 1 or "?" in "".join(f for i, f in enumerate(fields) if i not in (2, 4)):
        return (
            "must have one '?', in day-of-month or in day-of-week (not both, not neither): "
            'for example "cron(0 3 * * ? *)"'
        )
    return None


# -- SQS batches ------------------------------------------------------------------------------

BATCH_WINDOW_MAX = 300
FIFO_BATCH_MAX = 10


def sqs_batch_problem(options: dict[str, Any]) -> tuple[str, str] | None:
    """``(key, problem)`` when Lambda would refuse the SQS trigger's batching: a batch above
    10 needs a batch window; a FIFO queue takes at most 10 and no window."""
    queue = options.get("queue")
    fifo = bool(options.get("fifo")) or (
        isinstance(queue, str) and queue.startswith("arn:") and queue.endswith(".fifo")
    )
    size = options.get("batch_size", 10)
    window = options.get("batch_window")
    if fifo and size > FIFO_BATCH_MAX:
        return "batch_size", f"is {size}; a FIFO queue gives Lambda at most {FIFO_BATCH_MAX}"
    if fifo and window is not None:
        return "batch_window", "is set; Lambda has no batch window for FIFO queues"
    if size > FIFO_BATCH_MAX and window is None:
        return (
            "batch_size",
            f"is {size}; above {FIFO_BATCH_MAX} Lambda needs a batch window: add "
            "batch_window: <seconds, 1 to 300>",
        )
    return None
