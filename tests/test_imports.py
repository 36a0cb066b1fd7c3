"""The runtime imports nothing outside the standard library, boto3/botocore and tight."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_python_versions import LAMBDA_PYTHONS, interpreter

import tight

RUNTIME_MODULES = [
    "tight",
    "tight.config",
    "tight.core.logger",
    "tight.core.safeget",
    "tight.errors",
    "tight.request",
    "tight.response",
    "tight.providers.aws.clients.boto3_client",
    "tight.providers.aws.clients.dynamo_db",
    "tight.models",
    "tight.models.pages",
    "tight.models.batches",
    "tight.models.transactions",
    "tight.idempotency",
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
c.register("POST", lambda **kw: {{"statusCode": 200, "body": kw["request"].json()}})
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


def test_runtime_does_not_import_boto3_typing_or_future_until_asked():
    """Every module is paid for on each cold start: none that the runtime does not use."""
    loaded = loaded_modules(str(Path(tight.__file__).parent.parent))
    assert "boto3" not in loaded
    assert "typing" not in loaded
    assert "__future__" not in loaded


COLD_PATH = """
import json, sys
sys.path.insert(0, {root!r})
before = set(sys.modules)
import app_index
event = {{"httpMethod": "GET", "path": "/", "requestContext": {{"requestId": "r"}}}}
assert app_index.quiet(event, None)["statusCode"] == 200
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def test_a_function_that_does_not_log_never_loads_the_logger(tmp_path):
    from conftest import write_app

    quiet = (
        "import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy\n"
        "@lambda_proxy.get\n"
        "def get_handler(*args, **kwargs):\n"
        "    return {'statusCode': 200}\n"
    )
    root = write_app(tmp_path / "quiet_app", {"quiet": quiet})
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", COLD_PATH.format(root=str(root))],
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = json.loads(result.stdout)
    assert "tight.providers.aws.controllers.lambda_proxy_event" in loaded
    assert "tight.core.logger" not in loaded


SPECS = """
import json, os, sys
sys.path[:0] = {paths!r}
{setup}
import tight
root = os.path.dirname(tight.__file__)
names = []
for folder, dirs, files in os.walk(root):
    dirs[:] = sorted(d for d in dirs if d != "__pycache__")
    package = "tight" if folder == root else "tight." + os.path.relpath(folder, root).replace(
        os.sep, ".")
    names += [package + "." + f[:-3] for f in sorted(files) if f.endswith(".py")
              and f != "__init__.py"]
    names += [package + "." + d for d in dirs]
names = [n for n in names if not n.startswith(("tight.testing", "tight.core.test_helpers"))]
names += ["app.functions", "app.functions.items", "app.functions.items.helpers",
          "app.functions.items.handler", "app.functions.other", "app.functions.other.handler"]
found = {{}}
for name in names:
    __import__(name)
    module = sys.modules[name]
    spec = module.__spec__
    locations = spec.submodule_search_locations
    found[name] = [spec.name, spec.origin, spec.cached, locations and list(locations),
                   type(spec.loader).__name__, getattr(module, "__file__", None),
                   getattr(module, "__cached__", None), list(getattr(module, "__path__", [])),
                   module.__package__]
try:
    import tight.no_such_module
except ModuleNotFoundError as error:
    missing = error.name
print(json.dumps([found, missing]))
"""


@pytest.mark.parametrize("version", LAMBDA_PYTHONS)
def test_vendored_runtime_finds_its_modules_as_python_would(version, tmp_path):
    """The vendored copy finds its own modules by path: each must come out as Python's own
    search makes it (same file, bytecode cache, package path, spec), and a missing module
    must still be a ModuleNotFoundError, on every Python that Lambda runs."""
    from conftest import write_app

    python = interpreter(version)
    if python is None:
        pytest.skip(f"no Python {version} on this machine")

    root = write_app(tmp_path / "found", {"items": "X = 1\n", "other": "Y = 2\n"})
    # A function folder as scaffolding writes it (a package), one as a plain folder.
    (root / "app" / "functions" / "__init__.py").write_text("")
    (root / "app" / "functions" / "items" / "__init__.py").write_text("")
    (root / "app" / "functions" / "items" / "helpers.py").write_text("Z = 3\n")

    def specs(paths: list[Path], setup: str, *flags: str) -> list[Any]:
        script = SPECS.format(paths=[str(p) for p in paths], setup=setup)
        result = subprocess.run(
            [python, *flags, "-I", "-S", "-c", script],
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(result.stdout.splitlines()[-1])  # type: ignore[no-any-return]

    # As Lambda runs it: app_index imports the copy as app.vendored.tight.
    aliased, missing = specs([root], "import app_index")
    # The same folders imported as plain ``tight``: Python's path search does all the finding.
    plain, plain_missing = specs([root / "app" / "vendored", root], "")
    assert "tight.providers.aws.controllers.lambda_proxy_event" in aliased
    assert "tight.providers.aws.clients" in aliased
    assert aliased["app.functions.items.helpers"][1] == str(
        root / "app" / "functions" / "items" / "helpers.py"
    )
    assert aliased == plain
    assert missing == plain_missing == "tight.no_such_module"
    # Where -O or a pycache prefix moves the bytecode, the import system names it as ever.
    optimized, _ = specs([root], "import app_index", "-O")
    assert optimized == specs([root / "app" / "vendored", root], "", "-O")[0]
    assert optimized["tight.request"][2].endswith(".opt-1.pyc")


def test_only_a_vendored_runtime_finds_by_path():
    """The installed package leaves finding to Python: nothing to register folders with."""
    assert tight.register_folder("app", "/nonexistent") is False


def test_tights_own_errors_keep_their_names_and_bases():
    """They live in tight.errors, loaded only when something fails, and stay importable
    from the modules that raise them."""
    from tight import config, errors, response
    from tight.providers.aws.controllers import lambda_proxy_event
    from tight.providers.aws.lambda_app import app

    assert config.ConfigError is errors.ConfigError and issubclass(errors.ConfigError, ValueError)
    assert response.ResponseError is errors.ResponseError
    assert issubclass(errors.ResponseError, TypeError)
    assert lambda_proxy_event.DuplicateHandler is errors.DuplicateHandler
    assert issubclass(errors.DuplicateHandler, TypeError)
    assert app.AppError is errors.AppError
    try:
        config.no_such_name  # noqa: B018
    except AttributeError as error:
        assert "no_such_name" in str(error)
    else:
        raise AssertionError("an unknown name must stay an AttributeError")


SQS_COLD_PATH = """
import json, sys
sys.path.insert(0, {root!r})
before = set(sys.modules)
import app_index

class Context:
    aws_request_id = "lambda-req-9"

event = {{"Records": [
    {{"messageId": "m1", "body": "{{}}", "eventSource": "aws:sqs",
     "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:orders"}},
    {{"messageId": "m2", "body": "poison", "eventSource": "aws:sqs",
     "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:orders"}}]}}
answer = app_index.worker(event, Context())
print(json.dumps([answer, sorted(set(sys.modules) - before)]))
"""


def test_an_sqs_function_never_loads_the_http_code(tmp_path):
    """Event-source functions share the cold path: they load their controller, not the
    HTTP request and response code, and still log with their function and request id."""
    from conftest import write_app

    worker = (
        "import tight.providers.aws.controllers.sqs as sqs\n"
        "@sqs.record\n"
        "def on_record(*args, **kwargs):\n"
        "    kwargs['record'].json()\n"
    )
    root = write_app(tmp_path / "sqs_app", {"worker": worker})
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", SQS_COLD_PATH.format(root=str(root))],
        capture_output=True,
        text=True,
        check=True,
    )
    *logged, last = result.stdout.strip().splitlines()
    answer, loaded = json.loads(last)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m2"}]}
    assert "tight.batch" in loaded
    for module in (
        "tight.request",
        "tight.response",
        "tight.providers.aws.controllers.lambda_proxy_event",
    ):
        assert module not in loaded
    line = json.loads(logged[-1])
    assert (line["function"], line["request_id"], line["record_id"]) == (
        "worker",
        "lambda-req-9",
        "m2",
    )


def test_tight_testing_stays_importable_after_app_index(tmp_path):
    """A test that imports app_index first makes the vendored copy (which has no testing/)
    the ``tight``; Tight's test support still comes from the installed Tight."""
    import shutil

    from tight_tasks.vendor import copy_runtime

    app = tmp_path / "app_root"
    handler = app / "app" / "functions" / "items"
    handler.mkdir(parents=True)
    for folder in (app / "app", app / "app" / "functions", handler):
        (folder / "__init__.py").write_text("")
    (handler / "handler.py").write_text("def handler(event, context):\n    return 1\n")
    (app / "app_index.py").write_text(
        "from app.vendored.tight.providers.aws.lambda_app import app as app\napp.run()\n"
    )
    copy_runtime(app / "app" / "vendored")
    assert not (app / "app" / "vendored" / "tight" / "testing").exists()
    # Tight installed as a regular package (not this checkout's editable finder).
    site = tmp_path / "site"
    shutil.copytree(
        Path(tight.__file__).parent, site / "tight", ignore=shutil.ignore_patterns("__pycache__")
    )
    import sysconfig

    # pytest and the rest from this environment's site-packages, appended without running
    # its .pth files (which hold the checkout's editable finder).
    packages = sysconfig.get_paths()["purelib"]
    probe = (
        "import sys; sys.path[:0] = [{app!r}, {site!r}]; sys.path.append({packages!r})\n"
        "import app_index, tight\n"
        "assert tight.__file__.startswith({vendored!r}), tight.__file__\n"
        "import tight.testing, tight.testing.events, tight.core.test_helpers\n"
        "print(tight.testing.__file__)\n"
        "print(tight.core.test_helpers.__name__)\n"
    ).format(
        app=str(app), site=str(site), packages=packages, vendored=str(app / "app" / "vendored")
    )
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    testing_file, plugin_name = result.stdout.split()
    assert testing_file == str(site / "tight" / "testing" / "__init__.py")
    assert plugin_name == "tight.testing.plugin"
