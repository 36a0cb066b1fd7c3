"""Review: everything beneath a secret name is masked whatever its shape, and so is the
value of a name/value record whose name is secret; the structure, numbers, booleans and
readable fields (data types, names) stay, so playback finds what it expects."""

import json

import pytest

from tight.testing.scrub import MARKER, ScrubPolicy

VALUE = "planted-secret-4d2c"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (  # SQS / SNS message attributes under a secret name
            {"MessageAttributes": {"AuthToken": {"DataType": "String", "StringValue": VALUE}}},
            {"MessageAttributes": {"AuthToken": {"DataType": "String", "StringValue": MARKER}}},
        ),
        (
            {"password": {"current": VALUE, "previous": [VALUE, 7], "rotated": True}},
            {"password": {"current": MARKER, "previous": [MARKER, 7], "rotated": True}},
        ),
        (
            {"api_keys": [{"key": VALUE, "id": 3}, {"key": VALUE, "id": 4}]},
            {"api_keys": [{"key": MARKER, "id": 3}, {"key": MARKER, "id": 4}]},
        ),
        (  # a binary message attribute, as placebo writes bytes
            {
                "AuthToken": {
                    "DataType": "Binary",
                    "BinaryValue": {"__class__": "bytes", "body": "eHl6"},
                }
            },
            {
                "AuthToken": {
                    "DataType": "Binary",
                    "BinaryValue": {"__class__": "bytes", "body": "UkVEQUNURUQ="},
                }
            },
        ),
        (  # DynamoDB attribute values, as before
            {"password": {"S": VALUE}, "tokens": {"L": [{"S": VALUE}, {"N": "2"}]}},
            {"password": {"S": MARKER}, "tokens": {"L": [{"S": MARKER}, {"N": MARKER}]}},
        ),
    ],
)
def test_every_string_beneath_a_secret_name_is_masked(data, expected):
    assert ScrubPolicy().data(data) == expected


@pytest.mark.parametrize(
    ("record", "masked"),
    [
        ({"name": "DB_PASS", "value": VALUE}, "value"),  # ECS, Batch, CodeBuild environment
        ({"name": "DB_PASS", "value": VALUE, "type": "PLAINTEXT"}, "value"),
        ({"ParameterKey": "ApiPassword", "ParameterValue": VALUE}, "ParameterValue"),  # CFN
        ({"OutputKey": "ApiKey", "OutputValue": VALUE}, "OutputValue"),
        ({"Name": "/shop/db_password", "Type": "String", "Value": VALUE}, "Value"),  # SSM
        ({"Name": "custom:api_token", "Value": VALUE}, "Value"),  # Cognito attributes
        ({"Key": "STRIPE_KEY", "Value": VALUE}, "Value"),  # tags
        (
            {
                "Namespace": "aws:elasticbeanstalk:application:environment",
                "OptionName": "SMTP_PWD",
                "Value": VALUE,
            },
            "Value",
        ),
    ],
)
def test_a_record_naming_a_secret_has_its_value_masked(record, masked):
    policy = ScrubPolicy()
    assert policy.data({"Records": [record]}) == {"Records": [{**record, masked: MARKER}]}
    assert VALUE in policy.learned  # hunted from then on
    name_key = next(k for k in record if k not in (masked, "type", "Type", "Namespace"))
    plain = {**record, name_key: "REGION", masked: "eu-west-1"}
    assert ScrubPolicy().data({"Records": [plain]}) == {"Records": [plain]}


def test_records_aws_fills_with_names_stay_readable():
    response = {
        "SecretList": [
            {
                "Name": "shop/db",
                "ARN": "arn:aws:secretsmanager:x",
                "SecretVersionsToStages": {"v1": ["AWSCURRENT"]},
            }
        ],
        "AccessKeyMetadata": [{"UserName": "deployer", "Status": "Active"}],
        "Parameters": [{"ParameterKey": "Stage", "ParameterValue": "prod"}],
        "environment": [{"name": "TABLE", "value": "orders"}],
        "MessageAttributes": {"TraceId": {"DataType": "String", "StringValue": "abc-123"}},
    }
    assert ScrubPolicy().data(response) == response


def test_a_secret_sent_in_any_shape_is_hunted_in_what_comes_back():
    policy = ScrubPolicy()
    request = {
        "MessageAttributes": {"AuthToken": {"DataType": "String", "StringValue": "sqs-token-9f8e"}},
        "containerDefinitions": [{"environment": [{"name": "DB_PASS", "value": "ecs-pass-7d6c"}]}],
        "Parameters": [{"ParameterKey": "ApiPassword", "ParameterValue": "cfn-pass-5b4a"}],
        "profile": {
            "password": {"current": "profile-pw-3e2d"},
            "api_keys": [{"key": "key-in-list-1c0b"}],
        },
    }
    policy.body(json.dumps(request), "application/json")
    echoed = "sqs-token-9f8e ecs-pass-7d6c cfn-pass-5b4a profile-pw-3e2d key-in-list-1c0b"
    assert policy.data({"note": echoed}) == {"note": " ".join([MARKER] * 5)}
