"""doit deploy when CloudFormation fails: the failed resources and their reasons are
printed, and a failed creation is deleted only when it never held a table.

moto creates every stack it accepts, so these failures are played to a real boto3 client
through botocore's Stubber, which checks each call against the CloudFormation API model.
"""

from __future__ import annotations

import datetime
import hashlib
import json

import boto3
import pytest
from botocore.stub import ANY, Stubber

from tight_tasks import deploy
from tight_tasks.errors import TightTaskError

NAME = "shop-dev"
STACK_ID = f"arn:aws:cloudformation:eu-west-1:123456789012:stack/{NAME}/1"


def event(logical: str, kind: str, status: str, reason: str = "", minutes: int = 0) -> dict:
    """A stack event stamped ``minutes`` from now by AWS's clock (negative: behind ours)."""
    now = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=minutes)
    found = {
        "StackId": STACK_ID,
        "EventId": f"{logical}-{status}",
        "StackName": NAME,
        "LogicalResourceId": logical,
        "ResourceType": kind,
        "Timestamp": now,
        "ResourceStatus": status,
    }
    if reason:
        found["ResourceStatusReason"] = reason
    return found


def stack(status: str) -> dict:
    return {
        "Stacks": [
            {
                "StackId": STACK_ID,
                "StackName": NAME,
                "CreationTime": datetime.datetime.now(datetime.timezone.utc),
                "StackStatus": status,
            }
        ]
    }


@pytest.fixture
def cloudformation(monkeypatch):
    monkeypatch.setattr(deploy, "POLL_SECONDS", 0.01)
    client = boto3.client(
        "cloudformation",
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def start(stubber: Stubber, events: list[dict]) -> None:
    stubber.add_response("create_change_set", {"Id": "cs-1", "StackId": STACK_ID})
    stubber.add_response(
        "describe_change_set",
        {
            "StackName": NAME,
            "Status": "CREATE_COMPLETE",
            "Changes": [
                {
                    "Type": "Resource",
                    "ResourceChange": {
                        "Action": "Add",
                        "LogicalResourceId": "OrdersQueue",
                        "ResourceType": "AWS::SQS::Queue",
                    },
                }
            ],
        },
    )
    # Before the change set runs: the stack's events so far (a REVIEW_IN_PROGRESS stack's).
    earlier = event(NAME, "AWS::CloudFormation::Stack", "REVIEW_IN_PROGRESS", minutes=-1)
    stubber.add_response("describe_stack_events", {"StackEvents": [earlier]})
    stubber.add_response("execute_change_set", {})
    stubber.add_response("describe_stack_events", {"StackEvents": [*reversed(events), earlier]})
    stubber.add_response("describe_stacks", stack("ROLLBACK_COMPLETE"))


def apply(client) -> None:
    parameters = [{"ParameterKey": "Stage", "ParameterValue": "dev"}]
    deploy.apply_stack(client, NAME, "dev", {"TemplateBody": "{}"}, parameters, creating=True)


def test_a_failed_creation_without_tables_is_reported_and_deleted(cloudformation, capsys):
    client, stubber = cloudformation
    start(
        stubber,
        [
            event(NAME, "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS"),
            event("OrdersQueue", "AWS::SQS::Queue", "CREATE_FAILED", "Queue name is invalid"),
            event(NAME, "AWS::CloudFormation::Stack", "ROLLBACK_COMPLETE"),
        ],
    )
    stubber.add_response("delete_stack", {}, {"StackName": NAME})
    stubber.add_response("describe_stacks", stack("DELETE_COMPLETE"), {"StackName": ANY})
    with pytest.raises(TightTaskError, match="deploying shop-dev failed \\(ROLLBACK_COMPLETE\\)"):
        apply(client)
    out = capsys.readouterr().out
    assert "  OrdersQueue (AWS::SQS::Queue): Queue name is invalid" in out
    assert "deleted the failed stack shop-dev; it created no table" in out


def test_a_failed_creation_that_made_a_table_is_deleted_and_says_what_became_of_it(
    cloudformation, capsys
):
    """A ROLLBACK_COMPLETE stack can never be updated: it is deleted. Its tables were made by
    the failed deploy (RetainExceptOnCreate removes them with the rollback); what is left of
    them is checked (DynamoDB stubbed: one gone, one still there) and said, never claimed."""
    client, stubber = cloudformation
    table = event("ItemTable", "AWS::DynamoDB::Table", "CREATE_COMPLETE")
    table["PhysicalResourceId"] = "shop-dev-item"
    other = event("NoteTable", "AWS::DynamoDB::Table", "CREATE_COMPLETE")
    other["PhysicalResourceId"] = "shop-dev-note"
    start(
        stubber,
        [
            table,
            other,
            event("OrdersQueue", "AWS::SQS::Queue", "CREATE_FAILED", "Queue name is invalid"),
            event(NAME, "AWS::CloudFormation::Stack", "ROLLBACK_COMPLETE"),
        ],
    )
    stubber.add_response("delete_stack", {}, {"StackName": NAME})
    stubber.add_response("describe_stacks", stack("DELETE_COMPLETE"), {"StackName": ANY})
    dynamodb, tables = stubbed("dynamodb")
    tables.add_client_error("describe_table", "ResourceNotFoundException", http_status_code=400)
    tables.add_response("describe_table", {"Table": {"TableName": "shop-dev-note"}})
    parameters = [{"ParameterKey": "Stage", "ParameterValue": "dev"}]
    with tables, pytest.raises(TightTaskError):
        deploy.apply_stack(client, NAME, "dev", {"TemplateBody": "{}"}, parameters, True, dynamodb)
    out = capsys.readouterr().out
    assert "deleted the failed stack shop-dev; the table(s) it created are gone with it: " in out
    assert "shop-dev-item; table(s) shop-dev-note still exist outside any stack" in out
    assert "the next deploy adopts them" in out


TABLE = {
    "Type": "AWS::DynamoDB::Table",
    "Properties": {
        "TableName": {"Fn::Sub": "shop-${Stage}-item"},
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    },
    "DeletionPolicy": "RetainExceptOnCreate",
}


def test_a_table_outside_the_stack_is_adopted_with_an_import_change_set(cloudformation, capsys):
    """What moto cannot run, played with Stubber: the table found by DynamoDB is imported
    into a new stack, retained, before the deploy goes on as an update."""
    client, stubber = cloudformation
    dynamodb, tables = stubbed("dynamodb")
    tables.add_response(
        "describe_table",
        {
            "Table": {
                "TableName": "shop-dev-item",
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            }
        },
        {"TableName": "shop-dev-item"},
    )
    document = {"Parameters": {"Stage": {"Type": "String"}}, "Resources": {"ItemTable": TABLE}}
    with tables:
        orphans = deploy.orphan_tables(dynamodb, document, "dev", set())
    assert list(orphans) == ["ItemTable"] and orphans["ItemTable"][0] == "shop-dev-item"

    parameters = [{"ParameterKey": "Stage", "ParameterValue": "dev"}]
    stubber.add_response(
        "create_change_set",
        {"Id": "cs-import", "StackId": STACK_ID},
        {
            "StackName": NAME,
            "ChangeSetName": ANY,
            "ChangeSetType": "IMPORT",
            "TemplateBody": ANY,
            "Parameters": parameters,
            "Capabilities": ANY,
            "ResourcesToImport": [
                {
                    "ResourceType": "AWS::DynamoDB::Table",
                    "LogicalResourceId": "ItemTable",
                    "ResourceIdentifier": {"TableName": "shop-dev-item"},
                }
            ],
        },
    )
    stubber.add_response("describe_change_set", {"StackName": NAME, "Status": "CREATE_COMPLETE"})
    stubber.add_response("describe_stack_events", {"StackEvents": []})
    stubber.add_response("execute_change_set", {})
    imported = event("ItemTable", "AWS::DynamoDB::Table", "IMPORT_COMPLETE")
    stubber.add_response("describe_stack_events", {"StackEvents": [imported]})
    stubber.add_response("describe_stacks", stack("IMPORT_COMPLETE"))
    deploy.adopt_tables(client, NAME, None, document, orphans, parameters)  # every stub used
    out = capsys.readouterr().out
    assert "adopting table(s) shop-dev-item into stack shop-dev (an IMPORT change set)" in out
    assert "adopted shop-dev-item: stack shop-dev holds them, with their data" in out


def test_the_import_template_holds_the_table_retained(cloudformation):
    client, stubber = cloudformation
    bodies = []
    client.meta.events.register(
        "provide-client-params.cloudformation.CreateChangeSet",
        lambda params, **_: bodies.append(json.loads(params["TemplateBody"])),
    )
    stubber.add_response("create_change_set", {"Id": "cs", "StackId": STACK_ID})
    stubber.add_response(
        "describe_change_set",
        {"StackName": NAME, "Status": "FAILED", "StatusReason": "import refused"},
    )
    stubber.add_response("describe_stacks", stack("REVIEW_IN_PROGRESS"))
    stubber.add_response("delete_stack", {}, {"StackName": NAME})
    stubber.add_response("describe_stacks", stack("DELETE_COMPLETE"))
    orphans = {
        "ItemTable": ("shop-dev-item", TABLE, {"KeySchema": TABLE["Properties"]["KeySchema"]})
    }
    with pytest.raises(TightTaskError, match="cannot be adopted into it: import refused"):
        deploy.adopt_tables(client, NAME, None, {"Resources": {"ItemTable": TABLE}}, orphans, [])
    (body,) = bodies
    assert body["Resources"]["ItemTable"]["DeletionPolicy"] == "Retain"
    assert body["Resources"]["ItemTable"]["Properties"] == TABLE["Properties"]
    assert list(body["Resources"]) == ["ItemTable"]


def test_failure_reasons_reach_the_user_whatever_aws_clock_says(cloudformation, capsys):
    """AWS's clock ten minutes behind this machine's: the operation's events are still its
    own (told apart by id), so the reason is printed, not filtered out as old."""
    client, stubber = cloudformation
    start(
        stubber,
        [
            event(NAME, "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", minutes=-10),
            event("OrdersQueue", "AWS::SQS::Queue", "CREATE_FAILED", "Bad name", minutes=-10),
            event(NAME, "AWS::CloudFormation::Stack", "ROLLBACK_COMPLETE", minutes=-10),
        ],
    )
    stubber.add_response("delete_stack", {}, {"StackName": NAME})
    stubber.add_response("describe_stacks", stack("DELETE_COMPLETE"), {"StackName": ANY})
    with pytest.raises(TightTaskError):
        apply(client)
    out = capsys.readouterr().out
    assert "  OrdersQueue (AWS::SQS::Queue): Bad name" in out
    assert "(no resource reported a reason)" not in out
    assert "REVIEW_IN_PROGRESS" not in out  # an event from before this operation


def test_events_are_read_page_by_page_until_a_known_one(cloudformation):
    client, stubber = cloudformation
    newest = [event(f"R{i}", "AWS::SQS::Queue", "CREATE_COMPLETE") for i in range(3)]
    old = event("Old", "AWS::SQS::Queue", "CREATE_COMPLETE", minutes=-60)
    stubber.add_response(
        "describe_stack_events", {"StackEvents": newest[:2], "NextToken": "t1"}, {"StackName": NAME}
    )
    stubber.add_response(
        "describe_stack_events",
        {"StackEvents": [newest[2], old], "NextToken": "t2"},
        {"StackName": NAME, "NextToken": "t1"},
    )
    found = deploy.new_events(client, NAME, {old["EventId"]})
    assert [e["LogicalResourceId"] for e in found] == ["R2", "R1", "R0"]


def test_a_change_set_with_no_changes_is_a_no_op(cloudformation, capsys):
    client, stubber = cloudformation
    stubber.add_response("create_change_set", {"Id": "cs-1", "StackId": STACK_ID})
    stubber.add_response(
        "describe_change_set",
        {
            "StackName": NAME,
            "Status": "FAILED",
            "StatusReason": "The submitted information didn't contain changes.",
        },
    )
    stubber.add_response("delete_change_set", {})
    parameters = [{"ParameterKey": "Stage", "ParameterValue": "dev"}]
    result = deploy.apply_stack(client, NAME, "dev", {"TemplateBody": "{}"}, parameters, False)
    assert result == "unchanged"
    assert "nothing to deploy" in capsys.readouterr().out


# -- S3 and Lambda, with Stubber: moto does not enforce ExpectedBucketOwner ------------------


def stubbed(service: str):
    client = boto3.client(
        service,
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return client, Stubber(client)


def test_every_s3_call_names_the_expected_bucket_owner(tmp_path, capsys):
    s3, stubber = stubbed("s3")
    zip_path = tmp_path / "shop.zip"
    zip_path.write_bytes(b"PK built")
    key = f"shop/{hashlib.sha256(b'PK built').hexdigest()}.zip"
    owner = "123456789012"
    stubber.add_response("head_bucket", {}, {"Bucket": "b-tight", "ExpectedBucketOwner": owner})
    stubber.add_client_error(
        "head_object",
        "404",
        http_status_code=404,
        expected_params={
            "Bucket": "b-tight",
            "Key": key,
            "ExpectedBucketOwner": owner,
            "ChecksumMode": "ENABLED",
        },
    )
    stubber.add_response(
        "put_object",
        {},
        {
            "Bucket": "b-tight",
            "Key": key,
            "Body": b"PK built",
            "ChecksumAlgorithm": "SHA256",
            "ExpectedBucketOwner": owner,
        },
    )
    with stubber:
        deploy.ensure_bucket(s3, "b-tight", "eu-west-1", create=True, owner=owner)
        assert deploy.upload(s3, "b-tight", owner, "shop", zip_path) == key
        stubber.assert_no_pending_responses()


def test_a_bucket_owned_by_another_account_is_refused():
    s3, stubber = stubbed("s3")
    stubber.add_client_error("head_bucket", "403", http_status_code=403)
    with stubber, pytest.raises(TightTaskError, match="is not owned by account 123456789012"):
        deploy.ensure_bucket(
            s3, "shop-123456789012-eu-west-1-tight", "eu-west-1", True, "123456789012"
        )


def test_a_matching_checksum_is_trusted_without_uploading(tmp_path, capsys):
    s3, stubber = stubbed("s3")
    zip_path = tmp_path / "shop.zip"
    zip_path.write_bytes(b"PK built")
    stubber.add_response("head_object", {"ChecksumSHA256": deploy.sha256_b64(b"PK built")})
    with stubber:  # no put_object stubbed: sending one fails the test
        deploy.upload(s3, "b-tight", "123456789012", "shop", zip_path)
    assert "checksum verified" in capsys.readouterr().out


def test_a_function_running_other_code_fails_the_deploy(tmp_path, cloudformation):
    client, stubber = cloudformation
    lambda_, lambda_stubber = stubbed("lambda")
    zip_path = tmp_path / "shop.zip"
    zip_path.write_bytes(b"PK built")
    stubber.add_response(
        "list_stack_resources",
        {
            "StackResourceSummaries": [
                {
                    "LogicalResourceId": f"{name.title()}Function",
                    "PhysicalResourceId": f"shop-dev-{name}",
                    "ResourceType": "AWS::Lambda::Function",
                    "LastUpdatedTimestamp": datetime.datetime.now(datetime.timezone.utc),
                    "ResourceStatus": "CREATE_COMPLETE",
                }
                for name in ("items", "orders")
            ]
        },
    )
    lambda_stubber.add_response(
        "get_function_configuration", {"CodeSha256": deploy.sha256_b64(b"PK built")}
    )
    lambda_stubber.add_response("get_function_configuration", {"CodeSha256": "b3RoZXI="})
    with lambda_stubber, pytest.raises(TightTaskError) as raised:
        deploy.verify_code(client, lambda_, NAME, zip_path)
    message = str(raised.value)
    assert "deployed code differs from shop.zip" in message
    assert "shop-dev-orders (b3RoZXI=)" in message and "shop-dev-items" not in message


def test_outputs_prints_every_output_of_the_stack(cloudformation, capsys, monkeypatch, tmp_path):
    client, stubber = cloudformation
    found = stack("UPDATE_COMPLETE")
    found["Stacks"][0]["Outputs"] = [
        {"OutputKey": "ApiUrl", "OutputValue": "https://abc.execute-api.eu-west-1.amazonaws.com"},
        {"OutputKey": "OrdersFailureQueue", "OutputValue": "https://sqs/123/shop-dev-orders-dlq"},
    ]
    stubber.add_response("describe_stacks", found, {"StackName": NAME})

    class Session:
        def client(self, service):
            assert service == "cloudformation"
            return client

    monkeypatch.setattr(deploy, "session", Session)
    shown = deploy.outputs(tmp_path, {"name": "shop"}, "dev")
    assert shown["ApiUrl"].startswith("https://abc.")
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "stack shop-dev (UPDATE_COMPLETE):",
        "  ApiUrl: https://abc.execute-api.eu-west-1.amazonaws.com",
        "  OrdersFailureQueue: https://sqs/123/shop-dev-orders-dlq",
    ]
