"""File-system steps the tasks share."""

import os
import shutil
from pathlib import Path


def swap_folder(staging: Path, target: Path) -> None:
    """Put a finished folder in place of ``target``: there is always a whole one there."""
    retired = target.with_name(f".{target.name}-old-{os.getpid()}")
    if target.exists():
        os.replace(target, retired)
    os.replace(staging, target)
    shutil.rmtree(retired, ignore_errors=True)
