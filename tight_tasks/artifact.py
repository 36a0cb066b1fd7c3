"""``doit artifact``: the deployable zip under build/, the same bytes from the same inputs.

Holds app_index.py, app/ (with app/vendored/), tight.yml and env.dist.yml, and nothing
local: no env.yml or .env, no tests, no VCS or build state, and no bytecode but the
unchecked-hash .pyc the build makes (stale or timestamp-based .pyc never ship). Entries are
sorted, dated SOURCE_DATE_EPOCH (or 1980-01-01), with normalised permissions and fixed
compression. With ``layer=true`` the third-party packages go to a separate layer zip under
``python/`` and the function zip keeps the app and the tight runtime.
"""

import hashlib
import importlib.util
import json
import os
import py_compile
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tight_tasks.config import app_name
from tight_tasks.errors import TightTaskError, as_action
from tight_tasks.target import Target
from tight_tasks.taskkit import failing, param, settings_or_error
from tight_tasks.vendor import STAMP, TASK_ROOT, VENDOR_DIR

BUILD_DIR = "build"
ROOT_FILES = ("app_index.py", "tight.yml", "env.dist.yml")
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


def _compile_app_source(path: Path, name: str, work: Path) -> Entry:
    """An unchecked-hash .pyc for an app module, named from Lambda's task root."""
    cfile = work / (hashlib.sha256(name.encode()).hexdigest() + ".pyc")
    py_compile.compile(
        str(path),
        cfile=str(cfile),
        dfile=f"{TASK_ROOT}/{name}",
        doraise=True,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    cache = importlib.util.cache_from_source(name)
    return Entry.from_bytes(cache, cfile.read_bytes())


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


def collect(root: Path, compile_app: bool) -> list[Entry]:
    """Every file the function needs, with the bytes it ships."""
    entries: list[Entry] = []
    if not (root / "app_index.py").is_file():
        raise TightTaskError(f"no app_index.py in {root}; is this an app's root folder?")
    with tempfile.TemporaryDirectory(prefix="tight-pyc-") as work:
        sources = [root / name for name in ROOT_FILES if (root / name).is_file()]
        for path in sources + app_sources(root):
            name = path.relative_to(root).as_posix()
            entries.append(Entry.from_file(name, path))
            if compile_app and path.suffix == ".py":
                try:
                    entries.append(_compile_app_source(path, name, Path(work)))
                except py_compile.PyCompileError as error:
                    raise TightTaskError(f"{name} does not compile: {error.msg.strip()}") from None
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
    """What the previous zip at ``path`` holds, if it is still the zip that was written."""
    try:
        cache: dict[str, Any] = json.loads(_cache_file(path).read_text())
        stat = path.stat()
    except (OSError, ValueError):
        return {}
    if cache.get("zip") != [stat.st_size, stat.st_mtime_ns]:
        return {}
    return dict(cache.get("entries", {}))


def write_zip(entries: list[Entry], path: Path) -> Built:
    """Write entries reproducibly; the file appears complete or not at all.

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
    cached = _load_cache(path)
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
    finally:
        if previous is not None:
            previous.close()
    os.replace(temporary, path)
    stat = path.stat()
    cache_file = _cache_file(path)
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    cache_file.write_text(json.dumps({"zip": [stat.st_size, stat.st_mtime_ns], "entries": index}))
    return Built(
        path=path, sha256=digest.hexdigest(), zipped=zipped, unzipped=unzipped,
        entries=len(entries),
    )  # fmt: skip


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
    target = Target.from_settings(settings)
    name = app_name(root, settings)
    entries = collect(root, compile_app=target.matches_host())
    vendored_prefix = VENDOR_DIR + "/"
    runtime_prefixes = (vendored_prefix + "tight/", vendored_prefix + "tight.json")
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
    built = []
    for part_entries, path in parts:
        result = write_zip(part_entries, path)
        prefix = "python/" if path.name.endswith("-layer.zip") else vendored_prefix
        result.largest = largest_packages(part_entries, prefix)
        built.append(result)
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
                sys.version,
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
    wanted = _layer_wanted(task.options.get("layer", ""), settings)
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
