"""Scaffolding: new apps, functions and models rendered from the Jinja2 templates.

Every generator validates its input first and renders everything into a staging folder
before anything is moved into place, so bad input or a failed render leaves the tree
byte-for-byte as it was, and no existing file is ever overwritten.
"""

import json
import keyword
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tight.config import ConfigError
from tight_tasks import triggers
from tight_tasks.config import (
    CONFIG_FILE,
    LAMBDA_RUNTIMES,
    MODULE_NAME_WORDS,
    find_app_root,
    is_app_name,
    is_module_name,
    load,
    parse_yaml,
    suggest_app_name,
    suggest_module_name,
)
from tight_tasks.errors import TightTaskError, as_action
from tight_tasks.resources import templates_dir
from tight_tasks.taskkit import param, report_created
from tight_tasks.triggers import TRIGGERS

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
DEFAULT_METHODS = ("get",)
# Names that would shadow a package the app or Lambda depends on, or an app folder.
RESERVED = frozenset(
    (
        "app", "app_index", "functions", "models", "lib", "vendored", "tests", "test",
        "tight", "tight_tasks", "boto3", "botocore", "doit", "dodo", "pytest", "json",
        "os", "sys", "run", "conftest",
    )
)  # fmt: skip
APP_PACKAGES = (
    "app/functions",
    "app/models",
    "app/lib",
    "tests",
    "tests/functions",
    "tests/functions/unit",
    "tests/functions/integration",
    "tests/models",
)


def validate_name(name: str | None, what: str, example: str) -> str:
    """A function's or a model's name (a Python module name Lambda's handler setting
    carries: lowercase), or a ``TightTaskError`` saying what is wrong and what to do."""
    command = f"doit generate_{what}"
    if name is None or not str(name).strip():
        raise TightTaskError(f"generate_{what} needs a name: {command} name={example}")
    name = str(name).strip()
    if not is_module_name(name):
        raise TightTaskError(
            f"'{name}' is not a valid {what} name: use {MODULE_NAME_WORDS} "
            f"(did you mean {command} name={suggest_module_name(name)}?)"
        )
    if keyword.iskeyword(name):
        raise TightTaskError(f"'{name}' is a Python keyword; choose another {what} name")
    if name in RESERVED:
        raise TightTaskError(
            f"'{name}' is reserved (it would shadow a package or folder Tight apps use); "
            f"choose another {what} name"
        )
    return name


def validate_app_name(name: str | None) -> tuple[str, str]:
    """``(folder, app name)`` for ``tight generate_app name=...``: the folder is named as
    given; tight.yml's ``name`` is the same with hyphens for underscores, because it goes
    into zip, stack, bucket and table names, which take hyphens. Anything else is refused
    with the name to use instead."""
    if name is None or not str(name).strip():
        raise TightTaskError("generate_app needs a name: tight generate_app name=my-app")
    folder = str(name).strip()
    app = folder.replace("_", "-")
    if not is_app_name(app):
        raise TightTaskError(
            f"'{folder}' is not a valid app name: use lowercase letters, digits and hyphens, "
            f"starting with a letter, at most 40 characters (did you mean tight generate_app "
            f"name={suggest_app_name(folder)}?)"
        )
    return folder, app


def parse_methods(methods: str | None) -> list[str]:
    """``"get,post"`` -> ``["get", "post"]``, in a fixed order; unknown methods are an error."""
    if methods is None or not methods.strip():
        return list(DEFAULT_METHODS)
    asked = [m.strip().lower() for m in methods.split(",") if m.strip()]
    unknown = [m for m in asked if m not in HTTP_METHODS]
    if unknown:
        raise TightTaskError(
            f"unknown method(s) {', '.join(unknown)}; choose from {','.join(HTTP_METHODS)} "
            "(OPTIONS and HEAD are answered for you)"
        )
    return [m for m in HTTP_METHODS if m in asked]


def default_runtime() -> str:
    """This interpreter's version when Lambda has it, else the newest Lambda runtime."""
    mine = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return mine if mine in LAMBDA_RUNTIMES else LAMBDA_RUNTIMES[-1]


def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


class Staging:
    """Files rendered into a private folder, moved into place only when all are ready."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.folder = Path(tempfile.mkdtemp(prefix=".tight-staging-", dir=root))
        self.files: list[Path] = []  # relative paths, in the order they were added
        self.folders: list[Path] = []
        self._env = _environment()

    def render(self, template: str, target: str, **context: Any) -> None:
        text = self._env.get_template(template).render(**context)
        self.write(target, text)

    def write(self, target: str, text: str) -> None:
        path = self.folder / target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        self.files.append(Path(target))

    def folder_only(self, target: str) -> None:
        (self.folder / target).mkdir(parents=True, exist_ok=True)
        self.folders.append(Path(target))

    def commit(self) -> list[Path]:
        """Move every staged file into the root; none may exist there already."""
        clashes = [p for p in self.files if (self.root / p).exists()]
        if clashes:
            raise TightTaskError(
                f"{clashes[0].as_posix()} exists already; Tight never overwrites your files: "
                "move it away or choose another name"
            )
        moved: list[Path] = []
        created_dirs: list[Path] = []
        try:
            for relative in [*self.folders, *(p.parent for p in self.files)]:
                for parent in reversed([relative, *relative.parents]):
                    if parent != Path(".") and not (self.root / parent).exists():
                        (self.root / parent).mkdir()
                        created_dirs.append(parent)
            for relative in self.files:
                os.replace(self.folder / relative, self.root / relative)
                moved.append(relative)
        except OSError:
            for relative in reversed(moved):
                os.replace(self.root / relative, self.folder / relative)
            for relative in reversed(created_dirs):
                shutil.rmtree(self.root / relative, ignore_errors=True)
            raise
        return moved

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _staged(root: Path, build: Any) -> list[Path]:
    staging = Staging(root)
    try:
        build(staging)
        return staging.commit()
    finally:
        staging.discard()


def generate_app(name: str | None, directory: str | None = None) -> Path:
    """Create the app folder ``<directory>/<name>``; returns its path. Refused inside an
    app (``<directory>`` or a folder above it holds tight.yml)."""
    name, app_name = validate_app_name(name)
    parent = Path(directory or ".").resolve()
    if not parent.is_dir():
        raise TightTaskError(f"dir={directory} is not a folder; create it first or pick another")
    try:
        inside = find_app_root(parent)
    except ConfigError:
        inside = None
    if inside is not None:
        # It would nest a second app in the first one's tree: its files would ship in the
        # outer app's zip and its tests run with the outer app's.
        raise TightTaskError(
            f"{parent} is inside the app {inside} (it has {CONFIG_FILE}); create a new app "
            f"outside it: cd {inside.parent} && tight generate_app name={name}"
        )
    target = parent / name
    if target.exists():
        raise TightTaskError(
            f"{target} exists already; choose another name or dir= (Tight never overwrites)"
        )
    context = {"name": app_name, "runtime": default_runtime(), "architecture": "x86_64"}
    staging = Staging(parent)
    try:
        app = Path(name)
        for template in sorted((templates_dir() / "app").rglob("*.j2")):
            relative = template.relative_to(templates_dir() / "app").with_suffix("")
            if relative.name == "gitignore":
                relative = relative.with_name(".gitignore")
            staging.render(
                template.relative_to(templates_dir()).as_posix(), str(app / relative), **context
            )
        for package in APP_PACKAGES:
            staging.write(str(app / package / "__init__.py"), "")
        staging.folder_only(str(app / "app" / "vendored"))
        # One rename puts the whole app in place: it appears complete or not at all.
        os.rename(staging.folder / name, target)
    finally:
        staging.discard()
    return target


def generate_function(
    name: str | None,
    methods: str | None = None,
    root: Path | None = None,
    trigger: str | None = None,
    model: str | None = None,
) -> list[Path]:
    """Write app/functions/<name>/ with its unit and integration tests: an HTTP function
    (``methods``), or one triggered by an event source (``trigger``), whose entry is then
    added to tight.yml's ``functions:``."""
    app_root = find_app_root(root)
    load(app_root)  # every task checks tight.yml, even one that only adds files
    name = validate_name(name, "function", "items")
    trigger = (trigger or "").strip().lower() or None
    if trigger is not None:
        if methods and methods.strip():
            raise TightTaskError(
                "trigger= and methods= cannot be combined: a function serves HTTP requests "
                "(methods=) or one event source (trigger=); drop one of them"
            )
        if trigger == AUTHORIZER:
            if model and model.strip():
                raise TightTaskError("model= goes with trigger=dynamodb_stream")
            return _generate_authorizer(app_root, name)
        return _generate_record_function(app_root, name, trigger, model)
    if model and model.strip():
        raise TightTaskError("model= goes with trigger=dynamodb_stream")
    chosen = parse_methods(methods)
    function_dir = app_root / "app" / "functions" / name
    if function_dir.exists():
        raise TightTaskError(
            f"app/functions/{name} exists already; edit app/functions/{name}/handler.py or "
            "choose another name"
        )

    def build(staging: Staging) -> None:
        context = {"name": name, "methods": chosen}
        staging.write(f"app/functions/{name}/__init__.py", "")
        staging.render("function/handler.py.j2", f"app/functions/{name}/handler.py", **context)
        staging.render(
            "function/test_unit.py.j2", f"tests/functions/unit/test_{name}.py", **context
        )
        staging.render(
            "function/test_integration.py.j2",
            f"tests/functions/integration/test_{name}.py",
            **context,
        )
        for method in chosen:
            staging.render(
                "function/expectation.yml.j2",
                f"tests/functions/integration/expectations/test_{name}_{method}.yml",
                name=name,
                method=method,
            )

    return _staged(app_root, build)


# Not an event source: API Gateway calls it before the routes whose auth names it.
AUTHORIZER = "authorizer"


def _generate_authorizer(app_root: Path, name: str) -> list[Path]:
    """A Lambda authorizer and its tests; tight.yml is left alone (routes name it in their
    ``auth``, which only the user can choose)."""
    if (app_root / "app" / "functions" / name).exists():
        raise TightTaskError(
            f"app/functions/{name} exists already; edit app/functions/{name}/handler.py or "
            "choose another name"
        )
    context = {"name": name, "env": f"{name.upper()}_TOKEN"}

    def build(staging: Staging) -> None:
        staging.write(f"app/functions/{name}/__init__.py", "")
        staging.render(
            "function/authorizer_handler.py.j2", f"app/functions/{name}/handler.py", **context
        )
        for kind in ("unit", "integration"):
            staging.render(
                f"function/authorizer_test_{kind}.py.j2",
                f"tests/functions/{kind}/test_{name}.py",
                **context,
            )

    return _staged(app_root, build)


# What each trigger's scaffold says and registers: (description, record view class).
TRIGGER_KINDS = {
    "sqs": ("called once per message of an SQS queue", "SQSMessage"),
    "sns": ("called once per notification of an SNS topic", "SNSMessage"),
    "s3": ("called once per S3 object event", "S3Object"),
    "kinesis": ("called once per record of a Kinesis data stream", "KinesisRecord"),
    "dynamodb_stream": (
        "called once per change of a DynamoDB table's items",
        "DynamoDBStreamRecord",
    ),
    "eventbridge": ("called once per EventBridge event its rule matches", "EventBridgeEvent"),
    "schedule": ("run on a schedule by EventBridge", "EventBridgeEvent"),
}


def default_trigger(trigger: str, name: str, app: str, model: str | None) -> str:
    """The trigger's tight.yml value, in YAML flow style, for a function called ``name``."""
    # Bucket names are lowercase letters, digits and hyphens, at least 3 long.
    bucket = name.lower().replace("_", "-")
    bucket = bucket if len(bucket) >= 3 else f"{bucket}-uploads"

    def quoted(value: str) -> str:
        # Plain when YAML reads it back as that string (not "true", "null", "1e3"), else a
        # JSON string, which is a YAML string too, whatever it holds.
        return value if _load_yaml(f"v: {value}").get("v") == value else json.dumps(value)

    return {
        "sqs": f"{{queue: {quoted(name)}, batch_size: 10, fifo: false}}",
        "sns": f"{{topic: {quoted(name)}}}",
        "s3": f'{{bucket: {quoted(bucket)}, events: ["s3:ObjectCreated:*"], prefix: incoming/}}',
        "kinesis": f"{{stream: {quoted(name)}, starting_position: LATEST}}",
        "dynamodb_stream": (
            f"{{model: {quoted(str(model))}, starting_position: LATEST, batch_size: 100}}"
        ),
        "eventbridge": f"{{pattern: {{source: [{quoted(app)}]}}}}",
        "schedule": '"rate(1 day)"',
    }[trigger]


def _stream_model(app_root: Path, model: str | None) -> str:
    models = sorted(
        p.stem for p in (app_root / "app" / "models").glob("*.py") if p.stem != "__init__"
    )
    if model and model.strip():
        model = model.strip()
        if model not in models:
            raise TightTaskError(
                f"model={model} is not in app/models; create it first with "
                f"`doit generate_model name={model}`"
            )
        return model
    if len(models) == 1:
        return models[0]
    if not models:
        raise TightTaskError(
            "trigger=dynamodb_stream reads a model's table; create one first with "
            "`doit generate_model name=item`, then add model=item"
        )
    raise TightTaskError(
        f"trigger=dynamodb_stream needs model=<name>: one of {', '.join(models)} in app/models"
    )


def _generate_record_function(
    app_root: Path, name: str, trigger: str, model: str | None
) -> list[Path]:
    if trigger not in TRIGGERS:
        raise TightTaskError(
            f"unknown trigger {trigger}; choose one of {', '.join(TRIGGERS)}, {AUTHORIZER} "
            "(or give methods= for an HTTP function)"
        )
    if model and model.strip() and trigger != "dynamodb_stream":
        raise TightTaskError("model= goes with trigger=dynamodb_stream")
    if (app_root / "app" / "functions" / name).exists():
        raise TightTaskError(
            f"app/functions/{name} exists already; edit app/functions/{name}/handler.py or "
            "choose another name"
        )
    if trigger == "dynamodb_stream":
        model = _stream_model(app_root, model)
    config_path = app_root / CONFIG_FILE
    original = config_path.read_text(encoding="utf-8")
    settings = _load_yaml(original)
    spec = default_trigger(trigger, name, str(settings.get("name") or "my.app"), model)
    updated = add_function_entry(original, settings, name, trigger, spec)
    description, view = TRIGGER_KINDS[trigger]
    context = {
        "name": name,
        "trigger": trigger,
        "module": triggers.CONTROLLER[trigger],
        "view": view,
        "description": description,
        "model": model,
        "model_class": class_name(model) if model else None,
        "app": str(settings.get("name") or "my.app"),
    }

    def build(staging: Staging) -> None:
        staging.write(f"app/functions/{name}/__init__.py", "")
        staging.render(
            "function/record_handler.py.j2", f"app/functions/{name}/handler.py", **context
        )
        staging.render(
            "function/record_test_unit.py.j2", f"tests/functions/unit/test_{name}.py", **context
        )
        staging.render(
            "function/record_test_integration.py.j2",
            f"tests/functions/integration/test_{name}.py",
            **context,
        )

    # tight.yml is replaced (atomically) only once every new file is in place; if that
    # fails, the new files are taken back out.
    pending = config_path.with_name(f".{config_path.name}.{os.getpid()}.tmp")
    pending.write_text(updated, encoding="utf-8")
    try:
        created = _staged(app_root, build)
        try:
            os.replace(pending, config_path)
        except OSError:
            for path in created:
                (app_root / path).unlink(missing_ok=True)
            shutil.rmtree(app_root / "app" / "functions" / name, ignore_errors=True)
            raise
    finally:
        pending.unlink(missing_ok=True)
    return created


def _load_yaml(text: str) -> dict[str, Any]:
    data = parse_yaml(Path(CONFIG_FILE), text)[0] or {}
    if not isinstance(data, dict):
        raise TightTaskError(f"{CONFIG_FILE} must be a mapping of settings; fix it first")
    return data


_FUNCTIONS_KEY = re.compile(r"^functions\s*:(?P<rest>.*)$")


def add_function_entry(
    text: str, settings: dict[str, Any], name: str, trigger: str, spec: str
) -> str:
    """``tight.yml``'s text with ``functions.<name>.<trigger>: <spec>`` added, every other
    line (comments, blank lines, order) kept as the user wrote it."""
    functions = settings.get("functions")
    if functions is not None and not isinstance(functions, dict):
        raise TightTaskError(
            f"functions in {CONFIG_FILE} must be a mapping of function names; fix it first"
        )
    if functions and name in functions:
        raise TightTaskError(
            f"functions.{name} is in {CONFIG_FILE} already; remove it or choose another name"
        )
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += "\n"
    start = next((i for i, line in enumerate(lines) if _FUNCTIONS_KEY.match(line)), None)
    if start is None:
        block = ["\n"] if lines and lines[-1].strip() else []
        lines += [*block, "functions:\n", f"  {name}:\n", f"    {trigger}: {spec}\n"]
    else:
        rest = _FUNCTIONS_KEY.match(lines[start])["rest"]  # type: ignore[index]
        value = rest.split("#", 1)[0].strip()
        if value in ("{}", "null", "~"):  # an empty section: becomes the block's head
            comment = f"  #{rest.split('#', 1)[1].rstrip()}" if "#" in rest else ""
            lines[start] = f"functions:{comment}\n"
            value = ""
        if value:
            raise TightTaskError(
                f"functions: in {CONFIG_FILE} is written on one line; write it as a block "
                "(one function per line) so that generate_function can add to it"
            )
        end = start + 1  # just after the block's last indented line
        indent = ""
        for index in range(start + 1, len(lines)):
            line = lines[index]
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if not line[0].isspace():
                break
            indent = indent or line[: len(line) - len(line.lstrip())]
            end = index + 1
        unit = indent or "  "
        lines[end:end] = [f"{unit}{name}:\n", f"{unit}{unit}{trigger}: {spec}\n"]
    updated = "".join(lines)
    # The edit is checked by reading it back: the new entry, and nothing else changed.
    expected = dict(settings)
    expected["functions"] = {**(functions or {}), name: {trigger: _load_yaml(f"v: {spec}")["v"]}}
    if _load_yaml(updated) != expected:
        raise TightTaskError(
            f"could not add {name} to functions: in {CONFIG_FILE} without changing other "
            f"settings; add it by hand: functions: {{{name}: {{{trigger}: {spec}}}}}"
        )
    return updated


def class_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_") if part) or name


def generate_model(name: str | None, root: Path | None = None) -> list[Path]:
    """Write app/models/<name>.py and tests/models/test_<name>.py."""
    app_root = find_app_root(root)
    load(app_root)  # every task checks tight.yml, even one that only adds files
    name = validate_name(name, "model", "item")
    if (app_root / "app" / "models" / f"{name}.py").exists():
        raise TightTaskError(f"app/models/{name}.py exists already; choose another name")

    def build(staging: Staging) -> None:
        context = {"name": name, "class_name": class_name(name)}
        staging.render("model/model.py.j2", f"app/models/{name}.py", **context)
        staging.render("model/test_model.py.j2", f"tests/models/test_{name}.py", **context)
        if not (app_root / "app" / "models" / "__init__.py").exists():
            staging.write("app/models/__init__.py", "")
        if not (app_root / "tests" / "models" / "__init__.py").exists():
            staging.write("tests/models/__init__.py", "")

    return _staged(app_root, build)


def describe(paths: Iterable[Path]) -> str:
    return "\n".join(f"created {p.as_posix()}" for p in paths)


# Task creators: `doit list` shows each docstring; the work is the functions above.


def _generate_app(name: str, dir: str) -> Any:
    target = generate_app(name, dir or None)
    print(f"created {target}")
    app_name = validate_app_name(name)[1]
    if app_name != target.name:
        print(f"app name in tight.yml: {app_name} (AWS resource names take hyphens)")
    print(f"next: cd {target} && doit generate_function name=items && doit test")
    print("from a subfolder of the app: `tight <task>`, or `doit -k <task>`")


def _generate_function(name: str, methods: str, trigger: str, model: str) -> Any:
    for path in generate_function(name, methods, trigger=trigger, model=model):
        print(f"created {path.as_posix()}")
    if trigger and trigger.strip().lower() == AUTHORIZER:
        print(
            f"next: put auth: {{function: {name}}} in {CONFIG_FILE} (every route) or in "
            f"functions.<name> (one function's routes)"
        )
        print(f"try it: {name.upper()}_TOKEN=abc doit invoke name={name} token='Bearer abc'")
    elif trigger:
        print(f"added functions.{name} ({trigger}) to {CONFIG_FILE}")


def _generate_model(name: str) -> Any:
    return generate_model(name)


def task_generate_app() -> dict[str, Any]:
    """Create a new app folder: tight generate_app name=my-app [dir=path]."""
    return {
        "actions": [(as_action(_generate_app),)],
        "params": [
            param(
                "name",
                "the app's folder; tight.yml's name is the same with hyphens for "
                "underscores (lowercase letters, digits, hyphens; e.g. my-app)",
            ),
            param("dir", "the folder to create the app in (default: the current folder)"),
        ],
        "uptodate": [False],
    }


def task_generate_function() -> dict[str, Any]:
    """Add a function with tests that pass: name=x [methods=get,post | trigger=sqs]."""
    return {
        "actions": [(as_action(_generate_function),)],
        "params": [
            param("name", f"the function's name: {MODULE_NAME_WORDS} (e.g. items)"),
            param(
                "methods",
                "HTTP methods to handle, comma-separated, from get,post,put,patch,delete "
                "(default get)",
            ),
            param(
                "trigger",
                "instead of HTTP, the event source that calls it: "
                + ", ".join(TRIGGERS)
                + " (added to functions: in tight.yml); or authorizer: a Lambda authorizer "
                "that routes name in their auth",
            ),
            param("model", "with trigger=dynamodb_stream: the model whose table it reads"),
        ],
        "uptodate": [False],
    }


def task_generate_model() -> dict[str, Any]:
    """Add a model in app/models with its test: doit generate_model name=x."""
    return {
        "actions": [(as_action(report_created(_generate_model)),)],
        "params": [param("name", f"the model's name: {MODULE_NAME_WORDS} (e.g. item)")],
        "uptodate": [False],
    }
