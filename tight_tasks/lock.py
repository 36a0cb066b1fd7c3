"""``doit lock``: requirements.in -> requirements.txt, every pin with its hashes.

pip-compile (pip-tools) by default; ``resolver: uv`` in tight.yml uses ``uv pip compile``,
which resolves for the Lambda target itself (``--python-version``, ``--python-platform``)
and is several times faster. Both write the same format. The lock is written to a
temporary file, seeded with the current lock so that existing pins are kept, and moved
into place only when the resolver succeeded (``files.replacing``).
"""

import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from tight_tasks.config import RESOLVERS
from tight_tasks.errors import TightTaskError, as_action
from tight_tasks.files import replacing, write_atomic
from tight_tasks.target import Sources, Target, explain_pip_failure
from tight_tasks.taskkit import failing, settings_or_error

REQUIREMENTS_IN = "requirements.in"
REQUIREMENTS_TXT = "requirements.txt"
HEADER_COMMAND = "doit lock"


def resolver(settings: dict[str, Any]) -> str:
    chosen = str(settings.get("resolver") or "pip-tools")
    if chosen not in RESOLVERS:
        raise TightTaskError(f"resolver {chosen} in tight.yml is unknown; use pip-tools or uv")
    return chosen


def uv_executable() -> str:
    """The uv binary: beside this interpreter (pip install uv), else on PATH."""
    beside = Path(sys.executable).parent / "uv"
    if beside.is_file():
        return str(beside)
    found = shutil.which("uv")
    if found:
        return found
    raise TightTaskError("resolver: uv in tight.yml needs uv: `pip install uv`, then run again")


def host_mismatch(target: Target) -> str | None:
    """Why a resolution on this machine may not hold for the target, if it may not."""
    import platform

    host_python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    host_machine = platform.machine().lower().replace("arm64", "aarch64")
    differences = []
    if host_python != target.python:
        differences.append(f"Python {host_python}, not {target.python}")
    if host_machine != target.machine or not sys.platform.startswith("linux"):
        differences.append(f"{sys.platform} {host_machine}, not linux {target.machine}")
    if not differences:
        return None
    return (
        f"pip-compile resolves for this machine ({', '.join(differences)}): environment "
        "markers are judged for it, not for Lambda; set `resolver: uv` in tight.yml to "
        "resolve for the target"
    )


def lock_command(settings: dict[str, Any], root: Path, output: Path) -> list[str]:
    target = Target.from_settings(settings)
    sources = Sources.from_settings(settings, root)
    if resolver(settings) == "uv":
        return [
            uv_executable(), "pip", "compile", REQUIREMENTS_IN, "--quiet",
            "--generate-hashes", "--output-file", str(output),
            "--python-version", target.python, "--python-platform", target.uv_platform(),
            "--custom-compile-command", HEADER_COMMAND, *sources.args(),
        ]  # fmt: skip
    return [
        sys.executable, "-m", "piptools", "compile", REQUIREMENTS_IN, "--quiet",
        "--generate-hashes", "--allow-unsafe", "--strip-extras", "--no-emit-index-url",
        "--no-emit-find-links", "--output-file", str(output), *sources.args(),
    ]  # fmt: skip


EMPTY_LOCK = "#\n# No dependencies: requirements.in lists none. Written by:\n#\n#    doit lock\n#\n"


def requirement_lines(path: Path) -> list[str]:
    """The lines of a requirements file that ask for something (not blank, not comments)."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def lock(root: Path, settings: dict[str, Any]) -> Path:
    """Write requirements.txt; a ``TightTaskError`` with the resolver's reason if it fails."""
    import subprocess

    source = root / REQUIREMENTS_IN
    if not source.is_file():
        raise TightTaskError(f"no {REQUIREMENTS_IN} in {root}: list the app's dependencies there")
    target = Target.from_settings(settings)
    if resolver(settings) == "pip-tools":
        warning = host_mismatch(target)
        if warning:
            print(f"warning: {warning}")
    current = root / REQUIREMENTS_TXT
    chosen = resolver(settings)
    if not requirement_lines(source):
        # Nothing to resolve: no resolver to start (seconds) and no index to reach.
        write_atomic(current, EMPTY_LOCK)
        print(f"{REQUIREMENTS_IN} lists no dependency: {REQUIREMENTS_TXT} pins nothing")
        return current
    print(
        f"locking {REQUIREMENTS_IN} with {chosen}; done again only when it, the package "
        "sources or the resolver change",
        flush=True,
    )
    env = dict(os.environ, CUSTOM_COMPILE_COMMAND=HEADER_COMMAND)
    with replacing(current) as output:
        if current.is_file():
            shutil.copyfile(current, output)  # existing pins are kept unless requirements.in moved
        completed = subprocess.run(
            lock_command(settings, root, output), cwd=root, capture_output=True, text=True, env=env
        )
        if completed.returncode != 0:
            reason = explain_pip_failure(completed.stderr + "\n" + completed.stdout)
            raise TightTaskError(f"{chosen} could not lock {REQUIREMENTS_IN}: {reason}")
    return current


def pins(path: Path) -> int:
    """How many packages a lock pins."""
    return sum(
        1
        for line in path.read_text(encoding="utf-8").splitlines()
        if line and not line[0].isspace() and not line.startswith(("#", "-")) and "==" in line
    )


def lock_inputs(root: Path, settings: dict[str, Any]) -> dict[str, str]:
    """What the lock depends on besides requirements.in: doit re-locks when it changes."""
    sources = Sources.from_settings(settings, root)
    target = Target.from_settings(settings)
    chosen = resolver(settings)
    return {
        "resolver": chosen,
        "sources": sources.fingerprint(),
        # pip-compile resolves for this machine whatever the target; uv for the target.
        "target": f"{target.python}/{target.architecture}" if chosen == "uv" else "host",
    }


# Task creators: `doit list` shows each docstring; the work is the functions above.


def _lock() -> None:
    from tight_tasks.config import load

    root = Path.cwd()
    started = time.monotonic()
    path = lock(root, load(root))
    elapsed = time.monotonic() - started
    print(
        f"locked {pins(path)} package(s) from {REQUIREMENTS_IN} into {path.name} in {elapsed:.1f} s"
    )


def task_lock() -> dict[str, Any]:
    """Pin requirements.in, with hashes, into requirements.txt (pip-compile, or uv)."""
    from doit.tools import config_changed

    root, settings, problem = settings_or_error()
    if settings is None:
        return failing(problem or "no tight.yml")
    try:
        inputs = lock_inputs(root, settings)
    except TightTaskError as error:
        return failing(str(error))
    return {
        "actions": [(as_action(_lock),)],
        "file_dep": ["requirements.in"],
        "targets": ["requirements.txt"],
        "uptodate": [config_changed(inputs)],
    }
