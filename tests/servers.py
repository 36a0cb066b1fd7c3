"""Real services on 127.0.0.1 for the project's tests: a moto server and a small HTTP API;
and the worker processes a ``doit serve`` left running."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tight.testing.servers import moto_server

__all__ = ["moto_server", "oauth_server", "quote_server", "run", "wait_for", "worker_pids"]

BIN = Path(sys.executable).parent


def run(*command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """One of the environment's commands (``tight``, ``doit``, ``pytest``), run to its end."""
    return subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=cwd, capture_output=True, text=True
    )


def wait_for(condition: Callable[[], Any], what: str, bound: float = 40.0) -> Any:
    """``condition()``'s first true value, asked every 0.1 s; fails naming ``what`` after
    ``bound`` seconds."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {bound} s")


class QuoteHandler(BaseHTTPRequestHandler):
    """GET /quote -> a JSON quote; checks the bearer token and sets a session cookie."""

    token = ""
    cookie = ""
    seen: list[dict[str, str]] = []

    def do_GET(self) -> None:
        QuoteHandler.seen.append({k.lower(): v for k, v in self.headers.items()})
        authorized = self.headers.get("Authorization") == f"Bearer {self.token}"
        body = json.dumps({"quote": "simple is better than complex", "authorized": authorized})
        self.send_response(200 if authorized else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Set-Cookie", f"session={self.cookie}; HttpOnly")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def quote_server(token: str, cookie: str) -> Iterator[str]:
    """The quote API on 127.0.0.1; yields its /quote URL."""
    QuoteHandler.token, QuoteHandler.cookie = token, cookie
    QuoteHandler.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), QuoteHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/quote"
    finally:
        server.shutdown()
        server.server_close()


class OAuthHandler(BaseHTTPRequestHandler):
    """An OAuth provider and the API behind it, checking every secret it is sent.

    POST /oauth/token (form: code, client_secret) answers tokens and sets a cookie;
    GET /api/profile wants the bearer token, X-Auth-Token, an api_key query parameter and
    whatever else ``expected_headers`` names, and answers a profile holding a password.
    """

    secrets: dict[str, str] = {}
    expected_headers: dict[str, str] = {}
    seen: list[str] = []

    def _answer(self, status: int, body: dict[str, object], cookie: str = "") -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if cookie:
            self.send_header("Set-Cookie", f"sid={cookie}; HttpOnly; Path=/")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        from urllib.parse import parse_qs

        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        self.seen.append(f"POST {self.path}")
        secrets = self.secrets
        if (
            self.path != "/oauth/token"
            or form.get("client_secret") != secrets["client_secret"]
            or form.get("code") != secrets["code"]
        ):
            self._answer(401, {"error": "invalid_client"})
            return
        tokens = {
            "access_token": secrets["access_token"],
            "refresh_token": secrets["refresh_token"],
            "id_token": secrets["id_token"],
            "token_type": "Bearer",
            "expires_in": 3600,
        }
        self._answer(200, tokens, cookie=secrets["cookie"])

    def do_GET(self) -> None:
        from urllib.parse import parse_qs, urlsplit

        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.seen.append(f"GET {url.path}")
        secrets = self.secrets
        wanted = {
            "Authorization": f"Bearer {secrets['access_token']}",
            "X-Auth-Token": secrets["header_token"],
            **self.expected_headers,
        }
        wrong = [name for name, value in wanted.items() if self.headers.get(name) != value]
        if url.path != "/api/profile" or query.get("api_key") != secrets["api_key"] or wrong:
            self._answer(401, {"error": "unauthorized", "wrong": wrong})
            return
        profile = {
            "user": "ann",
            "account": query.get("ref"),
            "settings": {"theme": "dark", "credentials": {"password": secrets["password"]}},
        }
        self._answer(200, profile, cookie=secrets["cookie"])

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def oauth_server(secrets: dict[str, str], expected_headers: dict[str, str]) -> Iterator[str]:
    """The OAuth provider on 127.0.0.1; yields its base URL."""
    OAuthHandler.secrets = dict(secrets)
    OAuthHandler.expected_headers = dict(expected_headers)
    OAuthHandler.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), OAuthHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def worker_pids(root: Path) -> list[int]:
    """The ``doit serve`` worker processes of the app at ``root`` still running."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if (
                any(part.endswith(b"worker.py") for part in cmdline)
                and str(root).encode() in cmdline
            ):
                found.append(int(entry.name))
    return found
