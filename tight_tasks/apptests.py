"""``doit test``: run the app's own tests with pytest, in the app's root."""

import subprocess
import sys
from typing import Any

from tight_tasks.errors import TightTaskError, as_action
from tight_tasks.taskkit import param


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
        "params": [param("pytest_args", "extra arguments for pytest, e.g. '-k items -x'")],
        "uptodate": [False],
        "verbosity": 2,
    }
