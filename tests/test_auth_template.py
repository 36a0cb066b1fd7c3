"""Auth on routes in `doit template`: each kind (jwt, cognito, iam, a Lambda authorizer, none)
on a REST and an HTTP API, checked by cfn-lint and in the CloudFormation AWS's own SAM
translator makes of it; and tight.yml's auth settings refused with one line naming the fix."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import yaml

from tight.config import ConfigError
from tight_tasks.config import validate
from tight_tasks.deploy import to_cloudformation
from tight_tasks.errors import TightTaskError
from tight_tasks.routes import routes

BIN = Path(sys.executable).parent
POOL = "us-east-1_AbC123"
JWT = {"jwt": {"issuer": "https://login.example.com/", "audience": ["my-api"]}}


def run(*command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=cwd, capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("auth-template")
    assert run("tight", "generate_app", "name=shop", cwd=folder).returncode == 0
    root = folder / "shop"
    for name in ("open", "me", "admin", "orders", "items"):
        assert run("doit", "generate_function", f"name={name}", cwd=root).returncode == 0
    settings = (root / "tight.yml").read_bytes()
    done = run("doit", "generate_function", "name=authorize", "trigger=authorizer", cwd=root)
    assert done.returncode == 0, done.stderr
    assert "auth: {function: authorize}" in done.stdout  # what to write next, and where
    assert (root / "tight.yml").read_bytes() == settings  # which routes: the user's choice
    return root


def test_the_scaffolded_authorizer_passes_its_own_tests_at_once(app):
    tests = [
        "tests/functions/unit/test_authorize.py",
        "tests/functions/integration/test_authorize.py",
    ]
    done = run("pytest", *tests, "-p", "no:cacheprovider", "-q", cwd=app)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 passed" in done.stdout
    again = run("doit", "generate_function", "name=authorize", "trigger=authorizer", cwd=app)
    assert again.returncode != 0
    assert "error: app/functions/authorize exists already" in again.stderr


def configure(root: Path, api: str, default: object, **functions: object) -> dict:
    path = root / "tight.yml"
    settings = yaml.safe_load(path.read_text())
    settings.update(api=api, auth=default, functions={k: {"auth": v} for k, v in functions.items()})
    if default is None:
        del settings["auth"]
    path.write_text(yaml.safe_dump(settings))
    return settings


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


FUNCTION_AUTH = {"function": "authorize", "ttl": 120, "headers": ["Authorization", "X-Tenant"]}


def test_a_rest_api_wires_cognito_iam_and_a_lambda_authorizer(app):
    configure(
        app,
        "rest",
        {"cognito": {"user_pool": POOL}},
        open="none",
        admin="iam",
        orders=FUNCTION_AUTH,
    )
    document, resources = translated(app)
    events = document["Resources"]["OrdersFunction"]["Properties"]["Events"]
    assert events["GetOrders"]["Properties"]["Auth"] == {"Authorizer": "AuthorizeAuthorizer"}
    body = resources["Api"]["Properties"]["Body"]
    schemes = body["securityDefinitions"]
    pool = schemes["CognitoAuthorizer"]["x-amazon-apigateway-authorizer"]
    assert pool["type"] == "cognito_user_pools"
    assert POOL in json.dumps(pool["providerARNs"])
    lambda_authorizer = schemes["AuthorizeAuthorizer"]["x-amazon-apigateway-authorizer"]
    assert lambda_authorizer["type"] == "request"
    assert lambda_authorizer["authorizerResultTtlInSeconds"] == 120
    assert lambda_authorizer["identitySource"] == (
        "method.request.header.Authorization, method.request.header.X-Tenant"
    )
    assert security(body, "/me") == [{"CognitoAuthorizer": []}]  # the app's default
    assert security(body, "/items/{id}") == [{"CognitoAuthorizer": []}]
    assert security(body, "/admin") == [{"AWS_IAM": []}]
    assert security(body, "/orders") == [{"AuthorizeAuthorizer": []}]
    assert security(body, "/open") is None
    permission = resources["ApiAuthorizeAuthorizerAuthorizerPermission"]["Properties"]
    assert permission["FunctionName"] == {"Fn::GetAtt": ["AuthorizeFunction", "Arn"]}
    assert permission["Principal"] == "apigateway.amazonaws.com"
    assert "authorize" not in json.dumps(body["paths"])  # the authorizer has no route


def test_an_http_api_wires_jwt_cognito_iam_and_a_lambda_authorizer(app):
    cognito = {"cognito": {"user_pool": POOL, "audience": "pool-client"}}
    configure(app, "http", JWT, open="none", admin="iam", orders=FUNCTION_AUTH, me=cognito)
    _, resources = translated(app)
    body = resources["HttpApi"]["Properties"]["Body"]
    schemes = body["components"]["securitySchemes"]
    jwt = schemes["JwtAuthorizer"]["x-amazon-apigateway-authorizer"]
    assert jwt["type"] == "jwt"
    assert jwt["jwtConfiguration"] == {
        "issuer": "https://login.example.com/",
        "audience": ["my-api"],
    }
    pool = schemes["CognitoAuthorizer"]["x-amazon-apigateway-authorizer"]["jwtConfiguration"]
    assert pool == {
        "issuer": f"https://cognito-idp.us-east-1.amazonaws.com/{POOL}",
        "audience": ["pool-client"],
    }
    simple = schemes["AuthorizeAuthorizer"]["x-amazon-apigateway-authorizer"]
    assert simple["enableSimpleResponses"] is True
    assert simple["authorizerPayloadFormatVersion"] == "2.0"
    assert simple["authorizerResultTtlInSeconds"] == 120
    assert schemes["AWS_IAM"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    assert security(body, "/items") == [{"JwtAuthorizer": []}]
    assert security(body, "/me") == [{"CognitoAuthorizer": []}]
    assert security(body, "/admin") == [{"AWS_IAM": []}]
    assert security(body, "/orders/{id}") == [{"AuthorizeAuthorizer": []}]
    assert security(body, "/open") is None
    permission = resources["HttpApiAuthorizeAuthorizerPermission"]["Properties"]
    assert permission["FunctionName"] == {"Fn::GetAtt": ["AuthorizeFunction", "Arn"]}
    assert "/authorizers/*" in permission["SourceArn"]["Fn::Sub"]


@pytest.mark.parametrize(
    "value, words",
    [
        ("jwt", "jwt needs its settings"),
        ("tokens", "'tokens' is not an auth"),
        ({"jwt": {"issuer": "http://login.example.com/", "audience": "a"}}, "https:// URL"),
        ({"jwt": {"issuer": "https://login.example.com/"}}, "needs audience"),
        (
            {"jwt": {"issuer": "https://x/", "audience": "a", "jwks": "k.json"}},
            "unknown key(s) jwks",
        ),
        ({"cognito": {"user_pool": "my-pool"}}, "user pool's id (us-east-1_AbC123) or its ARN"),
        ({"function": "authorize", "ttl": 7200}, "0 to 3600"),
        ({"function": "Authorize"}, "must name an authorizer function"),
        ({"function": "authorize", "jwt": {}}, "both jwt and function"),
        ({"iam": True}, "none of jwt, cognito, function"),
    ],
)
def test_bad_auth_settings_are_one_line_naming_the_key(value, words):
    with pytest.raises(ConfigError) as raised:
        validate({"functions": {"items": {"auth": value}}})
    assert str(raised.value).startswith("tight.yml: functions.items.auth")
    assert words in str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    "api, default, own, words",
    [
        (
            "rest",
            JWT,
            None,
            "auth in tight.yml: jwt authorizers belong to HTTP APIs; set api: http",
        ),
        ("http", {"cognito": {"user_pool": POOL}}, None, "add audience: [<app client id>]"),
        ("rest", {"cognito": {"user_pool": POOL, "audience": "x"}}, None, "remove audience"),
        ("http", {"function": "items"}, None, "items is not a Lambda authorizer"),
        ("http", None, {"authorize": "iam"}, "authorize serves no HTTP routes"),
    ],
)
def test_auth_the_api_cannot_deploy_is_refused_with_the_fix(app, api, default, own, words):
    settings = configure(app, api, default, **(own or {}))
    with pytest.raises(TightTaskError, match=words.replace("[", r"\[")):
        routes(app, validate(settings))


def test_doit_template_says_it_in_one_error_line_and_writes_nothing(app):
    # A good template first (xdist may run this test alone, or after one that set
    # api_definition, which an HTTP API refuses).
    settings = configure(app, "http", JWT)
    settings.pop("api_definition", None)
    (app / "tight.yml").write_text(yaml.safe_dump(settings))
    assert run("doit", "template", cwd=app).returncode == 0
    configure(app, "rest", JWT)
    before = (app / "build/template.yml").read_bytes()
    done = run("doit", "template", cwd=app)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "error: auth in tight.yml: jwt authorizers belong to HTTP APIs; set api: http, or on "
        "this REST API use cognito: {user_pool: ...} for Cognito tokens or function: <authorizer>"
    ]
    assert (app / "build/template.yml").read_bytes() == before


def test_the_openapi_document_says_who_may_call_each_route(app):
    from openapi_spec_validator import validate as validate_openapi

    cognito = {"cognito": {"user_pool": POOL, "audience": "pool-client"}}
    configure(app, "http", JWT, open="none", admin="iam", orders=FUNCTION_AUTH, me=cognito)
    done = run("doit", "openapi", cwd=app)
    assert done.returncode == 0, done.stdout + done.stderr
    document = json.loads((app / "build/openapi.json").read_text())
    validate_openapi(document)
    paths = document["paths"]
    assert paths["/items"]["get"]["security"] == [{"JwtAuthorizer": []}]
    assert paths["/orders/{id}"]["get"]["security"] == [{"AuthorizeAuthorizer": []}]
    assert paths["/admin"]["get"]["security"] == [{"AWS_IAM": []}]
    assert "security" not in paths["/open"]["get"]
    schemes = document["components"]["securitySchemes"]
    assert schemes["JwtAuthorizer"] == {
        "type": "openIdConnect",
        "openIdConnectUrl": "https://login.example.com/.well-known/openid-configuration",
        "description": "a JWT for audience my-api",
    }
    assert schemes["CognitoAuthorizer"]["openIdConnectUrl"].startswith(
        f"https://cognito-idp.us-east-1.amazonaws.com/{POOL}/"
    )
    assert schemes["AuthorizeAuthorizer"]["name"] == "Authorization"
    assert sorted(schemes) == [
        "AWS_IAM",
        "AuthorizeAuthorizer",
        "CognitoAuthorizer",
        "JwtAuthorizer",
    ]


@pytest.mark.parametrize("functions", [{"admin": "iam"}, {"admin": "iam", "orders": FUNCTION_AUTH}])
def test_with_the_document_as_the_rest_apis_definition_every_scheme_is_kept(app, functions):
    settings = configure(app, "rest", {"cognito": {"user_pool": POOL}}, open="none", **functions)
    settings["api_definition"] = True
    (app / "tight.yml").write_text(yaml.safe_dump(settings))
    _, resources = translated(app)
    body = resources["Api"]["Properties"]["Body"]
    schemes = body["components"]["securitySchemes"]
    assert security(body, "/admin") == [{"AWS_IAM": []}]
    assert schemes["AWS_IAM"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    named = {
        name
        for operations in body["paths"].values()
        for operation in operations.values()
        for requirement in operation.get("security") or []
        for name in requirement
    }
    assert named and named <= set(schemes), named - set(schemes)
    assert "securityDefinitions" not in body
