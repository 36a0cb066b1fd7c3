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
