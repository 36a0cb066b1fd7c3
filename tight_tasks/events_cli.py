"""``doit event kind=<kind> [fields]``: print an event of that kind as JSON, built by the same
factory as the tests' ``event`` fixture (``tight.testing.events``), so what a test sends, what
``doit event`` prints and what AWS sends have one shape.

Each kind names the fields it takes (``KINDS``); every value arrives as a string from the
command line and is read here (JSON bodies and details, counts, lists), so a bad one is one
``error:`` line naming what the field accepts.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tight_tasks.errors import TightTaskError, as_action
from tight_tasks.taskkit import param

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
S3_EVENTS_EXAMPLE = "ObjectCreated:Put, ObjectRemoved:Delete, ..."
MAX_COUNT = 1000


@dataclass(frozen=True)
class Field:
    help: str
    read: Callable[[str, str], Any]  # (field, value as typed) -> the factory's argument


# -- reading values ------------------------------------------------------------------------


def _text(field: str, value: str) -> str:
    return value


def _json(field: str, value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError as error:
        raise TightTaskError(
            f"{field} must be JSON, such as {field}='{{\"id\": 1}}': {error} in {value!r}"
        ) from None


def _json_object(field: str, value: str) -> dict[str, Any]:
    parsed = _json(field, value)
    if not isinstance(parsed, dict):
        raise TightTaskError(
            f"{field} must be a JSON object, such as {field}='{{\"id\": 1}}', not {value!r}"
        )
    return parsed


def _body(field: str, value: str) -> Any:
    """Text as it is; what looks like a JSON object or list must be one (a shell that ate a
    quote is the usual cause), and is then sent as JSON."""
    if value.lstrip()[:1] in ("{", "["):
        return _json(field, value)
    return value


def _strings(field: str, value: str) -> dict[str, str]:
    parsed = _json_object(field, value)
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in parsed.items()}


def _query(field: str, value: str) -> dict[str, str | list[str]]:
    """A query string (``a=1&b=2``) or a JSON object."""
    from urllib.parse import parse_qs

    if value.lstrip().startswith("{"):
        return {
            k: v if isinstance(v, list) else str(v) for k, v in _json_object(field, value).items()
        }
    parsed = parse_qs(value.lstrip("?"), keep_blank_values=True)
    if not parsed and value.strip():
        raise TightTaskError(f"{field} must be a query string such as a=1&b=2, not {value!r}")
    return {k: v if len(v) > 1 else v[0] for k, v in parsed.items()}


def _cookies(field: str, value: str) -> dict[str, str]:
    """Cookies as a browser sends them: ``a=1; b=2``."""
    pairs = [part.strip() for part in value.split(";") if part.strip()]
    if not all("=" in pair for pair in pairs):
        raise TightTaskError(f"{field} must be name=value pairs such as {field}='a=1; b=2'")
    return dict(pair.split("=", 1) for pair in pairs)


def _count(field: str, value: str) -> int:
    if not value.strip().isdigit() or not 1 <= int(value) <= MAX_COUNT:
        raise TightTaskError(f"{field} must be a whole number from 1 to {MAX_COUNT}, not {value!r}")
    return int(value)


def _size(field: str, value: str) -> int:
    if not value.strip().isdigit():
        raise TightTaskError(
            f"{field} must be a number of bytes, such as {field}=1024, not {value!r}"
        )
    return int(value)


def flag(field: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise TightTaskError(f"{field} must be true or false, not {value!r}")


def _method(field: str, value: str) -> str:
    if value.upper() not in HTTP_METHODS:
        raise TightTaskError(f"{field} must be one of {', '.join(HTTP_METHODS)}, not {value!r}")
    return value.upper()


def _path(field: str, value: str) -> str:
    if not value.startswith("/"):
        raise TightTaskError(f"{field} must start with /, such as {field}=/items, not {value!r}")
    return value


def _names(field: str, value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _choice(*choices: str) -> Callable[[str, str], str]:
    def read(field: str, value: str) -> str:
        if value not in choices:
            raise TightTaskError(f"{field} must be one of {', '.join(choices)}, not {value!r}")
        return value

    return read


# -- the kinds -----------------------------------------------------------------------------

HTTP_FIELDS = {
    "method": Field("the HTTP method (default GET)", _method),
    "path": Field("the request path (default /)", _path),
    "body": Field("the request or message body: JSON (with a JSON Content-Type) or text", _body),
    "content_type": Field("the body's Content-Type, to send a body as it is", _text),
    "headers": Field('request headers as a JSON object: headers=\'{"X-Id": "1"}\'', _strings),
    "query": Field("the query string: query='a=1&b=2' (or a JSON object)", _query),
    "cookies": Field("cookies as a browser sends them: cookies='a=1; b=2'", _cookies),
    "path_params": Field('path parameters as a JSON object: path_params=\'{"id": "1"}\'', _strings),
}
CALLER = {"principal_id": Field("the caller as the authorizer names it", _text)}
BATCH = {"count": Field("how many records, each with this body (default 1)", _count)}

KINDS: dict[str, dict[str, Field]] = {
    "rest": {**HTTP_FIELDS, **CALLER},
    "http": {**HTTP_FIELDS, **CALLER},
    "alb": {
        **HTTP_FIELDS,
        "multi_value": Field("the target group's multi-value headers", flag),
    },
    "url": dict(HTTP_FIELDS),
    "sqs": {
        "body": Field("the message body: JSON or text", _body),
        **BATCH,
        "fifo": Field("a FIFO queue's messages", flag),
        "queue": Field("the queue's name", _text),
        "group_id": Field("a FIFO message group", _text),
    },
    "sns": {
        "message": Field("the message: JSON or text", _body),
        "subject": Field("the message's subject", _text),
        "topic": Field("the topic's name", _text),
        **BATCH,
    },
    "s3": {
        "bucket": Field("the bucket's name", _text),
        "key": Field("the object's key, as written: key='incoming/a b.csv'", _text),
        "event_name": Field(
            f"the event: s3 {S3_EVENTS_EXAMPLE}; dynamodb_stream INSERT, MODIFY, REMOVE", _text
        ),
        "size": Field("the object's size in bytes", _size),
        **BATCH,
    },
    "kinesis": {
        "data": Field("the record's data: JSON or text", _body),
        "partition_key": Field("the record's partition key", _text),
        "stream": Field("the stream's name", _text),
        **BATCH,
    },
    "dynamodb_stream": {
        "item": Field("the item as a JSON object", _json_object),
        "old_item": Field("the item before a MODIFY, a JSON object", _json_object),
        "event_name": Field("INSERT, MODIFY or REMOVE", _choice("INSERT", "MODIFY", "REMOVE")),
        "keys": Field("the key's attribute names, comma-separated", _names),
        "table": Field("the table's name", _text),
        **BATCH,
    },
    "eventbridge": {
        "source": Field("the event's source", _text),
        "detail_type": Field("the event's detail-type", _text),
        "detail": Field("the detail as a JSON object: detail='{\"id\": 1}'", _json_object),
        "resources": Field("resource ARNs, comma-separated", _names),
    },
    "schedule": {"rule": Field("the schedule rule's name", _text)},
}


def _http(kind: str, values: dict[str, Any]) -> dict[str, Any]:
    from tight.testing.events import make_event

    headers = dict(values.pop("headers", {}))
    content_type = values.pop("content_type", None)
    if content_type:
        headers["Content-Type"] = content_type
    return make_event(kind=kind, headers=headers, **values)


def _sqs(values: dict[str, Any]) -> dict[str, Any]:
    from tight.testing.events import sqs

    bodies = [values.pop("body", "{}")] * values.pop("count", 1)
    return sqs(bodies=bodies, **values)


def _sns(values: dict[str, Any]) -> dict[str, Any]:
    from tight.testing.events import sns

    messages = [values.pop("message", "{}")] * values.pop("count", 1)
    return sns(messages, **values)


def _s3(values: dict[str, Any]) -> dict[str, Any]:
    from tight.testing.events import s3

    keys = [values.pop("key", "incoming/file.txt")] * values.pop("count", 1)
    if "event_name" in values:
        values["name"] = values.pop("event_name")
    return s3(keys=keys, **values)


def _kinesis(values: dict[str, Any]) -> dict[str, Any]:
    from tight.testing.events import kinesis

    return kinesis([values.pop("data", "{}")] * values.pop("count", 1), **values)


def _dynamodb_stream(values: dict[str, Any]) -> dict[str, Any]:
    from tight.testing.events import dynamodb_stream

    count = values.pop("count", 1)
    items = [values.pop("item", {"id": "1"})] * count
    if "old_item" in values:
        values["old_items"] = [values.pop("old_item")] * count
    try:
        return dynamodb_stream(items, **values)
    except (TypeError, ValueError) as error:
        raise TightTaskError(str(error)) from None


def _eventbridge(values: dict[str, Any]) -> dict[str, Any]:
    from tight.testing.events import eventbridge

    return eventbridge(**values)


def _schedule(values: dict[str, Any]) -> dict[str, Any]:
    from tight.testing.events import schedule

    return schedule(**values)


BUILDERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "rest": lambda values: _http("rest", values),
    "http": lambda values: _http("http", values),
    "alb": lambda values: _http("alb", values),
    "url": lambda values: _http("url", values),
    "sqs": _sqs,
    "sns": _sns,
    "s3": _s3,
    "kinesis": _kinesis,
    "dynamodb_stream": _dynamodb_stream,
    "eventbridge": _eventbridge,
    "schedule": _schedule,
}


def all_fields() -> dict[str, Field]:
    """Every field of every kind, once (the first kind's help for a shared name)."""
    found: dict[str, Field] = {}
    for fields in KINDS.values():
        for name, field in fields.items():
            found.setdefault(name, field)
    return found


def build_event(kind: str, given: dict[str, str]) -> dict[str, Any]:
    """The event of ``kind`` that the fields ``given`` (as typed) describe."""
    if kind not in KINDS:
        what = f"unknown kind {kind!r}" if kind else "no kind given"
        raise TightTaskError(f"{what}; kind= is one of {', '.join(KINDS)}")
    fields = KINDS[kind]
    unknown = sorted(set(given) - set(fields))
    if unknown:
        raise TightTaskError(
            f"kind={kind} takes no {', '.join(unknown)}; its fields are "
            f"{', '.join(fields) or 'none'} (`doit help event` lists every field)"
        )
    values = {}
    for name, value in given.items():
        # A body given its own Content-Type is sent as typed, JSON or not.
        read = _text if name == "body" and "content_type" in given else fields[name].read
        values[name] = read(name, value)
    return BUILDERS[kind](values)


def given_fields(options: dict[str, Any]) -> dict[str, str]:
    """The fields the command line gave: ``name=value`` variables (any name, so a misspelt
    one is reported) and ``--name value`` options (doit refuses unknown ones itself)."""
    from doit import doit_cmd

    given = {name: value for name, value in options.items() if value not in ("", None)}
    given.update(doit_cmd._CMDLINE_VARS or {})
    given.pop("kind", None)
    return given


def _event(kind: str, **options: Any) -> None:
    event = build_event(kind.strip(), given_fields(options))
    try:
        print(json.dumps(event, indent=2), flush=True)
    except BrokenPipeError:  # `doit event ... | head`: the reader has all it wanted
        import os
        import sys

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def task_event() -> dict[str, Any]:
    """Print an event of a kind (sqs, http, s3, ...) as JSON, as AWS would send it."""
    params = [param("kind", f"the event's kind: {', '.join(KINDS)}")]
    for name, field in all_fields().items():
        kinds = [kind for kind, fields in KINDS.items() if name in fields]
        params.append(param(name, f"{field.help} [{', '.join(kinds)}]"))
    return {
        "actions": [(as_action(_event),)],
        "params": params,
        "uptodate": [False],
        "verbosity": 2,
        "meta": {"pipeable": True},
    }
