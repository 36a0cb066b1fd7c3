"""`doit invoke name=<authorizer>` in a real scaffolded app: the Lambda authorizer gets the
event the app's API sends it (a REST API's REQUEST event, an HTTP API's payload 2.0) with
`token=` in its identity header, its answer goes to stdout, and one line on stderr says what
the API makes of it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

BIN = Path(sys.executable).parent
TOKEN = "s3cret-for-tests"

# An authorizer that lets everyone in and says what it was sent, in its context.
ECHO = """
from tight.providers.aws.controllers import authorizer


@authorizer.request
def check(*args, **kwargs):
    event, request = kwargs["event"], kwargs["request"]
    return authorizer.allow(
        "echo",
        context={
            "type": event["type"],
            "arn": event.get("methodArn") or event.get("routeArn"),
            "path": request.path,
            "header": request.header("x-api-key") or "",
        },
    )
"""


def run(*command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, AUTH_TOKEN=TOKEN, XDG_CACHE_HOME=str(cwd.parent / "cache"))
    return subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=cwd, capture_output=True, text=True, env=env
    )


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("invoke-authorizer")
    assert run("tight", "generate_app", "name=shop", cwd=folder).returncode == 0
    root = folder / "shop"
    for command in (
        ["name=auth", "trigger=authorizer"],
        ["name=echo", "trigger=authorizer"],
        ["name=orders"],
        ["name=reports"],
    ):
        done = run("doit", "generate_function", *command, cwd=root)
        assert done.returncode == 0, done.stderr
    (root / "app/functions/echo/handler.py").write_text(ECHO)
    return root


@pytest.fixture(params=["rest", "http"])
def app(shop, request) -> Path:
    """The shop, its API a REST or an HTTP API: orders guarded by the scaffolded authorizer,
    reports by the echo, keyed on X-Api-Key."""
    path = shop / "tight.yml"
    settings = yaml.safe_load(path.read_text())
    settings["api"] = request.param
    settings["functions"] = {
        "orders": {"auth": {"function": "auth"}},
        "reports": {"auth": {"function": "echo", "headers": ["X-Api-Key"]}, "routes": ["/r/{id}"]},
    }
    path.write_text(yaml.safe_dump(settings))
    return shop


def verdict(done: subprocess.CompletedProcess[str]) -> str:
    """The last line on stderr (the authorizer's own log lines come before it)."""
    return done.stderr.strip().splitlines()[-1]


def test_the_scaffolded_authorizer_allows_the_right_token(app):
    done = run("doit", "invoke", "name=auth", f"token=Bearer {TOKEN}", cwd=app)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)  # stdout holds the answer alone
    if "isAuthorized" in answer:  # an HTTP API's simple response
        assert answer["isAuthorized"] is True
    else:  # a REST API's policy
        assert answer["principalId"] == "user"
        assert answer["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert verdict(done) == 'allowed: principal user, context {"token_kind": "shared"}'


def test_the_scaffolded_authorizer_denies_another_token(app):
    done = run("doit", "invoke", "name=auth", "token=Bearer wrong", cwd=app)
    assert done.returncode == 0, done.stderr  # a denial is an answer, not a failure
    answer = json.loads(done.stdout)
    if "isAuthorized" in answer:
        assert answer == {"isAuthorized": False}
        said = '403 {"message": "Forbidden"}'
    else:
        assert answer["policyDocument"]["Statement"][0]["Effect"] == "Deny"
        said = (
            '403 {"message": "User is not authorized to access this resource with an '
            'explicit deny"}'
        )
    assert verdict(done) == f"denied: {said} (auth denied the request)"


def test_without_a_token_the_api_would_not_call_it(app):
    done = run("doit", "invoke", "name=auth", cwd=app)
    assert done.returncode != 0
    assert done.stdout == ""
    assert verdict(done) == (
        'error: no token: API Gateway answers 401 {"message": "Unauthorized"} without '
        "calling auth, as there is no Authorization header (the identity source); give "
        "token=<the caller's Authorization>"
    )


def test_the_event_is_the_apis_for_the_route_and_its_identity_header(app):
    api = yaml.safe_load((app / "tight.yml").read_text())["api"]
    done = run("doit", "invoke", "name=echo", "path=/r/7", "token=key-1", cwd=app)
    assert done.returncode == 0, done.stderr
    context = json.loads(verdict(done).split(", context ", 1)[1])
    # The token went in the auth's first identity header, X-Api-Key here.
    assert context["header"] == "key-1" and context["path"] == "/r/7"
    assert context["type"] == "REQUEST"
    stage = "dev" if api == "rest" else "$default"  # an HTTP API's is its $default stage
    assert context["arn"] == f"arn:aws:execute-api:us-east-1:123456789012:local/{stage}/GET/r/7"
    assert verdict(done).startswith("allowed: principal echo, ")


def test_a_path_it_does_not_guard_is_refused_naming_those_it_does(app):
    done = run("doit", "invoke", "name=auth", "path=/reports", f"token={TOKEN}", cwd=app)
    assert done.returncode != 0
    line = verdict(done)
    assert line.startswith("error: API Gateway calls auth for its routes only (GET /orders")
    assert line.endswith("not for GET /reports; give one of them as method= and path=")


def test_an_event_file_is_judged_all_the_same(app, tmp_path):
    from tight.testing.events import authorizer_request

    api = yaml.safe_load((app / "tight.yml").read_text())["api"]
    event = authorizer_request("GET", "/orders", {"Authorization": f"Bearer {TOKEN}"}, kind=api)
    (tmp_path / "event.json").write_text(json.dumps(event))
    done = run("doit", "invoke", "name=auth", f"event={tmp_path / 'event.json'}", cwd=app)
    assert done.returncode == 0, done.stderr
    assert verdict(done) == 'allowed: principal user, context {"token_kind": "shared"}'


def test_a_plain_function_takes_no_token(app):
    done = run("doit", "invoke", "name=orders", "token=abc", cwd=app)
    assert done.returncode != 0
    assert "token= is the caller's credential for a Lambda authorizer; orders is none" in (
        done.stderr
    )
