"""``python demo/run.py [--keep FOLDER]`` (``make demo``): Tight end to end.

The apps are built in temporary folders and kept, when the demo is done, in
``build/demo-app`` and ``build/demo-notes-app`` (or under ``--keep``), so you can look at
what was built. Not part of the installed toolkit: it runs from a checkout.

1. Scaffolds an app, two HTTP functions and an SQS consumer with the real ``tight`` and
   ``doit`` commands, runs the app's generated tests, vendors the runtime, and invokes each
   function with events of each kind exactly as Lambda would
   (``app_index.<function>(event, context)`` in an isolated interpreter): the SQS consumer
   gets a batch with one poisoned message, and only that one is reported failed.
2. Edits the handlers as a user would (errors, CORS from tight.yml, the caller from the
   authorizer) and prints one request -> response line per event.
3. Starts a local DynamoDB, serves a function backed by a model through it, records
   that function's test against it and replays it offline (``recording.py``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import recording  # demo/recording.py: Python puts the script's folder on sys.path

ROOT = Path(__file__).resolve().parent.parent

ITEMS_HANDLER = """\
import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy
from tight.errors import NotFound

ITEMS = {"1": {"id": "1", "name": "teapot"}}


@lambda_proxy.get
def get_handler(*args, **kwargs):
    item_id = kwargs["request"].path_params.get("id")
    if item_id is None:
        return {"statusCode": 200, "body": sorted(ITEMS.values(), key=lambda i: i["id"])}
    if item_id not in ITEMS:
        raise NotFound(f"no item {item_id}")
    return {"statusCode": 200, "body": ITEMS[item_id]}


@lambda_proxy.post
def post_handler(*args, **kwargs):
    event = kwargs.pop("event")
    item = dict(event["body"], id=str(len(ITEMS) + 1))
    ITEMS[item["id"]] = item
    return {"statusCode": 201, "body": item, "headers": {"Location": "/items/" + item["id"]}}


@lambda_proxy.delete
def delete_handler(*args, **kwargs):
    raise RuntimeError("the storage password is hunter2")  # a bug: no caller may see this
"""

HELLO_HANDLER = """\
import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy


@lambda_proxy.get
def get_handler(*args, **kwargs):
    who = kwargs["request"].query.get("name", "world")
    return {"statusCode": 200, "body": {"hello": who, "caller": kwargs["principal_id"]}}
"""

APP_INDEX = """\
from app.vendored.tight.providers.aws.lambda_app import app as app
app.run()
"""

TIGHT_YML = f"""\
name: demo-app
provider: aws
runtime: python{sys.version_info[0]}.{sys.version_info[1]}
architecture: x86_64
stage: dev
cors:
  allow_origin: "https://demo.example"
vendor_dir: app/vendored
functions:
  orders:
    sqs: {{queue: orders, batch_size: 10, fifo: false}}
"""

# Runs in the app folder in an isolated interpreter, as Lambda imports app_index.
INVOKER = """
import json, sys
sys.path.insert(0, ".")
import app_index

class Context:
    function_name = "demo"

    def __init__(self, request_id):
        self.aws_request_id = request_id

# Each invocation has its own Lambda request id (here the event's), as the log shows it.
for name, kind, event in json.load(sys.stdin):
    request_id = (event.get("requestContext") or {}).get("requestId") or "demo-request"
    print(json.dumps(getattr(app_index, name)(event, Context(request_id))))
"""


def sample_events() -> list[tuple[str, str, dict[str, object]]]:
    """(function, kind, event) for every request the demo sends."""
    rest_get: dict[str, object] = {
        "resource": "/items/{id}",
        "path": "/items/1",
        "httpMethod": "GET",
        "headers": {"Accept": "application/json"},
        "multiValueHeaders": {"Accept": ["application/json"]},
        "queryStringParameters": None,
        "pathParameters": {"id": "1"},
        "requestContext": {
            "requestId": "rest-1",
            "stage": "dev",
            "authorizer": {"claims": {"sub": "user-7"}},
        },
        "body": None,
        "isBase64Encoded": False,
    }
    rest_missing = dict(rest_get, path="/items/9", pathParameters={"id": "9"})
    rest_put = dict(rest_get, httpMethod="PUT")
    rest_delete = dict(rest_get, httpMethod="DELETE", requestContext={"requestId": "rest-2"})
    rest_hello = dict(rest_get, path="/hello", resource="/hello", pathParameters=None)
    http_post: dict[str, object] = {
        "version": "2.0",
        "routeKey": "POST /items",
        "rawPath": "/items",
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {
            "requestId": "http-1",
            "http": {"method": "POST", "path": "/items", "sourceIp": "127.0.0.1"},
            "authorizer": {"jwt": {"claims": {"sub": "user-8"}, "scopes": []}},
        },
        "body": json.dumps({"name": "kettle"}),
        "isBase64Encoded": False,
    }
    http_bad = dict(http_post, body="{not json")
    alb: dict[str, object] = {
        "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:demo"}},
        "httpMethod": "GET",
        "path": "/hello",
        "queryStringParameters": {"name": "ALB%20user"},
        "headers": {"host": "demo.example"},
        "body": "",
        "isBase64Encoded": False,
    }
    alb_multi: dict[str, object] = {
        "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:demo"}},
        "httpMethod": "GET",
        "path": "/hello",
        "multiValueQueryStringParameters": {"name": ["multi"]},
        "multiValueHeaders": {"host": ["demo.example"]},
        "body": "",
        "isBase64Encoded": False,
    }
    url_context = {
        "requestId": "url-1",
        "domainName": "abc.lambda-url.us-east-1.on.aws",
        "http": {"method": "GET", "path": "/hello", "sourceIp": "127.0.0.1"},
    }
    url_get: dict[str, object] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/hello",
        "rawQueryString": "name=url",
        "headers": {"host": "abc.lambda-url.us-east-1.on.aws"},
        "requestContext": url_context,
        "isBase64Encoded": False,
    }
    url_preflight = dict(
        url_get,
        headers={"origin": "https://demo.example", "access-control-request-method": "GET"},
        requestContext=dict(url_context, http={"method": "OPTIONS", "path": "/hello"}),
    )
    return [
        ("items", "rest", rest_get),
        ("items", "rest", rest_missing),
        ("items", "rest", rest_put),
        ("items", "rest", rest_delete),
        ("items", "http", http_post),
        ("items", "http", http_bad),
        ("hello", "rest", rest_hello),
        ("hello", "alb", alb),
        ("hello", "alb", alb_multi),
        ("hello", "url", url_get),
        ("hello", "url", url_preflight),
    ]


def command(*args: str, cwd: Path) -> str:
    """Run a real tight/doit command from this environment, echo it, return its stdout."""
    print(f"  $ {' '.join(args)}")
    executable = Path(sys.executable).parent / args[0]
    completed = subprocess.run(
        [str(executable), *args[1:]], cwd=cwd, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{completed.stdout}{completed.stderr}")
    return completed.stdout


def build_and_unzip(root: Path, folder: Path) -> Path:
    """`doit artifact` (it locks and vendors first), then the zip unpacked as Lambda would."""
    output = command("doit", "artifact", cwd=root)
    for line in output.splitlines():
        if "sha256" in line or "zipped" in line:
            print(f"    {line.strip()}")
    shutil.rmtree(folder, ignore_errors=True)
    with zipfile.ZipFile(root / "build" / "demo-app.zip") as archive:
        archive.extractall(folder)
    return folder


def scaffold(folder: Path) -> Path:
    """Stage 1's app, made with the real commands; returns its root."""
    command("tight", "generate_app", "name=demo-app", cwd=folder)
    root = folder / "demo-app"
    command("doit", "generate_function", "name=items", "methods=get,post,delete", cwd=root)
    command("doit", "generate_function", "name=hello", cwd=root)
    command("doit", "generate_function", "name=orders", "trigger=sqs", cwd=root)
    summary = [line for line in command("doit", "test", cwd=root).splitlines() if line.strip()]
    print(f"    {summary[-1].strip('= ')}")
    return root


def edit_app(root: Path) -> None:
    """Stage 2: the handlers a user might write, and CORS for one origin in tight.yml."""
    for name, source in (("items", ITEMS_HANDLER), ("hello", HELLO_HANDLER)):
        (root / "app" / "functions" / name / "handler.py").write_text(source)
    (root / "tight.yml").write_text(TIGHT_YML)


def invoke(root: Path, events: list[tuple[str, str, dict[str, object]]]) -> list[dict[str, object]]:
    """Each event through app_index in an isolated interpreter (-I), as Lambda would."""
    completed = subprocess.run(
        [sys.executable, "-I", "-S", "-c", INVOKER],  # the stdlib and the unzipped app only
        cwd=root,
        input=json.dumps(events),
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(completed.stderr)
    return [json.loads(line) for line in completed.stdout.splitlines() if line.strip()]


def scaffolded_events() -> list[tuple[str, str, dict[str, object]]]:
    from tight.testing.events import make_event

    events: list[tuple[str, str, dict[str, object]]] = []
    for kind in ("rest", "http", "alb", "url"):
        events.append(("hello", kind, make_event("GET", "/hello", kind=kind)))
        events.append(("items", kind, make_event("POST", "/items", body={"n": 1}, kind=kind)))
    return events


def show(events: list[tuple[str, str, dict[str, object]]], lines: list[dict[str, Any]]) -> int:
    """Print request -> response pairs and the runtime's log lines; 1 if any went missing."""
    answers = [line for line in lines if "statusCode" in line]
    logs = [line for line in lines if "level" in line]
    for (name, kind, event), response in zip(events, answers, strict=False):
        headers = response.get("headers") or {
            k: v[-1] for k, v in response.get("multiValueHeaders", {}).items()
        }
        cors = {k: v for k, v in headers.items() if k.startswith("Access-Control")}
        print(f"  app_index.{name:<5} {describe(kind, event)}")
        print(f"     -> {response['statusCode']} {response['body'] or cors}")
    said = "the runtime logged:" if logs else "the runtime logged nothing"
    print(f"  {len(answers)} requests answered; {said}")
    for entry in logs:
        print(f"     {entry['level']} {entry['message']} (request {entry['request_id']})")
    return 0 if len(answers) == len(events) else 1


def poisoned_batch() -> dict[str, Any]:
    """Three SQS messages for app_index.orders, the second not JSON: as AWS sends them."""
    from tight.testing.events import sqs

    return sqs(bodies=[{"order": 1}, "{not json", {"order": 3}], queue="orders")


def show_batch(event: dict[str, Any], lines: list[dict[str, Any]]) -> int:
    """Print each message and whether it came back failed; 1 unless only the poisoned one
    did (the others are deleted from the queue, that one is retried)."""
    answers = [line for line in lines if "batchItemFailures" in line]
    if len(answers) != 1:
        print(f"  no batchItemFailures answer: {lines}")
        return 1
    failures = answers[0]["batchItemFailures"]
    reported = {failure["itemIdentifier"] for failure in failures}
    for record in event["Records"]:
        verdict = "reported failed: retried" if record["messageId"] in reported else "done"
        print(f"  message {record['messageId'][:8]} {record['body']!r:<14} -> {verdict}")
    print(f"  app_index.orders answered {json.dumps(answers[0])}")
    for entry in (line for line in lines if "level" in line):
        fields = ", ".join(
            f"{key}={entry[key]}"
            for key in ("message_id", "record_id", "error_type")
            if key in entry
        )
        print(f"     {entry['level']} {entry['message']} ({fields})")
    poisoned = event["Records"][1]["messageId"]
    return 0 if reported == {poisoned} else 1


def describe(kind: str, event: dict[str, object]) -> str:
    if kind in ("http", "url"):
        context = event["requestContext"]
        assert isinstance(context, dict)
        method, path = context["http"]["method"], event["rawPath"]
    else:
        method, path = event["httpMethod"], event["path"]
    body = event.get("body")
    return f"{kind:<4} {method} {path}" + (f" {body}" if body else "")


def keep(app: Path, where: Path) -> Path:
    """Copy the app the demo built to ``where`` (replacing an earlier demo's copy), without
    the local DynamoDB the app installed for itself."""
    shutil.rmtree(where, ignore_errors=True)
    where.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(app, where, ignore=shutil.ignore_patterns(".tight", "__pycache__"))
    return where


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--keep", type=Path, default=ROOT / "build", help="where to keep the apps (build/)"
    )
    kept = parser.parse_args(argv).keep.resolve()
    # One line at a time, so the steps show in order beside the commands' own output.
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory(prefix="tight-demo-") as folder:
        print(
            "stage 1: scaffold an app, two HTTP functions and an SQS consumer; test, build, invoke"
        )
        root = scaffold(Path(folder))
        unzipped = build_and_unzip(root, Path(folder) / "unzipped")
        print("  invoked from the unzipped artifact in an isolated interpreter:")
        events = scaffolded_events()
        if show(events, invoke(unzipped, events)):
            return 1
        print("  an SQS batch of three messages to app_index.orders, the second poisoned:")
        batch = poisoned_batch()
        if show_batch(batch, invoke(unzipped, [("orders", "sqs", batch)])):
            return 1
        print("\nstage 2: edit the handlers (errors, CORS in tight.yml, the caller), rebuild")
        edit_app(root)
        unzipped = build_and_unzip(root, Path(folder) / "unzipped")
        events = sample_events()
        if show(events, invoke(unzipped, events)):
            return 1
        app = keep(root, kept / "demo-app")
    print()
    with tempfile.TemporaryDirectory(prefix="tight-demo-") as folder:
        code, notes = recording.main(Path(folder))
        notes_app = keep(notes, kept / "demo-notes-app")
    print()
    print(f"the apps are kept in {display(app)} and {display(notes_app)}:")
    print(f"  cd {display(app)} && doit list")
    return code


def display(path: Path) -> str:
    """``path`` relative to the current folder when it is under it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
