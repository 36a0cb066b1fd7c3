"""The ``functions:`` section of tight.yml: which event source triggers each function.

    functions:
      orders:
        sqs: {queue: orders, batch_size: 10, fifo: false}
      nightly:
        schedule: "rate(1 day)"

``validate(settings, app_root)`` checks every entry (one trigger, known keys, values of the
right type) and that it matches what the function's handler module registers, read with
``ast`` so that no app code is imported: an ``sqs`` trigger needs ``@sqs.record``, a
``schedule`` ``@eventbridge.record``; a record handler with no trigger cannot be deployed.
HTTP functions need no entry. Errors name the function and the fix.
"""

import ast
import re
from pathlib import Path
from typing import Any

from tight.config import ConfigError

# Each trigger: its keys (name -> (check, what the check wants)), the required ones, and the
# controller module its handler must register with.
STARTING_POSITIONS = ("LATEST", "TRIM_HORIZON")
SCHEDULE_PATTERN = re.compile(
    r"^(rate\(\s*[1-9]\d*\s+(minute|minutes|hour|hours|day|days)\s*\)|cron\(.+\))$"
)


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _batch_size(value: Any) -> bool:
    return type(value) is int and 1 <= value <= 10000


def _flag(value: Any) -> bool:
    return isinstance(value, bool)


def _position(value: Any) -> bool:
    return value in STARTING_POSITIONS or value == "AT_TIMESTAMP"


def _s3_events(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, str) and v.startswith("s3:") for v in value)
    )


def _pattern(value: Any) -> bool:
    return isinstance(value, dict) and bool(value)


TEXT = (_text, "a non-empty string")
KEYS: dict[str, dict[str, tuple[Any, str]]] = {
    "sqs": {
        "queue": TEXT,
        "batch_size": (_batch_size, "a whole number from 1 to 10000"),
        "fifo": (_flag, "true or false"),
    },
    "sns": {"topic": TEXT},
    "s3": {
        "bucket": TEXT,
        "events": (_s3_events, 'a list of S3 event names such as ["s3:ObjectCreated:*"]'),
        "prefix": TEXT,
        "suffix": TEXT,
    },
    "kinesis": {
        "stream": TEXT,
        "starting_position": (_position, "LATEST, TRIM_HORIZON or AT_TIMESTAMP"),
        "batch_size": (_batch_size, "a whole number from 1 to 10000"),
    },
    "dynamodb_stream": {
        "model": TEXT,
        "starting_position": (_position, "LATEST or TRIM_HORIZON"),
        "batch_size": (_batch_size, "a whole number from 1 to 10000"),
    },
    "eventbridge": {"pattern": (_pattern, 'an event pattern such as {source: ["my.app"]}')},
}
REQUIRED = {
    "sqs": "queue",
    "sns": "topic",
    "s3": "bucket",
    "kinesis": "stream",
    "dynamodb_stream": "model",
    "eventbridge": "pattern",
}
TRIGGERS = ("sqs", "sns", "s3", "kinesis", "dynamodb_stream", "eventbridge", "schedule")
# The controller module a trigger's handler registers with (a schedule is an EventBridge rule).
CONTROLLER = {trigger: trigger for trigger in TRIGGERS} | {"schedule": "eventbridge"}
CONTROLLERS_PACKAGE = "tight.providers.aws.controllers"
HTTP = "lambda_proxy_event"
PLAIN = "plain handler(event, context)"


def check_trigger(function: str, trigger: str, spec: Any) -> None:
    """Raise ``ConfigError`` naming the function when ``spec`` is not a valid ``trigger``."""
    where = f"functions.{function}.{trigger} in tight.yml"
    if trigger == "schedule":
        if not isinstance(spec, str) or not SCHEDULE_PATTERN.match(spec.strip()):
            raise ConfigError(
                f'{where} must be a schedule expression such as "rate(1 day)", '
                f'"rate(5 minutes)" or "cron(0 3 * * ? *)", not {spec!r}'
            )
        return
    keys = KEYS[trigger]
    if not isinstance(spec, dict):
        raise ConfigError(
            f"{where} must be a mapping such as {{{REQUIRED[trigger]}: ...}}, not {spec!r}"
        )
    unknown = sorted(str(k) for k in spec if k not in keys)
    if unknown:
        raise ConfigError(
            f"{where} has unknown key(s) {', '.join(unknown)}; it takes {', '.join(keys)}"
        )
    if REQUIRED[trigger] not in spec:
        raise ConfigError(f"{where} needs {REQUIRED[trigger]}")
    for key, value in spec.items():
        check, wanted = keys[key]
        if not check(value):
            raise ConfigError(f"{where}: {key} must be {wanted}, not {value!r}")


def triggers(settings: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """Each function's trigger from tight.yml as ``{name: (trigger, spec)}``, checked."""
    functions = settings.get("functions")
    if functions is None:
        return {}
    if not isinstance(functions, dict):
        raise ConfigError(
            "functions in tight.yml must map function names to their trigger, e.g. "
            "functions: {orders: {sqs: {queue: orders}}}"
        )
    found: dict[str, tuple[str, Any]] = {}
    for name, entry in functions.items():
        if not isinstance(entry, dict) or not entry:
            raise ConfigError(
                f"functions.{name} in tight.yml must hold one trigger "
                f"({', '.join(TRIGGERS)}), e.g. {name}: {{sqs: {{queue: {name}}}}}"
            )
        unknown = sorted(str(k) for k in entry if k not in TRIGGERS)
        if unknown:
            raise ConfigError(
                f"functions.{name} in tight.yml has unknown key(s) {', '.join(unknown)}; "
                f"a function takes one trigger: {', '.join(TRIGGERS)}"
            )
        if len(entry) > 1:
            raise ConfigError(
                f"functions.{name} in tight.yml has {len(entry)} triggers "
                f"({', '.join(map(str, entry))}); a function serves one kind of event"
            )
        ((trigger, spec),) = entry.items()
        check_trigger(str(name), trigger, spec)
        found[str(name)] = (trigger, spec)
    return found


def registered_kinds(handler: Path) -> set[str]:
    """What a handler module registers, read without importing it: controller module names
    (``sqs``, ``lambda_proxy_event``, ...) whose decorators it uses, or ``PLAIN``."""
    try:
        tree = ast.parse(handler.read_text(encoding="utf-8"), filename=str(handler))
    except SyntaxError as error:
        raise ConfigError(
            f"{handler.as_posix()} line {error.lineno}: {error.msg}; fix the syntax error"
        ) from None
    aliases: dict[str, str] = {}  # local name -> controller module, or its decorator
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                module = _controller(alias.name)
                if module is not None and alias.asname:
                    aliases[alias.asname] = module
        elif isinstance(node, ast.ImportFrom) and node.module:
            # from ...controllers import sqs / from ...controllers.sqs import record
            module = _controller(node.module + ".x") or _controller(node.module)
            for alias in node.names:
                local = alias.asname or alias.name
                aliases[local] = alias.name if _controller(node.module + ".x") else str(module)
    kinds: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if isinstance(target, ast.Attribute):
                    base = _dotted(target.value)
                    kind = aliases.get(base) if base else None
                    kind = kind or (_controller(base) if base else None)
                elif isinstance(target, ast.Name):
                    kind = aliases.get(target.id)
                else:
                    kind = None
                if kind is not None:
                    kinds.add(kind)
    if not kinds and any(
        isinstance(node, ast.FunctionDef) and node.name == "handler" for node in tree.body
    ):
        kinds.add(PLAIN)
    return kinds


def _dotted(node: ast.expr) -> str | None:
    """``a.b.c`` for a chain of names and attributes, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _controller(module: str) -> str | None:
    """``tight.providers.aws.controllers.sqs`` (or its vendored name) -> ``sqs``."""
    head, _, last = module.rpartition(".")
    if head == CONTROLLERS_PACKAGE or head.endswith("." + CONTROLLERS_PACKAGE):
        return last
    return None


def validate(settings: dict[str, Any], app_root: Path) -> dict[str, tuple[str, Any]]:
    """Check tight.yml's triggers against the handler modules; returns the triggers."""
    found = triggers(settings)
    functions_dir = app_root / "app" / "functions"
    for name, (trigger, spec) in found.items():
        handler = functions_dir / name / "handler.py"
        if not handler.is_file():
            raise ConfigError(
                f"functions.{name} in tight.yml names no app/functions/{name}/handler.py; "
                f"create it with `doit generate_function name={name} trigger={trigger}` "
                "or remove the entry"
            )
        if (
            trigger == "dynamodb_stream"
            and not (app_root / "app" / "models" / f"{spec['model']}.py").is_file()
        ):
            raise ConfigError(
                f"functions.{name}.dynamodb_stream in tight.yml: model {spec['model']} is not "
                f"in app/models; create it with `doit generate_model name={spec['model']}`"
            )
        kinds = registered_kinds(handler)
        wanted = CONTROLLER[trigger]
        if kinds == {PLAIN} or kinds == {wanted}:
            continue
        if not kinds:
            got = "registers no handler"
        elif HTTP in kinds:
            got = "registers HTTP handlers (@lambda_proxy.get, ...)"
        else:
            got = "registers " + " and ".join(f"@{kind}.record" for kind in sorted(kinds))
        raise ConfigError(
            f"functions.{name} in tight.yml has a {trigger} trigger but "
            f"app/functions/{name}/handler.py {got}; decorate its handler with "
            f"@{wanted}.record, or change the trigger"
        )
    if functions_dir.is_dir():
        for folder in sorted(functions_dir.iterdir()):
            handler = folder / "handler.py"
            if folder.name in found or not handler.is_file():
                continue
            records = sorted(k for k in registered_kinds(handler) if k in CONTROLLER.values())
            if records:
                example = {
                    "sqs": "sqs: {queue: %s}",
                    "sns": "sns: {topic: %s}",
                    "s3": "s3: {bucket: %s}",
                    "kinesis": "kinesis: {stream: %s}",
                    "dynamodb_stream": "dynamodb_stream: {model: %s}",
                    "eventbridge": 'schedule: "rate(1 day)" (or eventbridge: {pattern: ...})',
                }[records[0]].replace("%s", folder.name)
                raise ConfigError(
                    f"app/functions/{folder.name}/handler.py registers @{records[0]}.record but "
                    f"tight.yml has no trigger for it; add functions: {{{folder.name}: "
                    f"{{{example}}}}}"
                )
    return found
