"""Configuration: tight.yml -> app/vendored/tight.json -> the runtime, and Python overrides."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

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
        name: my-app
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
    assert config.settings().app_name == "my-app"
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


# -- the schema: one check of tight.yml for every task -------------------------------------
BIN = Path(sys.executable).parent
TASKS_THAT_READ_SETTINGS = [
    "test", "lock", "vendor", "artifact", "schema", "dynamo_status", "dynamo_start",
    "generate_env", "generate_function",
]  # fmt: skip


def doit(*args: str, cwd: Path, program: str = "doit") -> subprocess.CompletedProcess[str]:
    # doit keeps its state in the user's cache: one beside the app, for these tests.
    env = dict(os.environ, XDG_CACHE_HOME=str(cwd.parent / "cache"))
    return subprocess.run(
        [str(BIN / program), *args], cwd=cwd, capture_output=True, text=True, check=False,
        env=env,
    )  # fmt: skip


@pytest.fixture(scope="module")
def app_folder(tmp_path_factory):
    """One scaffolded app; each test writes the tight.yml it needs."""
    work = tmp_path_factory.mktemp("apps")
    made = doit("generate_app", "name=shop", cwd=work, program="tight")
    assert made.returncode == 0, made.stderr
    return work / "shop"


def with_settings(root: Path, text: str) -> Path:
    (root / "tight.yml").write_text(textwrap.dedent(text))
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return errors[0]


@pytest.mark.parametrize("task", TASKS_THAT_READ_SETTINGS)
def test_a_misspelt_key_stops_every_task_with_a_suggestion(app_folder, task):
    root = with_settings(app_folder, "name: shop\nruntme: python3.12\n")
    before = snapshot(root)
    error = one_error_line(doit(task, "name=extra", cwd=root))
    assert error == "error: tight.yml:2: unknown key runtme; did you mean runtime?"
    assert snapshot(root) == before  # nothing built, generated or written


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ("name: my shop\n", "name must be an app name: lowercase letters, digits"),
        ("name: my shop\n", "not 'my shop' (str); did you mean my-shop?"),
        ("name: Shop\n", "did you mean shop?"),
        ("name: my_shop\n", "did you mean my-shop?"),
        ("cors: 5\n", "cors must be an origin such as '*', a list of origins, a mapping"),
        ("cors: 5\n", "not 5 (int)"),
        (
            "cors:\n  allow_orgin: '*'\n",
            "unknown key cors.allow_orgin; did you mean cors.allow_origin?",
        ),
        (
            "runtime: python2.7\n",
            "error: tight.yml:1: runtime python2.7 is not supported; supported: "
            "python3.10\N{EN DASH}python3.13",
        ),
        ("runtime: python3.9\n", "supported: python3.10\N{EN DASH}python3.13"),
        ("runtime: pyhton3.12\n", "(did you mean python3.12?)"),
        ("architecture: amd64\n", "architecture amd64 is unknown; use one of x86_64, arm64"),
        ("dynamo:\n  port: eight\n", "dynamo.port must be a TCP port number from 1 to 65535"),
        ("dynamo:\n  prot: 8000\n", "unknown key dynamo.prot; did you mean dynamo.port?"),
        ("functions:\n  Items: {}\n", "functions.Items: 'Items' is not a function name"),
        ("functions:\n  items:\n    routes: /items\n", "functions.items.routes must be a list"),
        ("functions:\n  items:\n    sqss: {queue: q}\n", "did you mean functions.items.sqs?"),
        ("function:\n  timeout: 901\n", "function.timeout must be a whole number of seconds"),
        ("api: HTTP\n", "api HTTP is unknown; use one of rest, http (did you mean http?)"),
        ("testing:\n  scrub:\n    keys: token\n", "testing.scrub.keys must be a list of strings"),
        ("deploy:\n  bucket: [a]\n", "deploy.bucket must be a string, not ['a'] (list)"),
        ("layer: yes please\n", "layer must be true or false, not 'yes please' (str)"),
        ("headers:\n  X-Thing: [1, 2]\n", "headers.X-Thing must be a string or a number"),
        ("vendor_dir: lib\n", "vendor_dir must be app/vendored"),
        ("- name\n", "must be a mapping of settings, not ['name'] (list)"),
        ("bogus: 1\n", "unknown key bogus; known keys: name, provider, runtime"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_key_and_what_it_takes(app_folder, settings, message):
    root = with_settings(app_folder, settings)
    error = one_error_line(doit("vendor", cwd=root))
    assert message in error


def test_a_bad_runtime_fails_doit_test_before_any_test_runs(app_folder):
    root = with_settings(app_folder, "name: shop\nruntime: python2.7\n")
    result = doit("test", cwd=root)
    assert "runtime python2.7 is not supported" in one_error_line(result)
    assert "passed" not in result.stdout and "test session starts" not in result.stdout


def test_the_test_plugin_checks_tight_yml_with_the_same_rules(app_folder):
    root = with_settings(app_folder, "name: shop\narchitecure: arm64\n")
    (root / "tests" / "test_uses_app.py").write_text("def test_it(app):\n    pass\n")
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
            cwd=root, capture_output=True, text=True, check=False,
        )  # fmt: skip
    finally:
        (root / "tests" / "test_uses_app.py").unlink()
    assert result.returncode != 0
    assert "tight.yml:2: unknown key architecure; did you mean architecture?" in (
        result.stdout + result.stderr
    )


def run_plugin(root: Path) -> str:
    """The app's tests run by pytest itself (the plugin reads tight.yml and env.yml)."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=root, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    return result.stdout + result.stderr


DUPLICATED = """\
name: shop
functions:
  nightly:
    schedule: "rate(1 day)"
  items:
    routes: [/items]
  weekly:
    schedule: "rate(7 days)"
    schedule: "rate(1 day)"
"""


def test_a_key_written_twice_is_an_error_naming_both_lines(app_folder):
    root = with_settings(app_folder, DUPLICATED)
    before = snapshot(root)
    expected = "tight.yml:9: duplicate key 'schedule' (first at line 8)"
    assert one_error_line(doit("vendor", cwd=root)) == f"error: {expected}"
    made = doit("generate_function", "name=orders", "trigger=sqs", cwd=root, program="tight")
    assert one_error_line(made) == f"error: {expected}"
    assert snapshot(root) == before
    assert f"error: {expected}" in run_plugin(root)
    with_settings(app_folder, "name: shop\nname: shop-2\n")
    assert one_error_line(doit("lock", cwd=root)) == (
        "error: tight.yml:2: duplicate key 'name' (first at line 1)"
    )


@pytest.mark.parametrize("file", ["env.dist.yml", "env.yml"])
def test_a_variable_written_twice_in_an_env_file_is_an_error(app_folder, file):
    root = with_settings(app_folder, "name: shop\n")
    path = root / file
    kept = path.read_bytes() if path.is_file() else None
    path.write_text("STAGE: dev\nTABLE: a\nSTAGE: prod\n")
    try:
        expected = f"error: {file}:3: duplicate key 'STAGE' (first at line 1)"
        assert one_error_line(doit("generate_env", cwd=root)) == expected
        if file == "env.yml":  # the one env file a test run reads
            assert expected in run_plugin(root)
    finally:
        if kept is None:
            path.unlink()
        else:
            path.write_bytes(kept)


def test_invalid_yaml_has_one_wording_in_every_task_and_the_plugin(app_folder):
    root = with_settings(app_folder, "name: shop\nfunctions: [unclosed\nstage: dev\n")
    errors = {
        one_error_line(result)
        for result in (
            doit("vendor", cwd=root),
            doit("generate_function", "name=orders", "trigger=sqs", cwd=root),
            doit("generate_function", "name=orders", cwd=root, program="tight"),
        )
    }
    assert len(errors) == 1, errors
    error = errors.pop()
    assert error.startswith("error: tight.yml:3: not valid YAML: "), error
    assert error in run_plugin(root)
    with_settings(app_folder, "name: shop\n")
    env = root / "env.yml"
    env.write_text("A: [1\n")
    try:
        assert one_error_line(doit("generate_env", cwd=root)).startswith(
            "error: env.yml:2: not valid YAML: "
        )
    finally:
        env.unlink()


def test_every_documented_key_is_accepted(app_folder):
    """Settings of every part of Tight, including those other tasks are adding."""
    root = with_settings(
        app_folder,
        """\
        name: shop-2
        provider: aws
        runtime: python3.12
        architecture: arm64
        stage: prod-eu
        cors:
          allow_origin: [https://a.example, https://b.example]
          allow_methods: [GET]
          allow_headers: [Content-Type]
          expose_headers: [X-Id]
          max_age: 60
          allow_credentials: true
        headers: {X-Frame-Options: DENY, X-Version: 3}
        vendor_dir: app/vendored
        resolver: uv
        index_url: https://pypi.example/simple
        extra_index_url: [https://extra.example/simple]
        find_links: wheels
        no_index: false
        keep_provided: [boto3]
        layer: true
        dynamo: {backend: command, port: 8123, command: "server --port {port}"}
        testing: {scrub: {keys: [token], patterns: ["sk-[a-z]+"]}}
        functions:
          items: {routes: [/items, "/items/{id}"]}
          orders: {sqs: {queue: orders, batch_size: 10}}
          nightly: {schedule: "rate(1 day)"}
          bare:
        function: {timeout: 30, memory_size: 512}
        api: http
        deploy: {bucket: my-bucket}
        """,
    )
    settings = task_config.load(root)
    assert settings["functions"]["orders"]["sqs"]["queue"] == "orders"
    assert settings["dynamo"]["port"] == 8123
    assert task_config.validate(settings) == settings


def test_a_valid_schema_error_never_leaves_a_cached_bad_file(tmp_path):
    (tmp_path / "tight.yml").write_text("name: good\n")
    assert task_config.load(tmp_path) == {"name": "good"}
    (tmp_path / "tight.yml").write_text("name: bad name\n")
    with pytest.raises(ConfigError, match="did you mean bad-name"):
        task_config.load(tmp_path)


def test_a_new_key_is_one_line_in_the_schema(monkeypatch, tmp_path):
    monkeypatch.setitem(task_config.SCHEMA, "colour", task_config.OneOf("red", "blue"))
    (tmp_path / "tight.yml").write_text("colour: green\n")
    with pytest.raises(ConfigError, match="colour green is unknown; use one of red, blue"):
        task_config.load(tmp_path)
    (tmp_path / "tight.yml").write_text("colour: red\n")
    assert task_config.load(tmp_path) == {"colour": "red"}


@pytest.mark.parametrize(
    ("folder", "expected"), [("my_shop", "my-shop"), ("My Shop", "my-shop"), ("2go", "go")]
)
def test_an_app_without_a_name_is_named_after_its_folder_made_valid(tmp_path, folder, expected):
    assert task_config.app_name(tmp_path / folder, {}) == expected
    assert task_config.is_app_name(expected)
    assert task_config.app_name(tmp_path / folder, {"name": "given"}) == "given"


# -- a checked tight.yml is read back without PyYAML -----------------------------------------
LOAD = """
import json, sys
from tight_tasks.config import load
try:
    settings = load(sys.argv[1], keep=True)
except Exception as error:
    settings = f"{type(error).__name__}: {error}"
print(json.dumps({"settings": settings, "yaml": "yaml" in sys.modules}))
"""


def load_in_a_new_process(root: Path, cache: Path) -> dict:
    env = dict(os.environ, XDG_CACHE_HOME=str(cache))
    done = subprocess.run(
        [sys.executable, "-c", LOAD, str(root)], capture_output=True, text=True, env=env,
        check=True,
    )  # fmt: skip
    return json.loads(done.stdout.splitlines()[-1])


def test_a_checked_tight_yml_is_read_back_without_pyyaml_until_its_bytes_change(tmp_path):
    root, cache = tmp_path / "app", tmp_path / "cache"
    root.mkdir()
    settings = root / "tight.yml"
    settings.write_text("name: shop\nruntime: python3.12\nheaders: {X-Ratio: 1.5}\n")
    first = load_in_a_new_process(root, cache)
    again = load_in_a_new_process(root, cache)
    assert first["yaml"] and not again["yaml"]
    assert again["settings"] == first["settings"] == {
        "name": "shop", "runtime": "python3.12", "headers": {"X-Ratio": 1.5},
    }  # fmt: skip
    # A typo of the same length, with the old size and mtime: the bytes decide, not the stat.
    stat = settings.stat()
    settings.write_text("name: shop\nruntyme: python3.12\nheaders: {X-Ratio: 1.5}\n")
    os.utime(settings, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert settings.stat().st_size == stat.st_size
    broken = load_in_a_new_process(root, cache)
    assert broken["yaml"]
    assert broken["settings"].startswith("SettingError: tight.yml:2: unknown key runtyme")
    assert load_in_a_new_process(root, cache)["settings"] == broken["settings"]  # not kept


def test_a_damaged_or_unwritable_cache_changes_nothing_but_speed(tmp_path):
    root = tmp_path / "app"
    root.mkdir()
    (root / "tight.yml").write_text("name: shop\nstage: prod\n")
    cache = tmp_path / "cache"
    load_in_a_new_process(root, cache)
    (kept,) = (cache / "tight" / "settings").iterdir()
    kept.write_text('{"digest": "forged", "settings": {"name": "evil"}}')
    assert load_in_a_new_process(root, cache)["settings"] == {"name": "shop", "stage": "prod"}
    kept.write_text("{not json")
    assert load_in_a_new_process(root, cache)["settings"] == {"name": "shop", "stage": "prod"}
    blocked = tmp_path / "blocked"
    (blocked / "tight").mkdir(parents=True)
    (blocked / "tight" / "settings").write_text("")  # a file: no folder can be made there
    twice = [load_in_a_new_process(root, blocked) for _ in range(2)]
    assert [run["settings"] for run in twice] == [{"name": "shop", "stage": "prod"}] * 2
    assert all(run["yaml"] for run in twice)


# -- triggers as AWS takes them --------------------------------------------------------------
@pytest.mark.parametrize(
    "trigger", ["sqs", "sns", "s3", "kinesis", "dynamodb_stream", "eventbridge", "schedule"]
)
def test_an_empty_trigger_is_one_line_naming_its_line(app_folder, trigger):
    """`sqs:` with nothing after it names no source: refused when tight.yml is read (it
    passed, then doit template failed with a TypeError)."""
    root = with_settings(app_folder, f"name: shop\nfunctions:\n  worker:\n    {trigger}:\n")
    error = one_error_line(doit("vendor", cwd=root))
    assert error.startswith(f"error: tight.yml:4: functions.worker.{trigger} in tight.yml is empty")


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 minute)",
        "rate(1 hour)",
        "rate(5 minutes)",
        "rate(7 days)",
        "cron(0 3 * * ? *)",
        "cron(0/15 8-17 ? * MON-FRI *)",
        "cron(0 10 L * ? 2030)",
        "cron(0 9 ? * 2#1 *)",
    ],
)
def test_schedules_eventbridge_takes_are_accepted(expression):
    settings = {"functions": {"nightly": {"schedule": expression}}}
    assert task_config.validate(settings) == settings


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("rate(1 hours)", "must say rate(1 hour)"),
        ("rate(5 minute)", "must say rate(5 minutes)"),
        ("rate(0 minutes)", "is a rate of 0"),
        ("rate(2 weeks)", "has the unit 'weeks'"),
        ("rate(five minutes)", "must be rate(<number> <unit>)"),
        ("cron(0 3 * * *)", "has 5 cron field(s); EventBridge takes six"),
        ("cron(0 3 * * * *)", "must have one '?', in day-of-month or in day-of-week"),
        ("cron(0 3 ? * ? *)", "must have one '?'"),
        ("cron(61 3 * * ? *)", "has '61' as its minutes; it takes 0 to 59"),
        ("cron(0 3 * FOO ? *)", "has 'FOO' as its month"),
        ("every day", "must be rate(...) or cron(...)"),
    ],
)
def test_schedules_eventbridge_refuses_are_one_line(app_folder, expression, message):
    root = with_settings(
        app_folder, f'name: shop\nfunctions:\n  nightly:\n    schedule: "{expression}"\n'
    )
    error = one_error_line(doit("vendor", cwd=root))
    where = "error: tight.yml:4: functions.nightly.schedule in tight.yml: "
    assert error.startswith(f"{where}'{expression}' ")
    assert message in error


@pytest.mark.parametrize(
    ("sqs", "message"),
    [
        (
            {"queue": "q", "batch_size": 11},
            "batch_size is 11; above 10 Lambda needs a batch window",
        ),
        ({"queue": "q", "batch_size": 10, "fifo": True, "batch_window": 5}, "no batch window"),
        ({"queue": "q", "batch_size": 11, "fifo": True, "batch_window": 5}, "FIFO queue"),
        ({"queue": "arn:aws:sqs:eu-west-1:123456789012:q.fifo", "batch_size": 20}, "FIFO queue"),
        ({"queue": "q", "batch_size": 100, "batch_window": 301}, "batch_window must be"),
        ({"queue": "q", "batch_size": 100, "batch_window": 0}, "batch_window must be"),
    ],
)
def test_sqs_batches_lambda_refuses_are_refused(sqs, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        task_config.validate({"functions": {"orders": {"sqs": sqs}}})


def test_sqs_batches_lambda_takes_are_accepted():
    for sqs in (
        {"queue": "q", "batch_size": 10},
        {"queue": "q", "batch_size": 10000, "batch_window": 300},
        {"queue": "q", "batch_size": 5, "batch_window": 1},
        {"queue": "q", "batch_size": 10, "fifo": True},
    ):
        settings = {"functions": {"orders": {"sqs": sqs}}}
        assert task_config.validate(settings) == settings
