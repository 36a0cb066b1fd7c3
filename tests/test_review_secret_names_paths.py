"""Review: the names of the one shared list (DB_PASS, *_PWD, DATABASE_URL, *_SK, *_KEY)
are secret in every scrubbing path: headers, query, JSON, form, multipart, XML, text,
name/value records and env.yml values; and a URL's password is masked whatever name the
URL stands under. Unit by unit, then in a cassette recorded against a server on 127.0.0.1."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

import pytest

from tight.testing.http import HttpRecorder
from tight.testing.scrub import MARKER, ScrubPolicy
from tight_tasks.policies import is_secret

NAMES = ["DB_PASS", "MYSQL_PWD", "DATABASE_URL", "SIGNING_SK", "STRIPE_KEY", "db_pass"]
VALUE = "s3cret-Value-0042"
URL_PASSWORD = "url-pass-7711"
DSN = f"postgres://app:{URL_PASSWORD}@db:5432/shop"


def header_name(name: str) -> str:
    return "X-" + name.replace("_", "-").title()  # X-Db-Pass, X-Stripe-Key


PATHS = {
    "header": lambda p, n: p.headers({n: VALUE, header_name(n): VALUE}),
    "query": lambda p, n: p.url(f"https://h/p?{n}={VALUE}&page=2"),
    "JSON": lambda p, n: p.body(json.dumps({"config": {n: VALUE}}), "application/json"),
    "form": lambda p, n: p.body(f"{n}={VALUE}&page=2", "application/x-www-form-urlencoded"),
    "multipart": lambda p, n: p.body(
        f'--b\r\nContent-Disposition: form-data; name="{n}"\r\n\r\n{VALUE}\r\n--b--\r\n',
        "multipart/form-data; boundary=b",
    ),
    "XML": lambda p, n: p.body(f"<Config><{n}>{VALUE}</{n}></Config>", "text/xml"),
    "text": lambda p, n: p.data({"Message": f"connect failed: {n}={VALUE} host=db"}),
    "record": lambda p, n: p.data({"environment": [{"name": n, "value": VALUE}]}),
    "env.yml": lambda p, n: (
        ScrubPolicy()
        .secret_values_of({n: VALUE, "REGION": "eu-west-1"})
        .headers({"X-Note": f"sent {VALUE}", "X-Region": "eu-west-1"})
    ),
}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("path", list(PATHS))
def test_each_name_is_secret_in_each_path(path, name):
    out = PATHS[path](ScrubPolicy(), name)
    text = out if isinstance(out, str) else json.dumps(out)
    assert VALUE not in text and MARKER in text
    assert is_secret(name)  # and the template marks it NoEcho


@pytest.mark.parametrize(
    "scrub",
    [
        lambda p: p.headers({"X-Conn": DSN}),
        lambda p: p.url(f"https://h/p?conn={quote(DSN, safe='')}"),
        lambda p: p.body(json.dumps({"conn": DSN}), "application/json"),
        lambda p: p.body(f"conn={quote(DSN, safe='')}", "application/x-www-form-urlencoded"),
        lambda p: p.data({"Message": f"could not reach {DSN}"}),
        lambda p: ScrubPolicy().secret_values_of({"CONN": DSN}).headers({"X-Pw": URL_PASSWORD}),
        # the other shapes a DATABASE_URL's value takes: JDBC, libpq, ADO.NET
        lambda p: p.data({"conn": f"jdbc:postgresql://db/shop?user=app&password={URL_PASSWORD}"}),
        lambda p: p.data({"conn": f"host=db user=app password={URL_PASSWORD} dbname=shop"}),
        lambda p: p.data({"conn": f"Server=db;User Id=app;Password={URL_PASSWORD};"}),
    ],
)
def test_a_urls_password_is_masked_under_any_name(scrub):
    out = scrub(ScrubPolicy())
    text = out if isinstance(out, str) else json.dumps(out)
    assert URL_PASSWORD not in text and MARKER in text


class Echo(BaseHTTPRequestHandler):
    """Answers with the whole request (path, headers, body) under innocent names."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        sent = self.rfile.read(length).decode()
        body = json.dumps({"path": self.path, "headers": dict(self.headers), "body": sent})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_recorded_cassette_holds_none_of_them(tmp_path):
    import requests

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    values = {name: f"{VALUE}-{index}" for index, name in enumerate(NAMES)}
    env = {**values, "CONN": DSN, "REGION": "eu-west-1"}
    cassette = tmp_path / "names.yaml"
    recorder = HttpRecorder(cassette, "record", ScrubPolicy().secret_values_of(env))
    recorder.start()
    try:
        for name, value in values.items():
            requests.post(
                f"{url}/q", params={name: value}, headers={header_name(name): value}, timeout=5
            )
            requests.post(f"{url}/json", json={name: value}, timeout=5)
            requests.post(f"{url}/form", data={name: value}, timeout=5)
            requests.post(f"{url}/note", data=f"note {value}", timeout=5)  # an innocent body
        requests.post(f"{url}/pw", headers={"X-Pw": URL_PASSWORD}, timeout=5)
    finally:
        recorder.finish()
        server.shutdown()
        server.server_close()
    written = cassette.read_text()
    assert [v for v in (*values.values(), URL_PASSWORD) if v in written] == []
    assert written.count(MARKER) >= 4 * len(NAMES)
