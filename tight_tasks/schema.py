"""``doit schema``: CloudFormation for the app's DynamoDB tables, from its models.

One template per model under ``schemas/dynamo/<module>.yml`` and a combined
``schemas/dynamo/template.yml``, each an ``AWS::DynamoDB::Table`` with the model's keys,
attribute definitions, indexes, billing mode, TTL and stream. Table names follow the
runtime's ``<app>-${Stage}-<model>``, with ``Stage`` a template parameter. An app whose
code imports ``tight.idempotency`` also gets ``<app>-${Stage}-idempotency``
(``schemas/dynamo/tight_idempotency.yml``), with its TTL.
"""

import hashlib
import importlib
import sys
from pathlib import Path
from typing import Any

from tight_tasks.config import app_name
from tight_tasks.errors import TightTaskError, as_action
from tight_tasks.files import write_atomic

SCHEMA_DIR = "schemas/dynamo"
MODELS_DIR = "app/models"


def model_files(root: Path) -> list[Path]:
    folder = root / MODELS_DIR
    return (
        sorted(p for p in folder.glob("*.py") if p.name != "__init__.py") if folder.is_dir() else []
    )


def load_models(root: Path) -> list[Any]:
    """Model subclasses defined in app/models/*.py, in file order."""
    from tight.models import Model

    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    found: list[Any] = []
    for path in model_files(root):
        module_name = f"app.models.{path.stem}"
        try:
            module = importlib.import_module(module_name)
        except Exception as error:
            raise TightTaskError(f"{MODELS_DIR}/{path.name} does not import: {error}") from error
        for value in vars(module).values():
            defined_here = getattr(value, "__module__", None) == module.__name__
            if isinstance(value, type) and issubclass(value, Model) and defined_here:
                found.append(value)
    return found


def table_models(root: Path) -> list[Any]:
    """Every model with a table: the app's, then Tight's idempotency record when the app's
    code imports ``tight.idempotency`` (``@idempotent`` keeps its keys there)."""
    from tight_tasks.functions import app_uses_idempotency

    models = load_models(root)
    if app_uses_idempotency(root):
        from tight.idempotency import IdempotencyRecord

        models.append(IdempotencyRecord)
    return models


def document_name(model: Any) -> str:
    """The stem of a model's own template: its module's under app/models; a model of
    Tight's (``tight.idempotency``) as ``tight_idempotency``, beside any app module's."""
    module = str(model.__module__)
    if module.startswith("app.models."):
        return module.rsplit(".", 1)[-1]
    return module.replace(".", "_")


def _logical_id(model: Any) -> str:
    return f"{model.__name__}Table"


def table_resource(model: Any, app: str) -> dict[str, Any]:
    definition = model.table_definition()
    properties: dict[str, Any] = {
        key: value for key, value in definition.items() if key not in ("TableName",)
    }
    if model.table:
        properties["TableName"] = model.table
    else:
        properties["TableName"] = {"Fn::Sub": f"{app}-${{Stage}}-{model.model_name()}"}
    if model.stream:  # CloudFormation names only the view; the API also wants StreamEnabled
        properties["StreamSpecification"] = {"StreamViewType": model.stream}
    if model.ttl:
        properties["TimeToLiveSpecification"] = {
            "AttributeName": model.attributes[model.ttl].name,
            "Enabled": True,
        }
    return {"Type": "AWS::DynamoDB::Table", "Properties": dict(sorted(properties.items()))}


def template(models: list[Any], app: str, stage: str) -> dict[str, Any]:
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"DynamoDB tables of {app}, written by `doit schema` from app/models",
        "Parameters": {
            "Stage": {"Type": "String", "Default": stage, "Description": "the deployment stage"}
        },
        "Resources": {_logical_id(m): table_resource(m, app) for m in models},
        "Outputs": {f"{_logical_id(m)}Name": {"Value": {"Ref": _logical_id(m)}} for m in models},
    }


def write_schemas(root: Path, settings: dict[str, Any]) -> list[Path]:
    import yaml

    from tight import config

    app = app_name(root, settings)
    stage = str(settings.get("stage") or "dev")
    config.configure(app_name=app, stage=stage)
    models = table_models(root)
    if not models:
        raise TightTaskError(
            f"no models in {MODELS_DIR}; add one with `doit generate_model name=<name>`"
        )
    out = root / SCHEMA_DIR
    out.mkdir(parents=True, exist_ok=True)
    written = []
    by_module: dict[str, list[Any]] = {}
    for model in models:
        by_module.setdefault(document_name(model), []).append(model)
    documents = {f"{name}.yml": template(group, app, stage) for name, group in by_module.items()}
    documents["template.yml"] = template(models, app, stage)
    for name, document in documents.items():
        path = out / name
        write_atomic(path, yaml.safe_dump(document, sort_keys=False, default_flow_style=False))
        written.append(path.relative_to(root))
    stale = {p.name for p in out.glob("*.yml")} - set(documents)
    for name in stale:  # a model file that is gone leaves no template behind
        (out / name).unlink()
    return written


# Task creators: `doit list` shows each docstring; the work is the functions above.


def _schema() -> None:
    from tight_tasks.config import load

    root = Path.cwd()
    for path in write_schemas(root, load(root)):
        print(f"wrote {path.as_posix()}")


def schema_code_digest(runtime: Path) -> str:
    """A digest of the code that turns models into templates: every file of the runtime's
    ``models`` package (by name, sorted), its idempotency record, this module and the one
    that finds ``@idempotent``. Read, not imported: every doit command creates the schema
    task, and importing the models would cost each one."""
    files = sorted((runtime / "models").glob("*.py"))
    files += [p for p in (runtime / "idempotency.py",) if p.is_file()]
    files += [Path(__file__), Path(__file__).with_name("functions.py")]
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def task_schema() -> dict[str, Any]:
    """Write CloudFormation for each model's table (and @idempotent's) under schemas/dynamo/."""
    root = Path.cwd()
    models = [str(p.relative_to(root)) for p in model_files(root)]
    task: dict[str, Any] = {"actions": [(as_action(_schema),)], "verbosity": 2}
    if models and (root / "tight.yml").is_file():
        from doit.tools import config_changed

        from tight_tasks.artifact import app_sources
        from tight_tasks.resources import runtime_dir

        # Any app module may import tight.idempotency, which adds its table.
        code = [p.relative_to(root).as_posix() for p in app_sources(root) if p.suffix == ".py"]
        task["file_dep"] = sorted({*models, *code, "tight.yml"})
        task["targets"] = [f"{SCHEMA_DIR}/template.yml"]
        # A new Tight may write other templates from the same models.
        task["uptodate"] = [config_changed(schema_code_digest(runtime_dir()))]
    else:
        task["uptodate"] = [False]
    return task
