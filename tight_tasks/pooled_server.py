"""``PooledServer``: the HTTP server under ``doit serve``, a fixed-cost thread per request
instead of a new thread per connection (``bench/serve`` measures the difference)."""

from __future__ import annotations

import threading
import time
from http.server import HTTPServer
from typing import Any


class PooledServer(HTTPServer):
    """An HTTP server whose threads each accept their own connections.

    ``ThreadingHTTPServer`` starts a thread for every connection, which costs more than
    the rest of a warm request (bench/serve); and a main thread that accepts and hands the
    connection over costs a wake-up. Here a pool of threads blocks in ``accept()`` on the
    listening socket, the kernel gives each connection to one of them, and the thread
    that took it serves it. The pool grows by one whenever no thread is left waiting
    (a kept-alive connection holds its thread), up to ``MAX_THREADS``."""

    allow_reuse_address = False
    MAX_THREADS = 64

    def __init__(self, address: tuple[str, int], handler: Any) -> None:
        self.pool_lock = threading.Lock()
        self.threads = 0
        self.idle = 0
        self.stopping = threading.Event()
        super().__init__(address, handler)  # closes the socket itself if it cannot bind

    def _grow(self) -> None:
        self.threads += 1
        self.idle += 1
        threading.Thread(target=self._accepting, daemon=True, name="serve-accept").start()

    def _accepting(self) -> None:
        while not self.stopping.is_set():
            try:
                connection, address = self.socket.accept()
            except OSError:  # shut down, a client that gave up while queued, or no free fd
                if not self.stopping.is_set():
                    time.sleep(0.01)  # no busy loop while the process is out of descriptors
                continue
            with self.pool_lock:
                self.idle -= 1
                if self.idle == 0 and self.threads < self.MAX_THREADS:
                    self._grow()
            try:
                self.finish_request(connection, address)
            except Exception:  # noqa: BLE001 - one broken connection must not stop serving
                self.handle_error(connection, address)
            finally:
                self.shutdown_request(connection)
            with self.pool_lock:
                self.idle += 1
        with self.pool_lock:
            self.threads -= 1

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Start the pool, then wait (in the main thread, where Ctrl-C arrives)."""
        with self.pool_lock:
            for _ in range(4):
                self._grow()
        while not self.stopping.wait(poll_interval):
            pass

    def shutdown(self) -> None:
        self.stopping.set()

    def server_close(self) -> None:
        import socket

        self.stopping.set()
        try:
            self.socket.shutdown(socket.SHUT_RDWR)  # wakes the threads blocked in accept()
        except OSError:
            pass
        super().server_close()


class Headers:
    """A request's header lines as sent: what the handler reads (``get``, ``items``),
    without the ``email`` message the standard library builds for each request."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs
        self.by_name = {name.lower(): value for name, value in pairs}  # the last of each

    def get(self, name: str, default: Any = None) -> Any:
        return self.by_name.get(name.lower(), default)

    def items(self) -> list[tuple[str, str]]:
        return list(self.pairs)


MAX_HEADERS = 100
MAX_LINE = 65536
VERSIONS = ("HTTP/1.0", "HTTP/1.1")


def parse_request(handler: Any) -> bool:
    """``BaseHTTPRequestHandler.parse_request`` for ``doit serve``: the request line and
    the header lines, read into ``Headers``. The standard library's own parses the headers
    through ``email``'s feed parser, about a tenth of a warm request (bench/serve). Same
    answers to bad input: 400 for a malformed line, 431 for too many or too long header
    lines, 505 for another HTTP version; ``Connection`` and ``Expect: 100-continue`` as
    HTTP/1.1 says. A folded header line (obsolete since RFC 7230) is a 400."""
    handler.command = None
    # An error before the version is read still gets a status line (the standard
    # library's default, HTTP/0.9, would send the error page alone).
    handler.request_version = "HTTP/1.1"
    handler.close_connection = True
    line = str(handler.raw_requestline, "iso-8859-1").rstrip("\r\n")
    handler.requestline = line
    words = line.split()
    if len(words) != 3:
        handler.send_error(400, f"Bad request syntax ({line!r})")
        return False
    command, path, version = words
    if version not in VERSIONS:
        handler.send_error(505, f"Invalid HTTP version ({version})")
        return False
    handler.command, handler.path, handler.request_version = command, path, version
    pairs: list[tuple[str, str]] = []
    while True:
        raw = handler.rfile.readline(MAX_LINE + 1)
        if len(raw) > MAX_LINE:
            handler.send_error(431, "Line too long")
            return False
        if raw in (b"\r\n", b"\n", b""):
            break
        if len(pairs) >= MAX_HEADERS:
            handler.send_error(431, "Too many headers")
            return False
        text = raw.decode("iso-8859-1").rstrip("\r\n")
        name, colon, value = text.partition(":")
        if not colon or not name or name != name.strip() or text[0] in " \t":
            handler.send_error(400, f"Bad header line ({text!r})")
            return False
        pairs.append((name, value.strip()))
    handler.headers = Headers(pairs)
    connection = handler.headers.get("Connection", "").lower()
    handler.close_connection = connection == "close" or (
        version == "HTTP/1.0" and connection != "keep-alive"
    )
    expect = handler.headers.get("Expect", "").lower()
    return not (
        expect == "100-continue" and version == "HTTP/1.1" and not handler.handle_expect_100()
    )
