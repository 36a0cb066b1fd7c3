"""Refuses network access during playback, so a test that replays cannot reach out.

The plugin starts one ``NetworkGuard`` for the whole test session of an app (unless it
records). It covers ``socket.connect``/``connect_ex`` (and so ``create_connection`` and
every HTTP client), the name lookups (``getaddrinfo``, ``gethostbyname[_ex]``) for any
name that is not loopback, the reverse lookups (``gethostbyaddr``, ``getnameinfo``) of any
address that is not, and ``sendto``/``sendmsg`` to an address (UDP, or TCP Fast Open).
A blocked attempt raises ``NetworkBlocked`` naming host:port and how to record;
it is also remembered, so a test whose code swallowed the error still fails with it.
A test reaches a server only where it opts in: ``allow_all`` (the test's
``@pytest.mark.tight_allow_network``) or an ``allowed`` host:port (``host:*`` for any port).
"""

import socket
from collections.abc import Iterable
from typing import Any

RECORD_HINT = (
    "tests play back recordings and make no network calls: record with "
    "`pytest --tight-record`, or let this test reach it with "
    "@pytest.mark.tight_allow_network (or the ini option tight_allow_network = {address})"
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


class NetworkGuard:
    """While started, network access raises ``NetworkBlocked`` unless allowed."""

    def __init__(self, allowed: Iterable[str] = ()) -> None:
        self.allowed = frozenset(a.strip().lower() for a in allowed if a.strip())
        self.allow_all = False  # set per test by the plugin (the marker)
        self.test_allowed: frozenset[str] = frozenset()
        self.attempts: list[str] = []
        self._saved: dict[str, Any] = {}

    def permits(self, host: Any, port: Any) -> bool:
        if self.allow_all:
            return True
        if isinstance(host, bytes):
            host = host.decode("ascii", "replace")
        host = str(host).strip("[]").lower()
        hosts = {host}
        if is_loopback(host):  # "localhost:8000" allows the 127.0.0.1 it resolves to
            hosts |= {"localhost", "127.0.0.1", "::1"}
        wanted = {show(h, p) for h in hosts for p in (port, "*")}
        wanted |= {f"{h}:{p}" for h in hosts for p in (port, "*")}
        return bool(wanted & (self.allowed | self.test_allowed))

    def refuse(self, host: Any, port: Any, what: str = "network connection to") -> None:
        address = show(host, port)
        message = f"{what} {address} refused in playback: " + RECORD_HINT.format(address=address)
        self.attempts.append(message)
        raise NetworkBlocked(message)

    def _check(self, sock: socket.socket, address: Any) -> None:
        if sock.family not in INET or not isinstance(address, tuple) or len(address) < 2:
            return
        if not self.permits(address[0], address[1]):
            self.refuse(address[0], address[1])

    def start(self) -> None:
        if self._saved:
            return
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
        }
        self._saved = saved

        def connect(sock: socket.socket, address: Any) -> None:
            guard._check(sock, address)
            return saved["connect"](sock, address)  # type: ignore[no-any-return]

        def connect_ex(sock: socket.socket, address: Any) -> int:
            guard._check(sock, address)
            return saved["connect_ex"](sock, address)  # type: ignore[no-any-return]

        def send_to(sock: socket.socket, address: Any) -> None:
            # An address given to sendto/sendmsg: a UDP datagram, or on a TCP socket a
            # Fast Open connection (MSG_FASTOPEN), which never calls connect().
            if (
                sock.family in INET
                and isinstance(address, tuple)
                and len(address) >= 2
                and not guard.permits(address[0], address[1])
            ):
                what = "UDP datagram to" if sock.type == socket.SOCK_DGRAM else "sending to"
                guard.refuse(address[0], address[1], what)

        def sendto(sock: socket.socket, data: Any, *rest: Any) -> int:
            if rest:
                send_to(sock, rest[-1])
            return saved["sendto"](sock, data, *rest)  # type: ignore[no-any-return]

        def sendmsg(sock: socket.socket, buffers: Any, *rest: Any) -> int:
            if len(rest) >= 3:  # sendmsg(buffers, ancdata, flags, address)
                send_to(sock, rest[2])
            return saved["sendmsg"](sock, buffers, *rest)  # type: ignore[no-any-return]

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if needs_lookup(host) and not guard.permits(host, port):
                guard.refuse(host, port, "looking up")
            return saved["getaddrinfo"](host, port, *args, **kwargs)

        def lookup(name: str) -> Any:
            def guarded(host: Any) -> Any:
                if needs_lookup(host) and not guard.permits(host, "*"):
                    guard.refuse(host, "*", "looking up")
                return saved[name](host)

            return guarded

        def gethostbyaddr(host: Any) -> Any:
            # a reverse lookup asks DNS even for an address
            if not is_loopback(host) and not guard.permits(host, "*"):
                guard.refuse(host, "*", "looking up")
            return saved["gethostbyaddr"](host)

        def getnameinfo(address: Any, flags: int) -> Any:
            host = address[0] if isinstance(address, tuple) and address else ""
            numeric = flags & socket.NI_NUMERICHOST and flags & socket.NI_NUMERICSERV
            if not numeric and not is_loopback(host) and not guard.permits(host, address[1]):
                guard.refuse(host, address[1], "looking up")
            return saved["getnameinfo"](address, flags)

        socket.socket.connect = connect  # type: ignore[method-assign,assignment]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
        socket.socket.sendto = sendto  # type: ignore[method-assign,assignment]
        if saved["sendmsg"] is not None:
            socket.socket.sendmsg = sendmsg  # type: ignore[method-assign,assignment]
        socket.getaddrinfo = getaddrinfo
        socket.gethostbyname = lookup("gethostbyname")
        socket.gethostbyname_ex = lookup("gethostbyname_ex")
        socket.gethostbyaddr = gethostbyaddr
        socket.getnameinfo = getnameinfo

    def stop(self) -> None:
        saved, self._saved = self._saved, {}
        if saved:
            socket.socket.connect = saved["connect"]  # type: ignore[method-assign]
            socket.socket.connect_ex = saved["connect_ex"]  # type: ignore[method-assign]
            socket.socket.sendto = saved["sendto"]  # type: ignore[method-assign]
            if saved["sendmsg"] is not None:
                socket.socket.sendmsg = saved["sendmsg"]  # type: ignore[method-assign]
            socket.getaddrinfo = saved["getaddrinfo"]
            for name in ("gethostbyname", "gethostbyname_ex", "gethostbyaddr", "getnameinfo"):
                setattr(socket, name, saved[name])
