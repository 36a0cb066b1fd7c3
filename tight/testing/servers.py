"""A moto server on 127.0.0.1, to record tests against without an AWS account.

``with moto_server() as endpoint:`` runs every AWS service moto emulates, in memory, in a
thread of this process, and yields its endpoint URL (``http://127.0.0.1:<port>``). It needs
``moto[server]`` installed.
"""

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, below the kernel's
    ephemeral range: a port bind(0) hands out is one any outgoing connection on a busy
    machine may take as its source port in the seconds before the test's server binds it;
    below that range only another listener can."""
    import random
    from pathlib import Path

    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    for _ in range(100 if low > 4096 else 0):
        port = random.randrange(max(2048, low - 12000), low)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    """Return once something accepts connections on 127.0.0.1:``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing answered on 127.0.0.1:{port} within {timeout} s")


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server (every AWS service, in memory) on 127.0.0.1; yields its endpoint URL."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as error:
        raise RuntimeError(
            "moto's server is not installed; install it with `pip install 'moto[server]'`"
        ) from error
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        wait_for_port(port)
        endpoint = f"http://127.0.0.1:{port}"
        # moto keeps its state per process, not per server: start every server empty.
        import urllib.request

        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))
        yield endpoint
    finally:
        server.stop()
