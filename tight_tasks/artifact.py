"""``doit artifact``: the deployable zip under build/, the same bytes from the same inputs.

Holds app_index.py and app/ (with app/vendored/, where ``doit vendor`` wrote tight.json,
the runtime's share of tight.yml), and nothing the functions do not read: not tight.yml or
env.dist.yml (an edited comment there changes no function), no env.yml or .env, no tests,
no VCS or build state, and no bytecode but the unchecked-hash .pyc the build makes (stale or
timestamp-based .pyc never ship). Entries are
sorted, dated SOURCE_DATE_EPOCH (or 1980-01-01), with normalised permissions and fixed
compression. With ``layer=true`` the third-party packages go to a separate layer zip under
``python/`` and the function zip keeps the app and the tight runtime.


Before the new zip replaces the old one, every function's handler is imported from it by
the target's Python, isolated, as Lambda will (``check_imports``): a handler that cannot
import fails the build and the previous zip stays.

Three records say what is up to date, each for its own question:

- doit's dep file (in the user's cache, ``tight_tasks._dep_file``): whether a task runs at
  all. It is checked before any work, by every task, and is lost with the cache.
- the build stamps inside the trees they describe (``app/vendored/.tight-vendor.json``,
  ``.tight/dynamo/<backend>/.tight-install.json``): what that tree was built from. Swapped
  in with the tree, so they stay true when doit's state is lost or the tree came from
  elsewhere, and ``vendor()`` can skip work without doit.
- ``.tight/artifact/<zip>.json``: not an up-to-date check but the previous zip's index
  (where each entry sits, its CRC and sizes, the zip's digest and whether its imports
  passed), valid only while that zip's size and mtime match, so a rebuild copies unchanged
  entries instead of compressing them again and skips the import check for the same bytes.
  Beside it, ``<zip>.unzipped/`` is the import check's copy of the zip, with its own
  manifest, so a rebuild rewrites only the entries that changed."""

import hashlib
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tight_tasks.config import app_name
from tight_tasks.env import DIST_FILE, read_env_file
from tight_tasks.errors import TightTaskError, as_action
from tight_tasks.files import write_atomic
from tight_tasks.target import Target, compile_bytecode, interpreter_identity
from tight_tasks.taskkit import failing, param, settings_or_error
from tight_tasks.vendor import STAMP, TASK_ROOT, VENDOR_DIR

BUILD_DIR = "build"
# tight.yml's settings reach the zip only through app/vendored/tight.json and the target,
# both digested on their own, so neither it nor env.dist.yml is shipped or digested.
ROOT_FILES = ("app_index.py",)
NEVER = frozenset(("env.yml", ".env", ".git", ".gitignore", ".tight", ".DS_Store", "__pycache__"))
UNZIPPED_LIMIT = 250 * 1024 * 1024  # Lambda's limit for a function with its layers
ZIPPED_WARNING = 50 * 1024 * 1024  # above this, a direct upload is refused
LEVEL = 9  # deflate level: fixed, so the same input gives the same bytes


@dataclass
class Entry:
    """One file of a zip: from disk (read only if it must be compressed) or made in memory."""

    name: str  # the path inside the zip
    size: int
    source: Path | None = None
    content: bytes | None = None
    key: tuple[int, int] | None = None  # (size, mtime_ns) of the source, for the zip cache

    @classmethod
    def from_file(cls, name: str, path: Path) -> "Entry":
        stat = path.stat()
        return cls(name, stat.st_size, source=path, key=(stat.st_size, stat.st_mtime_ns))

    @classmethod
    def from_bytes(cls, name: str, content: bytes) -> "Entry":
        return cls(name, len(content), content=content)

    def data(self) -> bytes:
        if self.content is not None:
            return self.content
        assert self.source is not None
        return self.source.read_bytes()

    def renamed(self, name: str) -> "Entry":
        return Entry(name, self.size, self.source, self.content, self.key)


@dataclass
class Built:
    path: Path
    sha256: str
    zipped: int
    unzipped: int
    entries: int
    largest: list[tuple[str, int]] = field(default_factory=list)
    temporary: Path | None = None  # where it was written, until published
    index: dict[str, Any] = field(default_factory=dict)  # entry -> where, for the next build
    unchanged: bool = False  # the same bytes as the zip at ``path``, whose imports passed
    checked: bool = False  # its handlers were imported from it

    def discard(self) -> None:
        if self.temporary is not None:
            self.temporary.unlink(missing_ok=True)

    def publish(self) -> None:
        """Move the checked zip into place, then record what it holds for the next build."""
        if self.temporary is not None:
            os.replace(self.temporary, self.path)
            self.temporary = None
        stat = self.path.stat()
        record = {
            "zip": [stat.st_size, stat.st_mtime_ns],
            "sha256": self.sha256,
            "checked": self.checked,
        }
        write_atomic(_cache_file(self.path), json.dumps({**record, "entries": self.index}))


def zip_time() -> tuple[int, int, int, int, int, int]:
    """SOURCE_DATE_EPOCH when set (never before 1980, the zip format's first day)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is None:
        return (1980, 1, 1, 0, 0, 0)
    try:
        stamp = time.gmtime(max(int(epoch), 315532800))
    except ValueError:
        raise TightTaskError(f"SOURCE_DATE_EPOCH={epoch} is not a number of seconds") from None
    return stamp[:6]


def is_unchecked_pyc(data: bytes) -> bool:
    """A hash-based .pyc that Python will not check against its source (PEP 552 flags 0b01)."""
    return len(data) >= 16 and int.from_bytes(data[4:8], "little") == 0b01


def app_sources(root: Path) -> list[Path]:
    """The app's own files under app/ (not app/vendored): no bytecode, nothing in NEVER.
    app/vendored is not walked at all: it can hold thousands of files."""
    vendored = root / VENDOR_DIR
    found: list[Path] = []
    for folder, folders, files in os.walk(root / "app"):
        current = Path(folder)
        folders[:] = sorted(f for f in folders if f not in NEVER and current / f != vendored)
        found += [current / f for f in files if f not in NEVER and not f.endswith(".pyc")]
    return sorted(found)


def collect(root: Path, target: Target, python: str | None) -> list[Entry]:
    """Every file the function needs, with the bytes it ships; the app's modules compiled
    by ``python`` (of the target's version) when there is one."""
    import tempfile

    entries: list[Entry] = []
    if not (root / "app_index.py").is_file():
        raise TightTaskError(f"no app_index.py in {root}; is this an app's root folder?")
    sources = [root / name for name in ROOT_FILES if (root / name).is_file()]
    modules: list[tuple[str, Path]] = []
    for path in sources + app_sources(root):
        name = path.relative_to(root).as_posix()
        entries.append(Entry.from_file(name, path))
        if path.suffix == ".py":
            modules.append((name, path))
    if python is not None and modules:
        with tempfile.TemporaryDirectory(prefix="tight-pyc-") as work:
            jobs = [
                (path, Path(work) / f"{index}.pyc", f"{TASK_ROOT}/{name}")
                for index, (name, path) in enumerate(modules)
            ]
            errors = compile_bytecode(python, files=jobs)
            if errors:
                more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
                shown = errors[0].removeprefix(TASK_ROOT + "/")
                raise TightTaskError(f"{shown.replace(': ', ' does not compile: ', 1)}{more}")
            for (name, _path), (_source, cfile, _dfile) in zip(modules, jobs, strict=True):
                folder, _, file_name = name.rpartition("/")
                cache = f"{folder + '/' if folder else ''}__pycache__/"
                cache += f"{file_name[: -len('.py')]}.{target.cache_tag}.pyc"
                entries.append(Entry.from_bytes(cache, cfile.read_bytes()))
    for path in sorted((root / VENDOR_DIR).rglob("*")):
        if not path.is_file() or path.name == STAMP:
            continue
        if path.suffix == ".pyc":
            with path.open("rb") as handle:
                if not is_unchecked_pyc(handle.read(16)):
                    continue  # a stale or timestamp-based .pyc from some local run
        entries.append(Entry.from_file(path.relative_to(root).as_posix(), path))
    return sorted(entries, key=lambda e: e.name)


def _dos_time(stamp: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    year, month, day, hour, minute, second = stamp
    return (hour << 11) | (minute << 5) | (second // 2), ((year - 1980) << 9) | (month << 5) | day


def _cache_file(path: Path) -> Path:
    return path.parent.parent / ".tight" / "artifact" / f"{path.name}.json"


def _load_cache(path: Path) -> dict[str, Any]:
    """What the previous zip at ``path`` holds (``entries``, ``sha256``), if it is still the
    zip that was written and checked."""
    try:
        cache: dict[str, Any] = json.loads(_cache_file(path).read_text())
        stat = path.stat()
    except (OSError, ValueError):
        return {}
    if not isinstance(cache, dict) or cache.get("zip") != [stat.st_size, stat.st_mtime_ns]:
        return {}
    return cache


def write_zip(entries: list[Entry], path: Path) -> Built:
    """Write entries reproducibly beside ``path``; ``Built.publish`` puts it in place.

    The zip is written here rather than with ``zipfile`` so that an entry whose source did
    not change since the last build is copied from the previous zip already compressed:
    after a handler edit only the handler is compressed again. Compression is raw deflate
    at a fixed level, so a copied entry is the same bytes a fresh build would write.
    """
    import struct
    import zlib

    if len(entries) >= 0xFFFF:
        raise TightTaskError(f"{len(entries)} files is more than a zip without ZIP64 holds")
    dos_time, dos_date = _dos_time(zip_time())
    previous_zip = _load_cache(path)
    cached: dict[str, Any] = previous_zip.get("entries") or {}
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    digest = hashlib.sha256()
    central: list[bytes] = []
    index: dict[str, Any] = {}
    unzipped = 0
    previous = path.open("rb") if cached else None
    try:
        with temporary.open("wb") as out:

            def emit(chunk: bytes) -> None:
                out.write(chunk)
                digest.update(chunk)

            for entry in entries:
                name = entry.name.encode("utf-8")
                flags = 0x800 if not entry.name.isascii() else 0  # UTF-8 names
                known = cached.get(entry.name) if entry.key is not None else None
                if previous is not None and known and known["key"] == list(entry.key or ()):
                    crc, compressed_size, size = known["crc"], known["csize"], known["size"]
                    previous.seek(known["offset"] + 26)
                    name_length, extra_length = struct.unpack("<HH", previous.read(4))
                    previous.seek(known["offset"] + 30 + name_length + extra_length)
                    raw = previous.read(compressed_size)
                else:
                    data = entry.data()
                    compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
                    raw = compressor.compress(data) + compressor.flush()
                    crc, compressed_size, size = zlib.crc32(data), len(raw), len(data)
                offset = out.tell()
                # Local file header, then the data; the central directory entry points back here.
                local = struct.pack(
                    "<IHHHHHIIIHH", 0x04034B50, 20, flags, 8, dos_time, dos_date,
                    crc, compressed_size, size, len(name), 0,
                )  # fmt: skip
                emit(local + name)
                emit(raw)
                record = struct.pack(
                    "<IHHHHHHIIIHHHHHII", 0x02014B50, (3 << 8) | 20, 20, flags, 8,
                    dos_time, dos_date, crc, compressed_size, size, len(name), 0, 0, 0, 0,
                    0o100644 << 16, offset,
                )  # fmt: skip
                central.append(record + name)
                index[entry.name] = {
                    "key": list(entry.key) if entry.key else None,
                    "crc": crc,
                    "csize": compressed_size,
                    "size": size,
                    "offset": offset,
                }
                unzipped += size
            start = out.tell()
            directory = b"".join(central)
            emit(directory)
            end = struct.pack(
                "<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(directory),
                start, 0,
            )  # fmt: skip
            emit(end)
            zipped = out.tell()
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    finally:
        if previous is not None:
            previous.close()
    sha256 = digest.hexdigest()
    unchanged = previous_zip.get("sha256") == sha256 and bool(previous_zip.get("checked"))
    return Built(
        path=path, sha256=sha256, zipped=zipped, unzipped=unzipped, entries=len(entries),
        temporary=temporary, index=index, unchanged=unchanged,
    )  # fmt: skip


# Lambda's Python runtime has these; a function may import them without shipping them.
LAMBDA_PROVIDES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
IMPORT_TIMEOUT = 120.0
_IMPORT_CHECK = """
import importlib, importlib.util, json, os, sys, traceback
task, layer, provided, names = json.loads(sys.argv[1])
sys.path[:0] = [task, layer]  # Lambda's order: the function, the layer, the runtime's own
sys.path.append(provided)
os.chdir(task)

def described(error):
    found = {"type": type(error).__name__, "message": str(error)}
    if isinstance(error, SyntaxError):
        found["message"] = error.msg
        found["file"], found["line"] = error.filename, error.lineno
    else:  # the app's own line that raised it (not the vendored runtime's)
        vendored = os.path.join(task, "app", "vendored")
        for frame in traceback.extract_tb(error.__traceback__):
            name = os.path.abspath(frame.filename)
            if name.startswith(task + os.sep) and not name.startswith(vendored + os.sep):
                found["file"], found["line"] = name, frame.lineno
    if isinstance(error, ModuleNotFoundError) and error.name:
        found["module"] = error.name
        top = error.name.partition(".")[0]
        try:
            found["top_found"] = importlib.util.find_spec(top) is not None
        except Exception:
            found["top_found"] = False
    if found.get("file"):
        found["file"] = os.path.relpath(found["file"], task).replace(os.sep, "/")
    return found

failures = {}
try:
    import app_index
except BaseException as error:
    failures["app_index.py"] = described(error)
else:
    for name in names:
        try:
            importlib.import_module(f"app.functions.{name}.handler")
        except BaseException as error:
            failures[name] = described(error)
print(json.dumps(failures))
"""

# Tight's decorators refuse at import, with the fix in the message, an async or generator
# handler (tight.providers.aws.lambda_app.app.require_plain_function) and a module that
# registers two kinds of handler (tight.batch.KindConflict).
_DECORATOR_REFUSAL = re.compile(r"@[\w.]+ cannot serve ")


def import_advice(failure: dict[str, Any]) -> str:
    """``TypeName: message (where)``, then what to do about it: each kind of failure in
    its own words (only a package missing from the zip is a matter for requirements.in)."""
    kind, message = failure.get("type", "Error"), failure.get("message", "")
    where = ""
    if failure.get("file"):
        line = f" line {failure['line']}" if failure.get("line") else ""
        where = f" ({failure['file']}{line})"
    shown = f"{kind}: {message}{where}"
    if kind == "ModuleNotFoundError" and failure.get("module"):
        module = str(failure["module"])
        top = module.partition(".")[0]
        if top in ("app", "app_index"):
            return (
                f"{shown}. {module} is not in the zip: check the import's spelling and that "
                "the file is under app/"
            )
        if failure.get("top_found"):
            return (
                f"{shown}. {top} is in the zip but has no module {module}: check the import, "
                f"or the version of {top} that requirements.txt pins"
            )
        return (
            f"{shown}. Add {top} (the package that provides it) to requirements.in, then "
            "`doit artifact`"
        )
    if kind == "SyntaxError":
        return f"{shown}. Fix the syntax, then `doit artifact`"
    if kind == "NameError":
        return (
            f"{shown}. A name is used before it is defined (or misspelt) in code that runs "
            "when the module is imported: fix the code, then `doit artifact`"
        )
    if kind == "KindConflict" or (kind == "TypeError" and _DECORATOR_REFUSAL.match(message)):
        return f"{shown}. Then `doit artifact`"
    return (
        f"{shown}. Importing the module runs its top-level code, as Lambda will: fix what "
        "fails there, then `doit artifact`"
    )


def _lambda_provided(folder: Path) -> None:
    """Links to this machine's copies of what Lambda's runtime provides (boto3 and its
    dependencies), and nothing else of this environment."""
    import importlib.util

    folder.mkdir()
    for name in LAMBDA_PROVIDES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (folder / source.name).symlink_to(source, target_is_directory=source.is_dir())


def _unzipped(built: Built) -> Path:
    """The zip just written, unzipped under .tight/artifact/ for the import check: kept from
    one build to the next, so only the entries whose bytes changed are written again (a
    handler edit rewrites two files, not the whole tree) and files no longer in the zip go.
    A manifest of what the folder holds is written last; without it, it is unzipped whole."""
    import shutil
    import zipfile

    folder = _cache_file(built.path).with_suffix(".unzipped")
    manifest = folder / ".tight-unzipped.json"
    try:
        held: dict[str, list[int]] = json.loads(manifest.read_text())
    except (OSError, ValueError):
        shutil.rmtree(folder, ignore_errors=True)
        held = {}
    manifest.unlink(missing_ok=True)  # until the folder matches the zip again
    wanted = {name: [entry["crc"], entry["size"]] for name, entry in built.index.items()}
    assert built.temporary is not None
    with zipfile.ZipFile(built.temporary) as archive:
        for name, key in wanted.items():
            path = folder / name
            if held.get(name) != key or not path.is_file():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(archive.read(name))
    for name in set(held) - set(wanted):
        if ".." not in Path(name).parts and not Path(name).is_absolute():
            (folder / name).unlink(missing_ok=True)
    write_atomic(manifest, json.dumps(wanted))
    return folder


def check_imports(root: Path, built: list[Built], target: Target, python: str | None) -> bool:
    """Import every function's handler from the zips just written, as Lambda will: the
    target's Python, isolated (-I -S), its path only the unzipped function, the layer and
    what Lambda's runtime provides. A failure is a ``TightTaskError`` naming the function."""
    import subprocess
    import tempfile

    reason = target.cannot_run_here()
    if reason is not None or python is None:
        print(f"import check skipped: {reason}")
        return False
    function = built[0]
    names = sorted(
        parts[2]
        for parts in (n.split("/") for n in function.index)
        if len(parts) == 4 and parts[:2] == ["app", "functions"] and parts[3] == "handler.py"
    )
    task = _unzipped(function)
    opt = _unzipped(built[1]) if len(built) > 1 else task
    with tempfile.TemporaryDirectory(prefix="tight-import-check-") as work:
        _lambda_provided(Path(work) / "runtime")
        job = json.dumps([str(task), str(opt / "python"), str(Path(work) / "runtime"), names])
        env = {
            "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "import-check", "AWS_SECRET_ACCESS_KEY": "import-check",
            "LAMBDA_TASK_ROOT": str(task), "LANG": "C.UTF-8",
        }  # fmt: skip
        if (root / DIST_FILE).is_file():  # the function's variables, as a deploy sets them
            for key, value in read_env_file(root / DIST_FILE).items():
                env.setdefault(key, value or "")
        try:
            # -B: the unzipped tree stays exactly the zip's (Python writes no bytecode into it)
            completed = subprocess.run(
                [python, "-I", "-S", "-B", "-c", _IMPORT_CHECK, job], cwd=task, env=env,
                capture_output=True, text=True, timeout=IMPORT_TIMEOUT,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise TightTaskError(
                f"importing the handlers from {function.path.name} took more than "
                f"{IMPORT_TIMEOUT:.0f} s; does a handler module do slow work when imported?"
            ) from None
    try:
        failures: dict[str, dict[str, Any]] = json.loads(completed.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        reason = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        raise TightTaskError(
            f"the import check of {function.path.name} crashed: {reason}"
        ) from None
    if failures:
        name, failure = next(iter(failures.items()))
        what = "app_index.py" if name == "app_index.py" else f"function {name}"
        more = f"; {len(failures) - 1} more function(s) fail too" if len(failures) > 1 else ""
        raise TightTaskError(
            f"{what} cannot be imported from {function.path.name} (the previous zip is "
            f"kept{more}): {import_advice(failure)}"
        )
    print(f"imported {len(names)} function(s) from {function.path.name} with {python}")
    return True


def check_function_kinds(root: Path) -> None:
    """Refuse, as ``doit template`` does, a function whose module registers handlers of two
    kinds (HTTP and SQS, ...): Lambda gives a function one kind of event. Read from the code
    (``tight_tasks.functions.read_code``), so it holds when the import check cannot run;
    after compiling the app, which words a syntax error for this task."""
    from tight_tasks.functions import function_names, read_code

    for name in function_names(root):
        read_code(root, name)


def largest_packages(entries: list[Entry], prefix: str, count: int = 5) -> list[tuple[str, int]]:
    sizes: dict[str, int] = {}
    for entry in entries:
        if entry.name.startswith(prefix) and "/" in entry.name[len(prefix) :]:
            top = entry.name[len(prefix) :].split("/", 1)[0]
            if top.endswith(".dist-info"):
                top = top.split("-", 1)[0]
            sizes[top] = sizes.get(top, 0) + entry.size
    return sorted(sizes.items(), key=lambda item: (-item[1], item[0]))[:count]


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.2f} MB"


def artifact(root: Path, settings: dict[str, Any], layer: bool = False) -> list[Built]:
    """Build build/<name>.zip (and build/<name>-layer.zip with ``layer``)."""
    if not (root / VENDOR_DIR / STAMP).is_file():
        raise TightTaskError(f"{VENDOR_DIR} is not built; run `doit vendor` (or `doit artifact`)")
    if (root / DIST_FILE).is_file():
        read_env_file(root / DIST_FILE)  # the values it ships checked (LOG_LEVEL, ...)
    target = Target.from_settings(settings)
    name = app_name(root, settings)
    python = target.interpreter()
    entries = collect(root, target, python)  # a syntax error stops it, in its own words
    check_function_kinds(root)
    vendored_prefix = VENDOR_DIR + "/"
    # What stays in the function's zip with layer=true: the runtime, its settings and the
    # vendored folder's own __init__ (compiled or not).
    runtime_prefixes = (
        vendored_prefix + "tight/",
        vendored_prefix + "tight.json",
        vendored_prefix + "__init__.py",
        vendored_prefix + "__pycache__/__init__.",
    )
    if layer:
        dependencies = [
            e.renamed("python/" + e.name[len(vendored_prefix) :])
            for e in entries
            if e.name.startswith(vendored_prefix) and not e.name.startswith(runtime_prefixes)
        ]
        function = [
            e
            for e in entries
            if not e.name.startswith(vendored_prefix) or e.name.startswith(runtime_prefixes)
        ]
        parts = [
            (function, root / BUILD_DIR / f"{name}.zip"),
            (dependencies, root / BUILD_DIR / f"{name}-layer.zip"),
        ]
    else:
        parts = [(entries, root / BUILD_DIR / f"{name}.zip")]
    unzipped = sum(e.size for e in entries)
    if unzipped > UNZIPPED_LIMIT:
        top = ", ".join(
            f"{p} {_megabytes(s)}" for p, s in largest_packages(entries, vendored_prefix)
        )
        raise TightTaskError(
            f"the function unzips to {_megabytes(unzipped)}, past Lambda's 250 MB limit; "
            f"the largest packages: {top}. Drop or slim dependencies, or deploy a container image"
        )
    built: list[Built] = []
    try:
        for part_entries, path in parts:
            result = write_zip(part_entries, path)
            built.append(result)
            prefix = "python/" if path.name.endswith("-layer.zip") else vendored_prefix
            result.largest = largest_packages(part_entries, prefix)
        if all(result.unchanged for result in built):
            print("the zip has the bytes it had: its imports were checked then")
            checked = True
        else:
            checked = check_imports(root, built, target, python)
        for result in built:
            result.checked = checked
        for result in built:
            result.publish()
    finally:
        for result in built:
            result.discard()  # a zip that failed its check: the previous one stays
    for result in built:
        print(f"{result.path.relative_to(root)}  sha256 {result.sha256}")
        print(
            f"  {_megabytes(result.zipped)} zipped, {_megabytes(result.unzipped)} unzipped, "
            f"{result.entries} files"
        )
        if result.largest:
            print("  largest: " + ", ".join(f"{p} {_megabytes(s)}" for p, s in result.largest))
        if result.zipped > ZIPPED_WARNING:
            print(
                f"warning: {result.path.name} is {_megabytes(result.zipped)} zipped, past the "
                "50 MB a direct upload accepts; upload it through S3, or use layer=true"
            )
    return built


def outputs(root: Path, settings: dict[str, Any], layer: bool) -> list[Path]:
    name = app_name(root, settings)
    paths = [root / BUILD_DIR / f"{name}.zip"]
    if layer:
        paths.append(root / BUILD_DIR / f"{name}-layer.zip")
    return paths


def artifact_inputs(root: Path, settings: dict[str, Any], layer: bool) -> str:
    """A digest of everything the zips are made from. app/vendored counts through its
    build stamp and runtime settings: it changes only when `doit vendor` rebuilds it."""
    digest = hashlib.sha256()
    for name in (*ROOT_FILES, f"{VENDOR_DIR}/{STAMP}", f"{VENDOR_DIR}/tight.json"):
        path = root / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b"-"))
    for path in app_sources(root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    digest.update(
        repr(
            (
                layer,
                os.environ.get("SOURCE_DATE_EPOCH"),
                Target.from_settings(settings),
                interpreter_identity(Target.from_settings(settings).interpreter()),
            )
        ).encode()
    )
    return digest.hexdigest()


# Task creators: `doit list` shows each docstring; the work is the functions above.


def _layer_wanted(layer: str, settings: dict[str, Any]) -> bool:
    if layer:
        return layer.strip().lower() in ("1", "true", "yes", "on")
    return bool(settings.get("layer", False))


def _artifact(layer: str) -> dict[str, str]:
    from tight_tasks.config import load

    root = Path.cwd()
    settings = load(root)
    wanted = _layer_wanted(layer, settings)
    artifact(root, settings, layer=wanted)
    return {"inputs": artifact_inputs(root, settings, wanted)}


def _artifact_unchanged(task: Any, values: dict[str, Any]) -> bool:
    from tight_tasks.config import load

    root = Path.cwd()
    settings = load(root)
    wanted = _layer_wanted((task.options or {}).get("layer", ""), settings)
    if not all(path.is_file() for path in outputs(root, settings, wanted)):
        return False
    return bool(values.get("inputs") == artifact_inputs(root, settings, wanted))


def task_artifact() -> dict[str, Any]:
    """Zip the app and app/vendored into build/<name>.zip, byte-for-byte reproducibly."""
    _, settings, problem = settings_or_error()
    if settings is None:
        return failing(problem or "no tight.yml")
    return {
        "actions": [(as_action(_artifact),)],
        "task_dep": ["vendor"],
        "params": [
            param(
                "layer",
                "true: dependencies in build/<name>-layer.zip (python/...), the app in "
                "build/<name>.zip (default: layer in tight.yml, else false)",
            )
        ],
        "uptodate": [_artifact_unchanged],
    }
