"""``doit test``: run the app's own tests with pytest, in the app's root.

It depends on ``doit vendor``, so the app's locked dependencies are importable on a fresh
clone or after a new requirement (vendor does nothing when they already are), and it
stops with one line when env.yml is missing but env.dist.yml has keys without a default.
Once the tests pass, the AWS calls they recorded are checked against the functions' roles
(``tight_tasks.permissions``, as ``doit permissions`` does).
"""

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


def required_without_env_file(root: Any) -> None:
    """No env.yml, while env.dist.yml names keys without a default: say how to make it."""
    from tight_tasks.env import DIST_FILE, ENV_FILE, read_env_file

    dist = root / DIST_FILE
    if (root / ENV_FILE).exists() or not dist.is_file():
        return
    required = [key for key, value in read_env_file(dist).items() if value in (None, "")]
    if required:
        raise TightTaskError(
            f"no {ENV_FILE}, and {DIST_FILE} has no default for {', '.join(required)}; run "
            f"`doit generate_env` (it takes values from your environment) and fill in the rest"
        )


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
    required_without_env_file(root)
    command = [sys.executable, "-m", "pytest", *_split(pytest_args)]
    completed = subprocess.run(command, cwd=root, check=False)
    if completed.returncode not in (0, 5):
        raise TightTaskError(f"tests failed (pytest exit {completed.returncode})")
    from tight_tasks.permissions import check_after_tests

    check_after_tests(root, load(root))  # the recordings are fresh now
    return None


def _declares_dependencies() -> bool:
    """An app with a requirements.in (or a lock) has dependencies to vendor before tests."""
    from pathlib import Path

    return any(Path(name).is_file() for name in ("requirements.in", "requirements.txt"))


def task_test() -> dict[str, Any]:
    """Run the app's tests offline from recordings, then check their AWS calls' permissions.

    AWS and HTTP calls play back from the recordings; the calls recorded are then compared
    with the roles `doit template` gives the functions, as `doit permissions` does."""
    return {
        "actions": [(as_action(_run_tests),)],
        "task_dep": ["vendor"] if _declares_dependencies() else [],
        "params": [param("pytest_args", "extra arguments for pytest, e.g. '-k items -x'")],
        "uptodate": [False],
        "verbosity": 2,
    }
