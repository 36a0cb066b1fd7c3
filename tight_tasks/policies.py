"""The app's tables and who may touch them: one DynamoDB table per model (as ``doit schema``
writes it, kept when the stack is updated or deleted), one IAM role per function allowing its
log group, the tables its code uses (read, or read and write) and its event source, and which
env.dist.yml variables are secrets, whose template parameters are NoEcho.
"""

from pathlib import Path
from typing import Any

from tight_tasks.errors import TightTaskError
from tight_tasks.functions import Code
from tight_tasks.schema import _logical_id as table_id
from tight_tasks.schema import load_models, table_resource

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
    "READ_ACTIONS",
    "WRITE_ACTIONS",
    "app_models",
    "function_role",
    "function_tables",
    "is_secret",
    "model_named",
    "model_tables",
    "table_id",
    "table_statement",
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


def function_tables(models: dict[str, list[Any]], code: Code) -> list[Any]:
    """The models a function's code imports (a module, or one class of it)."""
    found = []
    for module, class_name in sorted(code.models, key=lambda m: (m[0], m[1] or "")):
        for model in models.get(module, []):
            if class_name in (None, model.__name__) and model not in found:
                found.append(model)
    return found


def table_statement(tables: list[Any], writes: bool) -> dict[str, Any]:
    """Read (and, when the code writes, write) on the tables and their indexes."""
    actions = READ_ACTIONS + (WRITE_ACTIONS if writes else [])
    resources: list[Any] = []
    for model in tables:
        arn = {"Fn::GetAtt": [table_id(model), "Arn"]}
        resources += [arn, {"Fn::Sub": ["${Arn}/index/*", {"Arn": arn}]}]
    return {"Effect": "Allow", "Action": sorted(actions), "Resource": resources}


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
