"""Real services on 127.0.0.1 for the project's tests: a moto server and a small HTTP API."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tight.testing.servers import moto_server

__all__ = ["moto_server", "quote_server"]


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
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/quote"
    finally:
        server.shutdown()
        server.server_close()
