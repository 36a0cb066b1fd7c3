"""The app's locked dependencies in its tests: ``app/vendored`` is importable, and a test
that needs a locked package nobody vendored yet ends the run with the one step to take.

``doit test`` runs ``doit vendor`` first; under plain ``pytest`` the plugin puts the
vendored folder at the end of ``sys.path`` (what the environment has wins, so the installed
Tight stays the one tests import) and turns a ``ModuleNotFoundError`` for a package that
``requirements.txt`` pins, but ``app/vendored`` lacks, into one line: run ``doit vendor``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

VENDORED = ("app", "vendored")
MISSING = re.compile(r"No module named '([A-Za-z0-9_.]+)'")


def add_vendored(root: Path) -> None:
    """Put the app's vendored dependencies on ``sys.path``, behind everything else."""
    folder = str(root.joinpath(*VENDORED))
    if Path(folder).is_dir() and folder not in sys.path:
        sys.path.append(folder)


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_names(root: Path) -> set[str]:
    """The projects ``requirements.txt`` pins, normalised (``PyYAML`` -> ``pyyaml``)."""
    lock = root / "requirements.txt"
    if not lock.is_file():
        return set()
    names = set()
    for line in lock.read_text(encoding="utf-8").splitlines():
        if line and not line[0].isspace() and not line.startswith(("#", "-")):
            names.add(_normal(re.split(r"[=<>!~;\[ \\]", line.strip(), maxsplit=1)[0]))
    return names


def not_vendored(root: Path, error_text: str) -> str | None:
    """The one line to show when ``error_text`` is a missing module that the lock pins
    and app/vendored does not hold; None for any other error."""
    found = MISSING.search(error_text)
    if found is None:
        return None
    top = found.group(1).split(".")[0]
    if _normal(top) not in locked_names(root):
        return None
    vendored = root.joinpath(*VENDORED)
    if (vendored / top).exists() or (vendored / f"{top}.py").exists():
        return None
    return (
        f"error: {top} is pinned in requirements.txt but not in app/vendored: run "
        "`doit vendor` (or `doit test`, which vendors first)"
    )
