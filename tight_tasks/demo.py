"""``python -m tight_tasks.demo``: Tight end to end on a sample app built in a temporary folder.

Writes an app (``app_index.py``, ``tight.yml`` and two functions), vendors the tight runtime
and its share of ``tight.yml`` into it the way a build does, then calls
``app_index.<function>(event, context)`` in an isolated interpreter exactly as Lambda
would, with events of each kind Tight serves, and prints one request -> response line each.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import tight
from tight_tasks import demo_recording
from tight_tasks.config import write_runtime_config

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

TIGHT_YML = """\
name: demo_app
stage: dev
cors:
  allow_origin: "https://demo.example"
"""

# Runs in the app folder in an isolated interpreter, as Lambda imports app_index.
INVOKER = """
import json, sys
sys.path.insert(0, ".")
import app_index

class Context:
    aws_request_id = "demo-request"
    function_name = "demo"

for name, kind, event in json.load(sys.stdin):
    print(json.dumps(getattr(app_index, name)(event, Context())))
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


def build_app(root: Path) -> None:
    """Write the sample app and vendor this tight runtime into it, as a build would."""
    for name, source in (("items", ITEMS_HANDLER), ("hello", HELLO_HANDLER)):
        folder = root / "app" / "functions" / name
        folder.mkdir(parents=True)
        (folder / "handler.py").write_text(source)
    (root / "app_index.py").write_text(APP_INDEX)
    (root / "tight.yml").write_text(TIGHT_YML)
    shutil.copytree(
        Path(tight.__file__).parent,
        root / "app" / "vendored" / "tight",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    write_runtime_config(root)  # tight.yml's CORS settings, as the JSON the runtime reads


def describe(kind: str, event: dict[str, object]) -> str:
    if kind in ("http", "url"):
        context = event["requestContext"]
        assert isinstance(context, dict)
        method, path = context["http"]["method"], event["rawPath"]
    else:
        method, path = event["httpMethod"], event["path"]
    body = event.get("body")
    return f"{kind:<4} {method} {path}" + (f" {body}" if body else "")


def main() -> int:
    print("stage 1: a sample app's functions, invoked as Lambda invokes them")
    with tempfile.TemporaryDirectory(prefix="tight-demo-") as folder:
        root = Path(folder) / "demo_app"
        root.mkdir()
        build_app(root)
        print(f"built a sample app in {root} with functions: hello, items\n")
        events = sample_events()
        # -I: an isolated interpreter, like Lambda's, that sees only the app folder.
        completed = subprocess.run(
            [sys.executable, "-I", "-c", INVOKER],
            cwd=root,
            input=json.dumps(events),
            capture_output=True,
            text=True,
            check=False,
        )
    if completed.returncode != 0:
        print(completed.stderr, file=sys.stderr)
        return 1
    lines = [json.loads(line) for line in completed.stdout.splitlines() if line.strip()]
    answers = [line for line in lines if "statusCode" in line]
    logs = [line for line in lines if "level" in line]
    for (name, kind, event), response in zip(events, answers, strict=False):
        headers = response.get("headers") or {
            k: v[-1] for k, v in response.get("multiValueHeaders", {}).items()
        }
        cors = {k: v for k, v in headers.items() if k.startswith("Access-Control")}
        print(f"app_index.{name:<5} {describe(kind, event)}")
        print(f"   -> {response['statusCode']} {response['body'] or cors}")
    print(f"\n{len(answers)} requests answered; the runtime logged:")
    for entry in logs:
        print(f"   {entry['level']} {entry['message']} (request {entry['request_id']})")
    if len(answers) != len(events):
        return 1
    print()
    with tempfile.TemporaryDirectory(prefix="tight-demo-") as folder:
        return demo_recording.main(Path(folder) / "notes_app")


if __name__ == "__main__":
    sys.exit(main())
