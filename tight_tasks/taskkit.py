"""What every group of task creators shares: parameters in doit's ``name=value`` form, the
app's settings read once at task-creation time, and tasks that fail with a reason.

A task creator (``task_*``) lives beside the work it runs (``scaffold``, ``lock``,
``vendor``, ``artifact``, ``schema``, ``dynamo``, ``apptests``); ``tight_tasks/__init__``
only re-exports them for an app's ``dodo.py``.
"""

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from doit import get_var

from tight_tasks.errors import TightTaskError, as_action


def param(name: str, help_text: str, default: str = "") -> dict[str, Any]:
    """A task parameter that also takes doit's ``name=value`` form."""
    return {
        "name": name,
        "long": name,
        "type": str,
        "default": get_var(name, default),
        "help": help_text,
    }


def stage_param(help_text: str) -> dict[str, Any]:
    """The ``stage`` parameter, its help naming the default the app's tight.yml gives
    (``doit help template``: "(default: prod, the stage in tight.yml)"), else dev."""
    configured = (settings_or_error()[1] or {}).get("stage")
    default = f"{configured}, the stage in tight.yml" if configured else "dev"
    return param("stage", f"{help_text} (default: {default})")


def report_created(function: Any) -> Any:
    """Run a generator and print the paths it created, one per line."""

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> None:
        created = function(*args, **kwargs)
        paths = created if isinstance(created, list) else [created]
        for path in paths:
            print(f"created {Path(path).as_posix()}")

    return run


def settings_or_error() -> tuple[Path, dict[str, Any] | None, str | None]:
    """The app root and its tight.yml, or the reason there is none (a task then fails
    with it when run, and doit list still works)."""
    from tight.config import ConfigError
    from tight_tasks.config import load

    root = Path.cwd()
    try:
        return root, load(root, keep=True), None
    except ConfigError as error:
        return root, None, str(error)


def failing(message: str) -> dict[str, Any]:
    """A task that fails with ``message`` when run: bad configuration found while creating
    tasks must not break ``doit list`` for every other task."""

    def fail() -> None:
        raise TightTaskError(message)

    return {"actions": [(as_action(fail),)], "uptodate": [False]}


def inputs_changed(inputs: Callable[[], dict[str, str]]) -> Any:
    """doit's ``config_changed`` (the same digest, kept the same way), with ``inputs``
    computed when doit checks the task rather than when every command creates it."""
    from doit.tools import config_changed

    class Changed(config_changed):  # type: ignore[misc]
        def _calc_digest(self) -> str:
            self.config = inputs()
            return str(super()._calc_digest())

    return Changed({})


def in_app(function: Any) -> Any:
    """Run ``function(root, settings)`` in the app at the current folder."""

    @functools.wraps(function)
    def run() -> Any:
        from tight_tasks.config import find_app_root, load

        root = find_app_root()
        return function(root, load(root))

    return run
