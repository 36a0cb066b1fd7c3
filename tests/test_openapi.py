"""`doit openapi` on a real 20-function app: one valid OpenAPI 3.1 document from the route
table and the handlers' annotations, incremental, refusing bad annotations with one line;
`doit serve` serving it over a socket; the plugin failing a test whose answer is not what
the return annotation says."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from openapi_spec_validator import validate

from tight.testing.servers import free_port, wait_for_port

BIN = Path(sys.executable).parent

SHOP = '''
"""The shop's items."""

from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import Annotated, Literal, Optional, TypedDict

import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy
from tight.constraints import AllowExtra, Length, Pattern, Range, Status


class Color(Enum):
    RED = "red"
    BLUE = "blue"


@dataclass
class Size:
    width: Annotated[int, Range(ge=1)]
    height: Annotated[float, Range(gt=0, lt=10.5)]


@dataclass
class Item:
    """An item for sale."""

    name: Annotated[str, Length(min=1, max=80), Pattern("^[a-z]+$")]
    price: Annotated[Decimal, Range(ge=0)]
    color: Color
    size: Optional[Size] = None
    tags: Annotated[list[str], Length(max=5)] = field(default_factory=list)
    attributes: dict[str, int] = field(default_factory=dict)


class Search(TypedDict, total=False):
    limit: Annotated[int, Range(ge=1, le=100)]
    tag: list[str]
    sort: Literal["name", "price"]


class Labels(TypedDict):
    text: str


@lambda_proxy.get
def get_handler(id: int | None = None, query: Search | None = None, **kwargs) -> list[Item]:
    """List the items.

    Filtered by tag, sorted by name or price.
    """
    return [Item(name="pot", price=Decimal("1.5"), color=Color.RED)]


@lambda_proxy.post
def post_handler(body: Item, **kwargs) -> Annotated[Item, Status(201)]:
    """Add an item."""
    return {"statusCode": 201, "body": body}


@lambda_proxy.put
def put_handler(id: int, body: Annotated[Labels, AllowExtra()], **kwargs) -> None:
    """Label an item."""
'''

# Another module's own `Item`: the document keeps both, under two names.
OTHER = '''
from dataclasses import dataclass

import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy


@dataclass
class Item:
    code: str


@lambda_proxy.get
def get_handler(proxy: str, **kwargs) -> Item:
    """One file by path."""
    return Item(code="x" + proxy)
'''

PLAIN = '''
import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy


@lambda_proxy.get
def get_handler(*args, **kwargs):
    return {"statusCode": 200, "body": {"n": NUMBER}}


@lambda_proxy.delete
def delete_handler(*args, **kwargs):
    """Delete it."""
'''

WRONG_ANSWER_TEST = """
def test_the_answer(app, event, lambda_context):
    answer = app.files(event("GET", "/files/a", path_params={"proxy": "a"}), lambda_context)
    assert answer["statusCode"] == 200
"""


def run(*command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=cwd, capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An app with 20 HTTP functions: a typed one, one with a catch-all route, 18 plain."""
    folder = tmp_path_factory.mktemp("openapi")
    assert run("tight", "generate_app", "name=shop", cwd=folder).returncode == 0
    root = folder / "shop"
    functions = {"items": SHOP, "files": OTHER}
    functions.update({f"plain{n:02}": PLAIN.replace("NUMBER", str(n)) for n in range(18)})
    for name, source in functions.items():
        (root / "app/functions" / name).mkdir(parents=True)
        (root / "app/functions" / name / "handler.py").write_text(source)
    settings = yaml.safe_load((root / "tight.yml").read_text())
    settings["functions"] = {"files": {"routes": ["/files/{proxy+}"]}}
    (root / "tight.yml").write_text(yaml.safe_dump(settings))
    return root


@pytest.fixture
def env_cache(shop: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(shop.parent / "cache"))
    return shop


def document(root: Path) -> dict:
    return json.loads((root / "build/openapi.json").read_text())


def test_one_valid_document_for_twenty_functions(env_cache):
    root = env_cache
    done = run("doit", "openapi", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "wrote build/openapi.json" in done.stdout
    doc = document(root)
    validate(doc)
    assert doc["openapi"] == "3.1.0" and doc["info"]["title"] == "shop"
    assert len(doc["paths"]) == 2 * 18 + 2 + 1  # /<name> and /<name>/{id} each, one catch-all
    ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids)) == 18 * 4 + 3 * 2 + 1
    plain = doc["paths"]["/plain03/{id}"]
    assert set(plain) == {"get", "delete"}  # the module's own methods: no HEAD, no OPTIONS
    assert plain["delete"]["summary"] == "Delete it."
    assert plain["get"]["responses"] == {
        "default": {"description": "the handler's answer (not annotated)"}
    }
    assert plain["get"]["parameters"] == [
        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
    ]


def test_types_constraints_and_docstrings_become_json_schema(env_cache):
    root = env_cache
    if not (root / "build/openapi.json").exists():
        assert run("doit", "openapi", cwd=root).returncode == 0
    doc = document(root)
    schemas = doc["components"]["schemas"]
    # Functions are read in order of name: files' Item first, then the shop's.
    assert schemas["Item"]["properties"] == {"code": {"type": "string"}}
    assert schemas["Item2"] == {
        "type": "object",
        "title": "Item",
        "description": "An item for sale.",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 80, "pattern": "^[a-z]+$"},
            "price": {"type": "number", "minimum": 0},
            "color": {"enum": ["red", "blue"]},
            "size": {"anyOf": [{"$ref": "#/components/schemas/Size"}, {"type": "null"}]},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
            "attributes": {"type": "object", "additionalProperties": {"type": "integer"}},
        },
        "required": ["name", "price", "color"],
        "additionalProperties": False,
    }
    assert schemas["Size"]["properties"]["height"] == {
        "type": "number",
        "exclusiveMinimum": 0,
        "exclusiveMaximum": 10.5,
    }
    assert "additionalProperties" not in schemas["LabelsOpen"]
    listing = doc["paths"]["/items"]["get"]
    assert listing["summary"] == "List the items."
    assert listing["description"] == "Filtered by tag, sorted by name or price."
    assert [p["name"] for p in listing["parameters"]] == ["limit", "tag", "sort"]
    assert listing["parameters"][0]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100}
    assert listing["responses"]["200"]["content"]["application/json"]["schema"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/Item2"},
    }
    one = doc["paths"]["/items/{id}"]
    assert one["get"]["parameters"][0] == {
        "name": "id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer"},
    }
    assert set(one["put"]["responses"]) == {"204", "422"}
    assert "content" not in one["put"]["responses"]["204"]
    post = doc["paths"]["/items"]["post"]
    assert post["requestBody"]["required"] is True
    assert "201" in post["responses"]
    assert doc["paths"]["/files/{proxy+}"]["get"]["parameters"][0]["name"] == "proxy+"


def test_incremental_then_rebuilt_after_an_edit_and_a_bad_annotation_changes_nothing(env_cache):
    root = env_cache
    assert run("doit", "openapi", cwd=root).returncode == 0
    again = run("doit", "openapi", cwd=root)
    assert again.returncode == 0 and "-- openapi" in again.stdout  # up to date: skipped
    handler = root / "app/functions/plain00/handler.py"
    original = handler.read_text()
    try:
        handler.write_text(original.replace('"""Delete it."""', '"""Delete it for good."""'))
        assert run("doit", "openapi", cwd=root).returncode == 0
        assert document(root)["paths"]["/plain00"]["delete"]["summary"] == "Delete it for good."
        before = (root / "build/openapi.json").read_bytes()
        handler.write_text(original.replace("def delete_handler(", "def delete_handler(x: set, "))
        failed = run("doit", "openapi", cwd=root)
        assert failed.returncode != 0
        errors = [line for line in failed.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, failed.stderr
        assert "app/functions/plain00/handler.py" in errors[0]
        assert "parameter x: set is not a type Tight can check" in errors[0]
        assert "Traceback" not in failed.stderr
        assert (root / "build/openapi.json").read_bytes() == before
    finally:
        handler.write_text(original)


def test_serve_answers_openapi_json_and_says_what_an_answer_lacks_as_tests_do(env_cache):
    root = env_cache
    port = free_port()
    console = root.parent / "console.txt"
    handler = root / "app/functions/files/handler.py"
    original = handler.read_text()
    difference = (
        "get_handler in app.functions.files.handler answered what its return annotation does "
        "not describe: body/code: expected a string, got nothing; body/n: expected no such "
        "field (Item has: code), got 1"
    )
    test = root / "tests/test_wrong_answer.py"
    try:
        with console.open("w") as out:
            process = subprocess.Popen(
                [str(BIN / "doit"), "serve", f"port={port}"], cwd=root, stdout=out, stderr=out
            )
            try:
                wait_for_port(port)
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                connection.request("GET", "/openapi.json")
                response = connection.getresponse()
                served = json.loads(response.read())
                assert response.status == 200
                assert response.getheader("Content-Type") == "application/json"
                validate(served)
                assert set(served["paths"]) == set(document_now(root)["paths"])
                # The console's list of routes names it with the others.
                assert f"GET     http://127.0.0.1:{port}/openapi.json" in console.read_text()
                connection.request("GET", "/files/a%2Fb")
                response = connection.getresponse()
                assert (response.status, json.loads(response.read())) == (200, {"code": "xa/b"})
                # An edit whose answer the annotation does not describe: the console says how.
                handler.write_text(original.replace('Item(code="x" + proxy)', "{'n': 1}"))
                connection.request("GET", "/files/a")
                response = connection.getresponse()
                assert (response.status, json.loads(response.read())) == (200, {"n": 1})
                connection.close()
                deadline = time.monotonic() + 30
                while difference not in console.read_text() and time.monotonic() < deadline:
                    time.sleep(0.05)  # the worker's log reaches the console after the answer
                assert difference in console.read_text()
            finally:
                process.terminate()
                process.wait(timeout=30)

        # In the app's tests, the same answer fails the test, saying the same.
        test.write_text(WRONG_ANSWER_TEST)
        result = run("pytest", "-p", "no:cacheprovider", "tests/test_wrong_answer.py", cwd=root)
        assert result.returncode == 1, result.stdout + result.stderr
        assert difference in result.stdout
    finally:
        handler.write_text(original)
        test.unlink(missing_ok=True)


def document_now(root: Path) -> dict:
    assert run("doit", "openapi", cwd=root).returncode == 0
    return document(root)


def test_template_attaches_the_document_to_the_rest_api(env_cache):
    """api_definition: true puts the document, in OpenAPI 3.0's words (what API Gateway
    imports), on the REST API; SAM merges every route's integration into it."""
    from test_template import translate

    root = env_cache
    original = (root / "tight.yml").read_text()
    try:
        settings = yaml.safe_load(original)
        (root / "tight.yml").write_text(yaml.safe_dump({**settings, "api_definition": True}))
        done = run("doit", "template", cwd=root)
        assert done.returncode == 0, done.stdout + done.stderr
        template = yaml.safe_load((root / "build/template.yml").read_text())
        api = template["Resources"]["Api"]["Properties"]
        definition = api["DefinitionBody"]
        validate(definition)  # a valid OpenAPI 3.0 document
        assert definition["openapi"] == "3.0.1" == api["OpenApiVersion"]
        schemas = definition["components"]["schemas"]
        assert schemas["Size"]["properties"]["height"] == {
            "type": "number",
            "minimum": 0,
            "exclusiveMinimum": True,
            "maximum": 10.5,
            "exclusiveMaximum": True,
        }
        assert schemas["Item2"]["properties"]["size"] == {
            "allOf": [{"$ref": "#/components/schemas/Size"}],
            "nullable": True,
        }
        body = next(
            resource["Properties"]["Body"]
            for resource in translate(template)["Resources"].values()
            if resource["Type"] == "AWS::ApiGateway::RestApi"
        )
        operations = [(p, m, op) for p, ops in body["paths"].items() for m, op in ops.items()]
        # Each path's methods, HEAD and CORS's OPTIONS: 18 plain functions, items, files.
        assert len(operations) == 18 * 2 * 4 + 2 * 5 + 1 * 3
        assert all("x-amazon-apigateway-integration" in op for _, _, op in operations)
        assert body["paths"]["/items"]["post"]["summary"] == "Add an item."

        (root / "tight.yml").write_text(
            yaml.safe_dump({**settings, "api_definition": True, "api": "http"})
        )
        refused = run("doit", "template", cwd=root)
        assert refused.returncode != 0
        assert [line for line in refused.stderr.splitlines() if line.startswith("error:")] == [
            "error: api_definition in tight.yml attaches the OpenAPI document to a REST API; "
            "set api: rest, or remove api_definition (doit openapi still writes it)"
        ]
    finally:
        (root / "tight.yml").write_text(original)
