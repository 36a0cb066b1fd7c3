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
    threading.Thread(target=server.serve_forever, daemon=True).start()
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
