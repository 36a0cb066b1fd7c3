"""Apps as ``tight generate_app`` and ``doit generate_*`` leave them, made once per test
process and copied after.

The tests whose subject is building, serving or deploying an app start from a scaffolded
one; running the same commands for each of them cost about 0.2 s a command, some 250 times
a run. test_scaffold, test_events_scaffold and test_cli run the commands themselves, as the
commands are what they test. A scaffold depends on nothing but its commands (and this
interpreter, whose version names the app's runtime), so a copy is the app they would make.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BIN = Path(sys.executable).parent

_made: dict[str, Path] = {}  # the commands, as JSON -> the app they made


@functools.cache
def _store() -> Path:
    store = Path(tempfile.mkdtemp(prefix="tight-scaffolds-"))
    atexit.register(shutil.rmtree, store, True)
    return store


def _run(*command: str, cwd: Path, env: dict[str, str]) -> None:
    done = subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout}{done.stderr}"


def scaffold(folder: Path, name: str, *commands: tuple[str, ...]) -> Path:
    """``folder/<name>`` as ``tight generate_app name=<name>`` run in ``folder`` leaves it,
    then ``doit <command...>`` in it for each of ``commands``, such as
    ``("generate_function", "name=items", "methods=get,post")``; returns that folder."""
    key = json.dumps([name, commands])
    if key not in _made:
        work = _store() / str(len(_made))
        work.mkdir()
        # doit keeps its state in the user's cache: here, beside the scaffold.
        env = dict(os.environ, XDG_CACHE_HOME=str(work / "cache"))
        _run("tight", "generate_app", f"name={name}", cwd=work, env=env)
        for command in commands:
            _run("doit", *command, cwd=work / name, env=env)
        _made[key] = work / name
    # Copied, not copied with their times: every file is as new as a fresh scaffold's.
    return Path(shutil.copytree(_made[key], folder / name, copy_function=shutil.copy))
