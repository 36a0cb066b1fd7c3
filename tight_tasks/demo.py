"""``python -m tight_tasks.demo``: Tight end to end on a sample app built in a temporary folder.

Writes an app (``app_index.py`` and two functions), vendors the tight runtime into it the
way a build does, then calls ``app_index.<function>(event, context)`` exactly as Lambda
would, with events of each kind Tight serves, and prints one request -> response line each.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import tight

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


def sample_events() -> list[tuple[str, str, dict[str, object]]]:
    """(function, kind, event) for every request the demo sends."""
    rest_get = {
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
    rest_missing = json.loads(json.dumps(rest_get))
    rest_missing["path"] = "/items/9"
    rest_missing["pathParameters"] = {"id": "9"}
    http_post = {
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
    alb_get = {
        "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:demo"}},
        "httpMethod": "GET",
        "path": "/hello",
        "queryStringParameters": {"name": "ALB%20user"},
        "headers": {"host": "demo.example"},
        "body": "",
        "isBase64Encoded": False,
    }
    alb_multi = {
        "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:demo"}},
        "httpMethod": "GET",
        "path": "/hello",
        "multiValueQueryStringParameters": {"name": ["multi"]},
        "multiValueHeaders": {"host": ["demo.example"]},
        "body": "",
        "isBase64Encoded": False,
    }
    url_get = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/hello",
        "rawQueryString": "name=url",
        "headers": {"host": "abc.lambda-url.us-east-1.on.aws"},
        "requestContext": {
            "requestId": "url-1",
            "domainName": "abc.lambda-url.us-east-1.on.aws",
            "http": {"method": "GET", "path": "/hello", "sourceIp": "127.0.0.1"},
        },
        "isBase64Encoded": False,
    }
    rest_delete = dict(rest_get, httpMethod="DELETE")
    return [
        ("items", "rest", rest_get),
        ("items", "rest", rest_missing),
        ("items", "rest", rest_delete),
        ("items", "http", http_post),
        ("items", "http", http_bad),
        ("hello", "alb", alb_get),
        ("hello", "alb", alb_multi),
        ("hello", "url", url_get),
    ]


def build_app(root: Path) -> None:
    """Write the sample app and vendor this tight runtime into it, as a build would."""
    for name, source in (("items", ITEMS_HANDLER), ("hello", HELLO_HANDLER)):
        folder = root / "app" / "functions" / name
        folder.mkdir(parents=True)
        (folder / "handler.py").write_text(source)
    (root / "app_index.py").write_text(APP_INDEX)
    runtime = Path(tight.__file__).parent
    shutil.copytree(
        runtime, root / "app" / "vendored" / "tight", ignore=shutil.ignore_patterns("__pycache__")
    )


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
    with tempfile.TemporaryDirectory(prefix="tight-demo-") as folder:
        root = Path(folder) / "demo_app"
        root.mkdir()
        build_app(root)
        print(f"built a sample app in {root} with functions: hello, items\n")
        events = sample_events()
        invoker = textwrap.dedent(
            """
            import json, sys
            import app_index

            class Context:
                aws_request_id = "demo-request"
                function_name = "demo"

            for name, kind, event in json.load(sys.stdin):
                print(json.dumps(getattr(app_index, name)(event, Context())))
            """
        )
        # -I: an isolated interpreter, like Lambda's, that sees only the app folder.
        completed = subprocess.run(
            [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, '.'); {invoker}"],
            cwd=root,
            input=json.dumps(events),
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            print(completed.stderr, file=sys.stderr)
            return 1
        responses = [
            json.loads(line) for line in completed.stdout.splitlines() if line.startswith("{")
        ]
        logs = [
            line for line in completed.stdout.splitlines() if not line.startswith('{"statusCode')
        ]
        answers = [r for r in responses if "statusCode" in r]
        for (name, kind, event), response in zip(events, answers, strict=False):
            status = response["statusCode"]
            print(f"app_index.{name:<5} {describe(kind, event)}")
            print(f"   -> {status} {response['body']}")
        print(f"\n{len(answers)} requests answered; log lines written by the runtime: {len(logs)}")
        return 0 if len(answers) == len(events) else 1


if __name__ == "__main__":
    sys.exit(main())
