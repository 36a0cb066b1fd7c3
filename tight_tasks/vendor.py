"""``doit vendor``: the locked dependencies and the tight runtime, installed into app/vendored.

pip installs the lock for the Lambda target whatever the host is: every manylinux tag the
runtime's glibc accepts, the target's Python version and ABI, hashes required, no
dependency resolution (the lock is complete). Packages Lambda already provides are left
out unless tight.yml keeps them. A package with no wheel for the target is built from its
sdist only if that yields a pure-Python wheel. When this machine has a Python of the
target's version (this one, pyenv's, or on PATH), everything is precompiled by it to
unchecked-hash .pyc, the same bytes on every run (``target.compile_bytecode``). All of it
happens in a staging folder swapped in whole for app/vendored once complete
(``files.building_folder``): a failure or a crash leaves the old tree or the new one.
"""

import hashlib
import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tight_tasks.config import write_runtime_config
from tight_tasks.errors import TightTaskError, as_action
from tight_tasks.files import building_folder, recover_folder
from tight_tasks.resources import runtime_dir
from tight_tasks.target import (
    PROVIDED_BY_LAMBDA,
    Sources,
    Target,
    compile_bytecode,
    explain_pip_failure,
    interpreter_identity,
    normalize,
)
from tight_tasks.taskkit import failing, inputs_changed, settings_or_error

VENDOR_DIR = "app/vendored"
# What app/vendored was built from, kept inside it (see artifact.py on the three records).
STAMP = ".tight-vendor.json"
# Where Lambda unpacks the function: compiled code names its files from here, not from
# the build machine's checkout, so the bytes are the same wherever the build ran.
TASK_ROOT = "/var/task"
# Test support is not shipped: it imports pytest and would only add to the cold start.
RUNTIME_EXCLUDES = ("__pycache__", "*.pyc", "testing", "test_helpers.py")
NO_MATCH = re.compile(r"No matching distribution found for ([A-Za-z0-9_.\-]+)")


@dataclass
class Requirement:
    name: str  # normalized
    text: str  # the lock's lines for it, hashes included


def parse_lock(path: Path) -> list[Requirement]:
    """The lock's requirements, each with its continuation lines (hashes)."""
    if not path.is_file():
        raise TightTaskError(f"no {path.name} in {path.parent}; run `doit lock` first")
    blocks: list[list[str]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if line[0].isspace() and blocks:
            blocks[-1].append(line)
        elif not stripped.startswith("-"):  # options such as --index-url live in tight.yml
            blocks.append([line])
    requirements = []
    for block in blocks:
        name = re.split(r"[=<>!~;\[ \\]", block[0].strip(), maxsplit=1)[0]
        requirements.append(Requirement(normalize(name), "\n".join(block)))
    if any("--hash=" not in r.text for r in requirements):
        raise TightTaskError(f"{path.name} has pins without hashes; run `doit lock` to relock")
    return requirements


def runtime_fingerprint() -> str:
    """The tight runtime as vendored: a changed runtime means a new app/vendored."""
    digest = hashlib.sha256()
    base = runtime_dir()
    for path in sorted(base.rglob("*.py")):
        relative = path.relative_to(base)
        if "testing" in relative.parts or relative.name == "test_helpers.py":
            continue
        digest.update(relative.as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def vendor_inputs(root: Path, settings: dict[str, Any]) -> dict[str, str]:
    """Everything app/vendored is built from; equal inputs, nothing to do."""
    lock = root / "requirements.txt"
    return {
        "lock": hashlib.sha256(lock.read_bytes()).hexdigest() if lock.is_file() else "",
        "target": repr(Target.from_settings(settings)),
        "sources": Sources.from_settings(settings, root).fingerprint(),
        "keep": ",".join(sorted(keep_provided(settings))),
        "runtime": runtime_fingerprint(),
        "compiler": interpreter_identity(Target.from_settings(settings).interpreter()),
    }


def keep_provided(settings: dict[str, Any]) -> set[str]:
    kept = settings.get("keep_provided") or []
    if isinstance(kept, str):
        kept = [kept]
    if not isinstance(kept, list):
        raise TightTaskError("keep_provided in tight.yml must be a list of package names")
    return {normalize(str(name)) for name in kept}


def _pip(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip", *args, "--disable-pip-version-check", "--no-input"],
        cwd=cwd,
        capture_output=True,
        text=True,
    )


def _last_error(completed: subprocess.CompletedProcess[str]) -> str:
    return explain_pip_failure(completed.stderr + "\n" + completed.stdout)


def _install_wheels(
    requirements: list[Requirement], staging: Path, target: Target, sources: Sources, work: Path
) -> list[Requirement]:
    """Install every requirement that has a wheel for the target; returns those without."""
    pending = list(requirements)
    without_wheel: list[Requirement] = []
    while pending:
        listed = work / "wheels.txt"
        listed.write_text("\n".join(r.text for r in pending) + "\n", encoding="utf-8")
        platform_args = [arg for tag in target.pip_platforms() for arg in ("--platform", tag)]
        arguments = [
            "install", "--target", str(staging), "--no-deps", "--require-hashes",
            "--no-compile", "--only-binary=:all:", *platform_args, "--python-version",
            target.python, "--implementation", "cp", "--abi", target.abi, "--upgrade",
            "--quiet", "-r", str(listed), *sources.args(),
        ]  # fmt: skip
        completed = _pip(arguments, work)
        if completed.returncode == 0:
            return without_wheel
        missing = NO_MATCH.search(completed.stderr + completed.stdout)
        name = normalize(re.split(r"[=<>!~]", missing.group(1))[0]) if missing else None
        found = [r for r in pending if r.name == name]
        if not found:
            detail = _last_error(completed)
            raise TightTaskError(
                f"pip could not install the lock for {target.describe()}: {detail}"
            )
        without_wheel += found
        pending = [r for r in pending if r.name != name]
    return without_wheel


def _wheel_is_pure(wheel: Path) -> bool:
    parts = wheel.name[: -len(".whl")].split("-")
    return len(parts) >= 5 and parts[-2] == "none" and parts[-1] == "any"


def _build_pure_wheels(
    requirements: list[Requirement], staging: Path, target: Target, sources: Sources, work: Path
) -> None:
    """Build sdist-only packages; install the result only if it is pure Python."""
    import zipfile

    for requirement in requirements:
        listed = work / f"sdist-{requirement.name}.txt"
        listed.write_text(requirement.text + "\n", encoding="utf-8")
        wheels = work / f"built-{requirement.name}"
        arguments = [
            "wheel", "--no-deps", "--require-hashes", "--no-binary=:all:", "--quiet",
            "--wheel-dir", str(wheels), "-r", str(listed), *sources.args(),
        ]  # fmt: skip
        completed = _pip(arguments, work)
        if completed.returncode != 0:
            raise TightTaskError(
                f"{requirement.name} has no wheel for {target.describe()} and its sdist did not "
                f"build: {_last_error(completed)}"
            )
        built = sorted(wheels.glob("*.whl"))
        impure = [w.name for w in built if not _wheel_is_pure(w)]
        if impure:
            raise TightTaskError(
                f"{requirement.name} has no wheel for {target.describe()}, and its sdist builds "
                f"a platform-specific wheel ({impure[0]}) that would not run on Lambda: pin a "
                "version that publishes manylinux wheels, or build it on Amazon Linux for "
                f"{target.architecture} and add the wheel to find_links"
            )
        for wheel in built:
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(staging)
            print(f"built {wheel.name} from its sdist (pure Python)")


# app/vendored is a regular package, not a namespace package: its one folder is final, so
# importing app.vendored.tight searches nothing beyond it.
PACKAGE_INIT = "__init__.py"
PACKAGE_INIT_TEXT = '"""Written by `doit vendor`: the locked dependencies and the runtime."""\n'


def copy_runtime(staging: Path) -> None:
    shutil.copytree(
        runtime_dir(), staging / "tight", ignore=shutil.ignore_patterns(*RUNTIME_EXCLUDES)
    )
    (staging / PACKAGE_INIT).write_text(PACKAGE_INIT_TEXT)


def precompile(folder: Path, display_root: str, python: str) -> None:
    """Hash-based .pyc that Python never checks against a timestamp (the zip's are fixed),
    compiled by the target's Python and named from Lambda's task root, so the bytes do not
    depend on where or how often the build ran."""
    if compile_bytecode(python, folders=[(folder, display_root)]):
        raise TightTaskError(
            f"some vendored code does not compile for Python {python}; check the packages "
            "in requirements.txt support that version"
        )


def vendor(root: Path, settings: dict[str, Any]) -> dict[str, Any]:
    """Build app/vendored for the target in tight.yml; returns what was installed."""
    import tempfile

    if str(settings.get("vendor_dir") or VENDOR_DIR).strip("/") != VENDOR_DIR:
        raise TightTaskError(
            "vendor_dir in tight.yml must be app/vendored: app_index.py imports app.vendored.tight"
        )
    target = Target.from_settings(settings)
    sources = Sources.from_settings(settings, root)
    vendored = root / VENDOR_DIR
    inputs = vendor_inputs(root, settings)
    recover_folder(vendored)  # a swap an earlier run could not finish
    stamp = vendored / STAMP
    previous: dict[str, Any] = json.loads(stamp.read_text()) if stamp.is_file() else {}
    if previous.get("inputs") == inputs and (vendored / PACKAGE_INIT).is_file():
        write_runtime_config(root, vendored)  # tight.yml may have changed CORS and such
        print(f"{VENDOR_DIR} is up to date for {target.describe()}")
        return previous

    requirements = parse_lock(root / "requirements.txt")
    kept = keep_provided(settings)
    left_out = sorted(r.name for r in requirements if r.name in PROVIDED_BY_LAMBDA - kept)
    wanted = [r for r in requirements if r.name not in left_out]
    if any(r.name == "tight" for r in wanted):
        raise TightTaskError(
            "requirements.in lists tight: the tight on PyPI is an unrelated project; the "
            "runtime is copied from your installed tight, so remove it from requirements.in"
        )
    started = time.monotonic()
    print(
        f"installing {len(wanted)} locked package(s) for {target.describe()} into a new "
        f"{VENDOR_DIR}; done again only when the lock, the target or the runtime change",
        flush=True,
    )
    with (
        building_folder(vendored) as staging,
        tempfile.TemporaryDirectory(prefix="tight-vendor-") as work,
    ):
        without_wheel = _install_wheels(wanted, staging, target, sources, Path(work))
        if without_wheel:
            _build_pure_wheels(without_wheel, staging, target, sources, Path(work))
        shutil.rmtree(staging / "bin", ignore_errors=True)  # console scripts: host shebangs
        copy_runtime(staging)
        python = target.interpreter()
        compiled = python is not None
        if python is not None:
            precompile(staging, f"{TASK_ROOT}/{VENDOR_DIR}", python)
        summary = {
            "inputs": inputs,
            "target": {"python": target.python, "architecture": target.architecture},
            "packages": [r.name for r in wanted],
            "left_out": left_out,
            "precompiled": compiled,
        }
        (staging / STAMP).write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
        write_runtime_config(root, staging)
    if left_out:
        print(f"left out (Lambda's runtime has them): {', '.join(left_out)}")
    how = (
        f"precompiled by {python}"
        if compiled
        else f"sources only: no Python {target.python} here to compile with"
    )
    elapsed = time.monotonic() - started
    print(
        f"vendored {len(wanted)} package(s) and the tight runtime into {VENDOR_DIR} ({how}) "
        f"in {elapsed:.1f} s"
    )
    return summary


# Task creators: `doit list` shows each docstring; the work is the functions above.


def _vendor() -> None:
    from tight_tasks.config import load

    root = Path.cwd()
    vendor(root, load(root))


def task_vendor() -> dict[str, Any]:
    """Install the lock and the tight runtime into app/vendored for the Lambda target."""
    root, settings, problem = settings_or_error()
    if settings is None:
        return failing(problem or "no tight.yml")
    try:  # the settings' errors now; the inputs (hashing the runtime) when doit checks
        Target.from_settings(settings)
        Sources.from_settings(settings, root)
        keep_provided(settings)
    except TightTaskError as error:
        return failing(str(error))

    def inputs() -> dict[str, str]:
        # The lock is a file_dep, so doit compares it itself: it may not exist yet when this
        # runs, before `doit lock` has written it.
        return {k: v for k, v in vendor_inputs(root, settings).items() if k != "lock"}

    return {
        "actions": [(as_action(_vendor),)],
        "file_dep": ["requirements.txt", "tight.yml"],
        "targets": [f"{VENDOR_DIR}/{STAMP}"],
        "uptodate": [inputs_changed(inputs)],
    }
