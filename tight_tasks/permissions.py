"""``doit permissions`` (and the end of ``doit test``): every AWS call the tests recorded,
checked offline against the role ``doit template`` gives the function that made it.

A recording (``tests/**/placebos/<test>/calls.json``, written by ``tight.testing.aws``)
names for each call the app function whose code made it, the client's region and the
request's resource names. Each call becomes the IAM permissions it needs: its action and
the ARN it acts on, with the ones a call implies (a ``Query`` on an index needs the index's
ARN, a batch or a transaction needs each table's own action, ``HeadObject`` is
``s3:GetObject``). Those are evaluated against the statements of the function's role in
the template the app would deploy (``tight_tasks.template``, overlay included), by IAM's
rules (``tight_tasks.iam``). A call the role does not allow is an error naming the
function, the call, the resource and the setting that would allow it; a permission of the
function's own (its tables, its ``permissions`` in tight.yml) that no recorded call used is
a hint.

Resource names carry the stage the tests ran with (``<app>-<stage>-<name>``); they are
checked as the stage the template is rendered for.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tight_tasks.errors import TightTaskError, as_action
from tight_tasks.iam import Resolver, Statement, action_matches, allows, resource_matches

PLACEBOS = "placebos"
MANIFEST = "calls.json"
UNKNOWN_ACCOUNT = "*"  # a call whose account the recording does not show: any
# A service's IAM prefix where it differs from its endpoint's.
ACTION_PREFIX = {"streams.dynamodb": "dynamodb", "monitoring": "cloudwatch", "email": "ses"}
# IAM actions whose names differ from the operation's.
RENAMED = {
    "lambda.Invoke": "InvokeFunction",
    "lambda.InvokeAsync": "InvokeFunction",
    "sqs.SendMessageBatch": "SendMessage",
    "sqs.DeleteMessageBatch": "DeleteMessage",
    "sqs.ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
    "sns.PublishBatch": "Publish",
}
S3_ACTIONS = {
    "HeadObject": "GetObject",
    "GetObjectAttributes": "GetObject",
    "CopyObject": "PutObject",
    "UploadPartCopy": "PutObject",
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "DeleteObjects": "DeleteObject",
    "ListObjects": "ListBucket",
    "ListObjectsV2": "ListBucket",
    "HeadBucket": "ListBucket",
    "ListObjectVersions": "ListBucketVersions",
    "ListMultipartUploads": "ListBucketMultipartUploads",
    "ListParts": "ListMultipartUploadParts",
    "ListBuckets": "ListAllMyBuckets",
}
TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}
# Calls every identity may make, whatever its role says.
ALWAYS_ALLOWED = {"sts:GetCallerIdentity"}
ACCOUNT_LEVEL = {
    "dynamodb:ListTables",
    "dynamodb:DescribeLimits",
    "sqs:ListQueues",
    "sns:ListTopics",
    "kinesis:ListStreams",
    "s3:ListAllMyBuckets",
}


@dataclass(frozen=True)
class Need:
    """One permission a recorded call needs: its action on a resource (``arn`` None when
    the recording cannot name it: any resource the action is allowed on will do)."""

    call: str  # DynamoDB.Query
    action: str  # dynamodb:Query
    arn: str | None
    account_known: bool
    what: str  # table shop-dev-note, index by_owner
    table: str | None = None  # a DynamoDB table, for the fix naming its model


@dataclass
class Recorded:
    """The calls one function's code made in the tests, each with where it was recorded."""

    needs: list[tuple[Need, str]] = field(default_factory=list)


# -- what a call needs ------------------------------------------------------------------------
def _arn_account(arn: str) -> str | None:
    parts = arn.split(":", 5)
    return parts[4] if len(parts) == 6 and parts[4] else None


def needs_of(operation: str, call: str, params: dict[str, Any], region: str) -> list[Need]:
    """The permissions one recorded call needs (``operation`` is ``<endpoint>.<Operation>``)."""
    service, _, name = operation.rpartition(".")
    prefix = ACTION_PREFIX.get(service, service)
    action = f"{prefix}:{RENAMED.get(f'{service}.{name}', name)}"
    if action in ALWAYS_ALLOWED:
        return []
    if action in ACCOUNT_LEVEL:
        return [Need(call, action, "*", True, "any resource (an account-level call)")]
    if prefix == "dynamodb":
        return _dynamodb(call, action, name, params, region)
    if prefix == "s3":
        return _s3(call, name, params)
    if prefix == "sqs":
        return [_sqs(call, action, params, region)]
    if prefix == "events" and name == "PutEvents":
        needs = []
        for bus in params.get("EventBusNames") or ["default"]:
            arn = (
                bus
                if bus.startswith("arn:")
                else (f"arn:aws:events:{region}:{UNKNOWN_ACCOUNT}:event-bus/{bus}")
            )
            needs.append(Need(call, action, arn, bus.startswith("arn:"), f"event bus {bus}"))
        return needs
    if prefix == "kinesis" and "StreamName" in params and "StreamARN" not in params:
        stream = params["StreamName"]
        arn = f"arn:aws:kinesis:{region}:{UNKNOWN_ACCOUNT}:stream/{stream}"
        return [Need(call, action, arn, False, f"stream {stream}")]
    if prefix == "ssm":
        names = params.get("Names") or [params[k] for k in ("Name", "Path") if k in params]
        if names:
            return [
                Need(call, action, n if n.startswith("arn:") else
                     f"arn:aws:ssm:{region}:{UNKNOWN_ACCOUNT}:parameter/{n.lstrip('/')}",
                     n.startswith("arn:"), f"parameter {n}")
                for n in names
            ]  # fmt: skip
    if prefix == "lambda" and isinstance(params.get("FunctionName"), str):
        function = params["FunctionName"]
        if not function.startswith("arn:"):
            arn = f"arn:aws:lambda:{region}:{UNKNOWN_ACCOUNT}:function:{function}"
            return [Need(call, action, arn, False, f"function {function}")]
    for key, value in sorted(params.items()):  # any other service: the ARN it names
        if isinstance(value, str) and value.startswith("arn:"):
            return [Need(call, action, value, _arn_account(value) is not None, f"{key} {value}")]
    return [Need(call, action, None, True, "a resource the recording does not name")]


def _dynamodb(call: str, action: str, name: str, params: dict[str, Any], region: str) -> list[Need]:
    def table(table_name: str, index: str | None = None) -> str:
        arn = f"arn:aws:dynamodb:{region}:{UNKNOWN_ACCOUNT}:table/{table_name}"
        return f"{arn}/index/{index}" if index else arn

    if params.get("TransactItems"):
        return [
            Need(call, f"dynamodb:{TRANSACT_ACTIONS[kind]}", table(t), False, f"table {t}", t)
            for kind, t in params["TransactItems"]
            if kind in TRANSACT_ACTIONS and t
        ]
    if params.get("RequestItems"):
        return [
            Need(call, action, table(t), False, f"table {t}", t) for t in params["RequestItems"]
        ]
    if params.get("TableName"):
        t, index = params["TableName"], params.get("IndexName")
        if t.startswith("arn:"):
            return [Need(call, action, t, True, f"table {t}", t.rpartition("/")[2])]
        what = f"table {t}" + (f", index {index}" if index else "")
        return [Need(call, action, table(t, index), False, what, t)]
    return [Need(call, action, None, True, "a resource the recording does not name")]


def _s3(call: str, name: str, params: dict[str, Any]) -> list[Need]:
    action = f"s3:{S3_ACTIONS.get(name, name)}"
    bucket, key = params.get("Bucket"), params.get("Key")
    if not bucket:
        return [Need(call, action, None, True, "a resource the recording does not name")]
    if name == "DeleteObjects":
        key = "*"
    needs = []
    if key is not None:
        needs.append(
            Need(call, action, f"arn:aws:s3:::{bucket}/{key}", True, f"s3://{bucket}/{key}")
        )
    else:
        needs.append(Need(call, action, f"arn:aws:s3:::{bucket}", True, f"bucket {bucket}"))
    source = params.get("CopySource")
    if isinstance(source, str) and "/" in source:
        source = source.lstrip("/").split("?")[0]
        needs.append(Need(call, "s3:GetObject", f"arn:aws:s3:::{source}", True, f"s3://{source}"))
    return needs


def _sqs(call: str, action: str, params: dict[str, Any], region: str) -> Need:
    url = params.get("QueueUrl")
    if isinstance(url, str):
        parts = [p for p in urlsplit(url).path.split("/") if p]
        if len(parts) >= 2:
            account, queue = parts[-2], parts[-1]
            arn = f"arn:aws:sqs:{region}:{account}:{queue}"
            return Need(call, action, arn, True, f"queue {queue}")
    name = params.get("QueueName")
    if isinstance(name, str):
        arn = f"arn:aws:sqs:{region}:{UNKNOWN_ACCOUNT}:{name}"
        return Need(call, action, arn, False, f"queue {name}")
    return Need(call, action, None, True, "a resource the recording does not name")


# -- the recordings ---------------------------------------------------------------------------
def recording_folders(root: Path) -> list[Path]:
    """Every test's AWS recording under tests/ (not the hidden ones a run is writing)."""
    tests = root / "tests"
    found = []
    for manifest in sorted(tests.rglob(f"{PLACEBOS}/*/{MANIFEST}")):
        relative = manifest.relative_to(root).parts
        if not any(part.startswith(".") for part in relative):
            found.append(manifest.parent)
    return found


def _restage(value: Any, app: str, recorded: str, stage: str) -> Any:
    """``<app>-<recorded>-x`` as ``<app>-<stage>-x`` wherever a name starts in a string of
    ``value`` (a call's parameters: a table name, an ARN, a queue URL)."""
    if recorded == stage:
        return value
    if isinstance(value, str):
        pattern = rf"(^|[:/]){re.escape(app)}-{re.escape(recorded)}-"
        return re.sub(pattern, rf"\1{app}-{stage}-", value)
    if isinstance(value, dict):
        return {k: _restage(v, app, recorded, stage) for k, v in value.items()}
    if isinstance(value, list):
        return [_restage(v, app, recorded, stage) for v in value]
    return value


def read_recordings(root: Path, app: str, stage: str) -> tuple[dict[str, Recorded], list[str]]:
    """The calls each function's code made, from every recording; and the recordings
    made before Tight noted which function makes each call (a call a test makes itself
    names none, and is not the function's to be allowed)."""
    by_function: dict[str, Recorded] = {}
    unattributed = []
    for folder in recording_folders(root):
        where = folder.relative_to(root).as_posix()
        try:
            manifest = json.loads((folder / MANIFEST).read_text())
            calls = list(manifest.get("calls") or [])
        except (OSError, ValueError, AttributeError) as error:
            raise TightTaskError(
                f"{where}/{MANIFEST} cannot be read ({error}); record it again with "
                "`pytest --tight-record`"
            ) from None
        recorded_stage = str(manifest.get("stage") or stage)
        named = False
        for entry in calls:
            function = entry.get("function") if isinstance(entry, dict) else None
            if not function:
                continue
            named = True
            params = _restage(entry.get("params") or {}, app, recorded_stage, stage)
            operation = str(entry.get("operation", ""))
            region = str(entry.get("region") or "*")
            call = str(entry.get("call") or operation)
            for need in needs_of(operation, call, params, region):
                by_function.setdefault(function, Recorded()).needs.append((need, where))
        if calls and not named and "stage" not in manifest:
            unattributed.append(where)  # recorded before calls named their function
    return by_function, unattributed


# -- the check --------------------------------------------------------------------------------
@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)
    checked: int = 0
    functions: int = 0


def role_statements(document: dict[str, Any], logical: str, resolver: Resolver) -> list[Statement]:
    """The statements of a role's inline policies, as ARN patterns."""
    role = (document.get("Resources") or {}).get(logical) or {}
    found = []
    for policy in (role.get("Properties") or {}).get("Policies") or []:
        raw = (policy.get("PolicyDocument") or {}).get("Statement") or []
        for statement in raw if isinstance(raw, list) else [raw]:
            if isinstance(statement, dict):
                found.append(resolver.statement(statement))
    return found


def managed_policies(document: dict[str, Any], logical: str) -> list[str]:
    """The names of the managed policies a role has (``ManagedPolicyArns``): AWS keeps their
    statements, so an offline check cannot read them."""
    role = (document.get("Resources") or {}).get(logical) or {}
    names = []
    for arn in (role.get("Properties") or {}).get("ManagedPolicyArns") or []:
        if isinstance(arn, dict) and len(arn) == 1:  # {"Fn::Sub": "arn:${AWS::Partition}:..."}
            (arn,) = arn.values()
        if isinstance(arn, str):
            names.append(arn.rsplit("/", 1)[-1])
        else:
            names.append(json.dumps(arn))
    return names


def suggested_resource(need: Need, app: str, stage: str) -> str:
    """The ARN to allow, as tight.yml would say it for every stage and account."""
    arn = need.arn or "*"
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[2] != "s3":
        parts[3] = "${AWS::Region}" if parts[3] else ""
        parts[4] = "${AWS::AccountId}" if parts[4] else ""
        arn = ":".join(parts)
    elif len(parts) == 6 and "/" in parts[5]:
        arn = f"arn:aws:s3:::{parts[5].split('/', 1)[0]}/*"  # the bucket's objects
    return re.sub(rf"(^|[:/]){re.escape(app)}-{re.escape(stage)}-", rf"\1{app}-${{Stage}}-", arn)


def fix_for(
    function: str, need: Need, tables: dict[str, tuple[str, str]], app: str, stage: str,
    has_table: bool,
) -> str:  # fmt: skip
    """What would allow the call: its model's import, or tight.yml's permissions."""
    statement = (
        f"{{Effect: Allow, Action: {need.action}, "
        f"Resource: '{suggested_resource(need, app, stage)}'}}"
    )
    hatch = (
        f"add {statement} to functions.{function}.permissions in tight.yml (or the "
        "role's Policies in template.overlay.yml)"
    )
    model = tables.get(need.table or "")
    if model is None or has_table:
        return hatch
    return (
        f"import {model[0]} from {model[1]} in app/functions/{function} (doit template then "
        f"gives its role the table), or {hatch}"
    )


def check(root: Path, settings: dict[str, Any], stage: str = "") -> Report:
    """Compare every function's recorded calls with its role in the template."""
    from tight_tasks.functions import camel
    from tight_tasks.policies import table_id
    from tight_tasks.schema import MODELS_DIR
    from tight_tasks.template import built_template, stage_of

    stage = stage_of(stage, settings)
    document, builder = built_template(root, settings, stage)
    resolver = Resolver(document, stage)
    by_function, unattributed = read_recordings(root, builder.app, stage)
    tables: dict[str, tuple[str, str]] = {}
    for module, models in builder.models.items():
        for model in models:
            table = resolver.ref(table_id(model))
            if table:
                tables[table] = (model.__name__, f"{MODELS_DIR}/{module}.py")
    report = Report()
    for function in sorted(builder.code_statements):
        logical = camel(function) + "FunctionRole"
        role = role_statements(document, logical, resolver)
        managed = managed_policies(document, logical)
        unread = ""
        if managed:
            unread = (
                f" (its role also has the managed {'policies' if len(managed) > 1 else 'policy'}"
                f" {', '.join(managed)}, which this offline check cannot read: if "
                f"{'one' if len(managed) > 1 else 'it'} allows the call, the statement "
                "added all the same says so)"
            )
        recorded = by_function.get(function, Recorded())
        seen: set[tuple[str, str | None]] = set()
        allowed: list[Need] = []
        for need, where in recorded.needs:
            report.checked += 1
            if allows(role, need.action, need.arn, need.account_known):
                allowed.append(need)
                continue
            key = (need.action, suggested_resource(need, builder.app, stage))
            if key in seen:
                continue
            seen.add(key)
            has_table = any(
                s.effect == "Allow" and s.covers_resource(_table_only(need.arn), need.account_known)
                for s in role
                if need.table
            )
            report.errors.append(
                f"app/functions/{function}: {need.call} on {need.what} ({need.action} on "
                f"{need.arn or 'any resource'}), recorded in {where}, is not allowed by its "
                f"role; {fix_for(function, need, tables, builder.app, stage, has_table)}" + unread
            )
        if recorded.needs:
            report.functions += 1
        own = [resolver.statement(s) for s in builder.code_statements[function]]
        if own and not recorded.needs:
            report.hints.append(
                f"app/functions/{function}: no recorded call of its own, so its permissions "
                "are unchecked (record its tests with `pytest --tight-record`)"
            )
            continue
        for statement in own:
            if statement.effect != "Allow" or statement.not_action or statement.not_resource:
                continue
            for pattern in statement.resources:
                if pattern is None:
                    continue
                unused = [
                    action
                    for action in statement.actions
                    if not any(
                        action_matches(action, n.action)
                        and n.arn is not None
                        and resource_matches(pattern, n.arn, n.account_known)
                        for n in allowed
                    )
                ]
                if unused:
                    report.hints.append(
                        f"app/functions/{function} may {', '.join(unused)} on {pattern}, "
                        "which no recorded call does"
                    )
    for gone in sorted(set(by_function) - set(builder.code_statements)):
        report.hints.append(
            f"recorded calls name app/functions/{gone}, which the app no longer has; "
            "re-record the tests that called it with `pytest --tight-record`"
        )
    for where in unattributed:
        report.hints.append(
            f"{where}: recorded before Tight noted which function makes each call; "
            "re-record it with `pytest --tight-record` to have its calls checked"
        )
    return report


def _table_only(arn: str | None) -> str | None:
    """A table's ARN without its index part."""
    return arn.split("/index/", 1)[0] if arn else arn


def report_lines(report: Report) -> None:
    """Print the hints, then raise with the errors (one ``error:`` line each)."""
    for hint in report.hints:
        print(f"hint: {hint}")
    if report.errors:
        for error in report.errors[:-1]:
            sys.stderr.write(f"error: {error}\n")
        sys.stderr.flush()
        raise TightTaskError(report.errors[-1])
    print(
        f"permissions: {report.checked} recorded call(s) of {report.functions} function(s), "
        "each allowed by its function's role"
    )


def check_after_tests(root: Path, settings: dict[str, Any]) -> None:
    """The check at the end of ``doit test``: only when some recording names the function
    that made its calls; a template that cannot be built is ``doit template``'s error to
    report, so here it is a hint."""
    from tight.config import ConfigError

    if not any(_names_functions(folder) for folder in recording_folders(root)):
        return
    try:
        report = check(root, settings)
    except (TightTaskError, ConfigError) as error:
        print(f"hint: permissions not checked: {error}")
        return
    report_lines(report)


def _names_functions(folder: Path) -> bool:
    try:
        calls = json.loads((folder / MANIFEST).read_text()).get("calls") or []
    except (OSError, ValueError, AttributeError):
        return True  # unreadable: the check says so
    return any(isinstance(call, dict) and call.get("function") for call in calls)


def _permissions(stage: str) -> None:
    from tight_tasks.config import find_app_root, load

    root = find_app_root()
    report_lines(check(root, load(root), stage))


def task_permissions() -> dict[str, Any]:
    """Check every AWS call the tests recorded against its function's role, offline."""
    from tight_tasks.taskkit import stage_param

    return {
        "actions": [(as_action(_permissions),)],
        "params": [stage_param("the stage whose roles and resource names are checked")],
        "uptodate": [False],
        "verbosity": 2,
    }
