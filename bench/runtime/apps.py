"""Deploy folders for the runtime benchmark: the same tiny API in Tight, raw, Powertools, Chalice.

Each API answers ``GET /items/{item_id}`` with ``{"id": item_id}`` and ``POST /items`` by
echoing the JSON body, as one function/route or among 50. Every folder holds all the code it runs
(frameworks copied in, as a deployment package would), so a fresh interpreter whose path is
only that folder behaves like Lambda's task root.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from tight_tasks.vendor import copy_runtime

FRAMEWORKS = ("raw", "tight", "powertools", "chalice")

# What every benchmark child runs first, before its clock starts (``python -I -S -B -c
# LAMBDA_PRELUDE + child``): the modules Lambda's Python runtime interface client has imported
# by the time it imports the handler (awslambdaric 4.0.1: bootstrap.py, lambda_runtime_log_utils
# and lambda_runtime_marshaller, whose simplejson is left out as no framework here uses it),
# the context object it passes, and the clock: the wall clock, or with TIGHT_BENCH_CLOCK=cpu
# the child's own CPU time, so that time spent preempted on a shared machine does not count.
LAMBDA_PRELUDE = """\
import decimal, enum, importlib, json, logging, math, os, sys, time, traceback


class Context:
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    function_name = "bench"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:bench"
    log_group_name = "/aws/lambda/bench"
    log_stream_name = "stream"

    def get_remaining_time_in_millis(self):
        return 30000


clock = time.process_time if os.environ.get("TIGHT_BENCH_CLOCK") == "cpu" else time.perf_counter
"""

TIGHT_INDEX = """\
from app.vendored.tight.providers.aws.lambda_app import app as app
app.run()
"""

TIGHT_HANDLER = """\
import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy


@lambda_proxy.get
def get_handler(*args, **kwargs):
    return {"statusCode": 200, "body": {"id": kwargs["request"].path_params["item_id"]}}


@lambda_proxy.post
def post_handler(*args, **kwargs):
    return {"statusCode": 200, "body": kwargs["event"]["body"]}
"""

TIGHT_JSON = """\
{
  "app_name": "bench",
  "cors": null,
  "headers": {},
  "stage": "dev"
}
"""

RAW_HANDLER = """\
import json


def items(event):
    if event["httpMethod"] == "GET":
        body = {{"id": event["pathParameters"]["item_id"]}}
    else:
        body = json.loads(event["body"])
    return {{"statusCode": 200, "headers": {{"Content-Type": "application/json"}},
            "body": json.dumps(body)}}


ROUTES = {routes}


def handler(event, context):
    route = ROUTES.get(event["resource"])
    return route(event) if route else {{"statusCode": 404, "body": ""}}
"""

POWERTOOLS_APP = """\
from aws_lambda_powertools.event_handler import APIGatewayRestResolver

app = APIGatewayRestResolver()


@app.get("/items/<item_id>")
def get_item(item_id):
    return {{"id": item_id}}


@app.post("/items")
def post_item():
    return app.current_event.json_body

{extra}

def handler(event, context):
    return app.resolve(event, context)
"""

POWERTOOLS_EXTRA = """
@app.get("/other{i}/<item_id>")
def other{i}(item_id):
    return {{"id": item_id}}
"""

CHALICE_APP = """\
from chalice import Chalice

app = Chalice(app_name="bench")


@app.route("/items/{{item_id}}", methods=["GET"])
def get_item(item_id):
    return {{"id": item_id}}


@app.route("/items", methods=["POST"])
def post_item():
    return app.current_request.json_body

{extra}

handler = app
"""

CHALICE_EXTRA = """
@app.route("/other{i}/{{item_id}}", methods=["GET"])
def other{i}(item_id):
    return {{"id": item_id}}
"""


def _copy_module(name: str, target: Path) -> None:
    """Copy an installed package or module into a deploy folder, without bytecode."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"{name} is not installed; run `make install` (the dev extra has it)")
    origin = Path(spec.origin)
    if origin.name == "__init__.py":
        shutil.copytree(
            origin.parent, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    else:
        shutil.copy2(origin, target / origin.name)


def build(framework: str, functions: int, root: Path) -> tuple[Path, str]:
    """Write the deploy folder; returns it and the entry ``module.attribute`` Lambda calls."""
    folder = root / f"{framework}_{functions}"
    folder.mkdir(parents=True)
    if framework == "raw":
        routes = ", ".join(
            ['"/items/{item_id}": items', '"/items": items']
            + [f'"/other{i}/{{id}}": items' for i in range(functions - 1)]
        )
        (folder / "handler.py").write_text(RAW_HANDLER.format(routes="{" + routes + "}"))
        return folder, "handler.handler"
    if framework == "tight":
        (folder / "app_index.py").write_text(TIGHT_INDEX)
        for i in range(functions):
            name = "items" if i == 0 else f"other{i}"
            (folder / "app" / "functions" / name).mkdir(parents=True)
            (folder / "app" / "functions" / name / "handler.py").write_text(TIGHT_HANDLER)
            (folder / "app" / "functions" / name / "__init__.py").write_text("")
        # The layout scaffolding writes: app/, app/functions/ and each function folder are
        # regular packages (app/vendored is a plain folder).
        for package in ("app", "app/functions"):
            (folder / package / "__init__.py").write_text("")
        copy_runtime(folder / "app" / "vendored")  # as `doit vendor` ships it
        # And the runtime's share of tight.yml, which `doit vendor` writes and the first
        # request reads; without CORS, like the other frameworks' apps here.
        (folder / "app" / "vendored" / "tight.json").write_text(TIGHT_JSON)
        return folder, "app_index.items"
    if framework == "powertools":
        extra = "".join(POWERTOOLS_EXTRA.format(i=i) for i in range(1, functions))
        (folder / "handler.py").write_text(POWERTOOLS_APP.format(extra=extra))
        for name in ("aws_lambda_powertools", "jmespath", "typing_extensions"):
            _copy_module(name, folder)
        return folder, "handler.handler"
    if framework == "chalice":
        extra = "".join(CHALICE_EXTRA.format(i=i) for i in range(1, functions))
        (folder / "handler.py").write_text(CHALICE_APP.format(extra=extra))
        # A Chalice deployment package carries only chalice/__init__.py and chalice/app.py.
        (folder / "chalice").mkdir()
        chalice_dir = Path(importlib.util.find_spec("chalice").origin).parent  # type: ignore[union-attr, arg-type]
        for name in ("__init__.py", "app.py"):
            shutil.copy2(chalice_dir / name, folder / "chalice" / name)
        init = folder / "chalice" / "__init__.py"
        init.write_text(
            "from chalice.app import *  # noqa\nfrom chalice.app import Chalice, __version__\n"
        )
        return folder, "handler.handler"
    raise ValueError(f"unknown framework {framework}")
