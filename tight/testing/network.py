"""Refuses the network a test's recordings cannot stand for, in playback and in recording.

The plugin starts one ``NetworkGuard`` for the whole test session of an app. It covers
``socket.connect``/``connect_ex`` (and so ``create_connection`` and every HTTP client), the
same methods of ``_socket.socket`` / ``socket.SocketType`` (the C socket, for code that
skips the ``socket`` module), the name lookups (``getaddrinfo``, ``gethostbyname[_ex]``)
for any name that is not loopback, the reverse lookups (``gethostbyaddr``,
``getnameinfo``) of any address that is not, and ``sendto``/``sendmsg`` to an address
(UDP, or TCP Fast Open). A refused attempt raises ``NetworkBlocked`` naming host:port, the
code that made it and what to do; it is also remembered, so a test whose code swallowed
the error still fails with it.

In playback everything is refused. While recording (``recording = True``), a connection a
recorder makes (vcrpy's, which records the HTTP exchange, or an AWS call it sends for the
AWS recorder) goes through; any other would be missing from the recording and fail in
playback, so it is refused at once instead. Either way a test reaches a server only where
it opts in: ``allow_all`` (the test's ``@pytest.mark.tight_allow_network``) or an
``allowed`` host:port (``host:*`` for any port). A connection opened under one test's
allowance is shut down when that test ends, so a pooled keep-alive connection cannot carry
a later test's traffic.
"""

import os
import socket
import sys
import sysconfig
from collections.abc import Iterable
from typing import Any

RECORD_HINT = (
    "tests play back recordings and make no network calls: record with "
    "`pytest --tight-record`, or let this test reach it with "
    "@pytest.mark.tight_allow_network (or the ini option tight_allow_network = {address})"
)
RECORD_MISS = (
    "no recorder captured it (AWS SDK calls and HTTP calls made with requests, urllib3, "
    "urllib.request or http.client are recorded), so the test would fail in playback: make "
    "the call through one of those inside the test, or let this test reach it with "
    "@pytest.mark.tight_allow_network (or the ini option tight_allow_network = {address})"
)
OUTSIDE_TEST = (
    "outside any test (while importing or collecting), where nothing is recorded: make "
    "the call inside a test or a fixture"
)
LOOPBACK_NAMES = frozenset(("localhost", "localhost.localdomain", "ip6-localhost"))
INET = (socket.AF_INET, socket.AF_INET6)


class NetworkBlocked(RuntimeError):
    """A test in playback tried to reach the network.

    Not an ``OSError``: HTTP clients would retry it or wrap it in their own errors."""


def is_loopback(host: Any) -> bool:
    """True for names and addresses that never leave the machine."""
    if host is None or host == "":
        return True  # getaddrinfo(None, port): a local address to bind to
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    name = str(host).strip("[]").lower()
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    import ipaddress

    try:
        address = ipaddress.ip_address(name.split("%")[0])
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified  # 0.0.0.0 is this machine


def needs_lookup(host: Any) -> bool:
    """True for a name that only a DNS server can resolve (not an IP address, not loopback)."""
    if is_loopback(host):
        return False
    import ipaddress

    name = host.decode("ascii", "replace") if isinstance(host, bytes) else str(host)
    try:
        ipaddress.ip_address(name.strip("[]").split("%")[0])
    except ValueError:
        return True
    return False  # an address: getaddrinfo answers without asking anyone; connect() is guarded


def show(host: Any, port: Any) -> str:
    """``host:port`` as a person writes it (IPv6 in brackets)."""
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _library_folders() -> tuple[str, ...]:
    """Folders whose code is not the app's: the standard library, installed packages and
    Tight itself (the runtime, the recorders, this guard)."""
    paths = sysconfig.get_paths()
    found = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}
    found.add(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return tuple(os.path.join(os.path.realpath(f), "") for f in found)


_LIBRARIES: tuple[str, ...] = ()
VENDORED = f"{os.sep}vendored{os.sep}"


def caller() -> str:
    """Where the app's (or the test's) code made the call: ``path:line in function`` of
    the innermost frame outside the standard library, installed or vendored packages and
    Tight; ``path`` relative to the working folder when it is inside it."""
    global _LIBRARIES
    if not _LIBRARIES:
        _LIBRARIES = _library_folders()
    frame: Any = sys._getframe(1)
    while frame is not None:
        name = frame.f_code.co_filename
        path = os.path.realpath(name)
        if not (name.startswith("<") or path.startswith(_LIBRARIES) or VENDORED in path):
            break
        frame = frame.f_back
    if frame is None:
        return "code outside the app and its tests"
    path = frame.f_code.co_filename
    try:
        relative = os.path.relpath(path)
        path = path if relative.startswith("..") else relative
    except ValueError:  # another drive
        pass
    return f"{path}:{frame.f_lineno} in {frame.f_code.co_name}"


def made_by_recorder() -> bool:
    """True when the current call comes through vcrpy's connection, which records the HTTP
    exchange (or, for an AWS SDK request, leaves it to the AWS recorder)."""
    frame: Any = sys._getframe(1)
    while frame is not None:
        if frame.f_globals.get("__name__", "").startswith("vcr.stubs"):
            return True
        frame = frame.f_back
    return False


class NetworkGuard:
    """While started, network access raises ``NetworkBlocked`` unless allowed.

    The plugin tells it where it stands: ``recording`` for the session, and per test
    ``begin_test(allow_all, allowed)`` / ``end_test()``; between tests, nothing is allowed
    but the ``allowed`` addresses."""

    def __init__(self, allowed: Iterable[str] = (), recording: bool = False) -> None:
        self.allowed = frozenset(a.strip().lower() for a in allowed if a.strip())
        self.recording = recording
        self.in_test = False
        self.allow_all = False  # set per test by the plugin (the marker)
        self.test_allowed: frozenset[str] = frozenset()
        self.attempts: list[str] = []
        self._opened: list[tuple[int, Any]] = []  # (fd, local address) opened under allowance
        self._saved: dict[str, Any] = {}

    def begin_test(self, allow_all: bool = False, allowed: Iterable[str] = ()) -> None:
        """A test starts: its marker's allowance holds until ``end_test``."""
        self.in_test = True
        self.attempts = []
        self.allow_all = allow_all
        self.test_allowed = frozenset(str(a).strip().lower() for a in allowed)

    def end_test(self) -> None:
        """A test ended: its allowance ends, and so does every connection opened under it."""
        self.in_test = False
        self.allow_all = False
        self.test_allowed = frozenset()
        self.attempts = []
        opened, self._opened = self._opened, []
        for fd, local in opened:
            _shut_down(fd, local)

    @staticmethod
    def _matches(host: Any, port: Any, addresses: frozenset[str]) -> bool:
        if not addresses:
            return False
        if isinstance(host, bytes):
            host = host.decode("ascii", "replace")
        host = str(host).strip("[]").lower()
        hosts = {host}
        if is_loopback(host):  # "localhost:8000" allows the 127.0.0.1 it resolves to
            hosts |= {"localhost", "127.0.0.1", "::1"}
        wanted = {show(h, p) for h in hosts for p in (port, "*")}
        wanted |= {f"{h}:{p}" for h in hosts for p in (port, "*")}
        return bool(wanted & addresses)

    def permits_for_test(self, host: Any, port: Any) -> bool:
        """True when only the current test's marker lets it reach ``host:port``."""
        if self._matches(host, port, self.allowed):
            return False
        return self.allow_all or self._matches(host, port, self.test_allowed)

    def permits(self, host: Any, port: Any) -> bool:
        """True when this test (or every test) may reach ``host:port`` itself."""
        return (
            self.allow_all
            or self._matches(host, port, self.allowed)
            or self._matches(host, port, self.test_allowed)
        )

    def _passes(self, host: Any, port: Any) -> bool:
        if self.permits(host, port):
            return True
        return self.recording and self.in_test and made_by_recorder()

    def refuse(self, host: Any, port: Any, what: str = "network connection to") -> None:
        address = show(host, port)
        if not self.recording:
            why = "refused in playback: " + RECORD_HINT.format(address=address)
        elif not self.in_test:
            why = "refused while recording: made " + OUTSIDE_TEST
        else:
            why = "refused while recording: " + RECORD_MISS.format(address=address)
        message = f"{what} {address} {why}\n  made by {caller()}"
        self.attempts.append(message)
        raise NetworkBlocked(message)

    def _check(self, sock: Any, address: Any) -> bool:
        """Refuse a connection the test may not make; True when it is allowed only by the
        test's marker (it is then shut down when the test ends)."""
        if sock.family not in INET or not isinstance(address, tuple) or len(address) < 2:
            return False
        if not self._passes(address[0], address[1]):
            self.refuse(address[0], address[1])
        return self.permits_for_test(address[0], address[1])

    def _remember(self, sock: Any) -> None:
        try:
            self._opened.append((sock.fileno(), sock.getsockname()))
        except OSError:
            pass

    def start(self) -> None:
        if self._saved:
            return
        import _socket

        guard = self
        saved: dict[str, Any] = {
            "connect": socket.socket.connect,
            "connect_ex": socket.socket.connect_ex,
            "sendto": socket.socket.sendto,
            "sendmsg": getattr(socket.socket, "sendmsg", None),  # not on Windows
            "getaddrinfo": socket.getaddrinfo,
            "gethostbyname": socket.gethostbyname,
            "gethostbyname_ex": socket.gethostbyname_ex,
            "gethostbyaddr": socket.gethostbyaddr,
            "getnameinfo": socket.getnameinfo,
            "_socket.socket": _socket.socket,
            "SocketType": socket.SocketType,
        }
        self._saved = saved

        def connect(sock: Any, address: Any) -> None:
            for_test = guard._check(sock, address)
            saved["connect"](sock, address)
            if for_test:
                guard._remember(sock)

        def connect_ex(sock: Any, address: Any) -> int:
            for_test = guard._check(sock, address)
            result: int = saved["connect_ex"](sock, address)
            if for_test:
                guard._remember(sock)
            return result

        def send_to(sock: Any, address: Any) -> None:
            # An address given to sendto/sendmsg: a UDP datagram, or on a TCP socket a
            # Fast Open connection (MSG_FASTOPEN), which never calls connect().
            if (
                sock.family in INET
                and isinstance(address, tuple)
                and len(address) >= 2
                and not guard._passes(address[0], address[1])
            ):
                what = "UDP datagram to" if sock.type == socket.SOCK_DGRAM else "sending to"
                guard.refuse(address[0], address[1], what)

        def sendto(sock: Any, data: Any, *rest: Any) -> int:
            if rest:
                send_to(sock, rest[-1])
            return saved["sendto"](sock, data, *rest)  # type: ignore[no-any-return]

        def sendmsg(sock: Any, buffers: Any, *rest: Any) -> int:
            if len(rest) >= 3:  # sendmsg(buffers, ancdata, flags, address)
                send_to(sock, rest[2])
            return saved["sendmsg"](sock, buffers, *rest)  # type: ignore[no-any-return]

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if needs_lookup(host) and not guard._passes(host, port):
                guard.refuse(host, port, "looking up")
            return saved["getaddrinfo"](host, port, *args, **kwargs)

        def lookup(name: str) -> Any:
            def guarded(host: Any) -> Any:
                if needs_lookup(host) and not guard._passes(host, "*"):
                    guard.refuse(host, "*", "looking up")
                return saved[name](host)

            return guarded

        def gethostbyaddr(host: Any) -> Any:
            # a reverse lookup asks DNS even for an address
            if not is_loopback(host) and not guard._passes(host, "*"):
                guard.refuse(host, "*", "looking up")
            return saved["gethostbyaddr"](host)

        def getnameinfo(address: Any, flags: int) -> Any:
            host = address[0] if isinstance(address, tuple) and address else ""
            numeric = flags & socket.NI_NUMERICHOST and flags & socket.NI_NUMERICSERV
            if not numeric and not is_loopback(host) and not guard._passes(host, address[1]):
                guard.refuse(host, address[1], "looking up")
            return saved["getnameinfo"](address, flags)

        raw = saved["_socket.socket"]

        class RawSocketType(type):
            # isinstance(socket.socket(), socket.SocketType) stays true while guarded.
            def __instancecheck__(cls, instance: Any) -> bool:
                return isinstance(instance, raw)

            def __subclasscheck__(cls, subclass: Any) -> bool:
                return issubclass(subclass, raw)

        class GuardedSocket(raw, metaclass=RawSocketType):  # type: ignore[misc,valid-type]
            """``_socket.socket`` (alias ``socket.SocketType``), through the same guard."""

            __slots__ = ()

        GuardedSocket.connect = connect
        GuardedSocket.connect_ex = connect_ex
        GuardedSocket.sendto = sendto
        if saved["sendmsg"] is not None:
            GuardedSocket.sendmsg = sendmsg

        GuardedSocket.__name__ = GuardedSocket.__qualname__ = "socket"
        GuardedSocket.__module__ = "_socket"

        socket.socket.connect = connect  # type: ignore[method-assign]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
        socket.socket.sendto = sendto  # type: ignore[method-assign]
        if saved["sendmsg"] is not None:
            socket.socket.sendmsg = sendmsg  # type: ignore[method-assign]
        _socket.socket = GuardedSocket  # type: ignore[misc]
        socket.SocketType = GuardedSocket
        socket.getaddrinfo = getaddrinfo
        socket.gethostbyname = lookup("gethostbyname")
        socket.gethostbyname_ex = lookup("gethostbyname_ex")
        socket.gethostbyaddr = gethostbyaddr
        socket.getnameinfo = getnameinfo

    def stop(self) -> None:
        saved, self._saved = self._saved, {}
        if saved:
            import _socket

            socket.socket.connect = saved["connect"]  # type: ignore[method-assign]
            socket.socket.connect_ex = saved["connect_ex"]  # type: ignore[method-assign]
            socket.socket.sendto = saved["sendto"]  # type: ignore[method-assign]
            if saved["sendmsg"] is not None:
                socket.socket.sendmsg = saved["sendmsg"]  # type: ignore[method-assign]
            _socket.socket = saved["_socket.socket"]  # type: ignore[misc]
            socket.SocketType = saved["SocketType"]
            socket.getaddrinfo = saved["getaddrinfo"]
            for name in ("gethostbyname", "gethostbyname_ex", "gethostbyaddr", "getnameinfo"):
                setattr(socket, name, saved[name])


def _shut_down(fd: int, local: Any) -> None:
    """Shut down the connection on ``fd`` if it is still the one opened from ``local``
    (its owner, a pool perhaps, still closes it; nothing more can travel over it)."""
    try:
        probe = socket.socket(fileno=fd)
    except OSError:
        return  # closed already
    try:
        if probe.getsockname() == local:
            probe.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        probe.detach()
