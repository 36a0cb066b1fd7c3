"""``doit openapi``: one OpenAPI 3.1 document for the whole app, in build/openapi.json.

Paths and methods come from the route table (``tight_tasks.routes``) that ``doit template``
deploys and ``doit serve`` serves; what each handler takes and answers comes from its
annotations, read by ``tight_tasks.describe`` in a process of its own, as JSON Schema of the
same shapes the runtime checks (``tight.typed``); summaries from the docstrings; who may
call each route from ``security_for``. ``doit serve`` answers ``GET /openapi.json`` with the
same document, and ``doit template`` puts it on a REST API with ``api_definition: true``.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tight_tasks.errors import TightTaskError, as_action
from tight_tasks.files import write_atomic

DOCUMENT = "build/openapi.json"
OPENAPI_VERSION = "3.1.0"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


# API Gateway REST APIs import OpenAPI 2.0 and 3.0, not 3.1 (and their models are JSON
# Schema draft 4): what doit template attaches is the document said in 3.0's words.
API_GATEWAY_OPENAPI = "3.0.1"


def as_openapi_30(document: dict[str, Any]) -> dict[str, Any]:
    """The 3.1 document in OpenAPI 3.0's words: ``nullable`` instead of a ``null`` type,
    boolean ``exclusiveMinimum``/``exclusiveMaximum`` beside the bound they make strict."""

    def convert(node: Any) -> Any:
        if isinstance(node, list):
            return [convert(item) for item in node]
        if not isinstance(node, dict):
            return node
        options = node.get("anyOf")
        nullable = isinstance(options, list) and {"type": "null"} in options
        if isinstance(options, list) and nullable:
            rest = [option for option in options if option != {"type": "null"}]
            node = {key: value for key, value in node.items() if key != "anyOf"}
            if len(rest) == 1 and "$ref" not in rest[0]:
                node.update(rest[0])
            else:
                node["allOf" if len(rest) == 1 else "anyOf"] = rest
        node = {key: convert(value) for key, value in node.items()}
        if nullable:
            node["nullable"] = True
        elif node.get("type") == "null":
            del node["type"]
            node["nullable"] = True
            node["enum"] = [None]
        for strict, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
            value = node.get(strict)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                node[bound], node[strict] = value, True
        return node

    converted = convert(document)
    converted["openapi"] = API_GATEWAY_OPENAPI
    # Who may call each route is wired by the template's authorizers (SAM's Auth), which
    # SAM writes into the definition itself: the document's own schemes would clash.
    for operations in converted.get("paths", {}).values():
        for operation in operations.values():
            operation.pop("security", None)
    converted.get("components", {}).pop("securitySchemes", None)
    return dict(converted)


def security_for(route: Any) -> list[dict[str, list[str]]] | None:
    """The OpenAPI ``security`` of one route, from tight.yml's auth on it (None: say
    nothing, the route is open), named as the template names its authorizer.

    A route with OAuth scopes passes a token that carries any one of them (API Gateway's
    rule), while OpenAPI requires every scope listed in one requirement: so each scope is
    a requirement of its own, and OpenAPI's list of requirements is the "any one of"."""
    if route.auth is None or not route.authorizer:
        return None
    if not route.auth.scopes:
        return [{route.authorizer: []}]
    return [{route.authorizer: [scope]} for scope in route.auth.scopes]


def security_scheme(auth: Any) -> dict[str, Any]:
    """How a client authenticates to one of ``tight_tasks.auth``'s kinds, in OpenAPI words."""
    if auth.is_token:  # jwt, cognito: the issuer's OpenID discovery document says it all
        openid = auth.issuer.rstrip("/") + "/.well-known/openid-configuration"
        scheme: dict[str, Any] = {"type": "openIdConnect", "openIdConnectUrl": openid}
        if auth.audience:
            scheme["description"] = "a JWT for audience " + ", ".join(auth.audience)
        return scheme
    if auth.kind == "iam":
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "AWS Signature Version 4 (IAM), service execute-api",
            "x-amazon-apigateway-authtype": "awsSigv4",
        }
    return {
        "type": "apiKey",
        "in": "header",
        "name": auth.headers[0],
        "description": f"checked by the Lambda authorizer {auth.function} "
        f"(headers: {', '.join(auth.headers)})",
    }


def security_schemes(routes: list[Any]) -> dict[str, Any]:
    """``components.securitySchemes`` the routes' ``security`` names."""
    found = {
        route.authorizer: security_scheme(route.auth)
        for route in routes
        if route.auth is not None and route.authorizer
    }
    return dict(sorted(found.items()))


def describe_functions(root: Path, settings: dict[str, Any], functions: list[str]) -> Any:
    """Each function's handlers as ``tight_tasks.describe`` reads them (a subprocess)."""
    from tight_tasks import describe
    from tight_tasks.config import runtime_config

    if not functions:
        return {"functions": {}, "schemas": {}, "invalid": describe.INVALID_REQUEST}
    config = runtime_config(settings)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, describe.__file__, str(root), json.dumps(config), *functions],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    lines = result.stdout.strip().splitlines()
    try:
        found = json.loads(lines[-1]) if lines else None
    except ValueError:
        found = None
    if isinstance(found, dict) and "error" in found:
        raise TightTaskError(str(found["error"]))
    if result.returncode != 0 or not isinstance(found, dict):
        tail = result.stderr.strip().splitlines()[-1:] or ["no output"]
        raise TightTaskError(f"could not read the handlers' annotations: {tail[0]}")
    return found


def _path_names(path: str) -> list[str]:
    import re

    return re.findall(r"{([^}]+)}", path)


def operation(route: Any, handler: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI operation of one route, from its handler's description."""
    from tight.reasons import reason
    from tight_tasks.functions import camel

    op: dict[str, Any] = {"operationId": f"{camel(route.function)}{route.event}"}
    for key in ("summary", "description"):
        if key in handler:
            op[key] = handler[key]
    op["tags"] = [route.function]
    declared = {p["name"]: p for p in handler.get("parameters", []) if p["in"] == "path"}
    parameters = []
    for name in _path_names(route.path):
        schema = declared.get(name, {}).get("schema", {"type": "string"})
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    parameters += [p for p in handler.get("parameters", []) if p["in"] == "query"]
    if parameters:
        op["parameters"] = parameters
    if "body" in handler:
        op["requestBody"] = {
            "required": handler["body"]["required"],
            "content": {"application/json": {"schema": handler["body"]["schema"]}},
        }
    responses: dict[str, Any] = {}
    answer = handler.get("answer")
    if answer is not None:
        status = answer["status"]
        response: dict[str, Any] = {"description": reason(status)}
        if "schema" in answer:
            response["content"] = {"application/json": {"schema": answer["schema"]}}
        responses[str(status)] = response
    else:
        responses["default"] = {"description": "the handler's answer (not annotated)"}
    if handler.get("typed"):
        responses["422"] = {
            "description": "the request does not match what the handler takes",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/InvalidRequest"}}
            },
        }
    op["responses"] = responses
    security = security_for(route)
    if security is not None:
        op["security"] = security
    return op


def build_document(root: Path, settings: dict[str, Any]) -> dict[str, Any]:
    """The app's OpenAPI 3.1 document."""
    from tight_tasks.config import app_name
    from tight_tasks.routes import routes

    table = routes(root, settings)
    functions = list(dict.fromkeys(route.function for route in table))
    described = describe_functions(root, settings, functions)
    paths: dict[str, dict[str, Any]] = {}
    typed_anywhere = False
    for route in table:
        handler = described["functions"].get(route.function, {}).get(route.method)
        if handler is None:  # HEAD served by GET, a CORS preflight: not the module's own
            continue
        typed_anywhere = typed_anywhere or bool(handler.get("typed"))
        paths.setdefault(route.path, {})[route.method.lower()] = operation(route, handler)
    schemas = dict(sorted(described["schemas"].items()))
    if typed_anywhere:
        schemas["InvalidRequest"] = described["invalid"]
    components: dict[str, Any] = {}
    if schemas:
        components["schemas"] = schemas
    schemes = security_schemes(table)
    if schemes:
        components["securitySchemes"] = schemes
    ordered = {path: paths[path] for path in sorted(paths)}
    body = json.dumps([ordered, components], sort_keys=True).encode()
    document: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": app_name(root, settings),
            # The API's own version: changes exactly when the document's content does.
            "version": hashlib.sha256(body).hexdigest()[:12],
        },
        "paths": ordered,
    }
    if components:
        document["components"] = components
    return document


def write_document(root: Path, settings: dict[str, Any]) -> Path:
    """Write build/openapi.json whole (never half-written); return its path."""
    document = build_document(root, settings)
    return write_atomic(root / DOCUMENT, json.dumps(document, indent=2) + "\n")


_served: dict[Path, tuple[Any, Any]] = {}


def served_document(root: Path, settings: dict[str, Any]) -> tuple[int, Any]:
    """``doit serve``'s answer to ``GET /openapi.json``: the document, made again only when
    a file it is made from changed; a 500 naming the problem while the code has one."""
    stamp = [(name, (root / name).stat().st_mtime_ns) for name in document_inputs(root)]
    cached = _served.get(root)
    if cached is not None and cached[0] == stamp:
        return 200, cached[1]
    try:
        document = build_document(root, settings)
    except TightTaskError as error:
        return 500, {"error": "Internal Server Error", "message": f"doit openapi: {error}"}
    _served[root] = (stamp, document)
    return 200, document


def document_inputs(root: Path) -> list[str]:
    """Every file the document is made from: tight.yml and the app's own Python."""
    app = root / "app"
    files = [
        str(p.relative_to(root))
        for p in sorted(app.rglob("*.py"))
        if "vendored" not in p.relative_to(app).parts[:1]
    ]
    return ["tight.yml", *files]


def _openapi() -> None:
    from tight_tasks.config import find_app_root, load

    root = find_app_root()
    path = write_document(root, load(root))
    print(f"wrote {path.relative_to(root).as_posix()}")


def task_openapi() -> dict[str, Any]:
    """Write the app's OpenAPI 3.1 document to build/openapi.json, from its routes and handlers."""
    from tight_tasks.taskkit import settings_or_error

    root, settings, problem = settings_or_error()
    task: dict[str, Any] = {"actions": [(as_action(_openapi),)], "verbosity": 2}
    if settings is None or problem is not None or not (root / "app").is_dir():
        task["uptodate"] = [False]
        return task
    from doit.tools import config_changed

    from tight_tasks.resources import runtime_dir

    code = hashlib.sha256()
    for path in [
        Path(__file__),
        Path(__file__).with_name("describe.py"),
        runtime_dir() / "typed.py",
    ]:
        code.update(path.read_bytes())
    task["file_dep"] = document_inputs(root)
    task["targets"] = [DOCUMENT]
    task["uptodate"] = [config_changed(code.hexdigest())]  # a new Tight writes it anew
    return task
