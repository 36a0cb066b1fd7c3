"""``doit test``: run the app's own tests with pytest, in the app's root."""

import sys
from typing import Any

from tight_tasks.errors import TightTaskError, as_action
from tight_tasks.taskkit import param


def _split(pytest_args: str) -> list[str]:
    """Split as a shell would, so a quoted ``-k "a and b"`` stays one argument."""
    import shlex

    try:
        return shlex.split(pytest_args)
    except ValueError as error:  # an unclosed quote
        raise TightTaskError(f"pytest_args {pytest_args!r} cannot be split: {error}") from None


def _run_tests(pytest_args: str) -> Any:
    import subprocess

    from tight.testing.plugin import ConfigFileError, read_app_config
    from tight_tasks.config import find_app_root, load

    root = find_app_root()
    try:  # a bad tight.yml or env.yml is one line naming its line, as pytest would say it
        read_app_config(root)
    except ConfigFileError as error:
        raise TightTaskError(str(error)) from None
    load(root)
    command = [sys.executable, "-m", "pytest", *_split(pytest_args)]
    completed = subprocess.run(command, cwd=root, check=False)
    if completed.returncode not in (0, 5):
        raise TightTaskError(f"tests failed (pytest exit {completed.returncode})")
    return None


def task_test() -> dict[str, Any]:
    """Run the app's tests (offline: AWS and HTTP calls play back from recordings)."""
    return {
        "actions": [(as_action(_run_tests),)],
        "params": [param("pytest_args", "extra arguments for pytest, e.g. '-k items -x'")],
        "uptodate": [False],
        "verbosity": 2,
    }
