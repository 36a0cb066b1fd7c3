"""The ``tight`` console script: doit over an app's tasks, from any folder inside the app.

``tight <task> [name=value ...]`` finds the app root upward from the current folder (the
nearest folder holding tight.yml, as git finds a repository), changes to it and runs the
same tasks with the same parameters as ``doit`` there: the app's ``dodo.py`` when it has
one (so a user's own tasks work too), else Tight's task module. Outside any app, and for
``generate_app`` (which creates an app where you are), it runs Tight's tasks in the current
folder. ``tight --help`` lists Tight's commands, one line each; ``tight --version`` says
which Tight (and which doit) this is.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Runs in the current folder, wherever that is: it makes apps rather than working in one.
HERE_TASKS = ("generate_app",)
USAGE = "usage: tight <task> [name=value ...]   (from any folder inside an app)"


def commands() -> list[tuple[str, str]]:
    """(task, first line of its docstring) for each of Tight's tasks, as doit lists them."""
    import tight_tasks

    found = []
    for name in tight_tasks.__all__:
        creator = getattr(tight_tasks, name)
        if name.startswith("task_") and callable(creator):
            doc = (creator.__doc__ or "").strip().splitlines()
            found.append((name.removeprefix("task_"), doc[0] if doc else ""))
    return sorted(found)


def print_help() -> None:
    listed = commands()
    width = max(len(name) for name, _ in listed)
    print(USAGE)
    print()
    print("Tight's commands:")
    for name, doc in listed:
        print(f"  {name:<{width}}  {doc}")
    print()
    print("tight help <task> shows a task's parameters; tight list also shows your own tasks.")
    print("In an app, `doit <task>` does the same from its root (`doit -k` from a subfolder).")


def print_version() -> None:
    from doit.version import VERSION

    import tight

    print(f"tight {tight.__version__}")
    print(f"doit {'.'.join(str(part) for part in VERSION)}")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args in (["--help"], ["-h"], ["help"]):
        print_help()
        return 0
    if args == ["--version"]:
        print_version()
        return 0

    from doit.cmd_base import DodoTaskLoader, ModuleTaskLoader
    from doit.doit_cmd import DoitMain

    import tight_tasks
    from tight.config import ConfigError
    from tight_tasks.config import find_app_root

    root: Path | None = None
    if not any(arg in HERE_TASKS for arg in args):
        try:
            root = find_app_root()
        except ConfigError:  # not in an app: Tight's own tasks, here
            root = None
    if root is not None and root != Path.cwd().resolve():
        # Before doit reads its configuration files, which are relative to where it runs;
        # doit's state file is named after that folder too.
        os.chdir(root)
        tight_tasks.DOIT_CONFIG["dep_file"] = tight_tasks._dep_file()
    loader = (
        DodoTaskLoader()
        if root is not None and (root / "dodo.py").is_file()
        else ModuleTaskLoader(tight_tasks)
    )
    result: int = DoitMain(loader).run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
