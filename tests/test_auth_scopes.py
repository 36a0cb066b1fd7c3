"""OAuth scopes on routes (tight.yml ``auth: {jwt|cognito: {...}, scopes: [...]}``, or a
function's ``{scopes: [...]}`` beside the app's token authorizer): in the template AWS's SAM
translator makes (cfn-lint clean), in the OpenAPI document, and in `doit serve` over
sockets with tokens this test signs; settings AWS would not honour are refused in one line."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import jwt
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import rsa

from tight.config import ConfigError
from tight.testing.servers import free_port, wait_for_port
from tight_tasks.auth import route_auth
from tight_tasks.config import validate
from tight_tasks.deploy import to_cloudformation

BIN = Path(sys.executable).parent
ISSUER = "https://login.example.com/"
POOL = "us-east-1_AbC123"
POOL_ISSUER = f"https://cognito-idp.us-east-1.amazonaws.com/{POOL}"
JWT = {"issuer": ISSUER, "audience": ["my-api"], "jwks_file": "keys.json"}

WHO = """
import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy


@lambda_proxy.get
def get_handler(*args, **kwargs):
    request = kwargs["request"]
    return {"claims": request.claims, "authorizer": request.authorizer}
"""


class Keys:
    """An RSA key pair of the test's own, its public half as a JWKS, and tokens it signs."""

    def __init__(self) -> None:
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> dict:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        return {"keys": [{**public, "kid": "key-1", "use": "sig", "alg": "RS256"}]}

    def token(self, issuer: str = ISSUER, **claims: object) -> str:
        now = int(time.time())
        payload = {"iss": issuer, "sub": "alice", "iat": now, "exp": now + 600, **claims}
        return jwt.encode(payload, self.private, "RS256", headers={"kid": "key-1"})


def run(*command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=cwd, capture_output=True, text=True
    )


def make_app(folder: Path) -> Path:
    """An app with four routes: /me (the default auth), /items (its own scopes), /plain (the
    same authorizer without scopes) and /open."""
    folder.mkdir()
    assert run("tight", "generate_app", "name=shop", cwd=folder).returncode == 0
    root = folder / "shop"
    for name in ("me", "items", "plain", "open"):
        done = run("doit", "generate_function", f"name={name}", cwd=root)
        assert done.returncode == 0, done.stderr
        (root / f"app/functions/{name}/handler.py").write_text(WHO)
    return root


def configure(root: Path, api: str, default: object, **functions: object) -> dict:
    path = root / "tight.yml"
    settings = yaml.safe_load(path.read_text())
    settings.update(api=api, auth=default)
    settings["functions"] = {
        name: {"routes": [f"/{name}"], **({} if auth is None else {"auth": auth})}
        for name, auth in functions.items()
    }
    path.write_text(yaml.safe_dump(settings))
    return settings


HTTP_AUTH = {
    "default": {"jwt": JWT, "scopes": ["shop/read"]},
    "items": {"scopes": ["items/read", "items/write"]},  # the default's authorizer, its scopes
    "plain": {"jwt": JWT},  # the same authorizer, no scopes
    "open": "none",
}
REST_AUTH = {
    "default": {"cognito": {"user_pool": POOL, "jwks_file": "keys.json"}},
    "items": {"scopes": "items/read"},
    "open": "none",
}


def configure_http(root: Path) -> dict:
    auth = dict(HTTP_AUTH)
    return configure(root, "http", auth.pop("default"), me=None, **auth)


def configure_rest(root: Path) -> dict:
    auth = dict(REST_AUTH)
    return configure(root, "rest", auth.pop("default"), me=None, plain=None, **auth)


# -- the template and the document --------------------------------------------------------------
@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("scopes-template")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(folder / "cache"))
        yield make_app(folder / "app")


def translated(root: Path) -> tuple[dict, dict]:
    """The template `doit template` writes (cfn-lint clean) and its CloudFormation."""
    done = run("doit", "template", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    linted = run("cfn-lint", "build/template.yml", cwd=root)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    document = yaml.safe_load((root / "build/template.yml").read_text())
    locations = {"shop.zip": {"Bucket": "deploys", "Key": "shop.zip"}}
    session = boto3.session.Session(region_name="us-east-1")
    return document, to_cloudformation(document, locations, session)["Resources"]


def security(body: dict, path: str) -> list | None:
    return body["paths"][path]["get"].get("security")


def test_an_http_api_route_carries_its_scopes_and_routes_share_one_authorizer(app):
    configure_http(app)
    document, resources = translated(app)
    events = document["Resources"]["ItemsFunction"]["Properties"]["Events"]
    assert events["GetItems"]["Properties"]["Auth"] == {
        "Authorizer": "JwtAuthorizer",
        "AuthorizationScopes": ["items/read", "items/write"],
    }
    body = resources["HttpApi"]["Properties"]["Body"]
    assert security(body, "/items") == [{"JwtAuthorizer": ["items/read", "items/write"]}]
    assert security(body, "/me") == [{"JwtAuthorizer": ["shop/read"]}]  # the default's
    assert security(body, "/plain") == [{"JwtAuthorizer": []}]
    assert security(body, "/open") is None
    # Scopes belong to routes: three scope sets, one JWT authorizer.
    assert list(body["components"]["securitySchemes"]) == ["JwtAuthorizer"]


@pytest.mark.parametrize("definition", [False, True], ids=["sam-body", "api_definition"])
def test_a_rest_apis_cognito_method_carries_its_scopes(app, definition):
    settings = configure_rest(app)
    if definition:  # the OpenAPI document as the API's body, SAM's security merged into it
        settings["api_definition"] = True
        (app / "tight.yml").write_text(yaml.safe_dump(settings))
    _, resources = translated(app)
    body = resources["Api"]["Properties"]["Body"]
    assert security(body, "/items") == [{"CognitoAuthorizer": ["items/read"]}]
    assert security(body, "/me") == [{"CognitoAuthorizer": []}]
    assert security(body, "/open") is None
    schemes = body["components"]["securitySchemes"] if definition else body["securityDefinitions"]
    assert list(schemes) == ["CognitoAuthorizer"]


def test_the_openapi_document_asks_for_any_one_of_a_routes_scopes(app):
    from openapi_spec_validator import validate as validate_openapi

    configure_http(app)
    done = run("doit", "openapi", cwd=app)
    assert done.returncode == 0, done.stdout + done.stderr
    document = json.loads((app / "build/openapi.json").read_text())
    validate_openapi(document)
    paths = document["paths"]
    # One requirement per scope: OpenAPI passes a request that meets any one requirement,
    # as API Gateway passes a token with any one of the route's scopes.
    assert paths["/items"]["get"]["security"] == [
        {"JwtAuthorizer": ["items/read"]},
        {"JwtAuthorizer": ["items/write"]},
    ]
    assert paths["/me"]["get"]["security"] == [{"JwtAuthorizer": ["shop/read"]}]
    assert paths["/plain"]["get"]["security"] == [{"JwtAuthorizer": []}]
    assert document["components"]["securitySchemes"]["JwtAuthorizer"]["type"] == "openIdConnect"


# -- settings AWS would not honour --------------------------------------------------------------
TOKEN = {"jwt": {"issuer": ISSUER, "audience": "my-api"}}


@pytest.mark.parametrize(
    "value, words",
    [
        ({**TOKEN, "scopes": [7]}, "scopes: must be a list of OAuth scopes such as [items/read]"),
        ({**TOKEN, "scopes": {"read": True}}, "must be a list of OAuth scopes"),
        ({**TOKEN, "scopes": []}, "at least one scope; leave scopes out to require none"),
        ({**TOKEN, "scopes": "items/read items/write"}, "list each one: [items/read, items/write]"),
        ({"function": "authorize", "scopes": ["a"]}, "scopes only in jwt and cognito tokens"),
        ({"iam": True, "scopes": ["a"]}, "scopes only in jwt and cognito tokens"),
    ],
)
def test_bad_scopes_are_one_line_naming_the_key(value, words):
    with pytest.raises(ConfigError) as raised:
        validate({"functions": {"items": {"auth": value}}})
    message = str(raised.value)
    assert message.startswith("tight.yml: functions.items.auth"), message
    assert words in message
    assert "\n" not in message


def test_scopes_alone_at_the_top_have_no_authorizer_to_check_them():
    with pytest.raises(ConfigError) as raised:
        validate({"auth": {"scopes": ["items/read"]}})
    assert str(raised.value) == (
        "tight.yml: auth: scopes alone need a token authorizer to check them: "
        "auth: {jwt: {issuer, audience}, scopes: [...]} (or cognito)"
    )


@pytest.mark.parametrize(
    "default, has",
    [("iam", "auth: iam"), ({"function": "authorize"}, "auth: function"), (None, "no auth")],
)
def test_a_functions_scopes_alone_need_a_token_authorizer_as_the_default(default, has):
    settings = {"functions": {"items": {"auth": {"scopes": ["items/read"]}}}}
    if default is not None:
        settings["auth"] = default
    with pytest.raises(ConfigError) as raised:
        route_auth(validate(settings), "items", "http", {"authorize"})
    assert str(raised.value) == (
        "functions.items.auth in tight.yml: scopes alone keep the app's token authorizer, "
        f"but tight.yml has {has}; give the authorizer beside them: "
        "{jwt: {issuer, audience}, scopes: [...]} (or cognito)"
    )


def test_doit_template_refuses_them_in_one_line_and_writes_nothing(app):
    # A good template first (xdist may run this test alone, or after one that set
    # api_definition, which an HTTP API refuses).
    settings = configure(app, "http", "iam")
    settings.pop("api_definition", None)
    (app / "tight.yml").write_text(yaml.safe_dump(settings))
    assert run("doit", "template", cwd=app).returncode == 0
    configure(app, "http", "iam", items={"scopes": ["items/read"]})
    before = (app / "build/template.yml").read_bytes()
    done = run("doit", "template", cwd=app)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "error: functions.items.auth in tight.yml: scopes alone keep the app's token "
        "authorizer, but tight.yml has auth: iam; give the authorizer beside them: "
        "{jwt: {issuer, audience}, scopes: [...]} (or cognito)"
    ]
    assert (app / "build/template.yml").read_bytes() == before


# -- doit serve ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys()


class Served:
    def __init__(self, port: int, console: Path) -> None:
        self.port, self.console = port, console

    def call(self, path: str, token: str | None = None) -> tuple[int, dict, dict]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            named = {k.lower(): v for k, v in response.getheaders()}
            return response.status, named, json.loads(response.read() or b"null")
        finally:
            connection.close()


def serve(folder: Path, configure_app, keys: Keys) -> Iterator[Served]:
    root = make_app(folder / "app")
    (root / "keys.json").write_text(json.dumps(keys.jwks()))
    configure_app(root)
    port = free_port()
    console = folder / "console.txt"
    env = dict(os.environ, XDG_CACHE_HOME=str(folder / "cache"))
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
    with pytest.MonkeyPatch.context() as patch:
        folder = tmp_path_factory.mktemp("scopes-http")
        patch.setenv("XDG_CACHE_HOME", str(folder / "cache"))
        yield from serve(folder, configure_http, keys)


@pytest.fixture(scope="module")
def rest_api(tmp_path_factory, keys) -> Iterator[Served]:
    with pytest.MonkeyPatch.context() as patch:
        folder = tmp_path_factory.mktemp("scopes-rest")
        patch.setenv("XDG_CACHE_HOME", str(folder / "cache"))
        yield from serve(folder, configure_rest, keys)


FORBIDDEN = {"message": "Forbidden"}
UNAUTHORIZED = {"message": "Unauthorized"}


def test_http_api_a_token_with_one_of_the_routes_scopes_passes(http_api, keys):
    token = keys.token(aud="my-api", scope="openid items/write")
    status, _, body = http_api.call("/items", token)
    assert status == 200, body
    # The token's scopes, all of them, as the HTTP API passes them on a scoped route.
    assert body["authorizer"]["jwt"]["scopes"] == ["openid", "items/write"]
    assert body["claims"]["scope"] == "openid items/write"
    # Some issuers write scp, a list: read as well.
    status, _, body = http_api.call("/items", keys.token(aud="my-api", scp=["items/read"]))
    assert status == 200, body
    assert body["authorizer"]["jwt"]["scopes"] == ["items/read"]


def test_http_api_a_valid_token_without_the_scope_is_its_403(http_api, keys):
    for claims in ({"scope": "shop/read"}, {}, {"scope": ""}):
        status, headers, body = http_api.call("/items", keys.token(aud="my-api", **claims))
        assert (status, body) == (403, FORBIDDEN), claims
        assert "www-authenticate" not in headers  # that challenge is for a bad token's 401
    assert "hold none of the route's (items/read items/write)" in http_api.console.read_text()
    # The default's scopes guard the routes that inherit them; a function's replace them.
    assert http_api.call("/me", keys.token(aud="my-api", scope="items/read"))[::2] == (
        403,
        FORBIDDEN,
    )
    assert http_api.call("/me", keys.token(aud="my-api", scope="shop/read"))[0] == 200


def test_http_api_the_token_is_checked_before_its_scopes(http_api, keys):
    expired = keys.token(aud="my-api", scope="items/read", exp=int(time.time()) - 60)
    assert http_api.call("/items", expired)[::2] == (401, UNAUTHORIZED)
    assert http_api.call("/items")[::2] == (401, UNAUTHORIZED)
    assert http_api.call("/items", keys.token(aud="other", scope="items/read"))[0] == 401


def test_http_api_a_route_without_scopes_passes_null_scopes(http_api, keys):
    status, _, body = http_api.call("/plain", keys.token(aud="my-api", scope="items/read"))
    assert status == 200, body
    assert body["authorizer"]["jwt"]["scopes"] is None
    assert http_api.call("/open")[0] == 200


def test_rest_api_a_method_with_scopes_takes_an_access_token_with_one_of_them(rest_api, keys):
    access = keys.token(POOL_ISSUER, token_use="access", scope="items/read", client_id="app")
    status, _, body = rest_api.call("/items", access)
    assert status == 200, body
    assert body["claims"]["scope"] == "items/read"
    assert list(body["authorizer"]) == ["claims"]  # a REST API passes claims, no scopes
    # Without the scope, or with an ID token, the Cognito authorizer's 401.
    wrong = keys.token(POOL_ISSUER, token_use="access", scope="shop/read", client_id="app")
    status, headers, body = rest_api.call("/items", wrong)
    assert (status, body) == (401, UNAUTHORIZED)
    assert headers["x-amzn-errortype"] == "UnauthorizedException"
    identity = keys.token(POOL_ISSUER, token_use="id", aud="app")
    assert rest_api.call("/items", identity)[::2] == (401, UNAUTHORIZED)
    console = rest_api.console.read_text()
    assert "hold none of the route's (items/read)" in console
    assert "takes access tokens (token_use access) as the method has scopes" in console


def test_rest_api_a_method_without_scopes_still_takes_id_tokens(rest_api, keys):
    identity = keys.token(POOL_ISSUER, token_use="id", aud="app")
    assert rest_api.call("/me", identity)[0] == 200
    access = keys.token(POOL_ISSUER, token_use="access", scope="items/read", client_id="app")
    assert rest_api.call("/me", access)[::2] == (401, UNAUTHORIZED)
