"""Tight's doit task module: an app's ``dodo.py`` does ``from tight_tasks import *``.

Each task is a ``task_*`` creator whose docstring is the line ``doit list`` shows and whose
parameters ``doit help <task>`` documents; parameters are given as ``name=value`` (doit
command-line variables) or ``--name value``. The work a task does lives in an ordinary
function (``tight_tasks.scaffold``, ``tight_tasks.env``) so it can be tested without doit.
Nothing heavy is imported here: ``doit list`` stays fast.
"""

import functools
import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from doit import get_var

from tight_tasks.errors import TightReporter, TightTaskError, as_action


def _dep_file() -> str:
    """doit's state lives in the user's cache, keyed by folder, not in the app's tree: a
    task that fails on bad input leaves the tree exactly as it was."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tight" / "doit"
    cache.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(str(Path.cwd().resolve()).encode()).hexdigest()[:20]
    return str(cache / f"{key}.json")


DOIT_CONFIG = {
    "default_tasks": ["test"],
    "verbosity": 2,
    "reporter": TightReporter,
    "backend": "json",
    "dep_file": _dep_file(),
}


def _param(name: str, help_text: str, default: str = "") -> dict[str, Any]:
    """A task parameter that also takes doit's ``name=value`` form."""
    return {
        "name": name,
        "long": name,
        "type": str,
        "default": get_var(name, default),
        "help": help_text,
    }


def _report(function: Any) -> Any:
    """Run a generator and print the paths it created, one per line."""

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> None:
        created = function(*args, **kwargs)
        paths = created if isinstance(created, list) else [created]
        for path in paths:
            print(f"created {Path(path).as_posix()}")

    return run


def _generate_app(name: str, dir: str) -> Any:
    from tight_tasks.scaffold import generate_app

    target = generate_app(name, dir or None)
    print(f"created {target}")
    print(f"next: cd {target} && doit generate_function name=items && doit test")


def _generate_function(name: str, methods: str) -> Any:
    from tight_tasks.scaffold import generate_function

    return generate_function(name, methods)


def _generate_model(name: str) -> Any:
    from tight_tasks.scaffold import generate_model

    return generate_model(name)


def _generate_env() -> Any:
    from tight_tasks.env import write_env
    from tight_tasks.scaffold import find_app_root

    return write_env(find_app_root())


def task_generate_app() -> dict[str, Any]:
    """Create a new app folder: tight generate_app name=my_app [dir=path]."""
    return {
        "actions": [(as_action(_generate_app),)],
        "params": [
            _param("name", "the app's name, a Python identifier (e.g. my_app)"),
            _param("dir", "the folder to create the app in (default: the current folder)"),
        ],
        "uptodate": [False],
    }


def task_generate_function() -> dict[str, Any]:
    """Add a function with tests that pass: doit generate_function name=x [methods=get,post]."""
    return {
        "actions": [(as_action(_report(_generate_function)),)],
        "params": [
            _param("name", "the function's name, a Python identifier (e.g. items)"),
            _param(
                "methods",
                "HTTP methods to handle, comma-separated, from get,post,put,patch,delete",
                "get",
            ),
        ],
        "uptodate": [False],
    }


def task_generate_model() -> dict[str, Any]:
    """Add a model in app/models with its test: doit generate_model name=x."""
    return {
        "actions": [(as_action(_report(_generate_model)),)],
        "params": [_param("name", "the model's name, a Python identifier (e.g. item)")],
        "uptodate": [False],
    }


def task_generate_env() -> dict[str, Any]:
    """Write env.yml from env.dist.yml and the environment (environment wins)."""
    return {
        "actions": [(as_action(_report(_generate_env)),)],
        "uptodate": [False],
    }


def _run_tests(pytest_args: str) -> Any:
    from tight.core.test_helpers import ConfigFileError, read_app_config
    from tight_tasks.scaffold import find_app_root

    root = find_app_root()
    try:  # a bad env.yml or tight.yml is one line, as pytest itself would say it
        read_app_config(root)
    except ConfigFileError as error:
        raise TightTaskError(str(error)) from None
    command = [sys.executable, "-m", "pytest", *pytest_args.split()]
    completed = subprocess.run(command, cwd=root, check=False)
    if completed.returncode not in (0, 5):
        raise TightTaskError(f"tests failed (pytest exit {completed.returncode})")
    return None


def task_test() -> dict[str, Any]:
    """Run the app's tests (offline: AWS and HTTP calls play back from recordings)."""
    return {
        "actions": [(as_action(_run_tests),)],
        "params": [_param("pytest_args", "extra arguments for pytest, e.g. '-k items -x'")],
        "uptodate": [False],
        "verbosity": 2,
    }


def _settings_or_error() -> tuple[Path, dict[str, Any] | None, str | None]:
    """The app root and its tight.yml, or the reason there is none (a task then fails
    with it when run, and doit list still works)."""
    from tight.config import ConfigError
    from tight_tasks.config import load

    root = Path.cwd()
    try:
        return root, load(root), None
    except ConfigError as error:
        return root, None, str(error)


def _failing(message: str) -> dict[str, Any]:
    def fail() -> None:
        raise TightTaskError(message)

    return {"actions": [(as_action(fail),)], "uptodate": [False]}


def _lock() -> None:
    from tight_tasks.config import load
    from tight_tasks.lock import lock

    root = Path.cwd()
    path = lock(root, load(root))
    print(f"locked {path.name} from requirements.in")


def task_lock() -> dict[str, Any]:
    """Pin requirements.in, with hashes, into requirements.txt (pip-compile, or uv)."""
    from doit.tools import config_changed

    from tight_tasks.lock import lock_inputs

    root, settings, problem = _settings_or_error()
    if settings is None:
        return _failing(problem or "no tight.yml")
    try:
        inputs = lock_inputs(root, settings)
    except TightTaskError as error:
        return _failing(str(error))
    return {
        "actions": [(as_action(_lock),)],
        "file_dep": ["requirements.in"],
        "targets": ["requirements.txt"],
        "uptodate": [config_changed(inputs)],
    }


def _vendor() -> None:
    from tight_tasks.config import load
    from tight_tasks.vendor import vendor

    root = Path.cwd()
    vendor(root, load(root))


def task_vendor() -> dict[str, Any]:
    """Install the lock and the tight runtime into app/vendored for the Lambda target."""
    from doit.tools import config_changed

    from tight_tasks.vendor import STAMP, VENDOR_DIR, vendor_inputs

    root, settings, problem = _settings_or_error()
    if settings is None:
        return _failing(problem or "no tight.yml")
    try:
        # The lock is a file_dep, so doit compares it itself: it may not exist yet when this
        # runs, before `doit lock` has written it.
        inputs = {k: v for k, v in vendor_inputs(root, settings).items() if k != "lock"}
    except TightTaskError as error:
        return _failing(str(error))
    return {
        "actions": [(as_action(_vendor),)],
        "file_dep": ["requirements.txt", "tight.yml"],
        "targets": [f"{VENDOR_DIR}/{STAMP}"],
        "uptodate": [config_changed(inputs)],
    }


def _layer_wanted(layer: str, settings: dict[str, Any]) -> bool:
    if layer:
        return layer.strip().lower() in ("1", "true", "yes", "on")
    return bool(settings.get("layer", False))


def _artifact(layer: str) -> dict[str, str]:
    from tight_tasks.artifact import artifact, artifact_inputs
    from tight_tasks.config import load

    root = Path.cwd()
    settings = load(root)
    wanted = _layer_wanted(layer, settings)
    artifact(root, settings, layer=wanted)
    return {"inputs": artifact_inputs(root, settings, wanted)}


def _artifact_unchanged(task: Any, values: dict[str, Any]) -> bool:
    from tight_tasks.artifact import artifact_inputs, outputs
    from tight_tasks.config import load

    root = Path.cwd()
    settings = load(root)
    wanted = _layer_wanted(task.options.get("layer", ""), settings)
    if not all(path.is_file() for path in outputs(root, settings, wanted)):
        return False
    return bool(values.get("inputs") == artifact_inputs(root, settings, wanted))


def task_artifact() -> dict[str, Any]:
    """Zip the app and app/vendored into build/<name>.zip, byte-for-byte reproducibly."""
    _, settings, problem = _settings_or_error()
    if settings is None:
        return _failing(problem or "no tight.yml")
    return {
        "actions": [(as_action(_artifact),)],
        "task_dep": ["vendor"],
        "params": [
            _param(
                "layer",
                "true: dependencies in build/<name>-layer.zip (python/...), the app in "
                "build/<name>.zip (default: layer in tight.yml, else false)",
            )
        ],
        "uptodate": [_artifact_unchanged],
    }


def _schema() -> None:
    from tight_tasks.config import load
    from tight_tasks.schema import write_schemas

    root = Path.cwd()
    for path in write_schemas(root, load(root)):
        print(f"wrote {path.as_posix()}")


def task_schema() -> dict[str, Any]:
    """Write CloudFormation for each model's DynamoDB table under schemas/dynamo/."""
    from tight_tasks.schema import SCHEMA_DIR, model_files

    root = Path.cwd()
    models = [str(p.relative_to(root)) for p in model_files(root)]
    task: dict[str, Any] = {"actions": [(as_action(_schema),)], "verbosity": 2}
    if models and (root / "tight.yml").is_file():
        from doit.tools import config_changed

        import tight.models
        from tight_tasks import schema

        task["file_dep"] = [*models, "tight.yml"]
        task["targets"] = [f"{SCHEMA_DIR}/template.yml"]
        # A new Tight may write other templates from the same models.
        code = b"".join(Path(m.__file__ or "").read_bytes() for m in (tight.models, schema))
        task["uptodate"] = [config_changed(hashlib.sha256(code).hexdigest())]
    else:
        task["uptodate"] = [False]
    return task


def _in_app(function: Any) -> Any:
    """Run ``function(root, settings)`` in the app at the current folder."""

    @functools.wraps(function)
    def run() -> Any:
        from tight_tasks.config import load
        from tight_tasks.scaffold import find_app_root

        root = find_app_root()
        return function(root, load(root))

    return run


def _dynamo_install(root: Path, settings: dict[str, Any]) -> None:
    from tight_tasks.dynamo import install

    print(install(root, settings))


def task_dynamo_install() -> dict[str, Any]:
    """Install the local DynamoDB backend (tight.yml dynamo.backend) into .tight/dynamo."""
    from doit.tools import config_changed

    from tight_tasks.dynamo import Backend, installed_marker

    root, settings, problem = _settings_or_error()
    if settings is None:
        return _failing(problem or "no tight.yml")
    try:
        backend = Backend.from_settings(settings)
        marker = installed_marker(root, settings)
    except TightTaskError as error:
        return _failing(str(error))
    task: dict[str, Any] = {"actions": [(as_action(_in_app(_dynamo_install)),)]}
    if backend.name == "command":
        task["uptodate"] = [True]
    else:
        task["targets"] = [str(marker.relative_to(root))]
        task["uptodate"] = [config_changed(backend.name)]
    return task


def _dynamo_start(root: Path, settings: dict[str, Any]) -> None:
    from tight_tasks.dynamo import start

    start(root, settings)


def task_dynamo_start() -> dict[str, Any]:
    """Start the local DynamoDB on 127.0.0.1 and create the models' missing tables."""
    return {
        "actions": [(as_action(_in_app(_dynamo_start)),)],
        "task_dep": ["dynamo_install"],
        "uptodate": [False],
    }


def _dynamo_stop(root: Path, settings: dict[str, Any]) -> None:
    from tight_tasks.dynamo import stop

    print(stop(root))


def task_dynamo_stop() -> dict[str, Any]:
    """Stop the local DynamoDB that dynamo_start started (and nothing else)."""
    return {"actions": [(as_action(_in_app(_dynamo_stop)),)], "uptodate": [False]}


def _dynamo_status(root: Path, settings: dict[str, Any]) -> None:
    from tight_tasks.dynamo import status

    print(status(root))


def task_dynamo_status() -> dict[str, Any]:
    """Say whether the local DynamoDB runs, answers, or was killed from outside."""
    return {"actions": [(as_action(_in_app(_dynamo_status)),)], "uptodate": [False]}


def _dynamo_reset(root: Path, settings: dict[str, Any]) -> None:
    from tight_tasks.dynamo import reset

    deleted = reset(root, settings)
    print(f"deleted {len(deleted)} table(s) and their data; the models' tables are back, empty")


def task_dynamo_reset() -> dict[str, Any]:
    """Delete every table on the local DynamoDB (all its data), then recreate the models'."""
    return {"actions": [(as_action(_in_app(_dynamo_reset)),)], "uptodate": [False]}


__all__ = [
    "DOIT_CONFIG",
    "task_artifact",
    "task_dynamo_install",
    "task_dynamo_reset",
    "task_dynamo_start",
    "task_dynamo_status",
    "task_dynamo_stop",
    "task_generate_app",
    "task_generate_env",
    "task_generate_function",
    "task_generate_model",
    "task_lock",
    "task_schema",
    "task_test",
    "task_vendor",
]
