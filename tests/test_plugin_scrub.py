"""The scrubbing policy, shape by shape: what is masked, what is kept, and that a request
scrubbed at recording and the same request scrubbed at playback are still equal."""

import base64
import json
import re

import pytest

from tight.testing.expectations import ExpectationMismatch, Expectations
from tight.testing.scrub import MARKER, ScrubPolicy

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0."
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
POLICY = ScrubPolicy()


@pytest.mark.parametrize(
    "name",
    [
        "Authorization",
        "Proxy-Authorization",
        "Cookie",
        "Set-Cookie",
        "X-Api-Key",
        "X-Auth-Token",
        "X-Amz-Security-Token",
        "X-My-Session-Id",
        "x-client-secret",
        "X-Passwd",
        "X-Request-Signature",
        "X-Credential-Id",
        "apikey",
        "api_key",
        "X-Authenticated-User",
    ],
)
def test_secret_headers_are_masked(name):
    assert POLICY.headers({name: "v4lue", "Accept": "text/plain"}) == {
        name: MARKER,
        "Accept": "text/plain",
    }


@pytest.mark.parametrize(
    "name", ["author", "Authors", "NextToken", "nextToken", "ContinuationToken", "Code", "id"]
)
def test_ordinary_names_are_kept(name):
    assert not POLICY.is_secret_name(name)


def test_query_parameters_and_presigned_urls():
    url = (
        "https://bucket.s3.amazonaws.com/key?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20260101%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Signature=abcdef0123&X-Amz-Security-Token=tok&page=2&api_key=k1&auth=z"
    )
    clean = POLICY.url(url)
    assert "AKIAIOSFODNN7EXAMPLE" not in clean and "abcdef0123" not in clean
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in clean and "page=2" in clean
    for name in ("X-Amz-Credential", "X-Amz-Signature", "X-Amz-Security-Token", "api_key", "auth"):
        assert f"{name}={MARKER}" in clean
    assert POLICY.url("http://h/p?q=tea") == "http://h/p?q=tea"


def test_json_bodies_at_any_depth_and_oauth_fields():
    body = {
        "access_token": "at-1",
        "refresh_token": "rt-1",
        "id_token": "it-1",
        "token_type": "Bearer",
        "expires_in": 3600,
        "code": "authcode",
        "nested": [{"deeper": {"password": "pw", "userPassword": "pw2", "name": "tea"}}],
        "note": f"a token {JWT} inside text",
        "NextToken": "page-2",
    }
    clean = json.loads(POLICY.body(json.dumps(body), "application/json"))
    assert clean["access_token"] == clean["refresh_token"] == clean["id_token"] == MARKER
    assert clean["code"] == MARKER and clean["token_type"] == "Bearer"
    assert clean["expires_in"] == 3600  # numbers keep their type
    deeper = clean["nested"][0]["deeper"]
    assert deeper == {"password": MARKER, "userPassword": MARKER, "name": "tea"}
    assert clean["note"] == f"a token {MARKER} inside text"
    assert clean["NextToken"] == "page-2"


def test_form_bodies():
    form = b"grant_type=authorization_code&code=c0de&client_id=app&client_secret=s3cr3t"
    clean = POLICY.body(form, "application/x-www-form-urlencoded; charset=utf-8")
    assert isinstance(clean, bytes)
    assert (
        clean
        == (
            f"grant_type=authorization_code&code={MARKER}&client_id=app&client_secret={MARKER}"
        ).encode()
    )


def test_text_and_xml_bodies():
    xml = (
        "<Credentials><AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>"
        "<SecretAccessKey>wJalrXUtnFEMI/K7MDENG</SecretAccessKey>"
        "<SessionToken>FwoGZXIvYXdz</SessionToken><Expiration>2030</Expiration></Credentials>"
    )
    clean = POLICY.body(xml, "text/xml")
    assert "ASIAIOSFODNN7EXAMPLE" not in clean and "wJalr" not in clean and "FwoG" not in clean
    assert "<Expiration>2030</Expiration>" in clean
    assert POLICY.body("token=abc123 colour=blue", "text/plain") == f"token={MARKER} colour=blue"


def test_unchanged_bodies_keep_their_bytes():
    raw = b'{ "name" :  "tea" }'
    assert POLICY.body(raw, "application/json") is raw
    binary = bytes(range(256))
    assert POLICY.body(binary, "application/octet-stream") is binary


def test_aws_responses():
    response = {
        "Credentials": {
            "AccessKeyId": "ASIAEXAMPLEEXAMPLE12",
            "SecretAccessKey": "secret",
            "SessionToken": "token",
            "Expiration": {"__class__": "datetime", "year": 2030, "month": 1, "day": 1},
        },
        "SecretString": '{"db": "pw"}',
        "SecretBinary": "c2VjcmV0",
        "Name": "db-password",
        "SecretList": [{"Name": "one", "ARN": "arn:aws:secretsmanager:x"}],
        "Parameter": {"Name": "/app/key", "Type": "SecureString", "Value": "plain"},
        "Parameters": [{"Name": "/app/colour", "Type": "String", "Value": "blue"}],
        "Plaintext": "cGxhaW4=",
        "KeyId": "arn:aws:kms:key",
        "AuthenticationResult": {"AccessToken": "a", "IdToken": "b", "ExpiresIn": 3600},
        "authorizationData": [{"authorizationToken": "QVdTOnBhc3M=", "proxyEndpoint": "e"}],
        "Item": {"id": {"S": "1"}, "password": {"S": "hunter2"}, "tags": {"SS": ["a"]}},
        "Error": {"Code": "ConditionalCheckFailedException", "Message": "no"},
    }
    clean = POLICY.data(response)
    credentials = clean["Credentials"]
    assert credentials["AccessKeyId"] == credentials["SecretAccessKey"] == MARKER
    assert credentials["SessionToken"] == MARKER
    assert credentials["Expiration"] == response["Credentials"]["Expiration"]
    assert clean["SecretString"] == clean["SecretBinary"] == clean["Plaintext"] == MARKER
    assert clean["SecretList"] == response["SecretList"]
    assert clean["Parameter"]["Value"] == MARKER and clean["Parameter"]["Name"] == "/app/key"
    assert clean["Parameters"] == response["Parameters"]
    assert clean["AuthenticationResult"] == {
        "AccessToken": MARKER,
        "IdToken": MARKER,
        "ExpiresIn": 3600,
    }
    assert clean["authorizationData"][0]["authorizationToken"] == MARKER
    assert clean["authorizationData"][0]["proxyEndpoint"] == "e"
    assert clean["Item"] == {"id": {"S": "1"}, "password": {"S": MARKER}, "tags": {"SS": ["a"]}}
    assert clean["Error"] == response["Error"] and clean["KeyId"] == response["KeyId"]


def test_streaming_bodies_are_scrubbed_inside():
    body = base64.b64encode(json.dumps({"api_key": "k-123", "n": 1}).encode()).decode()
    clean = POLICY.data({"Body": {"__class__": "StreamingBody", "body": body}})
    assert json.loads(base64.b64decode(clean["Body"]["body"])) == {"api_key": MARKER, "n": 1}


def test_values_are_hunted_everywhere_but_short_ones_are_not():
    policy = ScrubPolicy().secret_values_of(
        {"API_PASSWORD": "correct-horse-battery", "SHORT_SECRET": "abc", "REGION": "eu-west-1"}
    )
    assert policy.headers({"X-Note": "pw correct-horse-battery"}) == {"X-Note": f"pw {MARKER}"}
    assert policy.data({"region": "eu-west-1", "flag": "abc"}) == {
        "region": "eu-west-1",
        "flag": "abc",
    }
    assert ScrubPolicy(values=["true", "short"]).values == ()


def test_the_apps_own_keys_and_patterns():
    policy = ScrubPolicy(keys=["X-Tenant", "account_no"], patterns=[r"acct-\d{6}"])
    assert policy.headers({"x-tenant": "t1"}) == {"x-tenant": MARKER}
    assert policy.data({"account_no": "12", "ref": "see acct-123456 now"}) == {
        "account_no": MARKER,
        "ref": f"see {MARKER} now",
    }


def test_expectation_files_are_scrubbed_and_still_match(tmp_path):
    policy = ScrubPolicy(values=["hunter2-long-secret"])
    response = {
        "statusCode": 200,
        "headers": {"Set-Cookie": "sid=abc", "Content-Type": "application/json"},
        "body": json.dumps({"token": "t-1", "echo": "hunter2-long-secret", "name": "tea"}),
    }
    path = tmp_path / "expectations" / "test_x.yml"
    Expectations(path, update=True, policy=policy).check(response)
    text = path.read_text()
    assert "abc" not in text and "t-1" not in text and "hunter2" not in text
    assert "tea" in text
    Expectations(path, policy=policy).check(response)  # the scrubbed file still matches
    changed = {**response, "body": json.dumps({"token": "t-2", "echo": "x", "name": "coffee"})}
    with pytest.raises(ExpectationMismatch, match="coffee"):
        Expectations(path, policy=policy).check(changed)


def test_a_secret_masked_by_name_is_hunted_from_then_on():
    session = ScrubPolicy()
    recorder = session.with_values(["recording-credential"])
    recorder.data({"SecretString": "db-password-from-aws"})
    # Another file of the same session: the app passed the secret on under an innocent name.
    assert session.headers({"X-Db": "db-password-from-aws"}) == {"X-Db": MARKER}
    session.headers({"Authorization": "Bearer opaque-token-123"})
    assert session.url("http://h/p?t=opaque-token-123") == f"http://h/p?t={MARKER}"
    assert "recording-credential" not in session.hunted()  # only its own derived copies


def test_an_expectation_masked_by_what_the_recording_learnt_still_matches(tmp_path):
    path = tmp_path / "test_x.yml"
    recording = ScrubPolicy()
    recording.data({"SecretString": "learnt-at-recording"})  # read from Secrets Manager
    response = {"statusCode": 200, "body": json.dumps({"echo": "id learnt-at-recording"})}
    Expectations(path, update=True, policy=recording).check(response)
    assert "learnt" not in path.read_text()
    # Playback knows nothing of it: where the file has the marker, any string matches.
    Expectations(path, policy=ScrubPolicy()).check(response)
    wrong = {"statusCode": 200, "body": json.dumps({"echo": "name learnt-at-recording"})}
    with pytest.raises(ExpectationMismatch):
        Expectations(path, policy=ScrubPolicy()).check(wrong)


@pytest.mark.parametrize(
    ("host", "lookup"),
    [
        ("example.com", True),
        ("db.internal", True),
        ("localhost", False),
        ("api.localhost", False),
        ("127.0.0.1", False),
        ("::1", False),
        ("0.0.0.0", False),
        ("10.1.2.3", False),
        (None, False),
        (b"example.com", True),
    ],
)
def test_which_names_the_guard_refuses_to_look_up(host, lookup):
    from tight.testing.network import needs_lookup

    assert needs_lookup(host) is lookup


def test_the_guard_refuses_and_restores(monkeypatch):
    import socket

    from tight.testing.network import NetworkBlocked, NetworkGuard

    original = socket.socket.connect
    guard = NetworkGuard(allowed=["127.0.0.1:9"])
    guard.start()
    try:
        with socket.socket() as sock, pytest.raises(NetworkBlocked, match=re.escape("10.9.9.9:80")):
            sock.connect(("10.9.9.9", 80))
        with pytest.raises(NetworkBlocked, match=re.escape("looking up example.com:443")):
            socket.getaddrinfo("example.com", 443)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.sendto(b"x", ("127.0.0.1", 9))  # allowed by address
            with pytest.raises(NetworkBlocked, match=re.escape("UDP datagram to 127.0.0.1:10")):
                udp.sendto(b"x", 0, ("127.0.0.1", 10))
        assert len(guard.attempts) == 3
    finally:
        guard.stop()
    assert socket.socket.connect is original
