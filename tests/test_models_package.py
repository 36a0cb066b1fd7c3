"""``tight.models`` is a package of one module per concept: every name the single module
had stays importable from it, a function that uses no model loads none of it, and one
that uses only the CRUD loads neither pages, batches nor transactions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tight

# Every public name tight/models.py defined before it became a package.
OLD_MODULE_NAMES = {
    "MAX_CURSOR": "pages",
    "MAX_DEPTH": "attributes",
    "MISSING": "attributes",
    "THROTTLED": "errors",
    "TTL": "attributes",
    "Attribute": "attributes",
    "Binary": "attributes",
    "Boolean": "attributes",
    "ConditionFailed": "errors",
    "DateTime": "attributes",
    "GlobalIndex": "model",
    "ItemNotFound": "errors",
    "List": "attributes",
    "LocalIndex": "model",
    "Map": "attributes",
    "Model": "model",
    "Number": "attributes",
    "NumberSet": "attributes",
    "Results": "pages",
    "String": "attributes",
    "StringSet": "attributes",
    "Throttled": "errors",
    "Transaction": "transactions",
    "TransactionConflict": "errors",
    "ValidationError": "errors",
    "Version": "attributes",
}

MODELS_MODULES = ("attributes", "batches", "errors", "model", "pages", "transactions")


def test_every_name_of_the_old_module_is_importable_from_the_package():
    import tight.models
    from tight.models import (  # noqa: F401 (importable is the point)
        MAX_CURSOR,
        MAX_DEPTH,
        MISSING,
        THROTTLED,
        TTL,
        Attribute,
        Binary,
        Boolean,
        ConditionFailed,
        DateTime,
        GlobalIndex,
        ItemNotFound,
        List,
        LocalIndex,
        Map,
        Model,
        Number,
        NumberSet,
        Results,
        String,
        StringSet,
        Throttled,
        Transaction,
        TransactionConflict,
        ValidationError,
        Version,
    )

    assert sorted(tight.models.__all__) == sorted(OLD_MODULE_NAMES)
    for name, module in OLD_MODULE_NAMES.items():
        home = sys.modules[f"tight.models.{module}"]
        assert getattr(tight.models, name) is getattr(home, name), name
    assert MAX_CURSOR == 4096 and MAX_DEPTH == 32
    assert "ThrottlingException" in THROTTLED


def test_the_errors_keep_their_http_bases():
    from tight.errors import BadRequest, Conflict, NotFound, ServiceUnavailable
    from tight.models import (
        ConditionFailed,
        ItemNotFound,
        Throttled,
        TransactionConflict,
        ValidationError,
    )

    assert issubclass(ValidationError, BadRequest) and ValidationError.status_code == 400
    assert issubclass(ItemNotFound, NotFound) and ItemNotFound.status_code == 404
    assert issubclass(ConditionFailed, Conflict) and issubclass(TransactionConflict, Conflict)
    assert issubclass(Throttled, ServiceUnavailable) and Throttled.status_code == 503


def test_an_unknown_name_is_still_an_attribute_error():
    import tight.models

    with pytest.raises(AttributeError, match=r"'tight\.models' has no attribute 'Nope'"):
        tight.models.Nope  # noqa: B018
    with pytest.raises(ImportError):
        from tight.models import Nope  # type: ignore[attr-defined]  # noqa: F401


def test_every_module_says_what_it_is_for():
    import importlib

    for name in ("tight.models", *(f"tight.models.{m}" for m in MODELS_MODULES)):
        doc = importlib.import_module(name).__doc__
        assert doc and len(doc.strip()) > 40, name


def run_python(code: str, *flags: str, env: dict[str, str] | None = None) -> str:
    """Stdout and stderr of ``code`` run isolated from this environment's settings."""
    result = subprocess.run(
        [sys.executable, *flags, "-I", "-c", code],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


def imported_by_importtime(output: str) -> list[str]:
    """The module names ``-X importtime`` reports, in the order they were imported."""
    return [
        line.rsplit("|", 1)[1].strip()
        for line in output.splitlines()
        if line.startswith("import time:") and "self [us]" not in line
    ]


HTTP_FUNCTION = """
import sys
sys.path.insert(0, {root!r})
import app_index
event = {{"httpMethod": "GET", "path": "/", "requestContext": {{"requestId": "r"}}}}
assert app_index.hello(event, None)["statusCode"] == 200
"""


def test_an_http_function_that_uses_no_model_loads_none_of_the_models(tmp_path):
    from conftest import write_app

    hello = (
        "import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy\n"
        "@lambda_proxy.get\n"
        "def get_handler(*args, **kwargs):\n"
        "    return {'statusCode': 200, 'body': {'hello': 'world'}}\n"
    )
    root = write_app(tmp_path / "hello_app", {"hello": hello})
    imported = imported_by_importtime(
        run_python(HTTP_FUNCTION.format(root=str(root)), "-S", "-X", "importtime")
    )
    assert "tight.providers.aws.controllers.lambda_proxy_event" in imported
    assert "tight.providers.aws.lambda_app.app" in imported
    assert [name for name in imported if "models" in name] == []


def test_the_controllers_and_the_app_runner_load_none_of_the_models():
    source_root = str(Path(tight.__file__).parent.parent)
    code = (
        f"import sys; sys.path.insert(0, {source_root!r})\n"
        "import tight.providers.aws.controllers.lambda_proxy_event\n"
        "import tight.providers.aws.lambda_app.app\n"
        "import tight.providers.aws.controllers.dynamodb_stream\n"
    )
    imported = imported_by_importtime(run_python(code, "-S", "-X", "importtime"))
    assert "tight.providers.aws.lambda_app.app" in imported
    assert "tight.providers.aws.controllers.dynamodb_stream" in imported
    assert [name for name in imported if "models" in name] == []


USES_MODELS = """
import json, sys
sys.path.insert(0, {root!r})
from tight.models import Model, String

class Note(Model):
    table = "notes"
    hash_key = "id"
    id = String()
    text = String()

def loaded():
    return sorted(n[len("tight.models."):] for n in sys.modules if n.startswith("tight.models."))

steps = {{}}
note = Note.from_item(Note(id="1", text="hi").to_item())
assert note.text == "hi" and Note.table_definition()["TableName"] == "notes"
steps["crud"] = loaded()
page = Note.query("1", limit=2)
steps["query"] = loaded()
Note.batch_write()
steps["batch"] = loaded()
with Note.transaction():
    pass
steps["transaction"] = loaded()
from tight.models import Results, Transaction
assert isinstance(page, Results) and Transaction is type(Note.transaction())
print(json.dumps(steps))
"""


def test_pages_batches_and_transactions_load_on_first_use():
    """A function that only reads and writes single items pays for none of them."""
    env = dict(
        os.environ,
        TIGHT_DYNAMO_ENDPOINT="http://127.0.0.1:9",  # built, never called: no request is sent
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
    )
    source_root = str(Path(tight.__file__).parent.parent)
    output = run_python(USES_MODELS.format(root=source_root), env=env)
    steps = json.loads(output.strip().splitlines()[-1])
    assert steps == {
        "crud": ["attributes", "errors", "model"],
        "query": ["attributes", "errors", "model", "pages"],
        "batch": ["attributes", "batches", "errors", "model", "pages"],
        "transaction": ["attributes", "batches", "errors", "model", "pages", "transactions"],
    }


VENDORED_MODEL = """
import json, sys
sys.path.insert(0, {root!r})
import app_index
event = {{"httpMethod": "GET", "path": "/", "requestContext": {{"requestId": "r"}}}}
answer = app_index.notes(event, None)
files = {{n: sys.modules[n].__file__ for n in sys.modules if n.startswith("tight.models")}}
print(json.dumps([answer, files]))
"""


def test_a_vendored_app_finds_the_models_package_in_its_own_copy(tmp_path):
    """The vendored runtime's finder goes straight to the package's modules by path,
    including those loaded on first use."""
    from conftest import write_app

    notes = (
        "import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy\n"
        "from tight.models import Model, String, ValidationError\n"
        "class Note(Model):\n"
        "    table = 'notes'\n"
        "    hash_key = 'id'\n"
        "    id = String()\n"
        "@lambda_proxy.get\n"
        "def get_handler(*args, **kwargs):\n"
        "    Note.query('1')\n"
        "    try:\n"
        "        Note.query('1', cursor='not a cursor')\n"
        "    except ValidationError as error:\n"
        "        return {'statusCode': 200, 'body': {'refused': str(error)}}\n"
    )
    root = write_app(tmp_path / "notes_app", {"notes": notes})
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
    )
    output = run_python(VENDORED_MODEL.format(root=str(root)), env=env)
    answer, files = json.loads(output.strip().splitlines()[-1])
    assert answer["statusCode"] == 200
    assert "cursor is not valid here" in json.loads(answer["body"])["refused"]
    vendored = root / "app" / "vendored" / "tight" / "models"
    assert files == {
        "tight.models": str(vendored / "__init__.py"),
        "tight.models.attributes": str(vendored / "attributes.py"),
        "tight.models.errors": str(vendored / "errors.py"),
        "tight.models.model": str(vendored / "model.py"),
        "tight.models.pages": str(vendored / "pages.py"),
    }
