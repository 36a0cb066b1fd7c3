"""Refuses network connections during playback, so a test that replays cannot reach out.

Recorded calls are answered before a socket is opened; anything else that tries to
connect (a client that bypasses the recorders, a forgotten endpoint) fails at once with the
address it wanted, rather than waiting on a network that CI does not have.
"""

import socket
from typing import Any


class NetworkBlocked(OSError):
    """A test in playback tried to open a network connection."""


class NetworkGuard:
    """While active, every connect() to an internet address raises ``NetworkBlocked``."""

    def __init__(self) -> None:
        self.attempts: list[str] = []
        self._saved: dict[str, Any] = {}

    def _refuse(self, address: Any) -> None:
        shown = f"{address[0]}:{address[1]}" if isinstance(address, tuple) else str(address)
        self.attempts.append(shown)
        raise NetworkBlocked(
            f"network connection to {shown} refused: tests play back recordings and make no "
            "network calls; record this test with `pytest --tight-record`"
        )

    def start(self) -> None:
        guard = self
        original_connect = socket.socket.connect
        original_connect_ex = socket.socket.connect_ex
        self._saved = {"connect": original_connect, "connect_ex": original_connect_ex}

        def connect(sock: socket.socket, address: Any) -> None:
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                guard._refuse(address)
            return original_connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> int:
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                guard._refuse(address)
            return original_connect_ex(sock, address)

        socket.socket.connect = connect  # type: ignore[method-assign,assignment]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]

    def stop(self) -> None:
        if self._saved:
            socket.socket.connect = self._saved["connect"]  # type: ignore[method-assign]
            socket.socket.connect_ex = self._saved["connect_ex"]  # type: ignore[method-assign]
            self._saved = {}
