"""Where the toolkit's packaged files are, installed or in a source checkout."""

from __future__ import annotations

from pathlib import Path

import tight
import tight_tasks


def templates_dir() -> Path:
    """The Jinja2 templates: ``tight_tasks/templates`` when installed from a wheel, the
    repository's top-level ``templates/`` when running from a checkout (editable install)."""
    package = Path(tight_tasks.__file__).parent
    installed = package / "templates"
    if installed.is_dir():
        return installed
    checkout = package.parent / "templates"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"tight's templates are missing from {package}; reinstall tight")


def runtime_dir() -> Path:
    """The folder of the ``tight`` runtime package that builds copy into ``app/vendored``."""
    return Path(tight.__file__).parent
