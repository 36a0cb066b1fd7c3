"""Errors a user can meet in a task, and the doit reporter that shows them as one line."""

import functools
from typing import Any

from doit.exceptions import TaskFailed
from doit.reporter import ConsoleReporter


class TightTaskError(Exception):
    """Bad input or state: the message says what is wrong and how to fix it."""


class TightReporter(ConsoleReporter):  # type: ignore[misc]
    """doit's console reporter, but a task's expected failure is one line on stderr,
    ``error: <what is wrong and how to fix it>``, instead of a framed report."""

    def execute_task(self, task: Any) -> None:
        # A task whose output is data (``doit event`` prints JSON, ``doit logs`` the log)
        # gets no ``.  <task>`` title line, so its output can be piped.
        if not (task.meta or {}).get("pipeable"):
            super().execute_task(task)

    def add_failure(self, task: Any, fail: Any) -> None:
        if isinstance(fail, TaskFailed) and not isinstance(fail.get_msg(), type(None)):
            import sys

            message = fail.get_msg().strip()
            sys.stderr.write(f"error: {message}\n")
            sys.stderr.flush()
            return
        super().add_failure(task, fail)


def as_action(function: Any) -> Any:
    """Wrap a task function so that a ``TightTaskError`` or a ``ConfigError`` (a bad
    tight.yml) fails the task with its message (no traceback), and anything else stays a
    full error report for a bug."""
    from tight.config import ConfigError

    # wraps(): doit passes a task's parameters to the parameters the signature names.
    @functools.wraps(function)
    def action(*args: Any, **kwargs: Any) -> Any:
        try:
            result = function(*args, **kwargs)
        except (TightTaskError, ConfigError) as error:
            return TaskFailed(str(error))
        # A dict is kept by doit as the task's values (what an uptodate check compares).
        return result if isinstance(result, dict) else None

    return action
