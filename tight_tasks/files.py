"""File-system steps the tasks share: a file written whole or not at all, and a folder
swapped for a finished one without a moment where it is missing or mixed.

``write_atomic`` (and ``replacing``, for a file another program writes) is the toolkit's
one atomic file write. ``building_folder`` stages a folder beside its target and swaps it
in: with the kernel's atomic exchange (Linux ``renameat2(RENAME_EXCHANGE)``, macOS
``renamex_np(RENAME_SWAP)``) where the file system has one, else with a journal that lets
the next run finish or undo a swap a crash interrupted (``recover_folder``).
"""

import errno
import json
import os
import shutil
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ctypes

AT_FDCWD = -100
RENAME_EXCHANGE = 2  # Linux renameat2 flag
RENAME_SWAP = 2  # macOS renamex_np flag
JOURNAL_SUFFIX = ".swap.json"


# -- files -------------------------------------------------------------------------------------
@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path``; moved onto ``path`` when the block succeeds,
    removed when it fails, so ``path`` is always the old file or the new one.

    A file the user has keeps what the user gave it: its mode (an ``env.yml`` made 0600
    stays 0600) and, when ``path`` is a symbolic link, the link itself: the file it points
    to is the one replaced."""
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode: int | None = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = None
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        yield temporary
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_atomic(path: Path, data: str | bytes) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` whole or not at all."""
    with replacing(path) as temporary:
        temporary.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


# -- folders -----------------------------------------------------------------------------------
def _libc() -> "ctypes.CDLL | None":
    import ctypes.util  # ctypes only when a folder is swapped: it slows every doit command

    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    except OSError:
        return None


def exchange(first: Path, second: Path) -> bool:
    """Atomically swap two existing paths; False when neither kernel nor libc can."""
    libc = _libc()
    if libc is None:
        return False
    a, b = os.fsencode(first), os.fsencode(second)
    if sys.platform.startswith("linux") and hasattr(libc, "renameat2"):
        result = libc.renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE)
    elif sys.platform == "darwin" and hasattr(libc, "renamex_np"):
        result = libc.renamex_np(a, b, RENAME_SWAP)
    else:
        return False
    if result == 0:
        return True
    import ctypes

    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False  # an old kernel, or a file system without the exchange
    raise OSError(code, os.strerror(code), str(first), None, str(second))


def _journal(target: Path) -> Path:
    return target.with_name(f".{target.name}{JOURNAL_SUFFIX}")


def _leftover_prefixes(target: Path) -> tuple[str, str]:
    return f".{target.name}-new-", f".{target.name}-old-"


def _owner_alive(name: str, prefix: str) -> bool:
    pid = name[len(prefix) :].split("-", 1)[0]
    if not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_folder(target: Path) -> None:
    """Finish or undo a swap of ``target`` that a crash interrupted, then remove the staging
    and retired folders of runs that are over (never those of a run still going)."""
    journal = _journal(target)
    if journal.is_file():
        try:
            record = json.loads(journal.read_text())
            staging, retired = Path(record["staging"]), Path(record["retired"])
        except (OSError, ValueError, KeyError, TypeError):
            staging = retired = target  # unreadable: nothing to finish
        new_prefix, old_prefix = _leftover_prefixes(target)
        if not (
            staging.parent == target.parent
            and staging.name.startswith(new_prefix)
            and retired.parent == target.parent
            and retired.name.startswith(old_prefix)
        ):
            staging = retired = target  # a journal naming other folders is not ours to follow
        if not target.exists():
            # The crash came between the two renames: the journal is written only once the
            # staging folder is complete, so it is the new tree; else the old one is back.
            if staging.is_dir():
                os.rename(staging, target)
            elif retired.is_dir():
                os.rename(retired, target)
        if target.exists():
            journal.unlink(missing_ok=True)
    if not target.parent.is_dir():
        return
    for prefix in _leftover_prefixes(target):
        for leftover in target.parent.glob(prefix + "*"):
            if leftover.is_dir() and not _owner_alive(leftover.name, prefix):
                shutil.rmtree(leftover, ignore_errors=True)


def swap_folder(staging: Path, target: Path) -> None:
    """Put the finished folder ``staging`` in place of ``target``. ``target`` is at every
    moment the old tree or the new one; the old one is deleted afterwards."""
    if not target.exists():
        os.rename(staging, target)  # atomic: nothing was there to mix with
        return
    if exchange(staging, target):
        shutil.rmtree(staging, ignore_errors=True)  # the old tree, now under staging's name
        return
    # No exchange here: two renames, with a journal so the next run can finish the swap
    # if this one stops between them (recover_folder).
    retired = target.with_name(f".{target.name}-old-{os.getpid()}-{os.urandom(4).hex()}")
    journal = _journal(target)
    write_atomic(journal, json.dumps({"staging": str(staging), "retired": str(retired)}))
    os.rename(target, retired)
    try:
        os.rename(staging, target)
    except BaseException:
        try:
            os.rename(retired, target)  # undo: the old tree again
        except OSError:
            pass  # the journal stays: recover_folder finishes the swap
        else:
            journal.unlink(missing_ok=True)
        raise
    journal.unlink(missing_ok=True)
    shutil.rmtree(retired, ignore_errors=True)


def staging_folder(target: Path) -> Path:
    """A new empty folder beside ``target`` (same file system, so it can be swapped in),
    named so that ``recover_folder`` can tell whose it is."""
    target.parent.mkdir(parents=True, exist_ok=True)
    prefix = _leftover_prefixes(target)[0]
    staging = target.with_name(f"{prefix}{os.getpid()}-{os.urandom(4).hex()}")
    staging.mkdir()
    return staging


@contextmanager
def building_folder(target: Path) -> Iterator[Path]:
    """Build a new ``target`` in the folder this yields; it replaces ``target`` only when
    the block succeeds, and is removed when the block fails (``target`` untouched)."""
    recover_folder(target)
    staging = staging_folder(target)
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    swap_folder(staging, target)
