"""Tight's doit task module: an app's ``dodo.py`` does ``from tight_tasks import *``.

Each task is a ``task_*`` creator whose docstring is the line ``doit list`` shows; the work a
task does lives in an ordinary function so that it can be tested without doit.
"""

from __future__ import annotations

DOIT_CONFIG = {"verbosity": 2}

__all__ = ["DOIT_CONFIG"]
