"""``doit deploy stage=<stage>`` and ``doit undeploy``: the app's stack, with boto3.

Deploy builds the zips and build/template.yml, turns the SAM template into plain
CloudFormation locally with AWS's ``aws-sam-translator`` (written to
build/template.cfn.json, to read and diff), uploads the zips to S3 under their sha256,
then creates a change set for the stack ``<app>-<stage>``, prints it, executes it and
follows the stack's events until it settles. ``AWS_ENDPOINT_URL`` (read by boto3) points
every call at a local emulator.
"""

import hashlib
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

from tight_tasks.config import app_name
from tight_tasks.errors import TightTaskError, as_action
from tight_tasks.taskkit import failing, param, settings_or_error, stage_param
from tight_tasks.template import TEMPLATE_PATH, stage_of

CFN_PATH = "build/template.cfn.json"
TEMPLATE_BODY_LIMIT = 51200  # bytes CloudFormation takes inline; larger goes through S3
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
POLL_SECONDS = 2.0


def session() -> Any:
    """One boto3 session; a clear error when there is no region."""
    import boto3

    current = boto3.session.Session()
    if not current.region_name:
        raise TightTaskError(
            "no AWS region; set AWS_DEFAULT_REGION (or AWS_REGION, or region in ~/.aws/config)"
        )
    return current


def stack_name(app: str, stage: str) -> str:
    return f"{app}-{stage}".replace("_", "-")


def _aws_errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.parsers import ResponseParserError  # an emulator's 500 page

    return (BotoCoreError, ClientError, ResponseParserError)


def _aws_error(error: Exception, doing: str) -> TightTaskError:
    message = getattr(error, "response", {}).get("Error", {}).get("Message") or _message(error)
    return TightTaskError(f"{doing}: {message}")


def _message(error: Exception) -> str:
    """One line of an error that has no parsed response: the message inside an emulator's
    raw answer (JSON or XML), else the error's first line."""
    text = str(error)
    found = re.search(r'"message":\s*"((?:[^"\\]|\\.)*)"|<Message>(.*?)</Message>', text)
    if found:
        return (found.group(1) or found.group(2) or "").replace("\\'", "'")
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__


# -- S3 -----------------------------------------------------------------------------------------


def default_bucket(app: str, account: str, region: str) -> str:
    """The bucket Tight creates when none is configured: one per app, account and region."""
    app = app.lower().replace("_", "-")
    tail = f"-{account}-{region}-tight"
    if len(app) + len(tail) > 63:  # S3's limit: shorten the app's part, keep it unique
        digest = hashlib.sha256(app.encode()).hexdigest()[:8]
        app = f"{app[: 63 - len(tail) - 9].rstrip('-')}-{digest}"
    return app + tail


def ensure_bucket(s3: Any, name: str, region: str, create: bool, owner: str) -> None:
    """The bucket exists and belongs to ``owner`` (this account), or Tight creates it. The
    default name is predictable, so a bucket of that name owned by anyone else is refused."""
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=name, ExpectedBucketOwner=owner)
        return
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code in ("403", "AccessDenied", "Forbidden"):
            raise TightTaskError(
                f"bucket {name} is not owned by account {owner} (or you may not read it): "
                "nothing is uploaded there; name a bucket of yours with bucket= or deploy.bucket "
                "in tight.yml"
            ) from None
        if code not in ("404", "NoSuchBucket", "NotFound") or not create:
            raise TightTaskError(
                f"cannot use bucket {name} ({code}); check its name and your permissions, or "
                "name no bucket (bucket= or deploy.bucket in tight.yml) to let Tight create one"
            ) from None
    arguments: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        arguments["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**arguments)
    except _aws_errors() as error:
        raise _aws_error(error, f"cannot create bucket {name}") from None
    print(f"created bucket {name}")


def sha256_b64(data: bytes) -> str:
    """SHA-256 as S3's checksums and Lambda's CodeSha256 write it: base64 of the digest."""
    import base64

    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def upload(s3: Any, bucket: str, owner: str, app: str, path: Path) -> str:
    """Put ``path`` under a key made of its sha256, once: an object already there is trusted
    only when S3's SHA-256 checksum of it is the zip's; otherwise it is replaced."""
    from botocore.exceptions import ClientError

    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    key = f"{app}/{digest}{path.suffix}"
    try:
        head = s3.head_object(
            Bucket=bucket, Key=key, ExpectedBucketOwner=owner, ChecksumMode="ENABLED"
        )
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code not in ("404", "NoSuchKey", "NotFound"):
            raise _aws_error(error, f"cannot read s3://{bucket}/{key}") from None
    else:
        if head.get("ChecksumSHA256") == sha256_b64(data):
            print(f"s3://{bucket}/{key} is there already, checksum verified ({path.name})")
            return key
        print(
            f"s3://{bucket}/{key} is there but "
            f"{'has no SHA-256 checksum' if not head.get('ChecksumSHA256') else 'does not match'}"
            f": uploading {path.name} again"
        )
    s3.put_object(
        Bucket=bucket, Key=key, Body=data, ChecksumAlgorithm="SHA256", ExpectedBucketOwner=owner
    )
    print(f"uploaded {path.name} to s3://{bucket}/{key}")
    return key


def verify_code(cloudformation: Any, lambda_: Any, name: str, zip_path: Path) -> int:
    """Each function of the stack runs the zip that was built, or the deploy fails saying
    which does not; returns how many functions were checked."""
    expected = sha256_b64(zip_path.read_bytes())
    functions = [
        r["PhysicalResourceId"]
        for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=name)
        for r in page["StackResourceSummaries"]
        if r.get("ResourceType") == "AWS::Lambda::Function" and r.get("PhysicalResourceId")
    ]
    wrong = []
    for function in functions:
        running = lambda_.get_function_configuration(FunctionName=function)["CodeSha256"]
        if running != expected:
            wrong.append(f"{function} ({running})")
    if wrong:
        raise TightTaskError(
            f"deployed code differs from {zip_path.name} (CodeSha256 {expected}): "
            f"{', '.join(wrong)}; deploy again, and check who else writes to the bucket"
        )
    return len(functions)


# -- SAM to CloudFormation ----------------------------------------------------------------------


def to_cloudformation(
    document: dict[str, Any], locations: dict[str, dict[str, str]], boto_session: Any
) -> dict[str, Any]:
    """The SAM ``document`` as plain CloudFormation, each local zip replaced by its S3
    location (``locations`` maps a file name such as ``app.zip`` to Bucket and Key)."""
    import copy

    from samtranslator.model.exceptions import (  # type: ignore[import-untyped]
        InvalidDocumentException,
    )
    from samtranslator.parser.parser import Parser  # type: ignore[import-untyped]
    from samtranslator.translator.translator import Translator  # type: ignore[import-untyped]

    document = copy.deepcopy(document)
    for logical, resource in document.get("Resources", {}).items():
        properties = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            value = properties.get(key)
            if isinstance(value, str) and not value.startswith("s3://"):
                if value not in locations:
                    raise TightTaskError(
                        f"{logical} in {TEMPLATE_PATH} points at {value}, which is not built; "
                        "run `doit artifact`"
                    )
                properties[key] = dict(locations[value])
    try:
        translated: dict[str, Any] = Translator(
            None, Parser(), boto_session=boto_session
        ).translate(document, parameter_values={}, get_managed_policy_map=lambda: {})
    except InvalidDocumentException as error:
        reasons = "; ".join(str(cause) for cause in error.causes)
        raise TightTaskError(f"{TEMPLATE_PATH} is not a valid SAM template: {reasons}") from None
    return translated


# -- the stack ----------------------------------------------------------------------------------


def _stack(cloudformation: Any, name: str) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    try:
        stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error):
            return None
        raise _aws_error(error, f"cannot read stack {name}") from None
    return stacks[0] if stacks else None


def _parameters(root: Path, stage: str, stack: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Stage, and each env.dist.yml variable: the environment's value when it sets one, else
    the value the stack already has (a redeploy from another shell keeps its secrets), else
    env.dist.yml's default. A key env.dist.yml leaves empty (required) with none of those
    stops the deploy: nothing is deployed as '' silently."""
    from tight_tasks.template import env_parameter_id, env_parameters

    deployed = {p["ParameterKey"] for p in (stack or {}).get("Parameters", [])}
    values: list[dict[str, Any]] = [{"ParameterKey": "Stage", "ParameterValue": stage}]
    required = []
    for key, default in env_parameters(root).items():
        parameter = env_parameter_id(key)
        if key in os.environ:
            values.append({"ParameterKey": parameter, "ParameterValue": os.environ[key]})
        elif parameter in deployed:
            values.append({"ParameterKey": parameter, "UsePreviousValue": True})
        elif default == "":
            required.append(key)
    if required:
        names = ", ".join(required)
        raise TightTaskError(
            f"{names} {'has' if len(required) == 1 else 'have'} no value: env.dist.yml leaves "
            f"{'it' if len(required) == 1 else 'them'} empty (required) and stage {stage} has "
            f"none deployed; set {'it' if len(required) == 1 else 'them'} in the environment "
            f"for this deploy ({required[0]}=... doit deploy stage={stage}); later deploys "
            "keep the deployed value"
        )
    return values


def _resource_ids(cloudformation: Any, name: str) -> list[str]:
    """The logical ids of the stack's resources (all pages)."""
    return [
        resource["LogicalResourceId"]
        for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=name)
        for resource in page["StackResourceSummaries"]
    ]


def _unchanged(
    cloudformation: Any, stack: dict[str, Any], body: str, parameters: list[dict[str, Any]]
) -> bool:
    """True when the stack already runs this template with these parameters."""
    if not stack["StackStatus"].endswith("_COMPLETE") or "ROLLBACK" in stack["StackStatus"]:
        return False
    current = cloudformation.get_template(StackName=stack["StackName"], TemplateStage="Original")
    template = current["TemplateBody"]
    if not isinstance(template, str):
        template = json.dumps(template, indent=1, sort_keys=True)
    try:
        same_template = json.loads(template) == json.loads(body)
    except ValueError:
        return False
    # A parameter kept with UsePreviousValue is unchanged by definition.
    given = {p["ParameterKey"]: p["ParameterValue"] for p in parameters if "ParameterValue" in p}
    deployed = {p["ParameterKey"]: p.get("ParameterValue") for p in stack.get("Parameters", [])}
    return same_template and all(deployed.get(k) == v for k, v in given.items())


def _wait_for_change_set(cloudformation: Any, name: str, change_set: str) -> dict[str, Any]:
    while True:
        described: dict[str, Any] = cloudformation.describe_change_set(
            StackName=name, ChangeSetName=change_set
        )
        if described["Status"] in ("CREATE_COMPLETE", "FAILED"):
            return described
        time.sleep(POLL_SECONDS / 2)


def print_changes(described: dict[str, Any]) -> None:
    print(f"changes to stack {described['StackName']}:")
    for change in described.get("Changes", []):
        resource = change.get("ResourceChange", {})
        replacement = " (replaced)" if resource.get("Replacement") == "True" else ""
        print(
            f"  {resource.get('Action', '?'):<7} {resource.get('LogicalResourceId')}  "
            f"{resource.get('ResourceType')}{replacement}"
        )


def event_ids(cloudformation: Any, name: str) -> set[str]:
    """The ids of the stack's newest events: what happened before the operation about to run."""
    events = cloudformation.describe_stack_events(StackName=name)["StackEvents"]
    return {event["EventId"] for event in events}


def new_events(cloudformation: Any, name: str, known: set[str]) -> list[dict[str, Any]]:
    """The stack's events not in ``known``, oldest first. CloudFormation lists events newest
    first, so pages are read until an event already known: an operation's own events are
    told apart by their ids, never by comparing the local clock with AWS's."""
    found: list[dict[str, Any]] = []
    arguments = {"StackName": name}
    while True:
        page = cloudformation.describe_stack_events(**arguments)
        for event in page["StackEvents"]:
            if event["EventId"] in known:
                return found[::-1]
            found.append(event)
        if not page.get("NextToken"):
            return found[::-1]
        arguments["NextToken"] = page["NextToken"]


def follow(
    cloudformation: Any, name: str, known: set[str]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Print the stack's events as they come until it settles: the stack at the end, and
    the events of this operation (those not in ``known`` when it started)."""
    operation: list[dict[str, Any]] = []
    while True:
        for event in new_events(cloudformation, name, known):
            known.add(event["EventId"])
            operation.append(event)
            reason = (
                f"  {event['ResourceStatusReason']}" if event.get("ResourceStatusReason") else ""
            )
            print(
                f"  {event['ResourceStatus']:<20} {event['LogicalResourceId']}  "
                f"{event.get('ResourceType', '')}{reason}"
            )
        stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
        if not stack["StackStatus"].endswith("_IN_PROGRESS"):
            return dict(stack), operation
        time.sleep(POLL_SECONDS)


def failures(name: str, operation: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """The resources that failed in ``operation`` with their reasons, and the tables it
    created."""
    failed = [
        f"{e['LogicalResourceId']} ({e.get('ResourceType')}): {e.get('ResourceStatusReason', '')}"
        for e in operation
        if e["ResourceStatus"].endswith("FAILED") and e["LogicalResourceId"] != name
    ]
    tables = [
        e.get("PhysicalResourceId") or e["LogicalResourceId"]
        for e in operation
        if e.get("ResourceType") == "AWS::DynamoDB::Table"
        and e["ResourceStatus"] == "CREATE_COMPLETE"
    ]
    return failed, tables


# -- tables that outlived a stack ---------------------------------------------------------------


def table_name(resource: dict[str, Any], stage: str) -> str | None:
    """The physical name a table resource of Tight's template gets for ``stage``."""
    name = (resource.get("Properties") or {}).get("TableName")
    if isinstance(name, str):
        return name
    sub = name.get("Fn::Sub") if isinstance(name, dict) else None
    if isinstance(sub, str) and "${" not in sub.replace("${Stage}", ""):
        return sub.replace("${Stage}", stage)
    return None


def orphan_tables(
    dynamodb: Any, document: dict[str, Any], stage: str, in_stack: set[str]
) -> dict[str, tuple[str, dict[str, Any], dict[str, Any]]]:
    """The template's tables that exist already but are not the stack's: logical id ->
    (table name, the template's resource, DynamoDB's description of the table)."""
    from botocore.exceptions import ClientError

    found = {}
    for logical, resource in (document.get("Resources") or {}).items():
        if resource.get("Type") != "AWS::DynamoDB::Table" or logical in in_stack:
            continue
        name = table_name(resource, stage)
        if name is None:
            continue
        try:
            described = dynamodb.describe_table(TableName=name)["Table"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                continue
            raise
        found[logical] = (name, resource, described)
    return found


def _keys(schema: Any) -> list[tuple[str, str]]:
    return sorted((k["AttributeName"], k["KeyType"]) for k in schema or [])


def _cannot_adopt(name: str, tables: list[str], why: str) -> TightTaskError:
    listed = ", ".join(tables)
    return TightTaskError(
        f"table(s) {listed} exist outside stack {name} (kept by an earlier undeploy or "
        f"deploy) and cannot be adopted into it: {why}; nothing was created. Keep the data "
        "and adopt them by hand (a CloudFormation IMPORT change set), delete them if their "
        f"data is not wanted (aws dynamodb delete-table --table-name {tables[0]}), or give "
        "the models other tables (table = '...' on the model)"
    )


def adopt_tables(
    cloudformation: Any,
    name: str,
    stack: dict[str, Any] | None,
    document: dict[str, Any],
    orphans: dict[str, tuple[str, dict[str, Any], dict[str, Any]]],
    parameters: list[dict[str, Any]],
) -> None:
    """Import the ``orphans`` into the stack (an IMPORT change set), so the deploy that
    follows updates them instead of failing on "already exists". They are imported with
    ``DeletionPolicy: Retain`` (the deploy then sets the template's own), and a stack made
    only for the import is deleted again if the import fails, the tables untouched."""
    tables = [table for table, _, _ in orphans.values()]
    other_keys = [
        f"{table} (keys {_keys(described.get('KeySchema'))}, the model's "
        f"{_keys((resource.get('Properties') or {}).get('KeySchema'))})"
        for table, resource, described in orphans.values()
        if _keys(described.get("KeySchema"))
        != _keys((resource.get("Properties") or {}).get("KeySchema"))
    ]
    if other_keys:
        raise _cannot_adopt(name, tables, "their keys differ: " + "; ".join(other_keys))
    if stack is not None:
        current = cloudformation.get_template(StackName=name, TemplateStage="Original")
        base = current["TemplateBody"]
        base = json.loads(base) if isinstance(base, str) else dict(base)
    else:
        base = {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Parameters": document.get("Parameters") or {},
            "Resources": {},
        }
    resources = dict(base.get("Resources") or {})
    for logical, (_, resource, _) in orphans.items():
        resources[logical] = {
            **resource,
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        }
    body = json.dumps({**base, "Resources": resources}, sort_keys=True)
    print(f"adopting table(s) {', '.join(tables)} into stack {name} (an IMPORT change set)")
    change_set = f"tight-import-{int(time.time())}"

    def undo(why: str) -> TightTaskError:
        if stack is None and _stack(cloudformation, name) is not None:
            cloudformation.delete_stack(StackName=name)  # holds only the tables, retained
            cloudformation.get_waiter("stack_delete_complete").wait(
                StackName=name, WaiterConfig={"Delay": POLL_SECONDS, "MaxAttempts": 900}
            )
        return _cannot_adopt(name, tables, why)

    try:
        cloudformation.create_change_set(
            StackName=name,
            ChangeSetName=change_set,
            ChangeSetType="IMPORT",
            TemplateBody=body,
            Parameters=parameters,
            Capabilities=CAPABILITIES,
            ResourcesToImport=[
                {
                    "ResourceType": "AWS::DynamoDB::Table",
                    "LogicalResourceId": logical,
                    "ResourceIdentifier": {"TableName": table},
                }
                for logical, (table, _, _) in orphans.items()
            ],
        )
        described = _wait_for_change_set(cloudformation, name, change_set)
        if described["Status"] == "FAILED":
            raise undo(str(described.get("StatusReason") or "the import change set failed"))
        known = event_ids(cloudformation, name)
        cloudformation.execute_change_set(StackName=name, ChangeSetName=change_set)
        final, operation = follow(cloudformation, name, known)
    except _aws_errors() as error:
        message = getattr(error, "response", {}).get("Error", {}).get("Message") or str(error)
        raise undo(f"the import failed ({message.splitlines()[0]})") from None
    if final["StackStatus"] != "IMPORT_COMPLETE":
        failed, _ = failures(name, operation)
        raise undo(f"the import ended {final['StackStatus']}: {'; '.join(failed) or 'no reason'}")
    print(f"adopted {', '.join(tables)}: stack {name} holds them, with their data")


def deploy(
    root: Path, settings: dict[str, Any], stage: str, bucket: str = "", confirm: bool = False
) -> str:
    """Deploy the built app; returns what happened: created, updated or unchanged."""
    import yaml

    app = app_name(root, settings)
    name = stack_name(app, stage)
    boto = session()
    region = boto.region_name
    s3 = boto.client("s3")
    cloudformation = boto.client("cloudformation")
    # What the stack is decides the parameters: checked before anything is uploaded.
    stack = _stack(cloudformation, name)
    if stack is not None and stack["StackStatus"] in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED"):
        raise TightTaskError(
            f"stack {name} is {stack['StackStatus']} after a failed creation; read its events, "
            f"then remove it with `doit undeploy stage={stage}` and deploy again"
        )
    creating = stack is None or stack["StackStatus"] == "REVIEW_IN_PROGRESS"
    parameters = _parameters(root, stage, None if creating else stack)
    document = yaml.safe_load((root / TEMPLATE_PATH).read_text(encoding="utf-8"))
    # Tables that outlived an earlier stack (an undeploy keeps them): adopted, or refused,
    # before anything is created.
    in_stack = set() if creating else set(_resource_ids(cloudformation, name))
    orphans = orphan_tables(boto.client("dynamodb"), document, stage, in_stack)
    if orphans:
        adopt_tables(
            cloudformation, name, None if creating else stack, document, orphans, parameters
        )
        stack = _stack(cloudformation, name)
        creating = False
        parameters = _parameters(root, stage, stack)
    configured = (settings.get("deploy") or {}).get("bucket") if settings.get("deploy") else None
    bucket = bucket or str(configured or "")
    named = bool(bucket)  # a bucket the user names must exist; Tight creates only its own
    try:
        account = str(boto.client("sts").get_caller_identity()["Account"])
    except _aws_errors() as error:
        raise _aws_error(error, "cannot tell the AWS account (are credentials set?)") from None
    if not named:
        bucket = default_bucket(app, account, region)
    ensure_bucket(s3, bucket, region, create=not named, owner=account)

    locations = {}
    for path in sorted((root / "build").glob(f"{app}*.zip")):
        if path.name in (f"{app}.zip", f"{app}-layer.zip"):
            key = upload(s3, bucket, account, app, path)
            locations[path.name] = {"Bucket": bucket, "Key": key}
    translated = to_cloudformation(document, locations, boto)
    body = json.dumps(translated, indent=1, sort_keys=True)
    cfn_path = root / CFN_PATH
    cfn_path.write_text(body + "\n", encoding="utf-8")
    print(f"wrote {CFN_PATH}")

    if stack is not None and _unchanged(cloudformation, stack, body, parameters):
        print(f"stack {name} is up to date: nothing to deploy")
        verify_code(cloudformation, boto.client("lambda"), name, root / "build" / f"{app}.zip")
        return "unchanged"
    template_argument: dict[str, str] = {"TemplateBody": body}
    if len(body.encode()) > TEMPLATE_BODY_LIMIT:
        digest = hashlib.sha256(body.encode()).hexdigest()
        key = f"{app}/{digest}.template.json"
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=body.encode(),
            ChecksumAlgorithm="SHA256",
            ExpectedBucketOwner=account,
        )
        url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key})
        template_argument = {"TemplateURL": url}
    try:
        done = apply_stack(
            cloudformation,
            name,
            stage,
            template_argument,
            parameters,
            creating,
            boto.client("dynamodb"),
            confirm,
        )
    except _aws_errors() as error:
        raise _aws_error(error, f"deploying {name} failed") from None
    if done == "declined":
        return done
    checked = verify_code(
        cloudformation, boto.client("lambda"), name, root / "build" / f"{app}.zip"
    )
    print(f"{checked} function(s) run build/{app}.zip (CodeSha256 checked)")
    return done


def _confirmed(question: str) -> bool:
    """Ask on the terminal; without one, say how to deploy without asking."""
    if not sys.stdin.isatty():
        raise TightTaskError(
            "confirm=true asks on a terminal, and there is none; read the change set in "
            f"{CFN_PATH} and deploy without confirm=true"
        )
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def apply_stack(
    cloudformation: Any,
    name: str,
    stage: str,
    template_argument: dict[str, str],
    parameters: list[dict[str, Any]],
    creating: bool,
    dynamodb: Any = None,
    confirm: bool = False,
) -> str:
    """Change set, its changes printed, executed and followed; created, updated or unchanged.

    A failure prints each failed resource with its reason and raises. A failed creation
    (ROLLBACK_COMPLETE, which can never be updated) is deleted; the tables it created went
    with its rollback (``DeletionPolicy: RetainExceptOnCreate``: a table a failed first deploy
    made holds nothing worth keeping). With ``dynamodb`` what became of them is checked and
    said: a table that outlives the stack is adopted by the next deploy."""
    change_set = f"tight-{int(time.time())}"
    cloudformation.create_change_set(
        StackName=name,
        ChangeSetName=change_set,
        ChangeSetType="CREATE" if creating else "UPDATE",
        Parameters=parameters,
        Capabilities=CAPABILITIES,
        **template_argument,
    )
    described = _wait_for_change_set(cloudformation, name, change_set)
    if described["Status"] == "FAILED":
        reason = str(described.get("StatusReason", ""))
        cloudformation.delete_change_set(StackName=name, ChangeSetName=change_set)
        if any(text in reason for text in NO_CHANGES):
            print(f"stack {name} is up to date: nothing to deploy")
            return "unchanged"
        raise TightTaskError(f"the change set for {name} failed: {reason}")
    print_changes(described)
    if confirm and not _confirmed(f"execute this change set on stack {name}?"):
        cloudformation.delete_change_set(StackName=name, ChangeSetName=change_set)
        if creating:  # the stack the change set made holds nothing (REVIEW_IN_PROGRESS)
            cloudformation.delete_stack(StackName=name)
        print("nothing deployed: the change set is deleted")
        return "declined"
    known = event_ids(cloudformation, name)
    try:
        cloudformation.execute_change_set(StackName=name, ChangeSetName=change_set)
    except _aws_errors() as error:
        raise _refused(cloudformation, name, creating, error) from None
    print(f"{'creating' if creating else 'updating'} stack {name}:")
    final, operation = follow(cloudformation, name, known)
    status = final["StackStatus"]
    if status not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        failed, tables = failures(name, operation)
        lines = "\n".join(f"  {line}" for line in failed) or "  (no resource reported a reason)"
        print(f"stack {name} failed ({status}); the resources that failed:\n{lines}")
        if creating:
            cloudformation.delete_stack(StackName=name)
            cloudformation.get_waiter("stack_delete_complete").wait(
                StackName=name, WaiterConfig={"Delay": POLL_SECONDS, "MaxAttempts": 900}
            )
            print(f"deleted the failed stack {name}; {_what_became_of(tables, dynamodb)}")
        raise TightTaskError(f"deploying {name} failed ({status}); see the reasons above")
    print(f"stack {name}: {status}")
    for output in sorted(final.get("Outputs", []), key=lambda o: o["OutputKey"]):
        print(f"  {output['OutputKey']}: {output['OutputValue']}")
    return "created" if creating else "updated"


def _refused(cloudformation: Any, name: str, creating: bool, error: Exception) -> TightTaskError:
    """An endpoint that refuses to execute a change set it accepted (moto cannot build some
    resources): a stack it was creating is deleted, and the error says why, in one line."""
    reason = _aws_error(error, "").args[0].removeprefix(": ")
    done = ""
    if creating:
        cloudformation.delete_stack(StackName=name)
        cloudformation.get_waiter("stack_delete_complete").wait(
            StackName=name, WaiterConfig={"Delay": POLL_SECONDS, "MaxAttempts": 900}
        )
        done = f"; the stack {name} is deleted"
    hint = ""
    if os.environ.get("AWS_ENDPOINT_URL") and "REST API" in reason:
        hint = (
            " (AWS_ENDPOINT_URL is set: an emulator such as moto builds no REST API methods "
            "from SAM's OpenAPI body; deploy `api: http` there, or the REST API to AWS)"
        )
    return TightTaskError(f"executing the change set of {name} failed: {reason}{done}{hint}")


def _table_exists(dynamodb: Any, table: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        dynamodb.describe_table(TableName=table)
    except ClientError:
        return False
    return True


def _what_became_of(tables: list[str], dynamodb: Any) -> str:
    """What a failed creation left of the tables it created, checked where it can be."""
    if not tables:
        return "it created no table"
    if dynamodb is None:
        return f"the table(s) it created ({', '.join(tables)}) went with its rollback"
    left = [table for table in tables if _table_exists(dynamodb, table)]
    gone = [t for t in tables if t not in left]
    said = []
    if gone:
        said.append(f"the table(s) it created are gone with it: {', '.join(gone)}")
    if left:
        said.append(
            f"table(s) {', '.join(left)} still exist outside any stack; the next deploy adopts "
            "them, data included"
        )
    return "; ".join(said)


KEPT_POLICIES = ("Retain", "RetainExceptOnCreate", "Snapshot")


def stack_resources(cloudformation: Any, name: str) -> list[dict[str, Any]]:
    """Every resource of the stack (all pages), with the deletion policy its template gives."""
    resources: list[dict[str, Any]] = []
    for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=name):
        resources.extend(page["StackResourceSummaries"])
    template = cloudformation.get_template(StackName=name, TemplateStage="Processed")
    body = template.get("TemplateBody") or {}
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            body = {}  # YAML: only Tight's own JSON is read; nothing is marked kept then
    declared = body.get("Resources", {}) if isinstance(body, dict) else {}
    for resource in resources:
        policy = (declared.get(resource["LogicalResourceId"]) or {}).get("DeletionPolicy")
        resource["DeletionPolicy"] = policy or "Delete"
    return resources


def queue_messages(sqs: Any, url: str) -> int | None:
    """Messages in the queue (visible, in flight and delayed), or None if it cannot be read."""
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    try:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    except _aws_errors():
        return None
    return sum(int(attributes.get(name, 0)) for name in names)


def undeploy(
    root: Path, settings: dict[str, Any], stage: str, yes: bool, drop_messages: bool = False
) -> None:
    """Delete the stage's stack, after saying every resource that goes and every one that
    stays; a queue still holding messages is not deleted unless ``drop_messages``."""
    app = app_name(root, settings)
    name = stack_name(app, stage)
    boto = session()
    cloudformation = boto.client("cloudformation")
    stack = _stack(cloudformation, name)
    if stack is None:
        print(f"no stack {name}: nothing to remove")
        return
    resources = stack_resources(cloudformation, name)
    kept = [r for r in resources if r["DeletionPolicy"] in KEPT_POLICIES]
    going = [r for r in resources if r["DeletionPolicy"] not in KEPT_POLICIES]
    sqs = boto.client("sqs") if any(r["ResourceType"] == "AWS::SQS::Queue" for r in going) else None
    holding: list[str] = []
    print(f"stack {name} ({stack['StackStatus']}) deletes {len(going)} resource(s):")
    for resource in sorted(going, key=lambda r: (r["ResourceType"], r["LogicalResourceId"])):
        physical = resource.get("PhysicalResourceId") or "(not created)"
        detail = ""
        if sqs is not None and resource["ResourceType"] == "AWS::SQS::Queue" and physical:
            count = queue_messages(sqs, physical)
            detail = f"  ({'?' if count is None else count} message(s))"
            if count:
                holding.append(f"{physical.rsplit('/', 1)[-1]} ({count})")
        print(
            f"  {resource.get('ResourceType') or '?':<33} "
            f"{resource['LogicalResourceId']:<30} {physical}{detail}"
        )
    if kept:
        print(f"and keeps {len(kept)} (their deletion policy retains them, data included):")
        for resource in kept:
            physical = resource.get("PhysicalResourceId") or "(not created)"
            print(
                f"  {resource.get('ResourceType') or '?':<33} "
                f"{resource['LogicalResourceId']:<30} {physical}"
            )
    if holding and not drop_messages:
        raise TightTaskError(
            f"queue(s) still holding messages: {', '.join(holding)}; nothing deleted. Let them "
            f"drain (or read them), or run `doit undeploy stage={stage} drop_messages=true` "
            "to delete them with the stack"
        )
    if not yes:
        if not sys.stdin.isatty():
            raise TightTaskError(
                f"deleting stack {name} needs a yes: run `doit undeploy stage={stage} yes=true`"
            )
        answer = input(f"delete stack {name} and the resources above? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing deleted")
            return
    print(f"deleting stack {name}...")
    try:
        cloudformation.delete_stack(StackName=name)
        cloudformation.get_waiter("stack_delete_complete").wait(
            StackName=name, WaiterConfig={"Delay": POLL_SECONDS, "MaxAttempts": 900}
        )
    except _aws_errors() as error:
        raise _aws_error(error, f"deleting stack {name} failed; read its events") from None
    print(f"deleted stack {name}")
    kept_tables = [
        r["PhysicalResourceId"]
        for r in kept
        if r.get("ResourceType") == "AWS::DynamoDB::Table" and r.get("PhysicalResourceId")
    ]
    gone = [t for t in kept_tables if not _table_exists(boto.client("dynamodb"), t)]
    retained = [
        r.get("PhysicalResourceId") or r["LogicalResourceId"]
        for r in kept
        if r.get("PhysicalResourceId") not in gone
    ]
    if retained:
        print(
            "retained (with their data): "
            + ", ".join(retained)
            + f"; `doit deploy stage={stage}` adopts the tables again, or delete them by hand"
        )
    if gone:
        print(
            f"warning: table(s) {', '.join(gone)} are gone although their DeletionPolicy keeps "
            "them: this endpoint does not honour RetainExceptOnCreate (moto, say); AWS keeps them"
        )


# Task creators: `doit list` shows each docstring; the work is the functions above.


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def outputs(root: Path, settings: dict[str, Any], stage: str) -> dict[str, str]:
    """Print the stack's outputs (API URL, functions, tables, queues); returns them."""
    name = stack_name(app_name(root, settings), stage)
    stack = _stack(session().client("cloudformation"), name)
    if stack is None:
        raise TightTaskError(f"no stack {name}: deploy it with `doit deploy stage={stage}`")
    found = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    print(f"stack {name} ({stack['StackStatus']}):")
    for key in sorted(found):
        print(f"  {key}: {found[key]}")
    if not found:
        print("  (no outputs)")
    return found


def _deploy(stage: str, bucket: str, confirm: str) -> None:
    from tight_tasks.config import load

    root = Path.cwd()
    settings = load(root)
    stage = stage_of(stage, settings)
    try:
        deploy(root, settings, stage, bucket, _truthy(confirm))
    except _aws_errors() as error:  # a connection, credentials or emulator failure
        raise _aws_error(error, f"deploying stage {stage} failed") from None


def _undeploy(stage: str, yes: str, drop_messages: str) -> None:
    from tight_tasks.config import load

    root = Path.cwd()
    settings = load(root)
    stage = stage_of(stage, settings)
    try:
        undeploy(root, settings, stage, _truthy(yes), _truthy(drop_messages))
    except _aws_errors() as error:
        raise _aws_error(error, f"removing stage {stage} failed") from None


def task_deploy() -> dict[str, Any]:
    """Deploy the app to AWS as the stack <app>-<stage> (artifact, template, change set)."""
    _, settings, problem = settings_or_error()
    if settings is None:
        return failing(problem or "no tight.yml")
    return {
        "actions": [(as_action(_deploy),)],
        "task_dep": ["artifact", "template"],
        "params": [
            stage_param("the stage to deploy"),
            param("bucket", "the S3 bucket for the zips (default: deploy.bucket in tight.yml)"),
            param("confirm", "true: show the change set and ask before executing it"),
        ],
        "uptodate": [False],
        "verbosity": 2,
    }


def task_undeploy() -> dict[str, Any]:
    """Delete the stack <app>-<stage>, listing what goes; its DynamoDB tables are kept."""
    _, settings, problem = settings_or_error()
    if settings is None:
        return failing(problem or "no tight.yml")
    return {
        "actions": [(as_action(_undeploy),)],
        "params": [
            stage_param("the stage to remove"),
            param("yes", "true: do not ask before deleting"),
            param("drop_messages", "true: delete queues that still hold messages"),
        ],
        "uptodate": [False],
        "verbosity": 2,
    }


def _outputs(stage: str) -> None:
    from tight_tasks.config import load

    root = Path.cwd()
    settings = load(root)
    stage = stage_of(stage, settings)
    try:
        outputs(root, settings, stage)
    except _aws_errors() as error:
        raise _aws_error(error, f"reading the outputs of stage {stage} failed") from None


def task_outputs() -> dict[str, Any]:
    """Print the deployed stack's outputs: API URL, functions, tables, queues."""
    _, settings, problem = settings_or_error()
    if settings is None:
        return failing(problem or "no tight.yml")
    return {
        "actions": [(as_action(_outputs),)],
        "params": [stage_param("the stage whose outputs to print")],
        "uptodate": [False],
        "verbosity": 2,
    }
