"""Review: ways around the playback network guard that the first version left open.

Each attempt goes to a real socket; the guard must refuse it before it leaves."""

import socket

import pytest

from tight.testing.network import NetworkBlocked, NetworkGuard


@pytest.fixture
def guard():
    guard = NetworkGuard()
    guard.start()
    try:
        yield guard
    finally:
        guard.stop()


def udp() -> socket.socket:
    return socket.socket(socket.AF_INET, socket.SOCK_DGRAM)


ATTEMPTS = {
    "sendmsg to a public address": lambda: udp().sendmsg([b"x"], [], 0, ("192.0.2.1", 53)),
    "sendto with flags": lambda: udp().sendto(b"x", 0, ("192.0.2.1", 53)),
    "TCP Fast Open sendto": lambda: socket.socket().sendto(
        b"x", getattr(socket, "MSG_FASTOPEN", 0), ("192.0.2.1", 80)
    ),
    "gethostbyname": lambda: socket.gethostbyname("example.com"),
    "gethostbyname_ex": lambda: socket.gethostbyname_ex("example.com"),
    "gethostbyaddr": lambda: socket.gethostbyaddr("192.0.2.1"),
    "getnameinfo": lambda: socket.getnameinfo(("192.0.2.1", 53), 0),
    "IPv4-mapped loopback": lambda: socket.socket(socket.AF_INET6).connect(("::ffff:127.0.0.1", 9)),
    "127.0.0.2": lambda: socket.socket().connect(("127.0.0.2", 9)),
    "0.0.0.0": lambda: socket.socket().connect(("0.0.0.0", 9)),
    "localhost with a trailing dot": lambda: socket.create_connection(("localhost.", 9)),
    "_socket.socket": lambda: __import__("_socket").socket().connect(("192.0.2.1", 80)),
    "socket.SocketType": lambda: socket.SocketType().connect(("192.0.2.1", 80)),
    "_socket.socket sendto": lambda: (
        __import__("_socket")
        .socket(socket.AF_INET, socket.SOCK_DGRAM)
        .sendto(b"x", ("192.0.2.1", 53))
    ),
}


@pytest.mark.parametrize("attempt", list(ATTEMPTS))
def test_every_way_out_is_refused(guard, attempt):
    with pytest.raises(NetworkBlocked, match="refused in playback"):
        ATTEMPTS[attempt]()
    assert guard.attempts


def test_local_lookups_and_numeric_names_still_work(guard):
    assert socket.gethostbyname("localhost") in ("127.0.0.1", "::1")
    assert socket.getnameinfo(("127.0.0.1", 80), 0)
    assert socket.getnameinfo(("192.0.2.1", 53), socket.NI_NUMERICHOST | socket.NI_NUMERICSERV)
    sock = socket.socket(socket.AF_UNIX)
    with pytest.raises(OSError):  # AF_UNIX never leaves the machine: not the guard's
        sock.connect("/nonexistent/tight-review.sock")
    sock.close()
    assert not guard.attempts


def test_the_c_socket_is_still_the_socket_type(guard):
    import _socket

    assert isinstance(socket.socket(), socket.SocketType)
    assert isinstance(_socket.socket(), socket.socket.__mro__[1])
    assert issubclass(socket.socket, socket.SocketType)


def test_stop_restores_every_function():
    import _socket

    raw, socket_type = _socket.socket, socket.SocketType
    before = {
        name: getattr(socket, name)
        for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr")
    }
    sendmsg = socket.socket.sendmsg
    guard = NetworkGuard()
    guard.start()
    guard.stop()
    assert {name: getattr(socket, name) for name in before} == before
    assert socket.socket.sendmsg is sendmsg
    assert _socket.socket is raw and socket.SocketType is socket_type
