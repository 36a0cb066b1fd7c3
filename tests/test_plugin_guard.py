"""Playback never reaches the network, only an app's tests/ run, and a bad config file is
one line: the plugin as an app's pytest (and `doit test`) meets it."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

GUARD_TESTS = """
import socket
import socketserver
import threading

import boto3
import pytest


def serve():
    server = socketserver.TCPServer(("127.0.0.1", 0), socketserver.BaseRequestHandler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


def reach_loopback():
    server = serve()
    try:
        socket.create_connection(server.server_address, timeout=2).close()
    finally:
        server.shutdown()
        server.server_close()


def resolve_public_name():
    try:
        socket.getaddrinfo("example.com", 443)
    except socket.gaierror:
        pass  # opted in, but this machine has no DNS: the guard let it through


def send_udp():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"ping", ("127.0.0.1", 9))


def test_loopback():
    reach_loopback()


def test_public_name():
    resolve_public_name()


def test_udp():
    send_udp()


def test_c_socket():
    import _socket

    server = serve()
    sock = _socket.socket()
    try:
        sock.connect(server.server_address)
    finally:
        sock.close()
        server.shutdown()
        server.server_close()


def test_socket_type():
    server = serve()
    sock = socket.SocketType(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.connect(server.server_address)
    finally:
        sock.close()
        server.shutdown()
        server.server_close()


def test_swallowed():
    try:
        reach_loopback()
    except Exception:
        pass  # the code under test hides the error: the test still fails


def test_aws_client_of_its_own(boto3_session):
    client = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
    )
    try:
        client.list_buckets()
    except Exception:
        pass


@pytest.mark.tight_allow_network
def test_loopback_allowed():
    reach_loopback()


@pytest.mark.tight_allow_network
def test_public_name_allowed():
    resolve_public_name()


@pytest.mark.tight_allow_network("127.0.0.1:9")
def test_udp_allowed():
    send_udp()
"""


@pytest.fixture
def guarded_app(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    for key in ("TIGHT_RECORD", "AWS_ENDPOINT_URL", "TIGHT_DYNAMO_ENDPOINT"):
        monkeypatch.delenv(key, raising=False)
    pytester.makefile(".yml", tight="name: guarded\n")
    pytester.mkdir("tests").joinpath("test_guard.py").write_text(GUARD_TESTS)
    return pytester


def outcomes(result: pytest.RunResult) -> dict[str, str]:
    """test name -> PASSED/FAILED, from -rA's summary."""
    found = {}
    for line in result.outlines:
        for word in ("PASSED", "FAILED"):
            if line.startswith(word + " tests/test_guard.py::"):
                found[line.split("::")[1].split()[0]] = word
    return found


GUARDED = {
    "test_loopback": "FAILED",
    "test_public_name": "FAILED",
    "test_udp": "FAILED",
    "test_c_socket": "FAILED",
    "test_socket_type": "FAILED",
    "test_swallowed": "FAILED",
    "test_aws_client_of_its_own": "FAILED",
    "test_loopback_allowed": "PASSED",
    "test_public_name_allowed": "PASSED",
    "test_udp_allowed": "PASSED",
}


def test_playback_refuses_the_network_whatever_fixtures_a_test_uses(guarded_app):
    result = guarded_app.runpytest_subprocess("-p", "no:cacheprovider", "-rA", timeout=120)
    assert outcomes(result) == GUARDED
    hint = (
        "refused in playback: tests play back recordings and make no network calls: record "
        "with `pytest --tight-record`, or let this test reach it with "
        "@pytest.mark.tight_allow_network (or the ini option tight_allow_network = {})"
    )
    result.stdout.fnmatch_lines_random(
        [
            "*network connection to 127.0.0.1:* " + hint.format("127.0.0.1:*"),
            "*looking up example.com:443 " + hint.format("example.com:443"),
            "*UDP datagram to 127.0.0.1:9 " + hint.format("127.0.0.1:9"),
            # a client the test makes itself is played back like any other
            "*no recording for S3.ListBuckets, call 1*",
        ]
    )
    # Each refusal names the code that made the call.
    result.stdout.fnmatch_lines_random(
        [
            "*made by tests/test_guard.py:* in reach_loopback",
            "*made by tests/test_guard.py:* in resolve_public_name",
            "*made by tests/test_guard.py:* in send_udp",
            "*made by tests/test_guard.py:* in test_c_socket",
            "*made by tests/test_guard.py:* in test_socket_type",
        ]
    )
    # The swallowed attempt fails with the guard's one line, not a traceback.
    failure = result.stdout.str().split("_ test_swallowed _")[1].split("\n_")[0]
    assert "Traceback" not in failure and "network connection to 127.0.0.1:" in failure


def test_an_ini_option_lets_every_test_reach_an_address(guarded_app):
    guarded_app.makeini("[pytest]\ntight_allow_network =\n    127.0.0.1:*\n")
    result = guarded_app.runpytest_subprocess("-p", "no:cacheprovider", "-rA", timeout=120)
    found = outcomes(result)
    assert found["test_loopback"] == found["test_udp"] == found["test_swallowed"] == "PASSED"
    assert found["test_public_name"] == "FAILED"


def test_recording_fails_what_playback_would(guarded_app, monkeypatch):
    """The invariant: a test that passes while recording passes in playback. A connection
    no recorder captures fails while recording, naming the address and the code."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIARECORDINGKEY0000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "recording-secret")
    result = guarded_app.runpytest_subprocess(
        "--tight-record", "-p", "no:cacheprovider", "-rA", "-k", "not aws_client", timeout=120
    )
    expected = {name: outcome for name, outcome in GUARDED.items() if "aws_client" not in name}
    assert outcomes(result) == expected, result.outlines
    result.stdout.fnmatch_lines_random(
        [
            "*network connection to 127.0.0.1:* refused while recording: no recorder captured "
            "it (AWS SDK calls and HTTP calls made with requests, urllib3, urllib.request or "
            "http.client are recorded), so the test would fail in playback*",
            "*looking up example.com:443 refused while recording*",
            "*UDP datagram to 127.0.0.1:9 refused while recording*",
            "*made by tests/test_guard.py:* in reach_loopback",
        ]
    )
    # What passed while recording passes in playback, with nothing recorded for it.
    replayed = guarded_app.runpytest_subprocess(
        "-p", "no:cacheprovider", "-rA", "-k", "not aws_client", timeout=120
    )
    assert outcomes(replayed) == expected


def test_recording_against_aws_without_credentials_is_one_error(guarded_app, monkeypatch, tmp_path):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    result = guarded_app.runpytest_subprocess("--tight-record", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.errlines == [
        "error: --tight-record: recording against AWS needs credentials and none were found: "
        "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE, or record against a "
        "local server (`doit dynamo_start`, or AWS_ENDPOINT_URL)"
    ]
    assert not result.outlines


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def test_only_the_apps_tests_are_collected(pytester):
    boom = "raise SystemExit('this must never be imported')\n"
    write(
        pytester.path,
        {
            "tight.yml": "name: vendoring\n",
            "tests/test_mine.py": "def test_mine():\n    pass\n",
            "tests/unit/test_deeper.py": "def test_deeper():\n    pass\n",
            "app/vendored/certifi/tests/test_certify.py": "def test_certify():\n    assert 0\n",
            "app/vendored/six/test_six.py": "def test_six():\n    assert 0\n",
            "app/vendored/certifi/tests/conftest.py": boom,
            "app/vendored/certifi/conftest.py": boom,
            "app/functions/x/test_handler.py": "def test_in_app():\n    assert 0\n",
            ".tight/dynamo/test_local.py": "def test_local():\n    assert 0\n",
            "build/test_built.py": "def test_built():\n    assert 0\n",
            "test_at_root.py": "def test_root():\n    assert 0\n",
        },
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=2)
    # Named on the command line, a vendored test still does not run.
    named = pytester.runpytest_subprocess("-p", "no:cacheprovider", "app/vendored/six/test_six.py")
    assert named.ret == pytest.ExitCode.NO_TESTS_COLLECTED


@pytest.mark.parametrize(
    ("files", "line"),
    [
        (
            {"env.yml": "COLOUR: blue\nSHAPE: [round\n"},
            "error: env.yml:3: not valid YAML: expected ',' or ']', but got '<stream end>'",
        ),
        (
            {"env.yml": "- a\n- b\n"},
            "error: env.yml:1: must be a mapping of variable names to values",
        ),
        (
            {"tight.yml": "name: broken\nstage: dev\n  cors: '*'\n"},
            "error: tight.yml:3: not valid YAML: mapping values are not allowed here",
        ),
        (
            {"tight.yml": "name: x\ntesting:\n  scrub:\n    keys: [X-Id]\n    patterns: ['(']\n"},
            "error: tight.yml:5: testing.scrub.patterns: '(' is not a regex: "
            "missing ), unterminated subpattern at position 0",
        ),
        (
            {"tight.yml": "name: x\ntesting:\n  record: always\n"},
            "error: tight.yml:3: unknown key testing.record; known keys: testing.scrub",
        ),
        (
            {"tight.yml": "name: x\nstage: dev\ndynamo:\n  backend: moto\n  port: 99999\n"},
            "error: tight.yml:5: dynamo.port must be a TCP port number from 1 to 65535, "
            "not 99999 (int)",
        ),
    ],
    ids=[
        "env-syntax",
        "env-list",
        "tight-syntax",
        "tight-pattern",
        "tight-testing-key",
        "tight-schema",
    ],
)
def test_a_bad_config_file_is_one_line(pytester, files, line):
    write(pytester.path, {"tight.yml": "name: x\n", "tests/test_x.py": "def test_x():\n    pass\n"})
    write(pytester.path, files)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.errlines == [line]
    assert not result.outlines


@pytest.mark.parametrize(
    ("files", "line"),
    [
        (
            {"env.yml": "COLOUR: blue\nNESTED:\n  a: 1\n"},
            "error: env.yml:2: NESTED must be a single value, not a mapping",
        ),
        (
            {"tight.yml": "name: x\nstage: dev\n  cors: '*'\n"},
            "error: tight.yml:3: not valid YAML: mapping values are not allowed here",
        ),
    ],
    ids=["env", "tight"],
)
def test_a_bad_config_file_under_doit_test_is_one_line(pytester, files, line):
    write(
        pytester.path,
        {
            "tight.yml": "name: x\n",
            "dodo.py": "from tight_tasks import *\n",
            "tests/test_x.py": "def test_x():\n    pass\n",
        },
    )
    write(pytester.path, files)
    doit = str(Path(sys.executable).parent / "doit")
    done = subprocess.run(
        [doit, "test"], cwd=pytester.path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert done.stderr.splitlines() == [line]


def test_recording_with_a_missing_profile_is_one_error(guarded_app, monkeypatch, tmp_path):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    result = guarded_app.runpytest_subprocess("--tight-record", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.errlines == [
        "error: cannot record: The config profile (no-such-profile) could not be found"
    ]


KEEP_ALIVE_TESTS = """
import http.client
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests


class Hello(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keeps the connection open

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "5")
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, *args):
        pass


SERVER = ThreadingHTTPServer(("127.0.0.1", 0), Hello)
threading.Thread(target=SERVER.serve_forever, daemon=True).start()
URL = f"http://127.0.0.1:{SERVER.server_address[1]}/"
CONNECTION = http.client.HTTPConnection("127.0.0.1", SERVER.server_address[1], timeout=5)
SESSION = requests.Session()


def through_the_kept_connection():
    CONNECTION.request("GET", "/")
    return CONNECTION.getresponse().read()


@pytest.mark.tight_allow_network
def test_allowed_opens_them():
    assert through_the_kept_connection() == b"hello"
    assert SESSION.get(URL, timeout=5).text == "hello"


def test_later_over_the_http_client_connection():
    assert through_the_kept_connection() == b"hello"


def test_later_over_the_requests_pool():
    assert SESSION.get(URL, timeout=5).text == "hello"


def test_children_know_the_mode(tight_mode):
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.environ.get('TIGHT_PLAYBACK'))"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert child.stdout.strip() == ("1" if tight_mode == "playback" else "None")
"""


@pytest.mark.parametrize("mode", ["playback", "record"])
def test_a_connection_opened_under_an_allowance_ends_with_its_test(pytester, monkeypatch, mode):
    for key in ("TIGHT_RECORD", "AWS_ENDPOINT_URL", "TIGHT_DYNAMO_ENDPOINT", "TIGHT_PLAYBACK"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIARECORDINGKEY0000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "recording-secret")
    pytester.makefile(".yml", tight="name: kept\n")
    pytester.mkdir("tests").joinpath("test_kept.py").write_text(KEEP_ALIVE_TESTS)
    args = ["--tight-record"] if mode == "record" else []
    result = pytester.runpytest_subprocess(*args, "-p", "no:cacheprovider", "-rA", timeout=120)
    found = {}
    for line in result.outlines:
        for word in ("PASSED", "FAILED"):
            if line.startswith(word + " tests/test_kept.py::"):
                found[line.split("::")[1].split()[0]] = word
    # The kept http.client connection was shut down when the allowed test ended. The
    # requests pool gives a new connection, which a recorder sees: refused in playback,
    # recorded (and then played back) while recording.
    assert found == {
        "test_allowed_opens_them": "PASSED",
        "test_later_over_the_http_client_connection": "FAILED",
        "test_later_over_the_requests_pool": "PASSED" if mode == "record" else "FAILED",
        "test_children_know_the_mode": "PASSED",
    }
    cassettes = pytester.path / "tests/cassettes"
    recorded = sorted(p.name for p in cassettes.iterdir()) if cassettes.exists() else []
    assert recorded == (["test_later_over_the_requests_pool.yaml"] if mode == "record" else [])
