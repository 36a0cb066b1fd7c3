"""Review: a secret the code *sends* to AWS (stores in Secrets Manager, SSM as a
SecureString, encrypts with KMS) is never in a response by name, yet the code may pass it
on: it must be masked in what is recorded next. Real moto server on 127.0.0.1."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from servers import moto_server

from tight.testing.aws import AwsRecorder
from tight.testing.http import HttpRecorder
from tight.testing.scrub import ScrubPolicy

STORED = "stored-secret-7f3a9c"
PARAMETER = "ssm-secure-value-51be"
PLAINTEXT = b"kms-plaintext-c0ffee"


class Echo(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.dumps({"seen": json.loads(self.rfile.read(length))["note"]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def endpoints(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    with moto_server() as aws:
        monkeypatch.setenv("AWS_ENDPOINT_URL", aws)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()


def exercise(session, url: str) -> list[str]:
    """What the code under test does: store secrets in AWS, then pass them on to an HTTP
    service under innocent names (a header, the query, the body)."""
    import requests

    session.client("secretsmanager").create_secret(Name="db", SecretString=STORED)
    session.client("ssm").put_parameter(Name="p", Value=PARAMETER, Type="SecureString")
    kms = session.client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.encrypt(KeyId=key, Plaintext=PLAINTEXT)
    answers = []
    for value in (STORED, PARAMETER, PLAINTEXT.decode()):
        answer = requests.post(
            f"{url}/note",
            params={"v": value},
            data=json.dumps({"note": value}),
            headers={"X-Note": value, "Content-Type": "application/json"},
            timeout=5,
        )
        answers.append(answer.json()["seen"])
    return answers


def test_secrets_the_code_sends_to_aws_are_masked_where_it_passes_them_on(tmp_path, endpoints):
    session = boto3.session.Session(region_name="us-east-1")
    aws = AwsRecorder(session, tmp_path / "aws", "record", "t", ScrubPolicy())
    http = HttpRecorder(tmp_path / "http.yaml", "record", aws.policy)
    http.start()
    try:
        assert exercise(session, endpoints) == [STORED, PARAMETER, PLAINTEXT.decode()]
    finally:
        http.finish()
        aws.finish()
    written = "\n".join(p.read_text() for p in tmp_path.rglob("*") if p.is_file())
    for secret in (STORED, PARAMETER, PLAINTEXT.decode()):
        assert secret not in written
    assert "REDACTED" in (tmp_path / "http.yaml").read_text()

    # playback, in a fresh policy that never saw them: the requests still match
    session = boto3.session.Session(region_name="us-east-1")
    aws = AwsRecorder(session, tmp_path / "aws", "playback", "t", ScrubPolicy())
    http = HttpRecorder(tmp_path / "http.yaml", "playback", aws.policy)
    http.start()
    try:
        assert exercise(session, endpoints) == ["REDACTED"] * 3
    finally:
        http.finish()
        aws.finish()
    assert http.problems == [] and aws.problems == []


SQS_TOKEN = "sqs-auth-token-2b7e91"
ECS_PASS = "ecs-db-pass-8c41d0"
CFN_PASS = "cfn-api-password-53fa"
SSM_PASS = "ssm-plain-db-password-6e09"
PROFILE_PASS = "profile-current-pw-a17c"
LISTED_KEY = "listed-api-key-e4b2"
STACK = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Parameters": {"ApiPassword": {"Type": "String"}},
    "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
}


class EchoAll(BaseHTTPRequestHandler):
    """Answers with every string the request body held, under innocent names."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        sent = json.loads(self.rfile.read(length))

        def leaves(value: object) -> list[str]:
            if isinstance(value, dict):
                return [leaf for item in value.values() for leaf in leaves(item)]
            if isinstance(value, list):
                return [leaf for item in value for leaf in leaves(item)]
            return [value] if isinstance(value, str) else []

        body = json.dumps({"seen": leaves(sent)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def echo_all(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoAll)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    with moto_server() as aws:
        monkeypatch.setenv("AWS_ENDPOINT_URL", aws)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()


def exercise_shapes(session, url: str) -> dict:
    """Secrets sent to AWS nested under secret names and in name/value records, read back,
    then passed on to an HTTP service in a body of the same shapes."""
    import requests

    sqs = session.client("sqs")
    queue = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    attributes = {"AuthToken": {"DataType": "String", "StringValue": SQS_TOKEN}}
    sqs.send_message(QueueUrl=queue, MessageBody="job", MessageAttributes=attributes)
    message = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"])["Messages"][0]
    ecs = session.client("ecs")
    container = {
        "name": "app",
        "image": "app:1",
        "memory": 128,
        "environment": [{"name": "DB_PASS", "value": ECS_PASS}, {"name": "STAGE", "value": "t"}],
    }
    ecs.register_task_definition(family="app", containerDefinitions=[container])
    definition = ecs.describe_task_definition(taskDefinition="app")["taskDefinition"]
    cloudformation = session.client("cloudformation")
    cloudformation.create_stack(
        StackName="shop",
        TemplateBody=json.dumps(STACK),
        Parameters=[{"ParameterKey": "ApiPassword", "ParameterValue": CFN_PASS}],
    )
    stack = cloudformation.describe_stacks(StackName="shop")["Stacks"][0]
    ssm = session.client("ssm")
    ssm.put_parameter(Name="/shop/db_password", Value=SSM_PASS, Type="String")
    parameter = ssm.get_parameter(Name="/shop/db_password")["Parameter"]
    profile = {
        "password": {"current": PROFILE_PASS},
        "api_keys": [{"key": LISTED_KEY}],
        # what it sent to AWS, passed on under an innocent name: the constants, not what AWS
        # answered, so playback sends the real values too and must scrub them alike
        "notes": [SQS_TOKEN, ECS_PASS, CFN_PASS, SSM_PASS],
    }
    answer = requests.post(f"{url}/profile", json=profile, timeout=5)
    return {
        "sqs": message["MessageAttributes"]["AuthToken"]["StringValue"],
        "ecs": definition["containerDefinitions"][0]["environment"][0]["value"],
        "cfn": stack["Parameters"][0]["ParameterValue"],
        "ssm": parameter["Value"],
        "echo": answer.json()["seen"],
    }


def test_secrets_sent_in_nested_shapes_and_records_are_masked_in_every_file(tmp_path, echo_all):
    session = boto3.session.Session(region_name="us-east-1")
    aws = AwsRecorder(session, tmp_path / "aws", "record", "t", ScrubPolicy())
    http = HttpRecorder(tmp_path / "http.yaml", "record", aws.policy)
    http.start()
    try:
        seen = exercise_shapes(session, echo_all)
    finally:
        http.finish()
        aws.finish()
    assert seen == {
        "sqs": SQS_TOKEN,
        "ecs": ECS_PASS,
        "cfn": CFN_PASS,
        "ssm": SSM_PASS,
        "echo": [PROFILE_PASS, LISTED_KEY, SQS_TOKEN, ECS_PASS, CFN_PASS, SSM_PASS],
    }
    files = {p.name: p.read_text() for p in tmp_path.rglob("*") if p.is_file()}
    planted = (SQS_TOKEN, ECS_PASS, CFN_PASS, SSM_PASS, PROFILE_PASS, LISTED_KEY)
    assert [(s, name) for name, text in files.items() for s in planted if s in text] == []
    # what stays readable: the data type, the plain environment entry, the names
    received = json.loads(files["sqs.ReceiveMessage_1.json"])["data"]["Messages"][0]
    assert received["MessageAttributes"]["AuthToken"] == {
        "DataType": "String",
        "StringValue": "REDACTED",
    }
    definition = json.loads(files["ecs.DescribeTaskDefinition_1.json"])["data"]
    environment = definition["taskDefinition"]["containerDefinitions"][0]["environment"]
    assert {"name": "STAGE", "value": "t"} in environment
    assert {"name": "DB_PASS", "value": "REDACTED"} in environment

    # playback, in a fresh policy that never saw them: the requests still match
    session = boto3.session.Session(region_name="us-east-1")
    aws = AwsRecorder(session, tmp_path / "aws", "playback", "t", ScrubPolicy())
    http = HttpRecorder(tmp_path / "http.yaml", "playback", aws.policy)
    http.start()
    try:
        again = exercise_shapes(session, echo_all)
    finally:
        http.finish()
        aws.finish()
    assert http.problems == [] and aws.problems == []
    assert again == {**dict.fromkeys(seen, "REDACTED"), "echo": ["REDACTED"] * 6}
