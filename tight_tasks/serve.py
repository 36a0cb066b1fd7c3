"""``doit serve``: the app's HTTP API on 127.0.0.1, built from what ``doit template`` deploys.

The routes are ``tight_tasks.routes``'s table; each request becomes the event the configured
API (``api: rest`` or ``api: http``) would send, runs in a warm ``Worker`` of the function
(one per concurrent invocation, as Lambda's instances, up to its reserved concurrency) with
Lambda's environment and timeout, and its answer goes back as API Gateway
would send it (multi-value headers, cookies, base64 bodies decoded, 403/404 for an unknown
route, 502 for a raise, a malformed answer or a timeout). Before each request the files the
workers loaded are checked: a worker whose inputs changed restarts fresh; the others stay
warm. The server's console shows each request in one line, with the function's logs.
"""

from __future__ import annotations

import base64
import json
import re
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

from tight_tasks.errors import TightTaskError, as_action
from tight_tasks.taskkit import param
from tight_tasks.watch import Changes

if TYPE_CHECKING:
    from tight.config import Cors
    from tight_tasks.routes import Route
    from tight_tasks.worker import Worker

DEFAULT_PORT = "3000"
INTEGRATION_LIMIT = 29  # seconds API Gateway waits for a Lambda integration, then 504
ACCOUNT = "123456789012"
REGION = "us-east-1"
TEXT_TYPES = re.compile(
    r"^(text/.*|application/(json|xml|javascript|x-www-form-urlencoded|[\w.+-]*\+(json|xml)))$"
)
MESSAGES = {
    403: {"message": "Missing Authentication Token"},
    404: {"message": "Not Found"},
    502: {"message": "Internal server error"},
    504: {"message": "Endpoint request timed out"},
}


class NotInvoked(Exception):
    """An invocation ``LocalApi.call`` did not make (see its ``unless``)."""


class Malformed(Exception):
    """A function's answer that API Gateway cannot turn into an HTTP response."""


# -- settings ------------------------------------------------------------------------------
def local_dynamo(root: Path) -> str | None:
    """The endpoint of the DynamoDB ``doit dynamo_start`` runs for this app, if it runs."""
    from tight_tasks.dynamo import alive, read_state

    state = read_state(root)
    if state and state.get("endpoint") and state["pid"] and alive(state["pid"]):
        return str(state["endpoint"])
    return None


def lambda_environment(
    root: Path, settings: dict[str, Any], stage: str, function: str, dynamo: str | None
) -> dict[str, str]:
    """The worker's environment: this one, Lambda's variables, env.dist.yml under env.yml,
    and the local DynamoDB when one runs."""
    import os
    import uuid

    from tight_tasks.config import app_name
    from tight_tasks.env import DIST_FILE, ENV_FILE, read_env_file
    from tight_tasks.functions import DEFAULT_MEMORY, own_setting

    name = f"{app_name(root, settings)}-{stage}-{function}"
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or REGION
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(
                own_setting(settings, function, "memory_size", DEFAULT_MEMORY)
            ),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_python{sys.version_info[0]}.{sys.version_info[1]}",
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "LAMBDA_TASK_ROOT": str(root),
            "_HANDLER": f"app_index.{function}",
            "TIGHT_STAGE": stage,
            "TIGHT_APP": app_name(root, settings),
            "PYTHONDONTWRITEBYTECODE": "1",
            # Answers checked against handlers' return annotations (tight.typed), locally only.
            "TIGHT_CHECK_ANSWERS": "1",
        }
    )
    for file in (DIST_FILE, ENV_FILE):  # env.yml over env.dist.yml
        if (root / file).is_file():
            env.update({k: v for k, v in read_env_file(root / file).items() if v is not None})
    if dynamo:
        env["TIGHT_DYNAMO_ENDPOINT"] = dynamo
        env.setdefault("AWS_ACCESS_KEY_ID", "local")
        env.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    return env


# -- routes --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Match:
    route: Route
    params: dict[str, str]


def path_pattern(path: str) -> re.Pattern[str]:
    """``/items/{id}`` and ``/files/{proxy+}`` as a regular expression over a request path."""
    parts = []
    for piece in re.split(r"(\{[^}]+\})", path):
        if piece.startswith("{") and piece.endswith("+}"):
            parts.append(f"(?P<{piece[1:-2]}>.+)")
        elif piece.startswith("{"):
            parts.append(f"(?P<{piece[1:-1]}>[^/]+)")
        else:
            parts.append(re.escape(piece))
    return re.compile("^" + "".join(parts) + "/?$")


class RouteTable:
    """The routes of ``tight_tasks.routes``, most specific path first, as API Gateway
    chooses: literal paths before ``{id}``, before greedy ``{proxy+}``."""

    def __init__(self, table: list[Route]) -> None:
        self.routes = table

        def rank(route: Route) -> tuple[int, int, int]:
            return (route.path.count("+}"), route.path.count("{"), -len(route.path))

        self.patterns = [(r, path_pattern(r.path)) for r in sorted(table, key=rank)]

    def match(self, method: str, path: str) -> Match | None:
        for route, pattern in self.patterns:
            found = pattern.match(path)
            if found and route.method == method:
                return Match(route, {k: unquote(v) for k, v in found.groupdict().items()})
        return None

    def has_path(self, path: str) -> bool:
        return any(pattern.match(path) for _, pattern in self.patterns)


# -- events ----------------------------------------------------------------------------------
@dataclass
class HttpRequest:
    method: str
    target: str  # the path and query as sent
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str

    @property
    def path(self) -> str:
        return unquote(self.target.split("?", 1)[0])

    @property
    def raw_query(self) -> str:
        return self.target.split("?", 1)[1] if "?" in self.target else ""

    def __post_init__(self) -> None:
        self.by_name = {k.lower(): v for k, v in self.headers}  # the last of each name

    def header(self, name: str) -> str | None:
        return self.by_name.get(name.lower())


def encoded_body(request: HttpRequest, binary: list[str] | None = None) -> tuple[str | None, bool]:
    """The body as the API passes it: text, or base64 for a binary content type: one of
    ``binary`` for a REST API (its binary media types), any type but text for an HTTP
    API (``binary`` None)."""
    if not request.body:
        return None, False
    if binary is not None:
        from tight_tasks.routes import is_binary

        if is_binary(request.header("content-type"), binary):
            return base64.b64encode(request.body).decode(), True
        return request.body.decode("utf-8", errors="replace"), False
    kind = (request.header("content-type") or "").split(";")[0].strip().lower()
    if kind and TEXT_TYPES.match(kind):
        return request.body.decode("utf-8", errors="replace"), False
    if not kind:
        try:
            return request.body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(request.body).decode(), True


def rest_event(
    request: HttpRequest,
    match: Match,
    stage: str,
    request_id: str,
    host: str,
    binary: list[str] | None = None,
) -> dict[str, Any]:
    """What a REST API (payload 1.0) sends for this request."""
    headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in request.headers:
        headers[name] = value
        multi_headers.setdefault(name, []).append(value)
    query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for name, value in parse_qsl(request.raw_query, keep_blank_values=True):
        query[name] = value
        multi_query.setdefault(name, []).append(value)
    from tight_tasks.routes import BINARY_MEDIA_TYPES

    body, is_base64 = encoded_body(request, list(BINARY_MEDIA_TYPES) if binary is None else binary)
    now = time.time()
    context = {
        "accountId": ACCOUNT,
        "apiId": "local",
        "domainName": host,
        "domainPrefix": host.split(".")[0].split(":")[0],
        "extendedRequestId": request_id,
        "httpMethod": request.method,
        "identity": {
            "accessKey": None,
            "accountId": None,
            "caller": None,
            "cognitoAuthenticationProvider": None,
            "cognitoAuthenticationType": None,
            "cognitoIdentityId": None,
            "cognitoIdentityPoolId": None,
            "principalOrgId": None,
            "sourceIp": request.source_ip,
            "user": None,
            "userAgent": request.header("user-agent"),
            "userArn": None,
        },
        "path": f"/{stage}{request.path}",
        "protocol": "HTTP/1.1",
        "requestId": request_id,
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "requestTimeEpoch": int(now * 1000),
        "resourceId": "local",
        "resourcePath": match.route.path,
        "stage": stage,
    }
    return {
        "resource": match.route.path,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": match.params or None,
        "stageVariables": None,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": is_base64,
    }


def http_event(request: HttpRequest, match: Match, request_id: str, host: str) -> dict[str, Any]:
    """What an HTTP API (payload 2.0, its ``$default`` stage as SAM deploys it) sends."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        key = name.lower()
        if key == "cookie":
            cookies += [c.strip() for c in value.split(";") if c.strip()]
        else:
            headers[key] = f"{headers[key]},{value}" if key in headers else value
    query: dict[str, str] = {}
    for name, value in parse_qsl(request.raw_query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    body, is_base64 = encoded_body(request)
    now = time.time()
    route_key = f"{match.route.method} {match.route.path}"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.path,
        "rawQueryString": request.raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "local",
            "domainName": host,
            "domainPrefix": host.split(".")[0].split(":")[0],
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": "HTTP/1.1",
                "sourceIp": request.source_ip,
                "userAgent": request.header("user-agent") or "",
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": is_base64,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if match.params:
        event["pathParameters"] = match.params
    if body is not None:
        event["body"] = body
    return event


# -- answers -------------------------------------------------------------------------------
@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def json_answer(status: int, body: Any, headers: list[tuple[str, str]] | None = None) -> Answer:
    return Answer(
        status,
        [("Content-Type", "application/json"), *(headers or [])],
        json.dumps(body, separators=(",", ":")).encode(),
    )


def _status(result: dict[str, Any]) -> int:
    status = result.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise Malformed(f"statusCode {status!r} is not an HTTP status")
    return status


def _body(result: dict[str, Any], decode: bool = True) -> bytes:
    body = result.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise Malformed(f"body is a {type(body).__name__}, not a string")
    if result.get("isBase64Encoded") and decode:
        try:
            return base64.b64decode(body, validate=True)
        except ValueError:
            raise Malformed("isBase64Encoded is true but the body is not base64") from None
    return body.encode()


def _scalar_headers(value: Any) -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, dict) or any(isinstance(v, (dict, list)) for v in value.values()):
        raise Malformed("headers must map names to single values")
    return [(str(k), _text(v)) for k, v in value.items()]


def _text(value: Any) -> str:
    return json.dumps(value) if isinstance(value, bool) else str(value)


def rest_answer(result: Any, accept: str | None = None, binary: list[str] | None = None) -> Answer:
    """A REST API's response to a proxy answer; ``Malformed`` when it would be a 502. A
    base64 body becomes bytes only when the caller's first Accept type is one of the
    binary media types (``binary``); otherwise the caller gets the base64 text, as from
    the deployed API."""
    from tight_tasks.routes import BINARY_MEDIA_TYPES, is_binary

    if not isinstance(result, dict):
        raise Malformed(f"the answer is a {type(result).__name__}, not an object")
    decode = bool(result.get("isBase64Encoded")) and is_binary(
        (accept or "").split(",")[0], list(BINARY_MEDIA_TYPES) if binary is None else binary
    )
    status, body = _status(result), _body(result, decode)
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(multi, dict) or not all(isinstance(v, list) for v in multi.values()):
        raise Malformed("multiValueHeaders must map names to lists of values")
    headers = [(str(k), _text(v)) for k, values in multi.items() for v in values]
    named = {k.lower() for k in multi}
    headers += [(k, v) for k, v in _scalar_headers(result.get("headers")) if k.lower() not in named]
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return Answer(status, headers, body)


def http_answer(result: Any) -> Answer:
    """An HTTP API's response (payload 2.0): an answer without ``statusCode`` is a 200 of
    its JSON; ``cookies`` become Set-Cookie lines."""
    if not isinstance(result, dict) or "statusCode" not in result:
        return json_answer(200, result)
    status, body = _status(result), _body(result)
    headers = _scalar_headers(result.get("headers"))
    cookies = result.get("cookies") or []
    if not isinstance(cookies, list):
        raise Malformed("cookies must be a list")
    headers += [("Set-Cookie", str(c)) for c in cookies]
    if body and not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", "text/plain; charset=utf-8"))
    return Answer(status, headers, body)


def preflight(cors: Cors, api: str, request: HttpRequest) -> Answer:
    """The API's own answer to a CORS preflight (SAM's Cors / CorsConfiguration)."""
    from tight_tasks.functions import HTTP_METHODS

    methods = ",".join(cors.allow_methods or (m.upper() for m in HTTP_METHODS))
    origin = request.header("origin")
    headers = [
        ("Access-Control-Allow-Methods", methods),
        ("Access-Control-Allow-Headers", ",".join(cors.allow_headers)),
        ("Access-Control-Max-Age", str(cors.max_age)),
    ]
    if "*" in cors.allow_origins:
        headers.append(("Access-Control-Allow-Origin", "*"))
    elif api == "rest":
        headers.append(("Access-Control-Allow-Origin", cors.allow_origins[0]))
    elif origin in cors.allow_origins:
        headers.append(("Access-Control-Allow-Origin", str(origin)))
    if cors.allow_credentials:
        headers.append(("Access-Control-Allow-Credentials", "true"))
    if api == "http" and cors.expose_headers:
        headers.append(("Access-Control-Expose-Headers", ",".join(cors.expose_headers)))
    return Answer(204 if api == "http" else 200, headers, b"")


# -- the local API -------------------------------------------------------------------------
# A function's instances at most under doit serve when it reserves no concurrency: Lambda
# starts one per concurrent invocation; each here is a process of its own.
LOCAL_CONCURRENCY = 10


class Instances:
    """One function's warm workers, as Lambda's instances of it: ``count`` made or being
    made, ``idle`` those free now, ``all`` of them (stopped with serve)."""

    def __init__(self) -> None:
        self.count = 0
        self.idle: list[Worker] = []
        self.all: list[Worker] = []
        self.turn = threading.Condition()


class LocalApi:
    """The app's routes and warm workers: ``handle`` answers one request."""

    def __init__(self, root: Path, stage: str, out: Any = None) -> None:
        self.root, self.stage = root, stage
        self.out = out or sys.stdout
        self.print_lock = threading.Lock()
        self.instances: dict[str, Instances] = {}  # each function's warm workers
        self.state_lock = threading.Lock()
        self.routes_stamp: Any = None
        self.settings: dict[str, Any] = {}
        self.table = RouteTable([])
        self.dynamo: str | None = None
        self.gate: Any = None  # tight_tasks.serve_auth's, made for the first guarded route
        self._shared: list[str] | None = None
        self._listed: int | None = -1
        self._handlers: list[str] = []
        self.stamped: frozenset[str] = frozenset()
        self.changes = Changes()
        self.moved = 0  # changes seen on disk (see look)
        self.routes_seen = -1
        self.api = "rest"
        self.cors: Cors | None = None
        self.binary: list[str] = []
        self.refresh()

    def say(self, text: str) -> None:
        with self.print_lock:
            self.out.write(text + "\n")
            self.out.flush()

    # -- settings and routes, read again when their files change --------------------------
    def _stamp(self) -> Any:
        """The times of the settings and of each function folder's handler.py (None while
        it has none). Taken before every request, so it is plain ``os`` calls on paths
        made once: no glob, no pathlib; the folder is listed again only when it changed."""
        import os

        from tight_tasks.worker import SHARED_INPUTS, _mtime

        if self._shared is None:
            self._shared = [os.path.join(self.root, name) for name in SHARED_INPUTS]
        functions = os.path.join(self.root, "app", "functions")
        listed = _mtime(functions)
        if listed != self._listed:
            try:
                with os.scandir(functions) as entries:
                    folders = sorted(entry.name for entry in entries if entry.is_dir())
            except OSError:
                folders = []
            self._listed = listed
            self._handlers = [os.path.join(functions, name, "handler.py") for name in folders]
            self.stamped = frozenset([functions, *self._shared, *self._handlers])
        return [listed] + [_mtime(p) for p in self._shared] + [_mtime(p) for p in self._handlers]

    def look(self) -> int:
        """The count of changes seen on disk so far: moved on when the watched folders
        changed since the last look (always, where they cannot be watched)."""
        with self.state_lock:
            if not self.changes.quiet():
                self.moved += 1
            return self.moved

    def refresh(self) -> bool:
        """Read tight.yml and the routes again when they changed; True when they did. A
        broken tight.yml or handler keeps the last good routes and says why."""
        from tight.config import ConfigError
        from tight_tasks.config import load
        from tight_tasks.routes import api_cors, api_kind, binary_media_types, routes

        moved = self.look()
        if moved == self.routes_seen:
            return False  # nothing changed on disk since the routes were last compared
        stamp = self._stamp()
        with self.state_lock:
            self.changes.watch(self.stamped)
        self.routes_seen = moved
        if stamp == self.routes_stamp:
            return False
        first = self.routes_stamp is None
        self.routes_stamp = stamp
        try:
            settings = load(self.root)
            table = routes(self.root, settings)
        except (TightTaskError, ConfigError) as error:
            if first:
                raise
            self.say(f"error: {error} (serving the routes as they were)")
            return False
        self.settings, self.table = settings, RouteTable(table)
        self.api, self.cors = api_kind(settings), api_cors(settings)
        self.binary = binary_media_types(settings)
        return True

    def limit(self, function: str) -> int:
        """How many instances of ``function`` may run at once: its reserved concurrency,
        else ``LOCAL_CONCURRENCY``."""
        from tight_tasks.functions import function_entry

        reserved = function_entry(self.settings, function).get("reserved_concurrency")
        return reserved if isinstance(reserved, int) else LOCAL_CONCURRENCY

    def take(self, function: str, unless: threading.Event | None = None) -> Worker:
        """An instance of ``function`` for one invocation: an idle one (the last used, the
        warmest), else a new one while fewer than its limit exist, else the first to come
        free. ``NotInvoked`` when ``unless`` is set by the time it has one."""
        with self.state_lock:
            instances = self.instances.setdefault(function, Instances())
        worker: Worker | None = None
        with instances.turn:
            while True:
                if unless is not None and unless.is_set():
                    raise NotInvoked(function)
                if instances.idle:
                    worker = instances.idle.pop()
                    break
                if instances.count < self.limit(function):
                    instances.count += 1
                    break
                instances.turn.wait(0.2 if unless is not None else None)
        try:
            return self.fresh(function, instances, worker)
        except BaseException:
            self.give(function, None)
            raise

    def fresh(self, function: str, instances: Instances, worker: Worker | None) -> Worker:
        """``worker`` if its files are as it loaded them, else a new worker in its place."""
        from tight_tasks.config import runtime_config
        from tight_tasks.functions import DEFAULT_MEMORY, DEFAULT_TIMEOUT, own_setting
        from tight_tasks.worker import Worker

        with self.state_lock:
            moved = self.moved
            # Its files are compared only when something changed on disk since they last
            # were: a quiet inotify says so in one read.
            checked = worker is not None and worker.seen == moved
            if worker is None or (not checked and worker.stale()):
                if worker is not None:
                    worker.stop()
                    instances.all.remove(worker)
                config = runtime_config(self.settings)
                config["stage"] = self.stage
                worker = Worker(
                    self.root,
                    function,
                    lambda_environment(self.root, self.settings, self.stage, function, self.dynamo),
                    config,
                    own_setting(self.settings, function, "timeout", DEFAULT_TIMEOUT),
                    own_setting(self.settings, function, "memory_size", DEFAULT_MEMORY),
                    self.log_printer(function),
                )
                instances.all.append(worker)
                self.changes.watch(worker.watched)
            worker.seen = moved
            return worker

    def give(self, function: str, worker: Worker | None) -> None:
        """Back to idle after an invocation (None: a place taken that got no worker)."""
        instances = self.instances.get(function)
        if instances is None:  # serve stopped meanwhile, its workers with it
            return
        with instances.turn:
            if worker is None:
                instances.count -= 1
            else:
                instances.idle.append(worker)
            instances.turn.notify()

    def call(
        self,
        function: str,
        event: Any,
        limit: float | None = None,
        unless: threading.Event | None = None,
    ) -> dict[str, Any]:
        """``function``'s answer to ``event`` from one of its warm workers, each running one
        invocation at a time (as a Lambda instance); the folders of any file it newly loaded
        are watched from then on. ``NotInvoked``, without invoking, when ``unless`` is set
        once its turn comes (serve stopping: a worker started then would outlive it)."""
        worker = self.take(function, unless)
        try:
            reply = worker.invoke(event, limit=limit)
            if worker.noted:  # it loaded more of the app: watch their folders too
                worker.noted = False
                with self.state_lock:
                    self.changes.watch(worker.watched)
        finally:
            self.give(function, worker)
        return reply

    def log_printer(self, function: str) -> Any:
        def log(line: str) -> None:
            self.say(readable_log(function, line))

        return log

    def stop(self) -> None:
        with self.state_lock:
            for instances in self.instances.values():
                for worker in instances.all:
                    worker.stop()
            self.instances.clear()
            self.changes.close()

    # -- a request ---------------------------------------------------------------------
    def handle(self, request: HttpRequest) -> tuple[Answer, str, str]:
        """The answer, the function that ran (or "-") and "cold" / "warm" / ""."""
        self.refresh()
        api, cors = self.api, self.cors
        is_preflight = request.method == "OPTIONS" and request.header(
            "access-control-request-method"
        )
        if (
            cors is not None
            and is_preflight
            and (api == "http" or self.table.has_path(request.path))
        ):
            return preflight(cors, api, request), "-", ""
        match = self.table.match(request.method, request.path)
        if match is None and request.method == "GET" and request.path == "/openapi.json":
            from tight_tasks.openapi import served_document

            return json_answer(*served_document(self.root, self.settings)), "-", ""
        if match is None:
            return (
                json_answer(403 if api == "rest" else 404, MESSAGES[403 if api == "rest" else 404]),
                "-",
                "",
            )
        answer, temperature = self.run(match, request)
        if cors is not None and api == "http":
            # An HTTP API with a CORS configuration ignores the CORS headers the function
            # sends and answers with its own.
            kept = [
                (k, v) for k, v in answer.headers if not k.lower().startswith("access-control-")
            ]
            answer.headers = kept + self.cors_headers(cors, request)
        return answer, match.route.function, temperature

    def cors_headers(self, cors: Cors, request: HttpRequest) -> list[tuple[str, str]]:
        origin = request.header("origin")
        if not origin or ("*" not in cors.allow_origins and origin not in cors.allow_origins):
            return []
        headers = [("Access-Control-Allow-Origin", "*" if "*" in cors.allow_origins else origin)]
        if cors.allow_credentials:
            headers.append(("Access-Control-Allow-Credentials", "true"))
        if cors.expose_headers:
            headers.append(("Access-Control-Expose-Headers", ",".join(cors.expose_headers)))
        return headers

    def run(self, match: Match, request: HttpRequest) -> tuple[Answer, str]:
        import uuid

        request_id = str(uuid.uuid4())
        host = request.header("host") or "127.0.0.1"
        if match.route.api == "http":
            event = http_event(request, match, request_id, host)
        else:
            event = rest_event(request, match, self.stage, request_id, host, self.binary)
        if match.route.auth is not None:  # the API's authorizer first (tight_tasks.serve_auth)
            from tight_tasks.serve_auth import gate

            refused = gate(self).check(match.route, request, event)
            if refused is not None:
                return refused, ""
        function = match.route.function
        reply = self.call(function, event, limit=INTEGRATION_LIMIT)
        temperature = "cold" if reply.get("cold") else "warm"
        if "timeout" in reply:
            status = 504 if reply.get("gateway") else 502
            self.say(f"  {function} ran past its {reply['timeout']} s timeout: stopped")
            return json_answer(status, MESSAGES[status]), temperature
        if "error" in reply:
            self.say(f"  {function} raised {reply['error']}")
            return json_answer(502, MESSAGES[502]), temperature
        try:
            if match.route.api == "http":
                return http_answer(reply["result"]), temperature
            return rest_answer(reply["result"], request.header("accept"), self.binary), temperature
        except Malformed as error:
            self.say(f"  {function} answered a malformed response: {error}")
            return json_answer(502, MESSAGES[502]), temperature


LEVEL_WIDTH = 7


def readable_log(function: str, line: str) -> str:
    """A function's JSON log line as ``  LEVEL message  key=value ...`` (other lines as they
    are), its traceback below it."""
    try:
        entry = json.loads(line)
    except ValueError:
        entry = None
    if not isinstance(entry, dict) or "message" not in entry:
        return f"  {function} | {line}"
    level = str(entry.pop("level", "INFO"))
    message = entry.pop("message")
    traceback = entry.pop("traceback", None)
    for key in ("timestamp", "function", "request_id", "gateway_request_id"):
        entry.pop(key, None)
    fields = " ".join(f"{k}={json.dumps(v, default=str)}" for k, v in entry.items())
    text = f"  {function} | {level:<{LEVEL_WIDTH}} {message}" + (f"  {fields}" if fields else "")
    if traceback:
        text += "\n" + "\n".join(f"  {function} | {t}" for t in str(traceback).splitlines())
    return text


# -- the server ----------------------------------------------------------------------------
HOP_BY_HOP = ("content-length", "connection", "transfer-encoding")


def response_bytes(answer: Answer, with_body: bool) -> bytes:
    """The whole HTTP/1.1 response in one buffer, so it goes out in one write (one TCP
    segment for a small answer) rather than a write for the headers and one for the body.
    Header values cannot break the framing: CR and LF become spaces."""
    from http import HTTPStatus

    try:
        reason = HTTPStatus(answer.status).phrase
    except ValueError:
        reason = ""
    lines = [f"HTTP/1.1 {answer.status} {reason}"]
    for name, value in answer.headers:
        if name.lower() not in HOP_BY_HOP:
            lines.append(f"{_one_line(name)}: {_one_line(value)}")
    lines.append(f"Content-Length: {len(answer.body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", errors="replace")
    return head + answer.body if with_body else head


def _one_line(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ") if "\r" in text or "\n" in text else text


def make_server(api: LocalApi, port: int) -> Any:
    """A threading HTTP server on 127.0.0.1:``port`` answering through ``api``."""
    import errno
    from http.server import BaseHTTPRequestHandler

    from tight_tasks.pooled_server import PooledServer, parse_request

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # An answer goes out in one write (response_bytes); one larger than a segment is
        # still sent whole at once, not held back for the client's delayed ACK (40 ms on
        # Linux with Nagle's algorithm on, which bench/serve shows for chalice local).
        disable_nagle_algorithm = True

        def parse_request(self) -> bool:
            return parse_request(self)

        def handle_one(self) -> None:
            started = time.monotonic()
            length_text = self.headers.get("Content-Length") or "0"
            if self.headers.get("Transfer-Encoding"):
                self.send_error(501, "doit serve reads a body by its Content-Length, not chunked")
                return
            if not length_text.isdigit():
                self.send_error(400, f"Content-Length is not a number ({length_text!r})")
                return
            length = int(length_text)
            body = self.rfile.read(length) if length else b""
            request = HttpRequest(
                self.command, self.path, list(self.headers.items()), body, self.client_address[0]
            )
            try:
                answer, function, temperature = api.handle(request)
            except Exception:  # noqa: BLE001 - a bug in serve must not stop the server
                import traceback

                api.say(traceback.format_exc())
                answer, function, temperature = json_answer(502, MESSAGES[502]), "-", ""
            self.wfile.write(response_bytes(answer, self.command != "HEAD"))
            took = (time.monotonic() - started) * 1000
            line = f"{self.command} {request.path} -> {function} {answer.status} {took:.0f} ms"
            api.say(f"{line} {temperature}".rstrip())

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = handle_one

        def log_message(self, format: str, *args: Any) -> None:
            pass

    try:
        return PooledServer(("127.0.0.1", port), Handler)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise TightTaskError(
                f"port {port} is in use on 127.0.0.1; stop what uses it or choose another: "
                f"doit serve port={port + 1}"
            ) from None
        raise


def parse_port(port: str) -> int:
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise TightTaskError(f"port must be a TCP port number (1-65535), not {port!r}")
    return int(port)


def serve(root: Path, port: int, stage: str, retry_delay: float | None = None) -> None:
    """Serve until Ctrl-C (or SIGTERM), then stop every worker. ``retry_delay``: the seconds
    an asynchronous event waits before each retry, instead of Lambda's own."""
    import signal

    from tight_tasks.schema import model_files

    api = LocalApi(root, stage)
    server = make_server(api, port)
    api.dynamo = local_dynamo(root)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    api.say(f"serving {root.name} ({api.api} API, stage {stage}) at {url}")
    for route in api.table.routes:
        guarded = f"  ({route.authorizer})" if route.authorizer else ""
        api.say(f"  {route.method:<7} {url}{route.path}  -> {route.function}{guarded}")
    if not api.table.routes:
        api.say("  no HTTP functions yet: doit generate_function name=items")
    elif api.table.match("GET", "/openapi.json") is None:  # else the app's own route answers
        api.say(f"  GET     {url}/openapi.json  (the API's OpenAPI document, as doit openapi)")
    if api.dynamo:
        api.say(f"models use the local DynamoDB at {api.dynamo} (doit dynamo_start)")
    elif model_files(root):
        api.say(
            "models use DynamoDB in AWS (your credentials, region "
            f"{lambda_environment(root, api.settings, stage, 'x', None)['AWS_REGION']}); "
            "run `doit dynamo_start` first to use a local one"
        )
    from tight_tasks.local_sources import ServedSources

    # Queues, topics, buckets, buses, streams and schedules, planned again on each edit.
    if retry_delay is None:
        sources = ServedSources(api, root, stage)
    else:
        sources = ServedSources(api, root, stage, (retry_delay, retry_delay))
    sources.start()
    api.say("Ctrl-C stops the server and its workers")

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        api.say("stopping")
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.server_close()
        sources.halt()  # no new invocation; one running now ends with its worker:
        api.stop()
        sources.stop()  # undone events go back on their queues


def parse_retry_delay(text: str) -> float | None:
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 900:  # nan too
        raise TightTaskError(
            f"retry_delay must be seconds from 0 to 900 (retry_delay=1), not {text!r}"
        )
    return seconds


def _serve(port: str, stage: str, retry_delay: str) -> None:
    from tight_tasks.config import find_app_root, load

    delay = parse_retry_delay(retry_delay)
    root = find_app_root()
    settings = load(root)
    stage = stage or str(settings.get("stage") or "dev")
    serve(root, parse_port(port or DEFAULT_PORT), stage, delay)


def task_serve() -> dict[str, Any]:
    """Run the app locally, as deployed: HTTP on port=3000 and its event sources [stage=dev].

    The event sources (topics, buckets, buses, streams, schedules) run on the server
    `doit dynamo_start` runs; without it, HTTP alone."""
    from tight_tasks.taskkit import stage_param

    return {
        "actions": [(as_action(_serve),)],
        "params": [
            param("port", f"the TCP port on 127.0.0.1 (default {DEFAULT_PORT})"),
            stage_param("the stage the functions see"),
            param(
                "retry_delay",
                "seconds before each retry of an asynchronous event (SNS, S3, EventBridge, "
                "schedule); default: Lambda's own, about 60 s then 120 s",
            ),
        ],
        "uptodate": [False],
        "verbosity": 2,
    }
