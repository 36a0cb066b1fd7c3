"""doit schema: CloudFormation for each model's table, checked by cfn-lint."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

BIN = Path(sys.executable).parent

ORDERS = """
from tight.models import TTL, GlobalIndex, LocalIndex, Model, Number, String


class Order(Model):
    hash_key = "customer"
    range_key = "created"
    customer = String()
    created = Number()
    status = String()
    total = Number()
    expires = TTL()
    ttl = "expires"
    stream = "NEW_AND_OLD_IMAGES"
    indexes = (
        GlobalIndex("by_status", hash_key="status", range_key="created"),
        LocalIndex("by_total", range_key="total"),
    )


class Audit(Model):
    table = "shared-audit-log"
    hash_key = "id"
    id = String()
"""


def run(*command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=cwd, capture_output=True, text=True
    )


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert run("tight", "generate_app", "name=shop", cwd=tmp_path).returncode == 0
    root = tmp_path / "shop"
    assert run("doit", "generate_model", "name=item", cwd=root).returncode == 0
    (root / "app/models/orders.py").write_text(ORDERS)
    return root


def test_schema_writes_a_template_per_model_file_and_a_combined_one(app):
    result = run("doit", "schema", cwd=app)
    assert result.returncode == 0, result.stderr
    folder = app / "schemas/dynamo"
    assert sorted(p.name for p in folder.iterdir()) == ["item.yml", "orders.yml", "template.yml"]
    combined = yaml.safe_load((folder / "template.yml").read_text())
    resources = combined["Resources"]
    assert sorted(resources) == ["AuditTable", "ItemTable", "OrderTable"]
    order = resources["OrderTable"]["Properties"]
    assert order["TableName"] == {"Fn::Sub": "shop-${Stage}-order"}
    assert resources["AuditTable"]["Properties"]["TableName"] == "shared-audit-log"
    assert order["TimeToLiveSpecification"] == {"AttributeName": "expires", "Enabled": True}
    assert order["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert order["GlobalSecondaryIndexes"][0]["IndexName"] == "by_status"
    assert order["LocalSecondaryIndexes"][0]["IndexName"] == "by_total"
    assert {d["AttributeName"] for d in order["AttributeDefinitions"]} == {
        "customer", "created", "status", "total",
    }  # fmt: skip
    assert combined["Parameters"]["Stage"]["Default"] == "dev"
    assert list(yaml.safe_load((folder / "item.yml").read_text())["Resources"]) == ["ItemTable"]


def test_templates_pass_cfn_lint(app):
    assert run("doit", "schema", cwd=app).returncode == 0
    files = sorted(str(p) for p in (app / "schemas/dynamo").glob("*.yml"))
    linted = subprocess.run([str(BIN / "cfn-lint"), *files], capture_output=True, text=True)
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_schema_is_incremental_on_the_model_files(app):
    assert run("doit", "schema", cwd=app).returncode == 0
    assert "-- schema" in run("doit", "schema", cwd=app).stdout
    (app / "app/models/orders.py").write_text(
        ORDERS.replace('    stream = "NEW_AND_OLD_IMAGES"\n', "")
    )
    again = run("doit", "schema", cwd=app)
    assert again.returncode == 0, again.stderr
    assert ".  schema" in again.stdout
    template = yaml.safe_load((app / "schemas/dynamo/orders.yml").read_text())
    assert "StreamSpecification" not in template["Resources"]["OrderTable"]["Properties"]
    (app / "app/models/orders.py").unlink()
    assert run("doit", "schema", cwd=app).returncode == 0
    assert not (app / "schemas/dynamo/orders.yml").exists()


def test_the_schema_digest_reads_every_module_of_the_models_package(tmp_path):
    """doit schema runs again when any of the runtime's models code changes: every file of
    the package and the idempotency table's model count, in an order that does not depend
    on the file system's."""
    import shutil

    from tight_tasks.resources import runtime_dir
    from tight_tasks.schema import schema_code_digest

    runtime = tmp_path / "tight"
    shutil.copytree(runtime_dir() / "models", runtime / "models")
    shutil.copy(runtime_dir() / "idempotency.py", runtime / "idempotency.py")
    first = schema_code_digest(runtime)
    assert first == schema_code_digest(runtime) == schema_code_digest(runtime_dir())
    modules = sorted(p.name for p in (runtime / "models").glob("*.py"))
    assert {"__init__.py", "attributes.py", "model.py", "pages.py"} <= set(modules)
    paths = [runtime / "models" / name for name in modules] + [runtime / "idempotency.py"]
    seen = {first}
    for path in paths:
        kept = path.read_bytes()
        path.write_bytes(kept + b"# changed\n")
        seen.add(schema_code_digest(runtime))
        path.write_bytes(kept)
    assert len(seen) == len(paths) + 1  # each file's change is seen
    assert schema_code_digest(runtime) == first
    (runtime / "models" / "indexes.py").write_text('"""A new module."""\n')
    assert schema_code_digest(runtime) != first


def test_no_models_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    run("tight", "generate_app", "name=empty", cwd=tmp_path)
    result = run("doit", "schema", cwd=tmp_path / "empty")
    assert result.returncode != 0
    assert "no models in app/models" in result.stderr and "generate_model" in result.stderr
