"""The ``tight`` console script: doit over the ``tight_tasks`` module, for use outside an app."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from doit.cmd_base import ModuleTaskLoader
    from doit.doit_cmd import DoitMain

    import tight_tasks

    args = sys.argv[1:] if argv is None else argv
    if not args:  # `tight` alone lists what it can do rather than running a default task
        args = ["list"]
    result: int = DoitMain(ModuleTaskLoader(tight_tasks)).run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
