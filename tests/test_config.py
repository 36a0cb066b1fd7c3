"""Configuration: tight.yml -> app/vendored/tight.json -> the runtime, and Python overrides."""

from __future__ import annotations

import json

import pytest
from events import make_event

from tight import config
from tight.config import ConfigError, Cors
from tight_tasks import config as task_config

ECHO = """
import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy

@lambda_proxy.get
def get_handler(*args, **kwargs):
    return {"statusCode": 200, "body": "ok"}
"""


def test_cors_from_tight_yml_reaches_the_runtime(load_app, tmp_path):
    app_index = load_app(
        {"echo": ECHO},
        tight_yml="""
        name: my_app
        stage: dev
        cors:
          allow_origin: "https://app.example"
          allow_headers: [Content-Type, X-Custom]
          expose_headers: [X-Request-Id]
          max_age: 120
        headers:
          X-Content-Type-Options: nosniff
        """,
    )
    written = json.loads((tmp_path / "my_app/app/vendored/tight.json").read_text())
    assert written["cors"]["allow_origin"] == "https://app.example"
    response = app_index.echo(make_event("rest"), None)
    assert response["headers"]["Access-Control-Allow-Origin"] == "https://app.example"
    assert response["headers"]["Access-Control-Expose-Headers"] == "X-Request-Id"
    assert response["headers"]["X-Content-Type-Options"] == "nosniff"
    preflight = app_index.echo(make_event("http", "OPTIONS"), None)
    assert preflight["statusCode"] == 204
    assert preflight["headers"]["Access-Control-Allow-Headers"] == "Content-Type, X-Custom"
    assert preflight["headers"]["Access-Control-Max-Age"] == "120"
    assert config.settings().app_name == "my_app"
    assert config.settings().stage == "dev"


def test_cors_shorthand_string(load_app):
    app_index = load_app({"echo": ECHO}, tight_yml="name: a\ncors: '*'\n")
    assert app_index.echo(make_event("url"), None)["headers"]["Access-Control-Allow-Origin"] == "*"


def test_python_configure_wins_over_the_file(load_app):
    app_index = load_app({"echo": ECHO}, tight_yml="name: a\ncors: '*'\n")
    config.configure(cors={"allow_origin": "https://only.example"})
    response = app_index.echo(make_event("rest"), None)
    assert response["headers"]["Access-Control-Allow-Origin"] == "https://only.example"


def test_no_cors_means_no_cors_headers(load_app):
    app_index = load_app({"echo": ECHO}, tight_yml="name: a\n")
    assert "Access-Control-Allow-Origin" not in app_index.echo(make_event("rest"), None)["headers"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"allow_origin": "*", "allow_credentials": True}, "allow_credentials"),
        ({"allow_orgin": "*"}, "unknown cors setting"),
        ({"max_age": -1}, "max_age"),
        ({"allow_origin": []}, "allow_origin"),
        (42, "cors must be"),
    ],
)
def test_bad_cors_values_name_the_setting(value, message):
    with pytest.raises(ConfigError, match=message):
        Cors.from_value(value)


def test_bad_tight_yml_is_reported_and_nothing_is_written(tmp_path):
    (tmp_path / "tight.yml").write_text("cors:\n  allow_orgin: '*'\n")
    with pytest.raises(ConfigError, match="allow_orgin"):
        task_config.write_runtime_config(tmp_path)
    assert not (tmp_path / "app").exists()
    (tmp_path / "tight.yml").write_text("cors: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        task_config.write_runtime_config(tmp_path)


def test_missing_tight_yml_names_the_fix(tmp_path):
    with pytest.raises(ConfigError, match="generate_app"):
        task_config.load(tmp_path)


def test_unknown_configure_key_is_refused():
    with pytest.raises(ConfigError, match="unknown setting"):
        config.configure(corz="*")


def test_corrupt_runtime_file_is_a_500_not_a_crash(load_app, tmp_path, capsys):
    app_index = load_app({"echo": ECHO}, tight_yml="name: a\n")
    (tmp_path / "my_app/app/vendored/tight.json").write_text("{broken")
    config.set_app_root(str(tmp_path / "other"))
    config.set_app_root(str(tmp_path / "my_app"))
    assert app_index.echo(make_event("rest"), None)["statusCode"] == 500
    assert "doit vendor" in capsys.readouterr().out
