"""The app's tables and who may touch them: one DynamoDB table per model (as ``doit schema``
writes it, kept when the stack is updated or deleted), one IAM role per function allowing its
log group, the tables its code uses (read actions on each, write actions only on those it
writes: ``tight_tasks.model_uses`` has the rules), its event source and the statements
tight.yml adds for it (``functions.<name>.permissions``), and which env.dist.yml variables
are secrets, whose template parameters are NoEcho.
"""

import sys
from pathlib import Path
from typing import Any

from tight_tasks.errors import TightTaskError
from tight_tasks.functions import FUNCTIONS_DIR, Code
from tight_tasks.schema import MODELS_DIR, load_models, table_resource
from tight_tasks.schema import _logical_id as table_id

READ_ACTIONS = [
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
]
WRITE_ACTIONS = [
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
]

__all__ = [
    "IDEMPOTENCY_ACTIONS",
    "READ_ACTIONS",
    "WRITE_ACTIONS",
    "app_models",
    "function_role",
    "function_tables",
    "idempotency_statement",
    "is_secret",
    "model_named",
    "model_tables",
    "permission_statements",
    "table_id",
    "table_statement",
    "table_statements",
]


def is_secret(name: str) -> bool:
    """A variable whose value the template keeps out of the console (``NoEcho``): the one
    list of secret names (``tight_tasks.secret_names``), which the scrubber uses too."""
    from tight_tasks.secret_names import is_secret_name

    return is_secret_name(name)


# -- tables -------------------------------------------------------------------------------------


def app_models(root: Path) -> dict[str, list[Any]]:
    """The app's models by module, as ``doit schema`` reads them."""
    by_module: dict[str, list[Any]] = {}
    for model in load_models(root):
        by_module.setdefault(model.__module__.rsplit(".", 1)[-1], []).append(model)
    return by_module


def model_tables(
    models: dict[str, list[Any]], app: str
) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """``(logical id, table resource, output)`` per model: the table is retained when the
    stack replaces or deletes it, its data outlives any deploy, except a table that a failed
    first deploy created (RetainExceptOnCreate: it holds nothing, and would be orphaned)."""
    tables = []
    for by_module in models.values():
        for model in by_module:
            resource = table_resource(model, app)
            resource["DeletionPolicy"] = "RetainExceptOnCreate"
            resource["UpdateReplacePolicy"] = "Retain"
            output = {
                "Description": f"the DynamoDB table of {model.__name__}",
                "Value": {"Ref": table_id(model)},
            }
            tables.append((table_id(model), resource, output))
    return tables


def model_named(models: dict[str, list[Any]], name: str, function: str) -> Any:
    """The model a dynamodb_stream trigger names, by class or model name."""
    for by_module in models.values():
        for model in by_module:
            if name in (model.__name__, model.model_name()):
                return model
    raise TightTaskError(
        f"functions.{function}.dynamodb_stream in tight.yml names model {name!r}, which is "
        "not in app/models; create it with `doit generate_model name=<name>`"
    )


# -- roles --------------------------------------------------------------------------------------


def function_tables(
    models: dict[str, list[Any]], name: str, code: Code
) -> tuple[list[Any], list[Any]]:
    """The models whose tables a function's code reads, and those it writes (each in its
    role), in name order. A model it uses without a table is an error naming both."""
    from tight.models import Model

    function = f"{FUNCTIONS_DIR}/{name}"
    for where, module, missing in code.unresolved:
        raise TightTaskError(
            f"{function} uses {missing} from {module} ({where}), which has no {missing}, so no "
            f"table can be given to its role: import {missing} from the module in {MODELS_DIR} "
            f"that defines it, or re-export it in {module} "
            f"(`from app.models.<module> import {missing}`)"
        )
    tables = {(m.__module__, m.__name__): m for by_module in models.values() for m in by_module}
    used: dict[Any, bool] = {}
    for key in sorted(set(code.models) | code.writes):
        module, class_name = key
        if class_name == "*":
            found = [
                m for k, m in tables.items() if k[0] == module or k[0].startswith(module + ".")
            ]
        elif key in tables:
            found = [tables[key]]
        else:
            # doit schema imported app/models/*.py: a name there that is no Model class
            # (a constant, a helper function) is no table to grant.
            value = getattr(sys.modules.get(module), class_name, None)
            loaded = module in sys.modules
            if loaded and not (isinstance(value, type) and issubclass(value, Model)):
                continue
            where = code.models.get(key, module.replace(".", "/") + ".py")
            fix = (
                f"define it with a class statement in {module}"
                if loaded
                else f"move it to {MODELS_DIR}/<name>.py (`doit generate_model name=<name>`)"
            )
            raise TightTaskError(
                f"{function} uses model {class_name} ({where}), defined in {module}, which has "
                f"no table: tables are made for the Model classes defined in {MODELS_DIR}/*.py; "
                f"{fix}"
            )
        for model in found:
            used[model] = used.get(model, False) or key in code.writes
    ordered = sorted(used, key=lambda m: m.__name__)
    return [m for m in ordered if not used[m]], [m for m in ordered if used[m]]


def table_statement(tables: list[Any], writes: bool) -> dict[str, Any]:
    """Read (and, when the code writes, write) on the tables and their indexes."""
    actions = READ_ACTIONS + (WRITE_ACTIONS if writes else [])
    resources: list[Any] = []
    for model in tables:
        arn = {"Fn::GetAtt": [table_id(model), "Arn"]}
        resources += [arn, {"Fn::Sub": ["${Arn}/index/*", {"Arn": arn}]}]
    return {"Effect": "Allow", "Action": sorted(actions), "Resource": resources}


def table_statements(models: dict[str, list[Any]], name: str, code: Code) -> list[dict[str, Any]]:
    """Read on the tables the function only reads; read and write on those it writes."""
    reads, writes = function_tables(models, name, code)
    return [table_statement(tables, bool(tables is writes)) for tables in (reads, writes) if tables]


# What ``@idempotent`` does to its table: claim, read, complete and release a key's record.
IDEMPOTENCY_ACTIONS = [
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
]


def idempotency_statement() -> dict[str, Any]:
    """A function whose code imports ``tight.idempotency`` may use its table, that alone."""
    from tight.idempotency import IdempotencyRecord

    arn = {"Fn::GetAtt": [table_id(IdempotencyRecord), "Arn"]}
    return {"Effect": "Allow", "Action": IDEMPOTENCY_ACTIONS, "Resource": [arn]}


def permission_statements(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The statements tight.yml adds to a function's role (``functions.<name>.permissions``,
    checked when tight.yml is read), for services Tight does not model: a resource naming
    ``${Stage}`` or ``${AWS::Region}`` is filled in by CloudFormation."""
    from tight_tasks.iam import rendered_statement

    return [rendered_statement(statement) for statement in entry.get("permissions") or []]


def function_role(prefix: str, name: str, statements: list[dict[str, Any]]) -> dict[str, Any]:
    """The function's own role: its log group, then ``statements``; no more."""
    logs = {
        "Effect": "Allow",
        "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": {
            "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:"
            f"log-group:/aws/lambda/{prefix}-{name}:*"
        },
    }
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
            "Policies": [
                {
                    "PolicyName": "function",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [logs, *statements],
                    },
                }
            ],
        },
    }
