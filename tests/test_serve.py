"""`doit serve` over sockets on 127.0.0.1, in real scaffolded apps: the events handlers get,
the answers callers get, failures, hot reload and warm workers."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from scaffolds import scaffold
from servers import worker_pids

from tight.testing.servers import free_port, wait_for_port

BIN = Path(sys.executable).parent
SAMPLES = Path(__file__).resolve().parent / "aws_events"

ECHO = """
import os

import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy

STATE = {"calls": 0}


def _answer(kwargs):
    STATE["calls"] += 1
    request, event = kwargs["request"], kwargs["event"]
    answer = (event.get("queryStringParameters") or {}).get("answer")
    if answer == "binary":
        return {"statusCode": 200, "body": b"\\x00\\xffPNG"}
    body = {
        "event": event,
        "raw": request.body.hex(),
        "calls": STATE["calls"],
        "pid": os.getpid(),
        "remaining": kwargs["context"].get_remaining_time_in_millis(),
        "env": {k: os.environ.get(k) for k in ("AWS_LAMBDA_FUNCTION_NAME", "GREETING")},
        "version": "one",
    }
    return {
        "statusCode": 200,
        "headers": {"X-One": "1"},
        "multiValueHeaders": {"X-Multi": ["a", "b"]},
        "cookies": ["a=1; Path=/", "b=2; HttpOnly"],
        "body": body,
    }


@lambda_proxy.get
def get_handler(*args, **kwargs):
    return _answer(kwargs)


@lambda_proxy.post
def post_handler(*args, **kwargs):
    return _answer(kwargs)
"""

# Answers the raw envelope a function could send, bypassing Tight's response builder.
RAW = """
import time

import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy


@lambda_proxy.get
def get_handler(*args, **kwargs):
    return {"statusCode": 200}


class Raw:
    def dispatch(self, event, context, name):
        mode = (event.get("queryStringParameters") or {}).get("mode")
        if mode == "raise":
            raise RuntimeError("boom")
        if mode == "malformed":
            return {"statusCode": "teapot", "body": {"not": "a string"}}
        if mode == "sleep":
            time.sleep(10)
        return {"statusCode": 200, "body": "ok"}


_controller_for = lambda_proxy.controller_for
lambda_proxy.controller_for = lambda m: Raw() if m == __name__ else _controller_for(m)
"""


def run(*command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=cwd, capture_output=True, text=True
    )


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


def make_app(folder: Path, api: str) -> Path:
    functions = [
        ("generate_function", f"name={name}", "methods=get,post") for name in ("echo", "raw")
    ]
    root = scaffold(folder, "shop", *functions)
    (root / "app/functions/echo/handler.py").write_text(ECHO)
    (root / "app/functions/raw/handler.py").write_text(RAW)
    settings = yaml.safe_load((root / "tight.yml").read_text())
    settings.update(
        api=api,
        function={"timeout": 2},
        functions={
            "echo": {"routes": ["/echo", "/echo/{id}", "/files/{proxy+}"]},
            "raw": {"routes": ["/raw"]},
        },
    )
    (root / "tight.yml").write_text(yaml.safe_dump(settings))
    (root / "env.dist.yml").write_text("GREETING: hello\n")
    (root / "env.yml").write_text("GREETING: hi\n")
    return root


class Served:
    def __init__(self, root: Path, port: int, console: Path) -> None:
        self.root, self.port, self.console = root, port, console

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    def json(self, method: str, path: str, **kwargs: object) -> tuple[int, dict]:
        status, _, body = self.request(method, path, **kwargs)  # type: ignore[arg-type]
        return status, json.loads(body)

    def output(self) -> str:
        return self.console.read_text()

    def output_with(self, text: str, bound: float = 30.0) -> str:
        """The console once it shows ``text``: a worker's lines reach it through the server,
        after the answer may have (a condition waited on, with a generous bound)."""
        deadline = time.monotonic() + bound
        while text not in (shown := self.output()) and time.monotonic() < deadline:
            time.sleep(0.05)
        return shown


@contextmanager
def serving(root: Path) -> Iterator[Served]:
    port = free_port()
    console = root.parent / f"console-{port}.txt"
    with console.open("w") as out:
        process = subprocess.Popen(
            [str(BIN / "doit"), "serve", f"port={port}"], cwd=root, stdout=out, stderr=out
        )
        try:
            wait_for_port(port)
            yield Served(root, port, console)
        finally:
            process.terminate()
            process.wait(timeout=30)
    deadline = time.monotonic() + 5
    while worker_pids(root) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert worker_pids(root) == [], "a worker outlived the server"


def headers_named(headers: list[tuple[str, str]], name: str) -> list[str]:
    return [v for k, v in headers if k.lower() == name.lower()]


def assert_shaped_like(event: dict, sample: dict, optional: set[str]) -> None:
    """The same keys as AWS's sample (but those only an authorizer or mTLS adds)."""
    assert set(sample) - optional <= set(event), set(sample) - set(event)
    assert set(event) <= set(sample), set(event) - set(sample)
    context, sample_context = event["requestContext"], sample["requestContext"]
    missing = set(sample_context) - {"authorizer", "authentication"} - set(context)
    assert not missing, missing


def test_a_rest_app_gets_rest_events_and_answers(workdir):
    root = make_app(workdir, "rest")
    with serving(root) as api:
        status, headers, raw = api.request(
            "GET", "/echo/7?tag=a&tag=b&q=x", headers={"Cookie": "s=1", "X-Twice": "1"}
        )
        assert status == 200, raw
        answer = json.loads(raw)
        event = answer["event"]
        assert_shaped_like(
            event, json.loads((SAMPLES / "apigw_rest_proxy.json").read_text()), set()
        )
        assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "q": ["x"]}
        assert event["queryStringParameters"] == {"tag": "b", "q": "x"}
        assert event["multiValueHeaders"]["X-Twice"] == ["1"]
        assert event["pathParameters"] == {"id": "7"}
        assert event["resource"] == "/echo/{id}"
        context = event["requestContext"]
        assert context["stage"] == "dev" and context["identity"]["sourceIp"] == "127.0.0.1"
        assert context["requestId"] and context["path"] == "/dev/echo/7"
        # Lambda's environment, env.yml over env.dist.yml, the function's timeout
        assert answer["env"] == {"AWS_LAMBDA_FUNCTION_NAME": "shop-dev-echo", "GREETING": "hi"}
        assert 0 < answer["remaining"] <= 2000
        # the answer: several Set-Cookie lines and multi-value headers
        assert headers_named(headers, "Set-Cookie") == ["a=1; Path=/", "b=2; HttpOnly"]
        assert headers_named(headers, "X-Multi") == ["a", "b"]
        assert headers_named(headers, "X-One") == ["1"]
        # greedy paths; warm module state in the same process
        status, again = api.json("GET", "/files/a/b.txt")
        assert again["event"]["pathParameters"] == {"proxy": "a/b.txt"}
        assert again["calls"] == 2 and again["pid"] == answer["pid"]
        # binary both ways
        status, _, raw = api.request(
            "POST", "/echo", body=b"\x00\x01\xfe", headers={"Content-Type": "image/png"}
        )
        posted = json.loads(raw)
        assert posted["event"]["isBase64Encoded"] is True and posted["raw"] == "0001fe"
        # a base64 answer is bytes when the caller's first Accept type is a binary media
        # type (image/* by default), else the base64 text, as from the deployed REST API
        assert api.request("GET", "/echo?answer=binary", headers={"Accept": "image/png"})[2] == (
            b"\x00\xffPNG"
        )
        assert api.request("GET", "/echo?answer=binary")[2] == b"AP9QTkc="
        # a text type arrives as text
        status, _, raw = api.request(
            "POST", "/echo", body=b"plain", headers={"Content-Type": "application/x-thing"}
        )
        assert json.loads(raw)["event"]["isBase64Encoded"] is False
        # an unknown route, and a CORS preflight the API answers itself (cors: '*')
        assert api.json("GET", "/nowhere") == (403, {"message": "Missing Authentication Token"})
        status, headers, _ = api.request(
            "OPTIONS",
            "/echo/1",
            headers={"Origin": "http://x", "Access-Control-Request-Method": "GET"},
        )
        assert status == 200 and headers_named(headers, "Access-Control-Allow-Origin") == ["*"]
        assert "GET" in headers_named(headers, "Access-Control-Allow-Methods")[0]
    console = api.output()
    assert "GET /echo/7 -> echo 200" in console and "cold" in console and "warm" in console
    assert "/files/{proxy+}  -> echo" in console


def test_an_http_app_gets_http_api_events_and_answers(workdir):
    root = make_app(workdir, "http")
    with serving(root) as api:
        status, headers, raw = api.request(
            "GET", "/echo/7?tag=a&tag=b", headers={"Cookie": "s=1; t=2", "X-Twice": "1"}
        )
        assert status == 200, raw
        event = json.loads(raw)["event"]
        sample = json.loads((SAMPLES / "apigw_http_v2.json").read_text())
        assert_shaped_like(event, sample, {"stageVariables"})
        assert event["cookies"] == ["s=1", "t=2"] and "cookie" not in event["headers"]
        assert event["rawQueryString"] == "tag=a&tag=b"
        assert event["queryStringParameters"] == {"tag": "a,b"}
        assert event["routeKey"] == "GET /echo/{id}" and event["pathParameters"] == {"id": "7"}
        assert event["requestContext"]["http"]["sourceIp"] == "127.0.0.1"
        assert headers_named(headers, "Set-Cookie") == ["a=1; Path=/", "b=2; HttpOnly"]
        assert headers_named(headers, "X-Multi") == ["a,b"]
        assert api.json("GET", "/nowhere") == (404, {"message": "Not Found"})
        status, headers, _ = api.request(
            "OPTIONS",
            "/echo",
            headers={"Origin": "http://x", "Access-Control-Request-Method": "POST"},
        )
        assert status == 204 and headers_named(headers, "Access-Control-Allow-Origin") == ["*"]


def test_raise_malformed_and_timeout_are_502_and_the_worker_restarts(workdir):
    root = make_app(workdir, "rest")
    with serving(root) as api:
        bad = (502, {"message": "Internal server error"})
        assert api.json("GET", "/raw?mode=raise") == bad
        assert api.json("GET", "/raw?mode=malformed") == bad
        started = time.monotonic()
        assert api.json("GET", "/raw?mode=sleep") == bad
        # Stopped at the function's 2 s timeout, long before its 10 s sleep would end (the
        # margin is wide: a loaded machine must not fail this).
        assert time.monotonic() - started < 9
        assert api.request("GET", "/raw")[2] == b"ok"  # a fresh worker
    console = api.output()
    assert "raised RuntimeError: boom" in console
    assert "malformed response" in console and "timeout" in console


def test_an_edit_is_live_a_syntax_error_is_a_500_and_the_fix_works(workdir):
    root = make_app(workdir, "rest")
    handler = root / "app/functions/echo/handler.py"
    with serving(root) as api:
        first = api.json("GET", "/echo")[1]
        raw_pid = api.request("GET", "/raw")  # a warm worker that must stay warm
        assert raw_pid[0] == 200
        handler.write_text(ECHO.replace('"version": "one"', '"version": "two"'))
        second = api.json("GET", "/echo")[1]
        assert second["version"] == "two" and second["calls"] == 1
        assert second["pid"] != first["pid"]
        handler.write_text(ECHO + "\ndef broken(:\n")
        status, answer = api.json("GET", "/echo")
        assert status == 500 and answer["error"] == "Internal Server Error"
        assert "SyntaxError" in api.output_with("SyntaxError")
        handler.write_text(ECHO.replace('"version": "one"', '"version": "three"'))
        assert api.json("GET", "/echo")[1]["version"] == "three"
        assert api.request("GET", "/raw")[0] == 200
        (root / "env.yml").write_text("GREETING: hey\n")
        assert api.json("GET", "/echo")[1]["env"]["GREETING"] == "hey"
        assert api.request("GET", "/raw")[0] == 200
    raw_lines = [line for line in api.output().splitlines() if line.startswith("GET /raw ")]
    # echo's edits left raw warm; env.yml (every function's input) restarted it
    assert [line.rsplit(" ", 1)[1] for line in raw_lines] == ["cold", "warm", "cold"]


def test_a_port_in_use_is_one_error_line(workdir):
    import socket

    root = make_app(workdir, "rest")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run("doit", "serve", f"port={port}", cwd=root)
    assert done.returncode != 0
    assert f"error: port {port} is in use on 127.0.0.1" in done.stderr


NOTE_MODEL = """
from tight.models import Model, String


class Note(Model):
    hash_key = "id"
    id = String()
    text = String()
"""

NOTES = """
import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy
from app.models.note import Note


@lambda_proxy.post
def post_handler(*args, **kwargs):
    body = kwargs["event"]["body"]
    return {"statusCode": 201, "body": Note(id=body["id"], text=body["text"]).save().to_dict()}


@lambda_proxy.get
def get_handler(*args, **kwargs):
    return {"statusCode": 200, "body": Note.get(kwargs["request"].path_params["id"]).to_dict()}
"""


def test_models_reach_the_local_dynamodb_dynamo_start_runs(workdir, monkeypatch):
    for key in ("AWS_ENDPOINT_URL", "TIGHT_DYNAMO_ENDPOINT"):
        monkeypatch.delenv(key, raising=False)
    root = make_app(workdir, "rest")
    (root / "app/models/note.py").write_text(NOTE_MODEL)
    assert (
        run("doit", "generate_function", "name=notes", "methods=get,post", cwd=root).returncode == 0
    )
    (root / "app/functions/notes/handler.py").write_text(NOTES)
    port = free_port()
    command = f"{sys.executable} -m moto.server -H 127.0.0.1 -p {{port}}"
    with (root / "tight.yml").open("a") as settings:
        settings.write(f"dynamo:\n  backend: command\n  port: {port}\n  command: {command}\n")
    started = run("doit", "dynamo_start", cwd=root)
    assert started.returncode == 0, started.stderr
    try:
        with serving(root) as api:
            note = {"id": "n1", "text": "local"}
            status, _ = api.json(
                "POST", "/notes", body=json.dumps(note).encode(),
                headers={"Content-Type": "application/json"},
            )  # fmt: skip
            assert status == 201
            assert api.json("GET", "/notes/n1") == (200, note)
        assert f"models use the local DynamoDB at http://127.0.0.1:{port}" in api.output()
        import boto3

        client = boto3.client(
            "dynamodb", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
            aws_access_key_id="local", aws_secret_access_key="local",
        )  # fmt: skip
        items = client.scan(TableName="shop-dev-note")["Items"]
        assert items == [{"id": {"S": "n1"}, "text": {"S": "local"}}]
    finally:
        run("doit", "dynamo_stop", cwd=root)


def test_ctrl_c_stops_the_server_and_every_worker(workdir):
    """Ctrl-C (SIGINT, as a terminal sends it) ends the server cleanly: no traceback, and
    none of its warm workers left running."""
    import signal

    root = make_app(workdir, "rest")
    port = free_port()
    console = root.parent / f"console-{port}.txt"
    with console.open("w") as out:
        process = subprocess.Popen(
            [str(BIN / "doit"), "serve", f"port={port}"], cwd=root, stdout=out, stderr=out
        )
        try:
            wait_for_port(port)
            api = Served(root, port, console)
            assert api.request("GET", "/echo")[0] == 200
            assert api.request("GET", "/raw")[0] == 200
            assert len(worker_pids(root)) == 2
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    deadline = time.monotonic() + 10
    while worker_pids(root) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert worker_pids(root) == []
    assert "Traceback" not in console.read_text()


def test_past_the_apis_own_limit_is_a_504_and_the_worker_restarts(workdir, monkeypatch):
    """API Gateway stops waiting after 29 s whatever the function's timeout: its 504. The
    limit is lowered here (and the function's timeout kept above it) so the test takes a
    second, through the same LocalApi and real worker process ``doit serve`` uses."""
    import io

    from tight_tasks import serve

    root = make_app(workdir, "rest")
    monkeypatch.setattr(serve, "INTEGRATION_LIMIT", 1)
    console = io.StringIO()
    api = serve.LocalApi(root, "dev", out=console)
    try:
        request = serve.HttpRequest("GET", "/raw?mode=sleep", [], b"", "127.0.0.1")
        started = time.monotonic()
        answer, function, _ = api.handle(request)
        assert time.monotonic() - started < 1.9  # the function's own 2 s timeout came later
        assert (answer.status, json.loads(answer.body), function) == (
            504,
            {"message": "Endpoint request timed out"},
            "raw",
        )
        answer, _, temperature = api.handle(serve.HttpRequest("GET", "/raw", [], b"", "x"))
        assert (answer.status, answer.body, temperature) == (200, b"ok", "cold")
    finally:
        api.stop()


def test_cors_with_several_origins_and_many_kept_alive_connections(workdir):
    """An HTTP API names the calling origin when it is one of several allowed (and nothing
    for another); and more kept-alive connections than the server's first threads are all
    answered at once (its pool grows)."""
    import threading

    root = make_app(workdir, "http")
    settings = yaml.safe_load((root / "tight.yml").read_text())
    settings["cors"] = {"allow_origin": ["http://a.test", "http://b.test"]}
    (root / "tight.yml").write_text(yaml.safe_dump(settings))
    with serving(root) as api:
        asked = {"Access-Control-Request-Method": "POST"}
        for origin, allowed in (("http://b.test", ["http://b.test"]), ("http://c.test", [])):
            status, headers, _ = api.request(
                "OPTIONS", "/echo", headers={"Origin": origin, **asked}
            )
            assert status == 204
            assert headers_named(headers, "Access-Control-Allow-Origin") == allowed
        status, headers, _ = api.request("GET", "/echo", headers={"Origin": "http://a.test"})
        assert status == 200
        assert headers_named(headers, "Access-Control-Allow-Origin") == ["http://a.test"]

        connections = [
            http.client.HTTPConnection("127.0.0.1", api.port, timeout=30) for _ in range(9)
        ]
        try:
            for connection in connections:  # each holds a server thread from now on
                connection.request("GET", "/raw")
                assert connection.getresponse().read() == b"ok"
            answers: list[bytes] = []

            def again(connection: http.client.HTTPConnection) -> None:
                connection.request("GET", "/raw")
                answers.append(connection.getresponse().read())

            threads = [threading.Thread(target=again, args=(c,)) for c in connections]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
            assert answers == [b"ok"] * len(connections)
        finally:
            for connection in connections:
                connection.close()


HELPED = """
import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy
from app.shared import helpers


@lambda_proxy.get
def get_handler(*args, **kwargs):
    return {"statusCode": 200, "body": {"value": helpers.VALUE}}
"""


def test_edits_to_helper_modules_and_new_functions_are_live_at_once(workdir):
    """A module the handler imports from a folder made while serving, edited in place
    and then replaced by a rename (as editors save), and a function added while serving:
    each is live on the very next request."""
    root = make_app(workdir, "rest")
    with serving(root) as api:
        assert api.json("GET", "/echo")[0] == 200
        (root / "app/shared").mkdir()
        (root / "app/shared/__init__.py").write_text("")
        (root / "app/shared/helpers.py").write_text('VALUE = "one"\n')
        (root / "app/functions/echo/handler.py").write_text(HELPED)
        assert api.json("GET", "/echo") == (200, {"value": "one"})
        (root / "app/shared/helpers.py").write_text('VALUE = "two"\n')
        assert api.json("GET", "/echo") == (200, {"value": "two"})
        (root / "app/shared/helpers.tmp").write_text('VALUE = "three"\n')
        (root / "app/shared/helpers.tmp").rename(root / "app/shared/helpers.py")
        assert api.json("GET", "/echo") == (200, {"value": "three"})
        assert api.json("GET", "/extra")[0] == 403
        done = run("doit", "generate_function", "name=extra", "methods=get", cwd=root)
        assert done.returncode == 0, done.stderr
        assert api.request("GET", "/extra")[0] == 200


def test_changes_sees_each_kind_of_save_once(tmp_path):
    """The one-read check ``doit serve`` makes before each request: quiet until a watched
    folder changes (a write, a touch, a rename onto a file, a new file), then quiet again."""
    import os

    from tight_tasks.watch import Changes

    folder = tmp_path / "app"
    folder.mkdir()
    module = folder / "helpers.py"
    module.write_text("A = 1\n")
    if not sys.platform.startswith("linux"):
        pytest.skip("inotify is Linux's; elsewhere every request compares the files' times")
    changes = Changes()
    try:
        assert changes.fd is not None
        changes.watch([str(module)])
        assert not changes.quiet()  # nothing is known before the first look
        assert changes.quiet()
        for save in (
            lambda: module.write_text("A = 2\n"),
            lambda: os.utime(module, (1, 1)),
            lambda: (folder / "new.tmp").write_text("A = 3\n"),
            lambda: (folder / "new.tmp").rename(module),
        ):
            save()
            assert not changes.quiet()
            assert changes.quiet()
        module.read_text()  # reading changes nothing
        assert changes.quiet()
    finally:
        changes.close()


def test_the_request_parser_answers_bad_input_as_http_says(workdir):
    """doit serve reads the request line and headers itself (not through ``email``): over a
    raw socket, each malformed request gets its status and the server goes on; a request
    that expects 100-continue gets it before its body; HTTP/1.0 closes the connection."""
    import io
    import socket
    import threading

    from tight_tasks import serve

    root = make_app(workdir, "rest")
    api = serve.LocalApi(root, "dev", out=io.StringIO())
    server = serve.make_server(api, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]

    def exchange(raw: bytes, then: bytes = b"") -> bytes:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
            connection.sendall(raw)
            if then:
                assert connection.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n")
                connection.sendall(then)
            connection.shutdown(socket.SHUT_WR)
            received = b""
            while chunk := connection.recv(65536):
                received += chunk
            return received

    def status(raw: bytes) -> int:
        return int(exchange(raw).split(b" ", 2)[1])

    try:
        assert status(b"NONSENSE\r\n\r\n") == 400
        assert status(b"GET /raw HTTP/2.0\r\n\r\n") == 505
        assert status(b"GET /raw HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n") == 400
        assert status(b"GET /raw HTTP/1.1\r\nno colon\r\n\r\n") == 400
        many = b"".join(b"X-%d: 1\r\n" % n for n in range(101))
        assert status(b"GET /raw HTTP/1.1\r\n" + many + b"\r\n") == 431
        assert status(b"GET /raw HTTP/1.1\r\nX: " + b"a" * 70000 + b"\r\n\r\n") == 431
        assert status(b"POST /echo HTTP/1.1\r\nContent-Length: ten\r\n\r\n") == 400
        chunked = b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        assert status(chunked) == 501
        body = b'{"a": 1}'
        answer = exchange(
            b"POST /echo HTTP/1.1\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body),
            then=body,
        )
        head, _, payload = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and json.loads(payload)["raw"] == body.hex()
        # HTTP/1.0 without keep-alive: one answer, then the server closes (exchange's read
        # ends), and two header lines of one name both reach the event.
        answer = exchange(b"GET /echo HTTP/1.0\r\nX-Twice: 1\r\nX-Twice: 2\r\n\r\n")
        event = json.loads(answer.partition(b"\r\n\r\n")[2])["event"]
        assert event["multiValueHeaders"]["X-Twice"] == ["1", "2"]
        assert status(b"GET /raw HTTP/1.1\r\nConnection: close\r\n\r\n") == 200  # still serving
    finally:
        server.server_close()
        api.stop()
