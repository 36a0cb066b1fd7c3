"""The runtime on every Python that Lambda runs (3.10 to 3.13), where this machine has it.

Each interpreter imports a vendored app in isolation (-I -S: the standard library and the
app folder only) and serves an event of each kind, as Lambda's runtime would.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import write_app
from events import KINDS, make_event

LAMBDA_PYTHONS = ("3.10", "3.11", "3.12", "3.13")

HANDLER = """
import datetime
from decimal import Decimal
import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy
from tight.errors import NotFound

@lambda_proxy.get
def get_handler(*args, **kwargs):
    request = kwargs["request"]
    if request.path_params.get("id") == "missing":
        raise NotFound("no such item")
    return {"statusCode": 200, "body": {"n": Decimal("2"), "when": datetime.date(2024, 1, 2),
                     "q": request.query.get("q")}}

@lambda_proxy.post
def post_handler(*args, **kwargs):
    return {"statusCode": 201, "body": kwargs["event"]["body"]}
"""

SCRIPT = """
import json, sys
sys.path.insert(0, ".")
import app_index
print(json.dumps([app_index.items(event, None) for event in json.load(sys.stdin)]))
"""


def interpreter(version: str) -> str | None:
    """A working ``python<version>``: pyenv's install first (its shims may refuse), else PATH."""
    root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates = sorted(glob.glob(f"{root}/versions/{version}.*/bin/python{version}"))
    on_path = shutil.which(f"python{version}")
    for candidate in [*reversed(candidates), *([on_path] if on_path else [])]:
        check = subprocess.run([candidate, "-c", "pass"], capture_output=True)
        if check.returncode == 0:
            return candidate
    return None


@pytest.mark.parametrize("version", LAMBDA_PYTHONS)
def test_runtime_serves_every_kind_on(version, tmp_path):
    python = interpreter(version)
    if python is None:
        pytest.skip(f"no Python {version} on this machine")
    root = write_app(tmp_path / "app_root", {"items": HANDLER})
    events = []
    for kind in KINDS:
        events.append(
            make_event(kind, "GET", "/items/1", path_params={"id": "1"}, query={"q": "z"})
        )
        events.append(make_event(kind, "POST", "/items", body={"k": [1]}))
        events.append(make_event(kind, "GET", "/items/missing", path_params={"id": "missing"}))
    result = subprocess.run(
        [python, "-I", "-S", "-c", SCRIPT],
        cwd=root,
        input=json.dumps(events),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    responses = json.loads(result.stdout)
    for index, kind in enumerate(KINDS):
        got, posted, missing = responses[3 * index : 3 * index + 3]
        assert got["statusCode"] == 200, (kind, got)
        assert json.loads(got["body"]) == {"n": 2, "when": "2024-01-02", "q": "z"}
        assert (posted["statusCode"], json.loads(posted["body"])) == (201, {"k": [1]})
        expected_missing = 200 if kind == "alb" else 404  # ALB has no path parameters
        assert missing["statusCode"] == expected_missing
