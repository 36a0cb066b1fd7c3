"""The runtime imports nothing outside the standard library, boto3/botocore and tight."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import tight

RUNTIME_MODULES = [
    "tight",
    "tight.config",
    "tight.core.logger",
    "tight.core.safeget",
    "tight.http.errors",
    "tight.http.request",
    "tight.http.response",
    "tight.providers.aws.clients.boto3_client",
    "tight.providers.aws.controllers.lambda_proxy_event",
    "tight.providers.aws.lambda_app.app",
]

PROBE = """
import json, sys
before = set(sys.modules)
for name in {modules!r}:
    __import__(name)
from tight.providers.aws.controllers.lambda_proxy_event import Controller
from tight.core import logger
c = Controller("probe")
c.register("POST", lambda **kw: {{"body": kw["request"].json()}})
event = {{"httpMethod": "POST", "path": "/", "headers": {{"Content-Type": "application/json"}},
         "body": '{{"a": 1}}', "requestContext": {{"requestId": "r"}}}}
assert c.dispatch(event, None)["statusCode"] == 200
logger.info(message="probe")
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def loaded_modules(extra_path: str) -> list[str]:
    result = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-c",
            f"import sys; sys.path.insert(0, {extra_path!r});"
            + PROBE.format(modules=RUNTIME_MODULES),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.splitlines()[-1])


def test_runtime_loads_only_stdlib_and_itself():
    source_root = str(Path(tight.__file__).parent.parent)
    loaded = loaded_modules(source_root)
    assert any(name.startswith("tight.") for name in loaded)
    outside = [
        name
        for name in loaded
        if name.split(".")[0] not in sys.stdlib_module_names
        and name.split(".")[0] not in ("tight", "boto3", "botocore")
    ]
    assert outside == []


def test_runtime_does_not_import_boto3_or_typing_until_asked():
    """boto3 and typing are heavy: a function that never uses them must not pay for them."""
    loaded = loaded_modules(str(Path(tight.__file__).parent.parent))
    assert "boto3" not in loaded
    assert "typing" not in loaded
