"""Event-source functions in the toolkit: `doit generate_function trigger=...` and the
``functions:`` section of tight.yml, checked against the handlers without importing them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tight.config import ConfigError
from tight_tasks import config as task_config
from tight_tasks import scaffold
from tight_tasks.errors import TightTaskError
from tight_tasks.functions import read_code

BIN = Path(sys.executable).parent
TRIGGERS = ("sqs", "sns", "s3", "kinesis", "dynamodb_stream", "eventbridge", "schedule")


def scaffold_logical(name: str) -> str:
    from tight_tasks.functions import camel

    return camel(name) + "Function"


def run(*command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=cwd, capture_output=True, text=True
    )


def snapshot(root: Path) -> dict[str, bytes | None]:
    tree: dict[str, bytes | None] = {}
    for path in sorted(root.rglob("*")):
        if "__pycache__" in path.parts or ".pytest_cache" in path.parts:
            continue
        tree[path.relative_to(root).as_posix()] = path.read_bytes() if path.is_file() else None
    return tree


@pytest.fixture
def shop(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    created = run("tight", "generate_app", "name=shop", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    return tmp_path / "shop"


# -- generate_function trigger=... --------------------------------------------------------
def test_every_trigger_scaffolds_a_function_whose_tests_pass_at_once_offline(shop):
    before = (shop / "tight.yml").read_text()
    assert run("doit", "generate_model", "name=item", cwd=shop).returncode == 0
    for trigger in TRIGGERS:
        result = run(
            "doit", "generate_function", f"name=on_{trigger}", f"trigger={trigger}", cwd=shop
        )
        assert result.returncode == 0, result.stderr
        assert f"created app/functions/on_{trigger}/handler.py" in result.stdout
        assert f"added functions.on_{trigger} ({trigger}) to tight.yml" in result.stdout
    after = (shop / "tight.yml").read_text()
    assert after.startswith(before)  # the user's settings and comments, untouched
    functions = yaml.safe_load(after)["functions"]
    assert functions["on_sqs"] == {"sqs": {"queue": "on_sqs", "batch_size": 10, "fifo": False}}
    assert functions["on_s3"]["s3"]["events"] == ["s3:ObjectCreated:*"]
    assert functions["on_s3"]["s3"]["bucket"] == "on-s3"  # bucket names take no underscores
    assert functions["on_dynamodb_stream"]["dynamodb_stream"]["model"] == "item"
    assert functions["on_eventbridge"] == {"eventbridge": {"pattern": {"source": ["shop"]}}}
    assert functions["on_schedule"] == {"schedule": "rate(1 day)"}
    # What the toolkit reads back is valid, and `doit template` finds every trigger matching
    # its handler's decorator.
    assert task_config.load(shop)["functions"] == functions
    templated = run("doit", "template", cwd=shop)
    assert templated.returncode == 0, templated.stderr
    resources = yaml.safe_load((shop / "build/template.yml").read_text())["Resources"]
    for trigger in TRIGGERS:
        function = resources[scaffold_logical(f"on_{trigger}")]
        assert function["Properties"]["Events"], trigger

    tested = run("doit", "test", cwd=shop)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    # 7 integration tests, 9 unit tests (sqs and kinesis test a failure too), 3 model tests
    assert "19 passed" in tested.stdout
    assert not list(shop.rglob("placebos")) and not list(shop.rglob("cassettes"))
    # In the app's repository, as a user has it: its .gitignore leaves app/vendored (the
    # dependencies `doit test` vendored) out of the linter's view.
    subprocess.run(["git", "init", "-q"], cwd=shop, check=True)
    assert run("ruff", "check", "--isolated", "-q", ".", cwd=shop).returncode == 0
    assert run("ruff", "format", "--isolated", "--check", "-q", ".", cwd=shop).returncode == 0


def test_a_generated_sqs_function_reports_a_poisoned_message_through_app_index(shop):
    import json
    import shutil

    import tight
    from tight.testing.events import sqs

    assert run("doit", "generate_function", "name=orders", "trigger=sqs", cwd=shop).returncode == 0
    shutil.copytree(Path(tight.__file__).parent, shop / "app" / "vendored" / "tight")
    batch = sqs(bodies=[{"id": 1}, "poison", {"id": 3}])
    script = (
        "import json, sys; sys.path.insert(0, '.'); import app_index;"
        "print(json.dumps(app_index.orders(json.load(sys.stdin), None)))"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script],
        cwd=shop,
        input=json.dumps(batch),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.splitlines()[-1])
    assert answer == {"batchItemFailures": [{"itemIdentifier": batch["Records"][1]["messageId"]}]}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["name=orders", "trigger=sqs", "methods=get"], "trigger= and methods= cannot be combined"),
        (["name=orders", "trigger=sqs,sns"], "unknown trigger sqs,sns; choose one of sqs, sns"),
        (["name=orders", "trigger=http"], "unknown trigger http"),
        (["name=queued", "trigger=sns"], "functions.queued is in tight.yml already"),
        (["name=orders", "trigger=dynamodb_stream"], "trigger=dynamodb_stream reads a model"),
        (["name=orders", "trigger=dynamodb_stream", "model=nope"],
         "model=nope is not in app/models"),
        (["name=orders", "trigger=sqs", "model=item"], "model= goes with trigger=dynamodb_stream"),
        (["name=orders", "model=item"], "model= goes with trigger=dynamodb_stream"),
        (["name=class", "trigger=sqs"], "'class' is a Python keyword"),
    ],
)  # fmt: skip
def test_bad_trigger_input_is_one_line_and_changes_nothing(shop, args, message):
    config = shop / "tight.yml"
    config.write_text(config.read_text() + "functions:\n  queued:\n    sqs: {queue: q}\n")
    before = snapshot(shop)
    result = run("doit", "generate_function", *args, cwd=shop)
    assert result.returncode != 0
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("error: ") and message in errors[0], errors
    assert snapshot(shop) == before


def test_invalid_tight_yml_is_a_one_line_error(shop):
    (shop / "tight.yml").write_text("name: shop\nfunctions: [unclosed\n")
    before = snapshot(shop)
    result = run("doit", "generate_function", "name=orders", "trigger=SQS", cwd=shop)
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("error: tight.yml:3: not valid YAML: "), errors
    assert snapshot(shop) == before


def test_inline_functions_section_is_refused_and_left_as_written(shop):
    config = shop / "tight.yml"
    config.write_text(config.read_text() + "functions: {queued: {sqs: {queue: q}}}\n")
    before = snapshot(shop)
    with pytest.raises(TightTaskError, match="written on one line; write it as a block"):
        scaffold.generate_function("orders", trigger="sqs", root=shop)
    assert snapshot(shop) == before


def test_a_failed_render_leaves_tight_yml_and_the_tree_untouched(shop, monkeypatch, tmp_path):
    import shutil

    import jinja2

    from tight_tasks.resources import templates_dir

    broken = tmp_path / "templates"
    shutil.copytree(templates_dir(), broken)
    (broken / "function" / "record_test_integration.py.j2").write_text("{{ nothing_here }}\n")
    monkeypatch.setattr(scaffold, "templates_dir", lambda: broken)
    before = snapshot(shop)
    with pytest.raises(jinja2.UndefinedError):
        scaffold.generate_function("orders", trigger="sqs", root=shop)
    assert snapshot(shop) == before


# -- tight.yml edits keep what the user wrote ----------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "name: shop  # my app\n",
            "name: shop  # my app\n\nfunctions:\n  orders:\n    sqs: {queue: orders}\n",
        ),
        ("name: shop", "name: shop\n\nfunctions:\n  orders:\n    sqs: {queue: orders}\n"),
        (
            "functions: {}  # none yet\nstage: dev\n",
            "functions:  # none yet\n  orders:\n    sqs: {queue: orders}\nstage: dev\n",
        ),
        (
            "functions:\n    # the audit trail\n    audit:\n        schedule: rate(1 day)\n\n"
            "# deployment\nstage: dev\n",
            "functions:\n    # the audit trail\n    audit:\n        schedule: rate(1 day)\n"
            "    orders:\n        sqs: {queue: orders}\n\n# deployment\nstage: dev\n",
        ),
        (
            "stage: dev\nfunctions:\n  audit:\n    schedule: rate(1 day)\n",
            "stage: dev\nfunctions:\n  audit:\n    schedule: rate(1 day)\n"
            "  orders:\n    sqs: {queue: orders}\n",
        ),
    ],
)
def test_the_entry_is_added_without_touching_the_rest(text, expected):
    settings = yaml.safe_load(text) or {}
    assert scaffold.add_function_entry(text, settings, "orders", "sqs", "{queue: orders}") == (
        expected
    )


def test_names_yaml_would_misread_are_quoted():
    assert scaffold.default_trigger("sqs", "null", "shop", None).startswith('{queue: "null"')
    assert scaffold.default_trigger("sns", "orders", "shop", None) == "{topic: orders}"
    assert scaffold.default_trigger("s3", "up", "shop", None).startswith("{bucket: up-uploads,")
    assert scaffold.default_trigger("eventbridge", "audit", "yes", None) == (
        '{pattern: {source: ["yes"]}}'
    )


# -- the functions: section ----------------------------------------------------------------
SQS_HANDLER = """
from tight.providers.aws.controllers import sqs

@sqs.record
def on_message(*args, **kwargs):
    pass
"""


def write_function(root: Path, name: str, source: str) -> None:
    folder = root / "app" / "functions" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "handler.py").write_text(source)


@pytest.mark.parametrize(
    ("functions", "message"),
    [
        ({"orders": {"sqs": {"queue": "q", "size": 1}}},
         r"functions\.orders\.sqs in tight\.yml has unknown key\(s\) size; it takes queue"),
        ({"orders": {"sqs": {"batch_size": 5}}}, r"functions\.orders\.sqs .* needs queue"),
        ({"orders": {"sqs": {"queue": "q", "batch_size": "ten"}}},
         "batch_size must be a whole number from 1 to 10000"),
        ({"orders": {"sqs": {"queue": "q", "batch_size": 0}}}, "batch_size must be"),
        ({"orders": {"sqs": {"queue": "q", "fifo": "yes"}}}, "fifo must be true or false"),
        ({"orders": {"sqs": ["orders"]}}, r"functions\.orders\.sqs .* must be a mapping"),
        ({"orders": {"http": {}}}, r"unknown key functions\.orders\.http"),
        ({"nightly": {"schedule": "every day"}}, r"functions\.nightly\.schedule .*rate\(1 day\)"),
        ({"nightly": {"schedule": "rate(0 days)"}},
         r"'rate\(0 days\)' is a rate of 0; the value must be 1 or more"),
        ({"uploads": {"s3": {"bucket": "bucket", "events": ["ObjectCreated:*"]}}},
         "events must be a list of S3 event names"),
        ({"uploads": {"s3": {"bucket": "My_Uploads"}}},
         r"functions\.uploads\.s3 in tight\.yml: bucket must be a bucket name"),
        ({"clicks": {"kinesis": {"stream": "s", "starting_position": "NOW"}}},
         "starting_position must be LATEST"),
        ({"audit": {"eventbridge": {"pattern": {}}}}, "pattern must be an event pattern"),
        ({"changes": {"dynamodb_stream": {"model": ""}}}, "model must be a non-empty string"),
    ],
)  # fmt: skip
def test_trigger_entries_are_checked_when_tight_yml_is_read(functions, message):
    with pytest.raises(ConfigError, match=message):
        task_config.validate({"functions": functions})


def test_a_bad_trigger_fails_every_task_with_one_line(shop):
    config = shop / "tight.yml"
    config.write_text(config.read_text() + "functions:\n  orders:\n    sqs: {queue: q, size: 1}\n")
    result = run("doit", "template", cwd=shop)
    errors = result.stderr.strip().splitlines()
    assert result.returncode != 0 and len(errors) == 1, errors
    assert "functions.orders.sqs in tight.yml has unknown key(s) size" in errors[0]


def test_every_documented_trigger_shape_is_accepted():
    documented = yaml.safe_load(
        """
functions:
  orders:
    sqs: {queue: orders, batch_size: 10, fifo: false}
  uploads:
    s3: {bucket: uploads, events: ["s3:ObjectCreated:*"], prefix: incoming/}
  changes:
    dynamodb_stream: {model: item, starting_position: LATEST, batch_size: 100}
  clicks:
    kinesis: {stream: clicks, starting_position: LATEST}
  alerts:
    sns: {topic: alerts}
  nightly:
    schedule: "rate(1 day)"
  audit:
    eventbridge: {pattern: {source: ["my.app"]}}
  short:
    sqs: arn:aws:sqs:us-east-1:123456789012:orders
"""
    )
    assert task_config.validate(documented) == documented


SQS_HANDLER = """
from tight.providers.aws.controllers import sqs

@sqs.record
def on_message(*args, **kwargs):
    pass
"""


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        (SQS_HANDLER, "sqs"),
        (SQS_HANDLER.replace(
            "from tight.providers.aws.controllers import sqs",
            "import tight.providers.aws.controllers.sqs as queue",
        ).replace("@sqs.record", "@queue.record"), "sqs"),
        (SQS_HANDLER.replace(
            "from tight.providers.aws.controllers import sqs",
            "from app.vendored.tight.providers.aws.controllers import sqs",
        ), "sqs"),
        (SQS_HANDLER.replace(
            "from tight.providers.aws.controllers import sqs",
            "from tight.providers.aws.controllers.sqs import record",
        ).replace("@sqs.record", "@record"), "sqs"),
        (SQS_HANDLER.replace(
            "from tight.providers.aws.controllers import sqs",
            "import tight.providers.aws.controllers.sqs",
        ).replace("@sqs.record", "@tight.providers.aws.controllers.sqs.record"), "sqs"),
        (SQS_HANDLER.replace("sqs", "eventbridge"), "eventbridge"),
        ("def handler(event, context):\n    return None\n", None),
    ],
    ids=["from-import", "aliased", "vendored", "decorator-imported", "dotted", "schedule", "plain"],
)  # fmt: skip
def test_the_toolkit_reads_every_import_style_of_a_record_handler(tmp_path, source, kind):
    write_function(tmp_path, "orders", source)
    assert read_code(tmp_path, "orders").kind == kind


def test_handlers_are_read_never_imported(tmp_path):
    marker = tmp_path / "imported"
    write_function(tmp_path, "orders", f"open({str(marker)!r}, 'w').close()\n" + SQS_HANDLER)
    assert read_code(tmp_path, "orders").kind == "sqs"
    assert not marker.exists()


@pytest.mark.parametrize(
    ("trigger", "message"),
    [
        ("sns: {topic: t}", "has a sns trigger but app/functions/orders/handler.py registers sqs"),
        ("", "app/functions/orders handles sqs events but tight.yml has no trigger"),
    ],
)
def test_a_trigger_that_does_not_match_the_handler_fails_doit_template(shop, trigger, message):
    write_function(shop, "orders", SQS_HANDLER)
    if trigger:
        config = shop / "tight.yml"
        config.write_text(config.read_text() + f"functions:\n  orders:\n    {trigger}\n")
    result = run("doit", "template", cwd=shop)
    assert result.returncode != 0 and message in result.stderr, result.stderr


def test_doit_help_documents_trigger_and_model(shop):
    helped = run("doit", "help", "generate_function", cwd=shop).stdout
    assert "--trigger" in helped and "dynamodb_stream" in helped and "--model" in helped
    assert os.path.isfile(shop / "tight.yml")
