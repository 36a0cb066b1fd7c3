"""The Lambda platform a build is for, and where its packages come from, from tight.yml.

``Target``: the Python version and architecture of the function, with the pip and uv
platform names that match the runtime's glibc (Amazon Linux 2, glibc 2.26, for Python
3.10/3.11; Amazon Linux 2023, glibc 2.34, for 3.12 and later). ``Sources``: index URLs,
find-links and no-index, passed the same way to pip-compile, pip and uv. And the
machine's own Python of the target's version, if any: ``compile_bytecode`` compiles with
it, in a fresh process whose hash seed and environment are pinned, so a .pyc is the same
bytes on every run, and the artifact's import check runs with it.
"""

import functools
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tight_tasks.config import LAMBDA_PYTHONS, SUPPORTED_RUNTIMES
from tight_tasks.errors import TightTaskError

ARCHITECTURES = {"x86_64": "x86_64", "arm64": "aarch64"}
# Packages Lambda's Python runtime already has: left out of app/vendored unless kept.
PROVIDED_BY_LAMBDA = frozenset(("boto3", "botocore", "s3transfer", "jmespath"))


def normalize(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return "-".join(
        part for part in name.lower().replace("_", "-").replace(".", "-").split("-") if part
    )


@dataclass(frozen=True)
class Target:
    python: str  # "3.12"
    architecture: str  # "x86_64" or "arm64"

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> "Target":
        runtime = str(
            settings.get("runtime") or f"python{sys.version_info[0]}.{sys.version_info[1]}"
        )
        python = runtime.removeprefix("python")
        if python not in LAMBDA_PYTHONS:
            raise TightTaskError(
                f"runtime {runtime} is not supported; supported: {SUPPORTED_RUNTIMES} "
                "(set runtime: in tight.yml)"
            )
        architecture = str(settings.get("architecture") or "x86_64")
        if architecture not in ARCHITECTURES:
            raise TightTaskError(
                f"architecture {architecture} in tight.yml is not a Lambda architecture; "
                "use x86_64 or arm64"
            )
        return cls(python, architecture)

    @property
    def machine(self) -> str:
        return ARCHITECTURES[self.architecture]

    @property
    def glibc_minor(self) -> int:
        """glibc 2.x of the runtime's OS: Amazon Linux 2 or Amazon Linux 2023."""
        return 26 if self.python in ("3.10", "3.11") else 34

    @property
    def abi(self) -> str:
        return "cp" + self.python.replace(".", "")

    def pip_platforms(self) -> list[str]:
        """Every manylinux tag the runtime's glibc accepts, newest first, legacy aliases too."""
        tags = [f"manylinux_2_{minor}_{self.machine}" for minor in range(self.glibc_minor, 16, -1)]
        tags.append(f"manylinux2014_{self.machine}")
        if self.machine == "x86_64":
            tags += [f"manylinux_2_{minor}_x86_64" for minor in range(16, 4, -1)]
            tags += ["manylinux2010_x86_64", "manylinux1_x86_64"]
        return tags

    def uv_platform(self) -> str:
        """uv's name for the newest manylinux the runtime accepts that uv knows."""
        return f"{self.machine}-manylinux_2_{34 if self.glibc_minor >= 34 else 17}"

    def matches_host(self) -> bool:
        """True when this interpreter is the target's Python version."""
        return self.python == f"{sys.version_info[0]}.{sys.version_info[1]}"

    @property
    def cache_tag(self) -> str:
        """The name part of the target's .pyc files (``cpython-312``)."""
        return "cpython-" + self.python.replace(".", "")

    def interpreter(self) -> str | None:
        """A Python of the target's version on this machine (it compiles the bytecode and
        imports the artifact), or None."""
        return find_interpreter(self.python)

    def cannot_run_here(self) -> str | None:
        """Why this machine cannot run the target's code, or None when it can."""
        import platform

        machine = platform.machine().lower().replace("arm64", "aarch64").replace("amd64", "x86_64")
        if not sys.platform.startswith("linux") or machine != self.machine:
            return f"this machine is {sys.platform} {machine}, not Linux {self.machine}"
        if self.interpreter() is None:
            return f"there is no Python {self.python} here (pyenv or python{self.python} on PATH)"
        return None

    def describe(self) -> str:
        return (
            f"Python {self.python} on {self.architecture} (manylinux, glibc 2.{self.glibc_minor})"
        )


@functools.cache
def find_interpreter(version: str) -> str | None:
    """``python<version>``: this interpreter when it is that version, else pyenv's newest
    install of it, else one on PATH (not a pyenv shim, which may refuse to run it)."""
    if version == f"{sys.version_info[0]}.{sys.version_info[1]}":
        return sys.executable
    import glob
    import shutil

    pyenv = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    installed = glob.glob(
        os.path.join(pyenv, "versions", f"{version}.*", "bin", f"python{version}")
    )
    releases = [p for p in installed if p.split(os.sep)[-3].replace(".", "").isdigit()]

    def release(path: str) -> tuple[int, ...]:
        return tuple(int(part) for part in path.split(os.sep)[-3].split("."))

    candidates = sorted(releases, key=release, reverse=True)
    on_path = shutil.which(f"python{version}")
    if on_path and f"{os.sep}shims{os.sep}" not in on_path:
        candidates.append(on_path)
    return next((c for c in candidates if os.access(c, os.X_OK)), None)


def interpreter_identity(python: str | None) -> str:
    """What compiled bytecode depends on besides the sources: which interpreter, which build."""
    if python is None:
        return "none"
    stat = os.stat(python)
    return f"{python}:{stat.st_size}:{stat.st_mtime_ns}"


# Compiled by a fresh interpreter: on 3.10 the bytes of a set constant depend on the string
# hash seed (-E or -I would ignore PYTHONHASHSEED, hence -S -s and an emptied environment),
# and marshal's back-references on what else the process has loaded.
_COMPILE = """
import compileall, json, py_compile, sys
job = json.load(sys.stdin)
mode = py_compile.PycInvalidationMode.UNCHECKED_HASH
errors = []
for folder, ddir in job["folders"]:
    if not compileall.compile_dir(folder, ddir=ddir, quiet=2, invalidation_mode=mode):
        errors.append(folder + " has code that does not compile")
for source, cfile, dfile in job["files"]:
    try:
        py_compile.compile(source, cfile=cfile, dfile=dfile, doraise=True, invalidation_mode=mode)
    except py_compile.PyCompileError as error:
        line = getattr(error.exc_value, "lineno", None)
        where = f" (line {line})" if line else ""
        errors.append(f"{dfile}: {error.msg.strip().splitlines()[-1]}{where}")
print(json.dumps(errors))
"""


def compile_bytecode(
    python: str,
    folders: Sequence[tuple[Path, str]] = (),
    files: Sequence[tuple[Path, Path, str]] = (),
) -> list[str]:
    """Unchecked-hash .pyc for whole ``folders`` (folder, name shown in tracebacks) and single
    ``files`` (source, .pyc, name shown), the same bytes on every run; returns the errors."""
    import subprocess
    import tempfile

    job = {
        "folders": [[str(folder), ddir] for folder, ddir in folders],
        "files": [[str(source), str(cfile), dfile] for source, cfile, dfile in files],
    }
    with tempfile.TemporaryDirectory(prefix="tight-compile-") as empty:
        completed = subprocess.run(
            [python, "-S", "-s", "-c", _COMPILE], input=json.dumps(job), capture_output=True,
            text=True, cwd=empty, env={"PYTHONHASHSEED": "0", "LC_ALL": "C.UTF-8"},
        )  # fmt: skip
    if completed.returncode != 0:
        reason = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        raise TightTaskError(f"Python at {python} could not compile the app: {reason}")
    errors: list[str] = json.loads(completed.stdout.strip().splitlines()[-1])
    return errors


def _as_list(value: Any, key: str) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise TightTaskError(f"{key} in tight.yml must be a string or a list of strings")


@dataclass(frozen=True)
class Sources:
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    settings: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_settings(cls, settings: dict[str, Any], root: Path) -> "Sources":
        links = []
        for link in _as_list(settings.get("find_links"), "find_links"):
            local = not link.startswith(("http://", "https://", "file:"))
            links.append(str((root / link).resolve()) if local else link)
        index_url = settings.get("index_url")
        if index_url is not None and not isinstance(index_url, str):
            raise TightTaskError("index_url in tight.yml must be a URL")
        return cls(
            index_url=index_url,
            extra_index_urls=tuple(_as_list(settings.get("extra_index_url"), "extra_index_url")),
            find_links=tuple(links),
            no_index=bool(settings.get("no_index", False)),
        )

    def args(self) -> list[str]:
        """Options in the form pip, pip-compile and uv all accept."""
        args: list[str] = []
        if self.no_index:
            args.append("--no-index")
        if self.index_url:
            args += ["--index-url", self.index_url]
        for url in self.extra_index_urls:
            args += ["--extra-index-url", url]
        for link in self.find_links:
            args += ["--find-links", link]
        return args

    def fingerprint(self) -> str:
        return repr((self.index_url, self.extra_index_urls, self.find_links, self.no_index))


def explain_pip_failure(output: str) -> str:
    """The one line that says why pip (or pip-compile) failed, in words a user can act on."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    if any("DO NOT MATCH THE HASHES" in line for line in lines):
        start = next(i for i, line in enumerate(lines) if "DO NOT MATCH THE HASHES" in line)
        culprit = next(
            (line.split(" from ")[0] for line in lines[start:] if "==" in line), "a package"
        )
        return (
            f"{culprit.rstrip(':')} does not match its hash in requirements.txt: the file on "
            "the index changed, or the lock is stale; check the index, then run `doit lock`"
        )
    errors = [line.removeprefix("ERROR: ") for line in lines if line.startswith("ERROR:")]
    return (errors or lines or ["no output"])[-1]
