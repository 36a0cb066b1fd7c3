"""Review: secrets in the shapes the first scrubbing policy missed, each planted in a real
recording (a vcrpy cassette of a local server's answers) or in the data placebo writes."""

import base64
import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, quote_plus

import pytest

from tight.testing.http import HttpRecorder
from tight.testing.scrub import MARKER, ScrubPolicy

# A hunted value (env.yml's API_PASSWORD, say) full of URL, JSON, XML and regex specials.
SECRET = 's3cr3t-V@lue/+&<x>"q.*'
OTHER = "hunter2hunter2"


def leaks(text: str) -> list[str]:
    forms = {
        OTHER,
        SECRET,
        quote(SECRET),
        quote(SECRET, safe=""),
        quote_plus(SECRET),
        base64.b64encode(SECRET.encode()).decode().rstrip("="),
        json.dumps(SECRET)[1:-1],
        's3cr3t-V@lue/+&amp;&lt;x&gt;"q.*',
    }
    return sorted(form for form in forms if form in text)


def policy() -> ScrubPolicy:
    return ScrubPolicy(values=[SECRET])


SHAPES = {
    # SQS message bodies, SNS messages, JSON config blobs stored in DynamoDB
    "JSON in a JSON string": lambda p: p.data({"Body": json.dumps({"password": OTHER})}),
    "JSON in JSON in a body": lambda p: p.body(
        json.dumps({"Message": json.dumps({"Token": {"access_token": OTHER}})}), "application/json"
    ),
    "JSON in a DynamoDB S": lambda p: p.data(
        {"Item": {"cfg": {"S": json.dumps({"api_key": OTHER})}}}
    ),
    "userinfo in a string": lambda p: p.data({"DATABASE_URL": f"postgres://app:{OTHER}@db:5432/x"}),
    "userinfo in a URL": lambda p: p.url(f"https://app:{OTHER}@example.com/x"),
    "URL-encoded in text": lambda p: p.body("q=" + quote(SECRET), "text/plain"),
    "URL-encoded in a path": lambda p: p.url("https://h/x/" + quote(SECRET, safe="")),
    "form-encoded in text": lambda p: p.body("pw=" + quote_plus(SECRET), "text/plain"),
    "base64-encoded": lambda p: p.data({"blob": base64.b64encode(SECRET.encode()).decode()}),
    "JSON-escaped in text": lambda p: p.text(json.dumps({"x": SECRET})),
    "XML-escaped": lambda p: p.body(
        "<R><V>s3cr3t-V@lue/+&amp;&lt;x&gt;&quot;q.*</V></R>", "text/xml"
    ),
    "XML element with attributes": lambda p: p.body(
        f'<R><SessionToken xmlns="x">{OTHER}</SessionToken></R>', "text/xml"
    ),
    "bytes that are not UTF-8": lambda p: p.body(b"\xff\xfe" + SECRET.encode(), "application/x"),
    "bytes in data": lambda p: p.data({"Blob": b"\xff" + SECRET.encode()}),
    "a presigned URL in data": lambda p: p.data(
        {"Code": {"Location": f"https://b.s3.amazonaws.com/f.zip?X-Amz-Security-Token={OTHER}"}}
    ),
    "an OAuth redirect's code": lambda p: p.headers(
        {"Location": f"https://app.example/cb?code={OTHER}&state=s"}
    ),
    "a PEM private key": lambda p: p.data(
        {"Note": f"-----BEGIN RSA PRIVATE KEY-----\nMIIE{OTHER}\n-----END RSA PRIVATE KEY-----"}
    ),
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_secret_is_masked_in_every_shape(shape):
    out = SHAPES[shape](policy())
    text = out.decode("latin-1") if isinstance(out, bytes) else json.dumps(out, default=repr)
    assert leaks(text) == []
    assert MARKER in text


def test_scrubbing_is_deterministic_and_keeps_ordinary_data():
    body = json.dumps({"Message": json.dumps({"order": 7, "password": OTHER}), "n": 1})
    once, twice = policy().body(body, "application/json"), policy().body(body, "application/json")
    assert once == twice
    inner = json.loads(json.loads(once)["Message"])
    assert inner == {"order": 7, "password": MARKER}
    plain = json.dumps(
        {"Message": json.dumps({"order": 7}), "url": "https://h/x?a=1&page=2", "q": "a ? b = c"}
    )
    assert policy().body(plain, "application/json") == plain  # untouched, byte for byte


class Leaky(BaseHTTPRequestHandler):
    """Answers with the secret in the shapes above, gzip-compressed."""

    def do_GET(self) -> None:
        payload = {
            "note": json.dumps({"refresh_token": OTHER}),
            "dsn": f"mysql://root:{OTHER}@db/x",
            "blob": base64.b64encode(SECRET.encode()).decode(),
            "escaped": SECRET,
        }
        body = gzip.compress(json.dumps(payload).encode())
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def leaky_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Leaky)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_recorded_cassette_holds_none_of_them(tmp_path, leaky_server):
    import requests

    cassette = tmp_path / "cassettes" / "t.yaml"
    recorder = HttpRecorder(cassette, "record", policy())
    recorder.start()
    url = leaky_server.replace("http://", f"http://app:{quote(SECRET, safe='')}@")
    answer = requests.get(f"{url}/x/{quote(SECRET, safe='')}", timeout=5)
    assert answer.json()["escaped"] == SECRET  # the code under test saw the real answer
    recorder.finish()
    written = cassette.read_text()
    assert leaks(written) == [], written
    assert MARKER in written

    replay = HttpRecorder(cassette, "playback", policy())
    replay.start()
    try:
        again = requests.get(f"{url}/x/{quote(SECRET, safe='')}", timeout=5)
    finally:
        replay.finish()
    assert replay.problems == []
    assert json.loads(again.json()["note"]) == {"refresh_token": MARKER}


def test_env_urls_passwords_are_hunted_wherever_they_go():
    env = {"DATABASE_URL": "postgres://app:pa%40ssw0rd99@db:5432/x", "REGION": "us-east-1"}
    clean = ScrubPolicy().secret_values_of(env)
    # the app parsed the URL and sent the password alone, under an innocent name
    assert clean.headers({"X-Db": "pa@ssw0rd99"}) == {"X-Db": MARKER}
    assert clean.text("region us-east-1") == "region us-east-1"


@pytest.mark.parametrize("pattern", ["(sk_live_)?", "x*", "^"])
def test_a_scrub_pattern_that_matches_nothing_at_all_is_a_config_error(tmp_path, pattern):
    from tight.core.test_helpers import ConfigFileError, read_testing_config

    (tmp_path / "tight.yml").write_text(
        f"name: app\ntesting:\n  scrub:\n    patterns:\n      - {json.dumps(pattern)}\n"
    )
    with pytest.raises(ConfigFileError, match=r"tight\.yml:5: .*matches the empty string"):
        read_testing_config(tmp_path)
    (tmp_path / "tight.yml").write_text(
        "name: app\ntesting:\n  scrub:\n    patterns: [sk_live_\\w+]\n"
    )
    assert read_testing_config(tmp_path)["scrub"]["patterns"] == ["sk_live_\\w+"]


def test_header_values_given_as_bytes_are_scrubbed():
    clean = policy().headers({"X-Custom": SECRET.encode(), "X-List": [SECRET.encode(), b"ok"]})
    assert clean == {"X-Custom": MARKER.encode(), "X-List": [MARKER.encode(), b"ok"]}


def test_a_quoted_secret_with_spaces_in_a_body_of_no_known_format_is_masked_whole():
    ndjson = '{"a": 1}\n{"password": "correct horse \\"battery\\" staple"}\n'
    assert policy().body(ndjson, "application/x-ndjson") == '{"a": 1}\n{"password": "REDACTED"}\n'


@pytest.mark.parametrize("upload", [b"plain text", b"\xff\xd8\xff binary jpeg"])
def test_multipart_fields_are_scrubbed_beside_any_upload(upload):
    import requests

    prepared = requests.Request(
        "POST",
        "http://127.0.0.1/upload",
        files={"file": ("a.bin", upload)},
        data={"api_key": OTHER, "title": "holiday"},
    ).prepare()
    clean = policy().body(prepared.body, prepared.headers["Content-Type"])
    assert OTHER.encode() not in clean
    assert b'name="api_key"\r\n\r\nREDACTED\r\n' in clean
    assert b"holiday" in clean and upload in clean


class Upload(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_file_upload_plays_back_whatever_boundary_requests_draws(tmp_path):
    import requests

    server = ThreadingHTTPServer(("127.0.0.1", 0), Upload)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/upload"
    cassette = tmp_path / "upload.yaml"
    recorder = HttpRecorder(cassette, "record", policy())
    recorder.start()
    try:
        requests.post(url, files={"f": ("a.txt", b"x")}, data={"api_key": OTHER}, timeout=5)
    finally:
        recorder.finish()
        server.shutdown()
        server.server_close()
    assert OTHER not in cassette.read_text()
    replay = HttpRecorder(cassette, "playback", policy())
    replay.start()
    try:  # a new random boundary, the server gone: answered from the cassette
        answer = requests.post(
            url, files={"f": ("a.txt", b"x")}, data={"api_key": OTHER}, timeout=5
        )
    finally:
        replay.finish()
    assert replay.problems == []
    assert answer.text == "ok"


def test_a_base64_response_body_is_scrubbed_as_the_bytes_it_stands_for(tmp_path):
    from tight.testing.expectations import Expectations

    raw = json.dumps({"access_token": "zzzzzzzzzzzz", "note": f"a {SECRET}"}).encode()
    response = {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "isBase64Encoded": True,
        "body": base64.b64encode(raw).decode(),
    }
    path = tmp_path / "expected.yml"
    Expectations(path, update=True, policy=policy()).check(response)
    import yaml

    written = base64.b64decode(yaml.safe_load(path.read_text())["body"]["base64"])
    assert json.loads(written) == {"access_token": MARKER, "note": f"a {MARKER}"}
    Expectations(path, update=False, policy=policy()).check(response)  # still matches


@pytest.mark.parametrize("depth", [800, 5000, 200_000])
def test_json_nested_too_deep_to_walk_is_scrubbed_as_text(depth):
    body = "[" * depth + json.dumps({"password": OTHER, "x": SECRET}) + "]" * depth
    clean = policy().body(body, "application/json")
    assert leaks(clean) == []
    assert policy().data({"Body": body}) == {"Body": clean}
