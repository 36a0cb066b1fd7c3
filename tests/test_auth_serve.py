"""`doit serve` enforces each route's auth as API Gateway does, over sockets on 127.0.0.1:
JWTs signed by keys this test makes (valid, expired, not yet valid, wrong audience, wrong
issuer, wrong key, missing), a Lambda authorizer run in its own warm worker with its cache
(allowed, denied, failing), and SigV4 for iam routes, on a REST and an HTTP API, one served
app each."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
import yaml
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from cryptography.hazmat.primitives.asymmetric import rsa

from tight.testing.servers import free_port, wait_for_port

BIN = Path(sys.executable).parent
ISSUER = "https://login.example.com/"
POOL = "us-east-1_AbC123"
POOL_ISSUER = f"https://cognito-idp.us-east-1.amazonaws.com/{POOL}"
ACCESS_KEY, SECRET = "AKIDLOCALTEST0000001", "local-secret-for-tests"

WHO = """
import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy


@lambda_proxy.get
def get_handler(*args, **kwargs):
    request = kwargs["request"]
    return {
        "principal_id": kwargs["principal_id"],
        "claims": request.claims,
        "context": request.authorizer_context,
        "iam": request.iam_identity,
        "authorizer": request.authorizer,
    }
"""

AUTHORIZER = """
from tight.providers.aws.controllers import authorizer

CALLS = {"n": 0}


@authorizer.request
def check(*args, **kwargs):
    CALLS["n"] += 1
    token = kwargs["request"].header("authorization")
    if token == "Bearer boom":
        raise RuntimeError("the authorizer broke")
    if token != "Bearer good":
        return authorizer.deny()
    return authorizer.allow("user-7", context={"plan": "pro", "calls": CALLS["n"]})
"""


class Keys:
    """An RSA key pair of the test's own, its public half as a JWKS, and tokens it signs."""

    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> dict:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def token(self, issuer: str = ISSUER, **claims: object) -> str:
        now = int(time.time())
        payload = {"iss": issuer, "sub": "alice", "iat": now, "exp": now + 600, **claims}
        return jwt.encode(payload, self.private, "RS256", headers={"kid": self.kid})


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys("key-1")


def make_app(folder: Path, api: str, keys: Keys) -> Path:
    env = dict(os.environ, XDG_CACHE_HOME=str(folder / "cache"))

    def run(*command: str, cwd: Path) -> None:
        done = subprocess.run(
            [str(BIN / command[0]), *command[1:]], cwd=cwd, capture_output=True, env=env
        )
        assert done.returncode == 0, done.stderr

    folder.mkdir()
    run("tight", "generate_app", "name=shop", cwd=folder)
    root = folder / "shop"
    for name in ("open", "me", "admin", "orders"):
        run("doit", "generate_function", f"name={name}", cwd=root)
        (root / f"app/functions/{name}/handler.py").write_text(WHO)
    run("doit", "generate_function", "name=authorize", "trigger=authorizer", cwd=root)
    (root / "app/functions/authorize/handler.py").write_text(AUTHORIZER)
    (root / "keys.json").write_text(json.dumps(keys.jwks()))
    token = (
        {"jwt": {"issuer": ISSUER, "audience": ["my-api"], "jwks_file": "keys.json"}}
        if api == "http"
        else {"cognito": {"user_pool": POOL, "jwks_file": "keys.json"}}
    )
    settings = yaml.safe_load((root / "tight.yml").read_text())
    settings.update(
        api=api,
        auth=token,
        functions={
            "open": {"auth": "none", "routes": ["/open"]},
            "me": {"routes": ["/me"]},
            "admin": {"auth": "iam", "routes": ["/admin"]},
            "orders": {"auth": {"function": "authorize", "ttl": 60}, "routes": ["/orders/{id}"]},
        },
    )
    (root / "tight.yml").write_text(yaml.safe_dump(settings))
    return root


class Served:
    def __init__(self, port: int, console: Path) -> None:
        self.port, self.console = port, console

    def call(self, path: str, headers: dict | None = None) -> tuple[int, dict, dict]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request("GET", path, headers=headers or {})
            response = connection.getresponse()
            named = {k.lower(): v for k, v in response.getheaders()}
            return response.status, named, json.loads(response.read() or b"null")
        finally:
            connection.close()

    def bearer(self, path: str, token: str) -> tuple[int, dict, dict]:
        return self.call(path, {"Authorization": f"Bearer {token}"})

    def signed(self, path: str, secret: str = SECRET) -> tuple[int, dict, dict]:
        request = AWSRequest(method="GET", url=f"http://127.0.0.1:{self.port}{path}")
        SigV4Auth(Credentials(ACCESS_KEY, secret), "execute-api", "us-east-1").add_auth(request)
        return self.call(path, dict(request.headers.items()))


def serve(root: Path) -> Iterator[Served]:
    port = free_port()
    console = root.parent / "console.txt"
    env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET)
    env["XDG_CACHE_HOME"] = str(root.parent / "cache")
    env.update(AWS_SHARED_CREDENTIALS_FILE="/nonexistent", AWS_CONFIG_FILE="/nonexistent")
    env.pop("AWS_SESSION_TOKEN", None)
    env.pop("AWS_PROFILE", None)
    with console.open("w") as out:
        process = subprocess.Popen(
            [str(BIN / "doit"), "serve", f"port={port}"], cwd=root, stdout=out, stderr=out, env=env
        )
        try:
            wait_for_port(port)
            yield Served(port, console)
        finally:
            process.terminate()
            process.wait(timeout=30)
            print(console.read_text())


@pytest.fixture(scope="module")
def http_api(tmp_path_factory, keys) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("auth-http")
    yield from serve(make_app(folder / "app", "http", keys))


@pytest.fixture(scope="module")
def rest_api(tmp_path_factory, keys) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("auth-rest")
    yield from serve(make_app(folder / "app", "rest", keys))


UNAUTHORIZED = {"message": "Unauthorized"}


def test_http_api_jwt_valid_claims_reach_the_function(http_api, keys):
    status, _, body = http_api.bearer("/me", keys.token(aud="my-api", groups=["a", "b"]))
    assert status == 200, body
    assert body["principal_id"] == "alice"
    assert body["claims"]["aud"] == "my-api"
    assert body["claims"]["groups"] == "[a b]"  # as an HTTP API passes a list claim
    assert body["authorizer"]["jwt"]["scopes"] is None
    # An access token names its client in client_id instead of aud: accepted as well.
    status, _, body = http_api.bearer("/me", keys.token(client_id="my-api"))
    assert status == 200, body


@pytest.mark.parametrize(
    "claims, why",
    [
        ({"aud": "my-api", "exp": int(time.time()) - 60}, "has expired"),
        ({"aud": "my-api", "nbf": int(time.time()) + 600}, "not valid yet"),
        ({"aud": "another-api"}, "audience (another-api) is not my-api"),
        ({"aud": "my-api", "iss": "https://evil.example.com/"}, "issuer is not"),
    ],
)
def test_http_api_jwt_refusals_are_its_401(http_api, keys, claims, why):
    status, headers, body = http_api.bearer("/me", keys.token(**claims))
    assert (status, body) == (401, UNAUTHORIZED)
    assert "invalid_token" in headers["www-authenticate"]
    assert why in Path(http_api.console).read_text()


def test_http_api_jwt_missing_or_signed_by_another_key(http_api):
    assert http_api.call("/me")[::2] == (401, UNAUTHORIZED)
    stranger = Keys("key-1").token(aud="my-api")  # the same kid, another private key
    assert http_api.bearer("/me", stranger)[::2] == (401, UNAUTHORIZED)
    assert http_api.bearer("/me", "not-a-jwt")[::2] == (401, UNAUTHORIZED)


def test_an_open_route_needs_nothing_and_the_console_names_each_routes_authorizer(http_api):
    status, _, body = http_api.call("/open")
    assert status == 200 and body["principal_id"] is None and body["claims"] == {}
    console = Path(http_api.console).read_text()
    assert f"127.0.0.1:{http_api.port}/open  -> open\n" in console
    assert "/orders/{id}  -> orders  (AuthorizeAuthorizer)" in console
    assert "/admin  -> admin  (AWS_IAM)" in console


def test_http_api_lambda_authorizer_allows_denies_and_caches(http_api):
    status, _, body = http_api.bearer("/orders/1", "good")
    assert status == 200, body
    assert body["principal_id"] == "user-7"
    assert body["context"] == {"plan": "pro", "calls": 1}
    # Within the TTL the same identity is answered from the cache: the authorizer ran once.
    assert http_api.bearer("/orders/2", "good")[2]["context"]["calls"] == 1
    assert http_api.bearer("/orders/1", "bad")[::2] == (403, {"message": "Forbidden"})
    assert http_api.call("/orders/1")[::2] == (401, UNAUTHORIZED)  # no identity source
    failed = http_api.bearer("/orders/1", "boom")
    assert failed[::2] == (500, {"message": "Internal Server Error"})


def test_http_api_iam_needs_a_signature_that_matches(http_api):
    status, _, body = http_api.signed("/admin")
    assert status == 200, body
    assert body["iam"]["accessKey"] == ACCESS_KEY
    assert body["principal_id"] == body["iam"]["userArn"]
    assert http_api.call("/admin")[::2] == (403, {"message": "Forbidden"})
    assert http_api.signed("/admin", secret="wrong")[::2] == (403, {"message": "Forbidden"})


def test_rest_api_cognito_checks_the_pool_token(rest_api, keys):
    token = keys.token(issuer=POOL_ISSUER, token_use="id", email_verified=True)
    status, _, body = rest_api.call("/me", {"Authorization": token})  # REST: no Bearer needed
    assert status == 200, body
    claims = body["claims"]
    assert claims["sub"] == "alice" and claims["email_verified"] == "true"
    assert claims["exp"].endswith(time.strftime("%Y", time.gmtime()))  # REST writes dates
    expired = keys.token(issuer=POOL_ISSUER, exp=int(time.time()) - 5)
    status, headers, body = rest_api.call("/me", {"Authorization": expired})
    assert (status, body) == (401, UNAUTHORIZED)
    assert headers["x-amzn-errortype"] == "UnauthorizedException"
    assert rest_api.call("/me")[::2] == (401, UNAUTHORIZED)
    other_pool = keys.token(issuer=ISSUER)
    assert rest_api.call("/me", {"Authorization": other_pool})[::2] == (401, UNAUTHORIZED)


def test_rest_api_lambda_authorizer_policy(rest_api):
    status, _, body = rest_api.bearer("/orders/1", "good")
    assert status == 200, body
    assert body["principal_id"] == "user-7"
    assert body["context"] == {"plan": "pro", "calls": "1"}  # a REST API passes strings
    assert rest_api.bearer("/orders/9", "good")[2]["context"]["calls"] == "1"  # cached
    status, headers, body = rest_api.bearer("/orders/1", "bad")
    assert status == 403
    assert body["message"] == "User is not authorized to access this resource with an explicit deny"
    assert headers["x-amzn-errortype"] == "AccessDeniedException"
    assert rest_api.bearer("/orders/1", "boom")[::2] == (500, {"message": None})
    assert rest_api.call("/orders/1")[::2] == (401, UNAUTHORIZED)


def test_rest_api_iam(rest_api):
    status, _, body = rest_api.signed("/admin")
    assert status == 200, body
    assert body["iam"]["accessKey"] == ACCESS_KEY
    status, _, body = rest_api.call("/admin")
    assert (status, body) == (403, {"message": "Missing Authentication Token"})
    status, _, body = rest_api.signed("/admin", secret="wrong")
    assert status == 403 and body["message"].startswith("The request signature we calculated")
    stale = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() - 3600))
    header = (
        f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/{stale[:8]}/us-east-1/execute-api/"
        f"aws4_request, SignedHeaders=host;x-amz-date, Signature={'0' * 64}"
    )
    replayed = rest_api.call("/admin", {"Authorization": header, "X-Amz-Date": stale})
    assert replayed[::2] == (403, {"message": "Signature expired"})
    status, _, body = rest_api.call("/admin", {"Authorization": "Basic dXNlcjpwYXNz"})
    assert status == 403 and "Signature Version 4" in body["message"]
