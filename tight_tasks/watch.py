"""``Changes``: whether anything changed in a set of folders since the last look, in one
system call.

``doit serve`` must answer each request with the code as it is on disk when the request
arrives. Checking the times of every settings file and loaded module costs a ``stat`` each,
on every request (bench/serve measures it). On Linux, inotify tells the same thing at the
cost of one non-blocking ``read``: the kernel queues the event as the write that changes a
file returns, so a request sent after a save sees it. Only "something changed" is taken
from the events; the caller then compares the files' times as before, which stays the one
source of truth. Elsewhere (or when inotify is unavailable) ``quiet`` always says False
and every request checks the times.

The standard library has no inotify binding and the one well-kept package (watchdog)
watches on a thread of its own, which is the wake-up this module exists to avoid; the few
calls are made through ``ctypes``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable

# inotify(7): what changes a file's content, its times, or a folder's entries.
IN_MODIFY, IN_ATTRIB, IN_CLOSE_WRITE = 0x2, 0x4, 0x8
IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE, IN_DELETE = 0x40, 0x80, 0x100, 0x200
IN_DELETE_SELF, IN_MOVE_SELF = 0x400, 0x800
MASK = (
    IN_MODIFY
    | IN_ATTRIB
    | IN_CLOSE_WRITE
    | IN_MOVED_FROM
    | IN_MOVED_TO
    | IN_CREATE
    | IN_DELETE
    | IN_DELETE_SELF
    | IN_MOVE_SELF
)
IN_NONBLOCK, IN_CLOEXEC = os.O_NONBLOCK, 0o2000000


class Changes:
    """Folders watched for any change; ``quiet()`` is True when none happened since the
    last call (and since every folder was added)."""

    def __init__(self) -> None:
        self.fd: int | None = None
        self.folders: set[str] = set()
        self._add = None
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                libc = ctypes.CDLL(None, use_errno=True)
                fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
                if fd >= 0:
                    self.fd, self._add = fd, libc.inotify_add_watch
            except (OSError, AttributeError):
                self.fd = None
        self.missed = True  # nothing is known to be unchanged until the first look

    def watch(self, paths: Iterable[str]) -> None:
        """Watch the folder of each path, and each path that is a folder."""
        for path in paths:
            for folder in (os.path.dirname(path), path):
                if folder not in self.folders and os.path.isdir(folder):
                    self.folders.add(folder)
                    self._watch(folder)

    def _watch(self, folder: str) -> None:
        if self.fd is None or self._add is None:
            return
        if self._add(self.fd, os.fsencode(folder), MASK) < 0:
            # A folder that vanished: forget it (it is watched again when it is named
            # again), and the next look is not quiet.
            self.folders.discard(folder)
            self.missed = True

    def quiet(self) -> bool:
        """True when no watched folder changed since the last call. A change is reported
        once; the folders are watched again then (one may have been replaced)."""
        if self.fd is None:
            return False
        changed, self.missed = self.missed, False
        while True:
            try:
                if not os.read(self.fd, 65536):
                    break
            except BlockingIOError:
                break
            changed = True
        if changed:
            for folder in list(self.folders):
                self._watch(folder)
        return not changed

    def close(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)
