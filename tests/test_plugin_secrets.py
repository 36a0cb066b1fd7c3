"""Recordings are safe to commit: an app records against a moto server (STS, Secrets
Manager, SSM, KMS, DynamoDB) and an OAuth provider on 127.0.0.1, both handed real secrets;
no file the plugin writes holds any of them, and playback with both servers stopped passes.
"""

import base64
import json
import re
import textwrap
from pathlib import Path

import boto3

# Imported here, once: pytester drops the modules a test imported, and cryptography's Rust
# bindings (moto's KMS) cannot be imported a second time in one process.
import moto.kms.models  # noqa: F401
import pytest
from servers import moto_server, oauth_server

ACCESS_KEY = "AKIAPLANTEDKEY123456"
SECRET_KEY = "planted/secret+access/key0123456789abcdEF"
SESSION_TOKEN = "IQoJplantedSESSIONtoken9876543210zyxw"
DB_SECRET = "db-secret-from-secrets-manager-5e1f"  # Secrets Manager SecretString
SIGNING_SECRET = "ssm-secure-string-value-77aa"  # SSM SecureString, read WithDecryption
KMS_PLAINTEXT = b"kms-plaintext-data-key-3c9d"
ITEM_SECRET = "dynamo-item-api-token-41b8"  # an item attribute named api_token
CLIENT_SECRET = "oauth-client-secret-a1b2c3d4"
AUTH_CODE = "oauth-authorization-code-e5f6"
ACCESS_TOKEN = (
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbm4iLCJzY29wZSI6InByb2ZpbGUifQ.c2lnbmF0dXJlLWFjY2Vzcw"
)
ID_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbm4iLCJlbWFpbCI6ImFAYi5jIn0.c2lnbmF0dXJlLWlk"
REFRESH_TOKEN = "oauth-refresh-token-0a9b8c7d"
COOKIE = "session-cookie-value-1f2e3d"
HEADER_TOKEN = "x-auth-token-value-6b5a4c"
API_KEY = "query-api-key-value-9d8c7b"
API_PASSWORD = "api-password-in-innocent-header"
PROFILE_PASSWORD = "password-deep-in-response-json"
TENANT = "tenant-id-from-app-rule-2f3e"  # masked only by tight.yml's scrub keys
ACCOUNT = "acct-482913"  # masked only by tight.yml's scrub patterns
PLANTED = (
    ACCESS_KEY,
    SECRET_KEY,
    SESSION_TOKEN,
    DB_SECRET,
    SIGNING_SECRET,
    KMS_PLAINTEXT.decode(),
    base64.b64encode(KMS_PLAINTEXT).decode(),
    ITEM_SECRET,
    CLIENT_SECRET,
    AUTH_CODE,
    ACCESS_TOKEN,
    ID_TOKEN,
    REFRESH_TOKEN,
    COOKIE,
    HEADER_TOKEN,
    API_KEY,
    API_PASSWORD,
    PROFILE_PASSWORD,
    TENANT,
    ACCOUNT,
)

HANDLER = """
import base64
import os

import requests

import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy
from tight.providers.aws.clients import boto3_client


@lambda_proxy.get
def get_handler(*args, **kwargs):
    aws = boto3_client.session()
    credentials = aws.client("sts").get_session_token()["Credentials"]
    secret = aws.client("secretsmanager").get_secret_value(SecretId="shop/db")["SecretString"]
    signing = aws.client("ssm").get_parameter(Name="/shop/signing", WithDecryption=True)
    blob = base64.b64decode(os.environ["KMS_BLOB"])
    plaintext = aws.client("kms").decrypt(CiphertextBlob=blob)["Plaintext"]
    item = aws.resource("dynamodb").Table("items").get_item(Key={"id": "1"})["Item"]
    base = os.environ["OAUTH_URL"]
    tokens = requests.post(
        base + "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": os.environ["OAUTH_CODE"],
            "client_id": "shop",
            "client_secret": os.environ["CLIENT_SECRET"],
        },
        timeout=5,
    )
    if tokens.status_code != 200:
        return {"statusCode": 502, "body": {"token": tokens.status_code}}
    profile = requests.get(
        base + "/api/profile",
        params={"api_key": os.environ["PROFILE_API_KEY"], "ref": os.environ["ACCOUNT_REF"]},
        headers={
            "Authorization": "Bearer " + tokens.json()["access_token"],
            "X-Auth-Token": os.environ["HEADER_TOKEN"],
            "X-Client-Note": os.environ["API_PASSWORD"],
            "X-Tenant": os.environ["TENANT"],
            "X-Db": secret,
            "X-Signing": signing["Parameter"]["Value"],
            "X-Key": base64.b64encode(plaintext).decode(),
            "X-Item": item["api_token"],
        },
        timeout=5,
    )
    if profile.status_code != 200:
        return {"statusCode": 502, "body": profile.json()}
    body = {
        "user": profile.json()["user"],
        "item": item["name"],
        "db": secret,
        "expires": credentials["Expiration"].year > 2000,
    }
    return {"statusCode": 200, "body": body}
"""

TESTS = """
import json
import os


def test_sync(app, event, lambda_context, expect_response, tight_mode):
    response = app.sync(event("GET", "/sync"), lambda_context)
    assert response["statusCode"] == 200, response
    body = json.loads(response["body"])
    assert body["user"] == "ann" and body["item"] == "teapot" and body["expires"] is True
    # Reading a secret back gives the secret when recording, the marker in playback.
    assert body["db"] == (os.environ["PLANTED_DB"] if tight_mode == "record" else "REDACTED")
    expect_response(response)
"""

TIGHT_YML = r"""name: shop
stage: test
testing:
  scrub:
    keys: [X-Tenant]
    patterns: ['acct-\d{6}']
"""


def plant_aws(endpoint: str) -> str:
    """Secrets in the moto server; returns the KMS ciphertext (base64) of KMS_PLAINTEXT."""
    options = {
        "endpoint_url": endpoint,
        "region_name": "us-east-1",
        "aws_access_key_id": ACCESS_KEY,
        "aws_secret_access_key": SECRET_KEY,
    }
    boto3.client("secretsmanager", **options).create_secret(Name="shop/db", SecretString=DB_SECRET)
    boto3.client("ssm", **options).put_parameter(
        Name="/shop/signing", Value=SIGNING_SECRET, Type="SecureString"
    )
    kms = boto3.client("kms", **options)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key, Plaintext=KMS_PLAINTEXT)["CiphertextBlob"]
    dynamo = boto3.client("dynamodb", **options)
    dynamo.create_table(
        TableName="items",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamo.put_item(
        TableName="items",
        Item={"id": {"S": "1"}, "name": {"S": "teapot"}, "api_token": {"S": ITEM_SECRET}},
    )
    return base64.b64encode(blob).decode()


def files_under(root: Path) -> dict[Path, bytes]:
    return {
        p: p.read_bytes() for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.fixture
def recorded(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, recorded_once):
    """The app, recorded against moto and the OAuth provider (both stopped after); recorded
    by the module's first test, a copy of that recording for the other."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_SESSION_TOKEN": SESSION_TOKEN,
        "AWS_DEFAULT_REGION": "us-east-1",
        "PLANTED_DB": DB_SECRET,
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("TIGHT_RECORD", "TIGHT_DYNAMO_ENDPOINT", "AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    if recorded_once.made is None:
        recorded_once.keep(pytester.path, record(pytester))
    else:
        recorded_once.copy_to(pytester.path)
    result, written = recorded_once.made
    return pytester, result, {pytester.path / name: data for name, data in written.items()}


def record(pytester: pytest.Pytester) -> tuple[pytest.RunResult, dict[Path, bytes]]:
    """Record the app's test in ``pytester.path``: the run's result, and the files the
    plugin wrote, by path relative to it."""
    secrets = {
        "client_secret": CLIENT_SECRET,
        "code": AUTH_CODE,
        "access_token": ACCESS_TOKEN,
        "refresh_token": REFRESH_TOKEN,
        "id_token": ID_TOKEN,
        "cookie": COOKIE,
        "header_token": HEADER_TOKEN,
        "api_key": API_KEY,
        "password": PROFILE_PASSWORD,
    }
    # The provider checks that the recording really carried every secret.
    expected_headers = {
        "X-Client-Note": API_PASSWORD,
        "X-Tenant": TENANT,
        "X-Db": DB_SECRET,
        "X-Signing": SIGNING_SECRET,
        "X-Key": base64.b64encode(KMS_PLAINTEXT).decode(),
        "X-Item": ITEM_SECRET,
    }
    with moto_server() as endpoint, oauth_server(secrets, expected_headers) as oauth:
        blob = plant_aws(endpoint)
        pytester.makefile(".yml", tight=TIGHT_YML)
        env = {
            "AWS_ENDPOINT_URL": endpoint,
            "KMS_BLOB": blob,
            "OAUTH_URL": oauth,
            "OAUTH_CODE": AUTH_CODE,
            "CLIENT_SECRET": CLIENT_SECRET,
            "PROFILE_API_KEY": API_KEY,
            "HEADER_TOKEN": HEADER_TOKEN,
            "API_PASSWORD": API_PASSWORD,
            "TENANT": TENANT,
            "ACCOUNT_REF": ACCOUNT,
        }
        (pytester.path / "env.yml").write_text("".join(f"{k}: {v!r}\n" for k, v in env.items()))
        (pytester.path / "app_index.py").write_text(
            "from app.vendored.tight.providers.aws.lambda_app import app as app\napp.run()\n"
        )
        folder = pytester.path / "app" / "functions" / "sync"
        folder.mkdir(parents=True)
        (folder / "handler.py").write_text(textwrap.dedent(HANDLER))
        pytester.mkdir("tests").joinpath("test_sync.py").write_text(textwrap.dedent(TESTS))
        before = files_under(pytester.path)
        result = pytester.runpytest_subprocess(
            "--tight-record", "--tight-update-expectations", "-p", "no:cacheprovider", timeout=180
        )
        result.assert_outcomes(passed=1)
    written = {
        p.relative_to(pytester.path): b
        for p, b in files_under(pytester.path).items()
        if p not in before
        and not p.is_relative_to(pytester.path / "runpytest-0")
        and p.name not in ("stdout", "stderr")
    }
    return result, written


def test_no_planted_secret_is_in_any_written_file(recorded):
    pytester, result, written = recorded
    tests = pytester.path / "tests"
    assert sorted(str(p.relative_to(tests)) for p in written) == [
        "cassettes/test_sync.yaml",
        "expectations/test_sync.yml",
        "placebos/test_sync/calls.json",
        "placebos/test_sync/dynamodb.GetItem_1.json",
        "placebos/test_sync/kms.Decrypt_1.json",
        "placebos/test_sync/secretsmanager.GetSecretValue_1.json",
        "placebos/test_sync/ssm.GetParameter_1.json",
        "placebos/test_sync/sts.GetSessionToken_1.json",
    ]
    hits = [
        f"{secret[:12]}... in {path.relative_to(tests)}"
        for path, content in written.items()
        for secret in PLANTED
        if secret in content.decode("utf-8", "replace")
    ]
    assert hits == []
    jwt = re.compile(r"eyJ[\w-]+\.eyJ[\w-]+")
    assert not [p for p, c in written.items() if jwt.search(c.decode("utf-8", "replace"))]
    # What the files keep: the shape, and the marker where a secret was.
    folder = tests / "placebos/test_sync"
    sts = json.loads((folder / "sts.GetSessionToken_1.json").read_text())["data"]
    credentials = sts["Credentials"]
    assert credentials["AccessKeyId"] == credentials["SecretAccessKey"] == "REDACTED"
    assert credentials["Expiration"]["__class__"] == "datetime"
    cassette = (tests / "cassettes/test_sync.yaml").read_text()
    assert "client_id=shop" in cassette and "grant_type=authorization_code" in cassette
    assert "theme" in cassette and "dark" in cassette
    expectation = (tests / "expectations/test_sync.yml").read_text()
    assert "db: REDACTED" in expectation and "teapot" in expectation
    # The recording said where it went.
    endpoint_line = [line for line in result.outlines if line.startswith("tight: recording")]
    assert len(endpoint_line) == 1, result.outlines
    assert re.fullmatch(
        r"tight: recording against AWS_ENDPOINT_URL http://127\.0\.0\.1:\d+; region us-east-1; "
        r"credentials from environment variables",
        endpoint_line[0],
    )


def test_playback_with_the_servers_stopped_passes(recorded, monkeypatch):
    pytester, _, _ = recorded
    monkeypatch.delenv("PLANTED_DB")
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)
    result.assert_outcomes(passed=1)
    assert not [line for line in result.outlines if line.startswith("tight: recording")]
