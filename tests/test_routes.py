"""The route table (tight_tasks.routes): the app's HTTP routes as rows, read without building
a template, and the template's API events written from exactly those rows; and the
template's up-to-date check, which follows the Tight that writes it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import yaml

import tight
import tight_tasks
from tight_tasks.config import validate
from tight_tasks.deploy import to_cloudformation
from tight_tasks.errors import TightTaskError
from tight_tasks.functions import camel
from tight_tasks.routes import Route, routes
from tight_tasks.template import RUNTIME_MODULES, TEMPLATE_MODULES, build_template

BIN = Path(sys.executable).parent

GET_POST = """
import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy


@lambda_proxy.get
def get_handler(*args, **kwargs):
    return {"statusCode": 200}


@lambda_proxy.post
def post_handler(*args, **kwargs):
    return {"statusCode": 201}
"""

GET = """
from tight.providers.aws.controllers.lambda_proxy_event import get


@get
def get_handler(*args, **kwargs):
    return {"statusCode": 200}
"""

QUEUE = """
import tight.providers.aws.controllers.sqs as sqs


@sqs.record
def on_message(*args, **kwargs):
    pass
"""


def make_app(root: Path, functions: dict[str, str]) -> Path:
    for name, source in functions.items():
        folder = root / "app/functions" / name
        folder.mkdir(parents=True)
        (folder / "handler.py").write_text(source)
    return root


def settings(**values: object) -> dict:
    return validate({"name": "shop", **values})


@pytest.fixture
def app(tmp_path):
    """items: GET and POST on the default /items and /items/{id}; files: GET on a greedy
    path; orders: a queue consumer, which has no routes."""
    return make_app(tmp_path, {"items": GET_POST, "files": GET, "orders": QUEUE})


FUNCTIONS = {"files": {"routes": ["/files/{proxy+}"]}, "orders": {"sqs": {"queue": "orders"}}}


def api_events(document: dict) -> dict[str, dict]:
    """Each function's API events, by function logical id."""
    found = {}
    for logical, resource in document["Resources"].items():
        events = resource.get("Properties", {}).get("Events", {})
        api = {k: e for k, e in events.items() if e["Type"] in ("Api", "HttpApi")}
        if api:
            found[logical] = api
    return found


def expected_events(table: list[Route]) -> dict[str, dict]:
    """The API events the rows call for, by function logical id."""
    expected: dict[str, dict] = {}
    for row in table:
        if row.api == "http":
            properties = {"ApiId": {"Ref": "HttpApi"}, "Path": row.path, "Method": row.method}
            event = {"Type": "HttpApi", "Properties": {**properties, "PayloadFormatVersion": "2.0"}}
        else:
            properties = {"RestApiId": {"Ref": "Api"}, "Path": row.path, "Method": row.method}
            event = {"Type": "Api", "Properties": properties}
        expected.setdefault(camel(row.function) + "Function", {})[row.event] = event
    return expected


def translate(document: dict) -> dict:
    locations = {"shop.zip": {"Bucket": "deploys", "Key": "shop/shop.zip"}}
    return to_cloudformation(document, locations, boto3.session.Session(region_name="us-east-1"))


def rest_paths(resources: dict) -> dict[str, set[str]]:
    (api,) = (r for r in resources.values() if r["Type"] == "AWS::ApiGateway::RestApi")
    return {path: set(methods) for path, methods in api["Properties"]["Body"]["paths"].items()}


def test_the_route_table_of_a_rest_app(app):
    table = routes(app, settings(functions=FUNCTIONS))
    assert table == [
        Route("GET", "/files/{proxy+}", "files", "GetFilesProxy", "rest", False),
        Route("HEAD", "/files/{proxy+}", "files", "HeadFilesProxy", "rest", False),
        Route("GET", "/items", "items", "GetItems", "rest", False),
        Route("POST", "/items", "items", "PostItems", "rest", False),
        Route("HEAD", "/items", "items", "HeadItems", "rest", False),
        Route("GET", "/items/{id}", "items", "GetItemsId", "rest", False),
        Route("POST", "/items/{id}", "items", "PostItemsId", "rest", False),
        Route("HEAD", "/items/{id}", "items", "HeadItemsId", "rest", False),
    ]  # a REST API answers HEAD only with a method of its own: the GET handler runs
    assert not (app / "build").exists()  # read from the code, no template built

    document = build_template(app, settings(functions=FUNCTIONS), "dev")
    assert api_events(document) == expected_events(table)
    # and AWS's translator makes each row a method of the REST API
    assert rest_paths(translate(document)["Resources"]) == {
        "/files/{proxy+}": {"get", "head"},
        "/items": {"get", "head", "post"},
        "/items/{id}": {"get", "head", "post"},
    }


def test_an_http_api_whose_gateway_answers_preflights(app):
    # An OPTIONS handler is left to the API, which answers preflights itself.
    (app / "app/functions/files/handler.py").write_text(
        GET.replace("import get", "import get, options")
        + "\n\n@options\ndef o(*a, **k):\n    pass\n"
    )
    values = {"api": "http", "cors": {"allow_origin": "https://a.example"}, "functions": FUNCTIONS}
    table = routes(app, settings(**values))
    assert [(r.method, r.path, r.api, r.cors) for r in table] == [
        ("GET", "/files/{proxy+}", "http", True),
        ("GET", "/items", "http", True),
        ("POST", "/items", "http", True),
        ("GET", "/items/{id}", "http", True),
        ("POST", "/items/{id}", "http", True),
    ]
    assert api_events(build_template(app, settings(**values), "dev")) == expected_events(table)


def test_a_rest_api_with_several_origins_sends_preflights_to_the_functions(app):
    values = {"cors": {"allow_origin": ["https://a.example", "https://b.example"]}}
    table = routes(app, settings(**values, functions=FUNCTIONS))
    assert {(r.method, r.path) for r in table if r.function == "items"} == {
        (method, path)
        for method in ("GET", "POST", "OPTIONS", "HEAD")
        for path in ("/items", "/items/{id}")
    }
    assert not any(r.cors for r in table)
    document = build_template(app, settings(**values, functions=FUNCTIONS), "dev")
    assert api_events(document) == expected_events(table)


def test_routes_whose_event_names_would_collide_stay_apart(tmp_path):
    """/items/{id} and /items/id, /items-export and /items/export: in CamelCase each pair is
    one name, and one event of the pair used to overwrite the other."""
    root = make_app(tmp_path, {"items": GET, "items_export": GET})
    paths = ["/items/{id}", "/items/id", "/items-export", "/items/export"]
    functions = {"items": {"routes": paths}, "items_export": {"routes": ["/items_export"]}}
    table = routes(root, settings(functions=functions))
    gets = [r for r in table if r.method == "GET"]  # each has its HEAD row too
    assert [(r.function, r.path) for r in gets] == [
        *(("items", path) for path in paths),
        ("items_export", "/items_export"),
    ]
    events = [r.event for r in gets if r.function == "items"]
    assert len(set(events)) == 4
    assert len({r.event for r in table if r.function == "items"}) == 8
    assert all(e.startswith(("GetItemsId", "GetItemsExport")) for e in events)
    assert gets[-1].event == "GetItemsExport"  # a name with no rival in its function stays

    document = build_template(root, settings(functions=functions), "dev")
    assert api_events(document) == expected_events(table)
    resources = translate(document)["Resources"]
    assert rest_paths(resources) == {path: {"get", "head"} for path in [*paths, "/items_export"]}
    permissions = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Permission"]
    assert len(permissions) == len(table)  # API Gateway may call each function on each route


def test_two_functions_on_one_route_is_an_error_naming_both(tmp_path):
    root = make_app(tmp_path, {"items": GET, "search": GET})
    functions = {"search": {"routes": ["/items/{id}", "/search"]}}
    with pytest.raises(
        TightTaskError, match=r"GET /items/\{id\} is a route of functions items and search"
    ):
        routes(root, settings(functions=functions))


# -- the template follows the Tight that writes it -------------------------------------------


def test_every_module_named_as_shaping_the_template_is_there():
    toolkit = Path(tight_tasks.__file__).parent
    assert all((toolkit / name).is_file() for name in TEMPLATE_MODULES)
    runtime = Path(tight.__file__).parent
    assert any(runtime.glob(pattern) for pattern in RUNTIME_MODULES)


def run_doit(root: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "doit", "template"], cwd=root, env=env, capture_output=True,
        text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_template_is_written_again_when_tight_changes(tmp_path):
    """A copy of Tight first on PYTHONPATH, edited between runs as an upgrade would."""
    site = tmp_path / "site"
    ignore = shutil.ignore_patterns("__pycache__")
    for package in (tight_tasks, tight):
        source = Path(package.__file__).parent
        shutil.copytree(source, site / source.name, ignore=ignore)
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"), PYTHONPATH=str(site))
    root = make_app(tmp_path / "shop", {"items": GET})
    (root / "tight.yml").write_text(yaml.safe_dump({"name": "shop"}))
    (root / "dodo.py").write_text("from tight_tasks import *  # noqa: F403\n")

    assert "wrote build/template.yml" in run_doit(root, env)
    assert "-- template" in run_doit(root, env)  # nothing changed: a no-op
    for edited in ("tight_tasks/routes.py", "tight_tasks/policies.py", "tight/config.py"):
        with (site / edited).open("a") as module:
            module.write("\n# another Tight\n")
        assert "wrote build/template.yml" in run_doit(root, env), edited
        assert "-- template" in run_doit(root, env), edited
    with (site / "tight_tasks/deploy.py").open("a") as module:  # shapes no template
        module.write("\n# another Tight\n")
    assert "-- template" in run_doit(root, env)
