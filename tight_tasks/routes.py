"""The app's HTTP routes, as one table of plain rows: which method and path reach which
function, on which kind of API, and whether the API answers CORS preflights itself.

``doit template`` writes one API event per row, ``doit serve`` and ``doit openapi`` read the
same rows, so what is served locally is what is deployed. Routes come from tight.yml
``functions.<name>.routes`` (a list of paths such as ``/items/{id}`` or ``/files/{proxy+}``),
by default ``/<name>`` and ``/<name>/{id}``; each path gets one row per method the handler
module registers (read with ``ast`` by ``tight_tasks.functions.read_code``). Each row
carries who may call it (``tight_tasks.auth``): tight.yml ``functions.<name>.auth``, else
the app's ``auth``; a CORS preflight row is always open, as browsers send it without
credentials.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tight_tasks.errors import TightTaskError
from tight_tasks.functions import (
    Code,
    app_functions,
    camel,
    function_entry,
    function_trigger,
    read_code,
)

if TYPE_CHECKING:
    from tight.config import Cors
    from tight_tasks.auth import Auth

APIS = ("rest", "http")
MEDIA_TYPE = re.compile(r"^(\*|[\w.+-]+)/(\*|[\w.+-]+)$")
# What a REST API treats as binary unless tight.yml says otherwise (binary_media_types):
# the types no handler would read as text. An HTTP API needs no list: it base64-encodes
# every body whose type is not text.
BINARY_MEDIA_TYPES = (
    "application/octet-stream",
    "application/pdf",
    "application/zip",
    "application/gzip",
    "image/*",
    "audio/*",
    "video/*",
    "font/*",
)


@dataclass(frozen=True)
class Route:
    """One method on one path, answered by one function."""

    method: str  # "GET", "POST", ...
    path: str  # "/items/{id}", "/files/{proxy+}"
    function: str  # the folder name under app/functions
    event: str  # the name of its event in the function's SAM Events, unique per function
    api: str  # "rest" (API Gateway REST API) or "http" (API Gateway HTTP API)
    cors: bool  # the API answers this path's CORS preflights itself (see api_cors)
    auth: Auth | None = None  # who may call it (tight_tasks.auth); None: open
    # The API's name for its authorizer (``JwtAuthorizer``, ``AWS_IAM``...), one per auth
    # across the table: the template's and the OpenAPI document's names are the same.
    authorizer: str | None = None


def api_kind(settings: dict[str, Any]) -> str:
    """tight.yml ``api``: "rest" (the default) or "http"."""
    return str(settings.get("api") or "rest")


def binary_media_types(settings: dict[str, Any]) -> list[str]:
    """tight.yml ``binary_media_types``: the content types a REST API passes to functions
    base64-encoded, and turns back into bytes in answers when the caller's first Accept
    type is one of them (``*`` matches any type or subtype)."""
    return list(settings.get("binary_media_types") or BINARY_MEDIA_TYPES)


def is_binary(content_type: str | None, types: list[str]) -> bool:
    """True when ``content_type`` (parameters aside) is one of ``types``."""
    if not content_type:
        return False
    kind, _, sub = content_type.split(";")[0].strip().lower().partition("/")
    for pattern in types:
        want_kind, _, want_sub = pattern.lower().partition("/")
        if want_kind in ("*", kind) and want_sub in ("*", sub):
            return True
    return False


def cors_setting(settings: dict[str, Any]) -> Cors | None:
    """tight.yml ``cors`` read with the runtime's own rules (None when not set)."""
    from tight.config import ConfigError, Cors

    try:
        return Cors.from_value(settings.get("cors"))
    except ConfigError as error:
        raise TightTaskError(f"{error} (in tight.yml)") from None


def api_cors(settings: dict[str, Any]) -> Cors | None:
    """The CORS the API itself applies, answering preflights before any function runs;
    None when there is none, or when the functions answer their own preflights: a REST
    API's preflight answers one origin, so with several the ``OPTIONS`` requests go to
    the functions, which answer the caller's origin when it is allowed."""
    cors = cors_setting(settings)
    if cors is not None and api_kind(settings) == "rest" and len(cors.allow_origins) > 1:
        return None
    return cors


def event_names(function: str, pairs: list[tuple[str, str]]) -> list[str]:
    """The SAM event name of each (method, path) of one function, unique within it.

    The name is the pair in CamelCase (``GET /items/{id}`` -> ``GetItemsId``); pairs whose
    names would be equal (``/items/{id}`` and ``/items/id``) each get a digest of the exact
    pair appended, so two routes never collapse into one event.
    """
    plain = [camel(f"{method.lower()} {path}") for method, path in pairs]
    names = [
        name + hashlib.sha256(f"{m} {p}".encode()).hexdigest()[:8]
        if plain.count(name) > 1
        else name
        for name, (m, p) in zip(plain, pairs, strict=True)
    ]
    if len(set(names)) != len(names):  # a digest equal to another route's name: unheard of
        raise TightTaskError(
            f"functions.{function}.routes in tight.yml: two routes get the same event name; "
            "rename one of the paths"
        )
    return names


def with_head(methods: list[str], api: str) -> list[str]:
    """A REST API answers only the methods it has (HEAD on a GET-only resource is a 403),
    so where the module registers GET and no HEAD, HEAD gets its own row: the runtime runs
    the GET handler and drops the body."""
    if api == "rest" and "GET" in methods and "HEAD" not in methods:
        return [*methods, "HEAD"]
    return methods


def function_routes(
    name: str,
    entry: dict[str, Any],
    methods: list[str],
    settings: dict[str, Any],
    auth: Auth | None = None,
) -> list[Route]:
    """The rows of one HTTP function: each of its paths times each method it registers."""
    paths = entry.get("routes", [f"/{name}", f"/{name}/{{id}}"])
    if not isinstance(paths, list) or not all(
        isinstance(p, str) and p.startswith("/") for p in paths
    ):
        raise TightTaskError(
            f"functions.{name}.routes in tight.yml must be a list of paths starting with /"
        )
    api = api_kind(settings)
    methods = with_head(methods, api)
    gateway_cors = api_cors(settings) is not None
    if api == "rest" and not gateway_cors and settings.get("cors"):
        methods = [*methods, "OPTIONS"] if "OPTIONS" not in methods else methods
    elif gateway_cors:
        methods = [m for m in methods if m != "OPTIONS"]  # the API answers preflights
    pairs = list(dict.fromkeys((method, path) for path in paths for method in methods))
    auth = auth if auth is not None and not auth.is_open else None
    return [
        Route(method, path, name, event, api, gateway_cors, None if method == "OPTIONS" else auth)
        for (method, path), event in zip(pairs, event_names(name, pairs), strict=True)
    ]


def routes(
    root: Path, settings: dict[str, Any], codes: Mapping[str, Code] | None = None
) -> list[Route]:
    """Every HTTP route of the app at ``root``, by function name, then in tight.yml's
    order of paths and the handler module's order of methods.

    ``codes`` are the functions' code already read (``read_code``), to read each once.
    Two functions may not answer the same method on the same path.
    """
    from tight.config import ConfigError
    from tight_tasks.auth import route_auth

    table: list[Route] = []
    owners: dict[tuple[str, str], str] = {}
    names = app_functions(root, settings)
    if codes is None or any(name not in codes for name in names):
        codes = {
            name: codes[name] if codes and name in codes else read_code(root, name)
            for name in names
        }
    authorizers = {name for name in names if codes[name].kind == "authorizer"}
    for name in names:
        code = codes[name]
        entry = function_entry(settings, name)
        if function_trigger(name, entry, code) or code.kind != "http":
            if "auth" in entry:
                raise TightTaskError(
                    f"functions.{name}.auth in tight.yml: {name} serves no HTTP routes, so no "
                    "caller reaches it through the API; remove its auth"
                )
            continue
        try:
            auth = route_auth(settings, name, api_kind(settings), authorizers)
        except ConfigError as error:
            raise TightTaskError(str(error)) from None
        for route in function_routes(name, entry, code.methods, settings, auth):
            other = owners.setdefault((route.method, route.path), name)
            if other != name:
                raise TightTaskError(
                    f"{route.method} {route.path} is a route of functions {other} and {name}; "
                    f"one request reaches one function: change functions.{name}.routes in "
                    "tight.yml"
                )
            table.append(route)
    return named_authorizers(table)


def named_authorizers(table: list[Route]) -> list[Route]:
    """The rows with their authorizer's name (``tight_tasks.auth.authorizer_names``)."""
    from dataclasses import replace

    from tight_tasks.auth import authorizer_names

    names = authorizer_names([row.auth for row in table if row.auth is not None])
    return [
        row
        if row.auth is None
        else replace(
            row, authorizer="AWS_IAM" if row.auth.kind == "iam" else names[row.auth.authorizer]
        )
        for row in table
    ]
