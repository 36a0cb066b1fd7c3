"""`doit permissions` and the end of `doit test`: the calls an app's tests recorded against
the local moto server are checked, with every server stopped, against the roles `doit
template` writes. A function reading a table it does not import, an S3 bucket named in the
environment and a query on an index its permissions do not name are each caught; tight.yml's
`functions.<name>.permissions` allows one of them; a bad statement there is a clear error.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from tight.testing.servers import moto_server

BIN = Path(sys.executable).parent

FILES = {
    "app/models/item.py": """
        from tight.models import Model, String


        class Item(Model):
            hash_key = "id"
            id = String()
    """,
    "app/models/order.py": """
        from tight.models import GlobalIndex, Model, String


        class Order(Model):
            hash_key = "id"
            id = String()
            owner = String()
            indexes = (GlobalIndex("by_owner", hash_key="owner"),)
    """,
    # a table it never imports: its name comes from the environment
    "app/functions/lister/handler.py": """
        import os

        import boto3


        def handler(event, context):
            table = boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE"])
            return table.get_item(Key={"id": event["id"]})["Item"]["owner"]
    """,
    # a bucket from the environment, which no model gives a role
    "app/functions/uploads/handler.py": """
        import os

        import boto3


        def handler(event, context):
            s3 = boto3.client("s3")
            answer = s3.get_object(Bucket=os.environ["UPLOADS_BUCKET"], Key=event["key"])
            return answer["Body"].read().decode()
    """,
    # its own model's table (allowed), and an index its tight.yml permissions do not name
    "app/functions/owners/handler.py": """
        import os

        import boto3

        from app.models.item import Item


        def handler(event, context):
            Item.get("1")
            found = boto3.client("dynamodb").query(
                TableName=os.environ["ORDERS_TABLE"],
                IndexName="by_owner",
                KeyConditionExpression="#o = :o",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":o": {"S": event["owner"]}},
            )
            return [item["id"]["S"] for item in found["Items"]]
    """,
    # one test calls them all: each call is the function's whose code made it, the setup
    # calls are the test's own
    "tests/functions/integration/test_calls.py": """
        import boto3

        from app.models.item import Item
        from app.models.order import Order


        def test_each_function(app, lambda_context):
            Item.create_table()
            Order.create_table()
            s3 = boto3.client("s3")
            s3.create_bucket(Bucket="shop-dev-uploads")
            s3.put_object(Bucket="shop-dev-uploads", Key="report.csv", Body=b"a,b")
            Order(id="1", owner="ann").save()
            Item(id="1").save()
            assert app.lister({"id": "1"}, lambda_context) == "ann"
            assert app.uploads({"key": "report.csv"}, lambda_context) == "a,b"
            assert app.owners({"owner": "ann"}, lambda_context) == ["1"]
    """,
}
ENV = "ORDERS_TABLE: shop-dev-order\nUPLOADS_BUCKET: shop-dev-uploads\n"
OWNERS_PERMISSIONS = """
functions:
  owners:
    permissions:
      - Effect: Allow
        Action: dynamodb:query
        Resource: arn:aws:dynamodb:${AWS::Region}:${AWS::AccountId}:table/shop-${Stage}-order
"""
UPLOADS_PERMISSIONS = """
  uploads:
    permissions:
      - Effect: Allow
        Action: [s3:GetObject]
        Resource: "arn:aws:s3:::shop-${Stage}-uploads/*"
"""


def run(*command: str, cwd: Path, env: dict[str, str] | None = None):
    return subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=cwd, capture_output=True, text=True,
        env=env or dict(os.environ),
    )  # fmt: skip


def errors(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error: ")]


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """The app, its test recorded against moto's server, which is gone afterwards."""
    folder = tmp_path_factory.mktemp("permissions")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "TIGHT_")) and k not in ("PYTEST_XDIST_WORKER",)
    }
    env.update(XDG_CACHE_HOME=str(folder / "cache"), AWS_EC2_METADATA_DISABLED="true")
    assert run("tight", "generate_app", "name=shop", cwd=folder, env=env).returncode == 0
    root = folder / "shop"
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.parent.parent.name == "functions":
            (path.parent / "__init__.py").write_text("")
        path.write_text(textwrap.dedent(text).lstrip())
    (root / "env.yml").write_text((root / "env.dist.yml").read_text() + ENV)
    with open(root / "tight.yml", "a") as settings:
        settings.write(OWNERS_PERMISSIONS)
    with moto_server() as endpoint:
        recorded = run(
            "pytest", "-q", "-p", "no:cacheprovider", "--tight-record", cwd=root,
            env=dict(env, AWS_ENDPOINT_URL=endpoint),
        )  # fmt: skip
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    return root, env


def test_each_call_a_role_does_not_allow_is_caught_offline(shop):
    root, env = shop
    manifest = json.loads(
        (root / "tests/functions/integration/placebos/test_each_function/calls.json").read_text()
    )
    made_by = [(c["call"], c.get("function")) for c in manifest["calls"]]
    assert ("DynamoDB.CreateTable", None) in made_by, "the test's own setup names no function"
    assert ("S3.GetObject", "uploads") in made_by and ("DynamoDB.Query", "owners") in made_by

    checked = run("doit", "permissions", cwd=root, env=env)
    assert checked.returncode != 0
    found = errors(checked.stderr)
    assert "Traceback" not in checked.stderr
    assert len(found) == 3, checked.stderr
    lister, owners, uploads = sorted(found)
    assert lister.startswith(
        "error: app/functions/lister: DynamoDB.GetItem on table shop-dev-order "
        "(dynamodb:GetItem on arn:aws:dynamodb:us-east-1:*:table/shop-dev-order), "
        "recorded in tests/functions/integration/placebos/test_each_function, is not allowed "
        "by its role; import Order from app/models/order.py in app/functions/lister"
    ), lister
    assert (
        "add {Effect: Allow, Action: dynamodb:GetItem, Resource: 'arn:aws:dynamodb:"
        "${AWS::Region}:${AWS::AccountId}:table/shop-${Stage}-order'} to "
        "functions.lister.permissions in tight.yml"
    ) in lister
    # the role allows Query on the table: the index is a resource of its own
    assert (
        "app/functions/owners: DynamoDB.Query on table shop-dev-order, index by_owner "
        "(dynamodb:Query on arn:aws:dynamodb:us-east-1:*:table/shop-dev-order/"
        "index/by_owner)"
    ) in owners
    assert "table/shop-${Stage}-order/index/by_owner'} to functions.owners.permissions" in owners
    assert "import" not in owners.split("role; ")[1], "owners has a statement for that table"
    assert (
        "app/functions/uploads: S3.GetObject on s3://shop-dev-uploads/report.csv "
        "(s3:GetObject on arn:aws:s3:::shop-dev-uploads/report.csv)"
    ) in uploads
    assert "Resource: 'arn:aws:s3:::shop-${Stage}-uploads/*'} to functions.uploads" in uploads
    # owners reads Item and only GetItems it: the rest of its table access is a hint
    assert (
        "hint: app/functions/owners may dynamodb:BatchGetItem, dynamodb:ConditionCheckItem, "
        "dynamodb:DescribeTable, dynamodb:Query, dynamodb:Scan on "
        "arn:aws:dynamodb:*:*:table/shop-dev-item, which no recorded call does"
    ) in checked.stdout

    # The same recordings checked as another stage: its resource names, same verdicts.
    as_prod = run("doit", "permissions", "stage=prod", cwd=root, env=env)
    assert as_prod.returncode != 0
    assert sorted(errors(as_prod.stderr)) == sorted(
        line.replace("shop-dev-", "shop-prod-") for line in found
    ), as_prod.stderr

    # doit test: the test passes from its recordings, with no server, then the check fails it
    tested = run("doit", "test", cwd=root, env=env)
    assert "1 passed" in tested.stdout, tested.stdout + tested.stderr
    assert tested.returncode != 0 and sorted(errors(tested.stderr)) == sorted(found)


def test_functions_permissions_allow_a_call_in_the_check_and_the_template(shop):
    root, env = shop
    settings = root / "tight.yml"
    original = settings.read_text()
    settings.write_text(original + UPLOADS_PERMISSIONS)
    old = root / "tests/placebos/test_from_before/calls.json"  # no function, no stage
    old.parent.mkdir(parents=True)
    old.write_text(json.dumps({"test": "t", "calls": [{"operation": "s3.GetObject"}]}))
    try:
        checked = run("doit", "permissions", cwd=root, env=env)
        found = errors(checked.stderr)
        assert len(found) == 2 and not any("uploads" in line for line in found), checked.stderr
        assert (
            "hint: tests/placebos/test_from_before: recorded before Tight noted which function "
            "makes each call; re-record it with `pytest --tight-record`"
        ) in checked.stdout
        assert "test_each_function: recorded before" not in checked.stdout
        assert run("doit", "template", cwd=root, env=env).returncode == 0
        document = yaml.safe_load((root / "build/template.yml").read_text())
        role = document["Resources"]["UploadsFunctionRole"]["Properties"]["Policies"][0]
        assert role["PolicyDocument"]["Statement"][-1] == {
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": {"Fn::Sub": "arn:aws:s3:::shop-${Stage}-uploads/*"},
        }
        assert run("cfn-lint", "build/template.yml", cwd=root, env=env).returncode == 0
    finally:
        settings.write_text(original)
        shutil.rmtree(old.parent.parent)


def test_a_role_s_managed_policies_are_named_as_unread(shop):
    """AWS keeps a managed policy's statements: the check cannot read them offline, and its
    error says so rather than pass or fail silently on them."""
    root, env = shop
    overlay = root / "template.overlay.yml"
    overlay.write_text(
        "Resources:\n  UploadsFunctionRole:\n    Properties:\n      ManagedPolicyArns:\n"
        "        - arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess\n"
    )
    try:
        checked = run("doit", "permissions", cwd=root, env=env)
    finally:
        overlay.unlink()
    (uploads,) = [line for line in errors(checked.stderr) if "app/functions/uploads" in line]
    assert uploads.endswith(
        "(its role also has the managed policy AmazonS3ReadOnlyAccess, which this offline "
        "check cannot read: if it allows the call, the statement added all the same says so)"
    ), uploads
    (lister,) = [line for line in errors(checked.stderr) if "app/functions/lister" in line]
    assert "managed" not in lister  # another function's role has none


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        (
            "{Effect: Allow, Actions: s3:GetObject, Resource: '*'}",
            "functions.uploads.permissions[0]: unknown key Actions; did you mean Action?",
        ),
        (
            "{Effect: Allow, Action: GetObject, Resource: '*'}",
            "functions.uploads.permissions[0].Action must be an action such as "
            "dynamodb:GetItem or s3:Get*, not 'GetObject'",
        ),
        (
            "{Effect: Allow, Action: s3:GetObject, Resource: my-bucket}",
            "functions.uploads.permissions[0].Resource must be an ARN",
        ),
        (
            "{Effect: allow, Action: s3:GetObject, Resource: '*'}",
            "functions.uploads.permissions[0].Effect must be Allow or Deny",
        ),
    ],
)
def test_a_bad_statement_is_one_error_naming_its_line(shop, statement, message):
    root, env = shop
    settings = root / "tight.yml"
    original = settings.read_text()
    settings.write_text(original + f"  uploads:\n    permissions:\n      - {statement}\n")
    line = len(settings.read_text().splitlines())
    try:
        result = run("doit", "permissions", cwd=root, env=env)
    finally:
        settings.write_text(original)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    found = errors(result.stderr)
    assert len(found) == 1 and found[0].startswith(f"error: tight.yml:{line}: {message}"), found


def test_iam_rules_for_actions_and_arns():
    """The matching the check relies on, as IAM documents it."""
    from tight_tasks.iam import Resolver, action_matches, allows, resource_matches
    from tight_tasks.permissions import needs_of

    assert action_matches("DynamoDB:get*", "dynamodb:GetItem")  # actions ignore case
    assert action_matches("s3:?etObject", "s3:GetObject")
    assert not action_matches("dynamodb:Get*", "dynamodb:BatchGetItem")
    table = "arn:aws:dynamodb:eu-west-1:111122223333:table/shop-dev-order"
    assert resource_matches("arn:aws:dynamodb:*:*:table/shop-dev-order", table)
    assert not resource_matches("arn:aws:dynamodb:*:*:table/shop-dev-order", table + "/index/x")
    assert resource_matches("arn:aws:dynamodb:*:*:table/shop-dev-order/index/*", table + "/index/x")
    assert resource_matches("arn:aws:dynamodb:*:*:table/shop-*", table)
    assert not resource_matches("arn:aws:Dynamodb:*:*:table/shop-dev-order", table)  # ARNs do not
    # a * inside a segment stays in it; one ending a segment reaches past colons
    assert not resource_matches(
        "arn:aws:dynamodb:eu-*1:111122223333:table/x",
        "arn:aws:dynamodb:eu-west:1:111122223333:table/x",
    )
    assert resource_matches("arn:aws:dynamodb:*", table)
    assert resource_matches(
        "arn:aws:dynamodb:eu-west-1:444455556666:table/shop-dev-order",
        table.replace("111122223333", "*"),
        account_known=False,
    )

    resolver = Resolver({}, "dev")
    deny = resolver.statement({"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": "*"})
    everything = resolver.statement({"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"})
    not_s3 = resolver.statement({"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"})
    assert allows([everything, deny], "dynamodb:GetItem", table, True)
    assert not allows([everything, deny], "dynamodb:DeleteItem", table, True)  # Deny wins
    assert allows([not_s3], "sqs:SendMessage", "*", True)
    assert not allows([not_s3], "s3:GetObject", "arn:aws:s3:::b/k", True)

    # what a call implies: each item's own action, each table of a batch, s3's names
    transact = needs_of(
        "dynamodb.TransactWriteItems", "DynamoDB.TransactWriteItems",
        {"TransactItems": [["Put", "a"], ["ConditionCheck", "b"]]}, "us-east-1",
    )  # fmt: skip
    assert [(n.action, n.arn) for n in transact] == [
        ("dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:*:table/a"),
        ("dynamodb:ConditionCheckItem", "arn:aws:dynamodb:us-east-1:*:table/b"),
    ]
    batch = needs_of(
        "dynamodb.BatchWriteItem",
        "DynamoDB.BatchWriteItem",
        {"RequestItems": ["a", "b"]},
        "us-east-1",
    )
    assert [n.arn.rsplit("/", 1)[1] for n in batch] == ["a", "b"]
    head = needs_of("s3.HeadObject", "S3.HeadObject", {"Bucket": "b", "Key": "k/1"}, "us-east-1")
    assert [(n.action, n.arn) for n in head] == [("s3:GetObject", "arn:aws:s3:::b/k/1")]
    send = needs_of(
        "sqs.SendMessageBatch",
        "SQS.SendMessageBatch",
        {"QueueUrl": "http://127.0.0.1:5/123456789012/q"},
        "us-east-1",
    )
    assert [(n.action, n.arn, n.account_known) for n in send] == [
        ("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:q", True)
    ]
