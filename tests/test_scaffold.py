"""Scaffolding through the real `tight` and `doit` commands, as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

BIN = Path(sys.executable).parent
METHOD_SETS = ["get", "post", "put", "patch", "delete", "get,post,put,patch,delete"]


def run(
    *command: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    executable = str(BIN / command[0])
    environment = dict(os.environ, **(env or {}))
    return subprocess.run(
        [executable, *command[1:]], cwd=cwd, capture_output=True, text=True, env=environment
    )


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file's bytes and every folder, by path: what 'unchanged' means."""
    tree: dict[str, bytes | None] = {}
    for path in sorted(root.rglob("*")):
        if "__pycache__" in path.parts or ".pytest_cache" in path.parts:
            continue
        tree[path.relative_to(root).as_posix()] = path.read_bytes() if path.is_file() else None
    return tree


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    # doit keeps its state in the user's cache; give each test its own.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


@pytest.fixture
def shop(workdir):
    result = run("tight", "generate_app", "name=shop", cwd=workdir)
    assert result.returncode == 0, result.stderr
    return workdir / "shop"


def test_generate_app_writes_the_layout(shop):
    expected = [
        ".gitignore", "README.md", "app_index.py", "dodo.py", "env.dist.yml",
        "requirements.in", "tight.yml", "app/__init__.py", "app/functions/__init__.py",
        "app/models/__init__.py", "app/lib/__init__.py", "tests/conftest.py",
        "tests/functions/unit/__init__.py", "tests/functions/integration/__init__.py",
    ]  # fmt: skip
    for name in expected:
        assert (shop / name).is_file(), name
    assert (shop / "app" / "vendored").is_dir()
    settings = yaml.safe_load((shop / "tight.yml").read_text())
    assert settings["name"] == "shop"
    assert settings["provider"] == "aws"
    assert settings["runtime"] in ("python3.10", "python3.11", "python3.12", "python3.13")
    assert settings["architecture"] in ("x86_64", "arm64")
    assert settings["stage"] == "dev"
    assert settings["cors"] == "*"
    assert settings["vendor_dir"] == "app/vendored"
    ignored = (shop / ".gitignore").read_text().split()
    for entry in ("app/vendored/", "env.yml", "build/", ".doit.db*", ".tight/"):
        assert entry in ignored
    assert "from tight_tasks import *" in (shop / "dodo.py").read_text()
    assert (
        "app.vendored.tight.providers.aws.lambda_app import app as app"
        in (shop / "app_index.py").read_text()
    )
    assert "doit generate_function" in (shop / "README.md").read_text()


@pytest.mark.parametrize(
    ("given", "app_name"), [("my_shop", "my-shop"), ("my-shop", "my-shop"), ("shop2", "shop2")]
)
def test_the_folder_is_named_as_given_and_tight_yml_gets_a_valid_app_name(workdir, given, app_name):
    result = run("tight", "generate_app", f"name={given}", cwd=workdir)
    assert result.returncode == 0, result.stderr
    settings = yaml.safe_load((workdir / given / "tight.yml").read_text())
    assert settings["name"] == app_name
    assert (f"app name in tight.yml: {app_name}" in result.stdout) == (given != app_name)
    # The scaffolded tight.yml passes the checks every task makes.
    assert run("doit", "list", cwd=workdir / given).returncode == 0
    assert run("doit", "generate_function", "name=items", cwd=workdir / given).returncode == 0


def test_generate_app_in_another_folder(workdir):
    (workdir / "projects").mkdir()
    result = run("tight", "generate_app", "name=api", "dir=projects", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert (workdir / "projects" / "api" / "tight.yml").is_file()
    # doit's own "no dodo file" error cannot be worded by Tight: the way is said up front.
    assert "from a subfolder of the app: `tight <task>`, or `doit -k <task>`" in result.stdout


def test_generated_functions_and_model_pass_their_tests_offline(shop):
    for index, methods in enumerate(METHOD_SETS):
        result = run("doit", "generate_function", f"name=fn{index}", f"methods={methods}", cwd=shop)
        assert result.returncode == 0, result.stderr
        assert f"created app/functions/fn{index}/handler.py" in result.stdout
    assert run("doit", "generate_function", "name=plain", cwd=shop).returncode == 0
    assert run("doit", "generate_model", "name=line_item", cwd=shop).returncode == 0
    assert "class LineItem(Model):" in (shop / "app/models/line_item.py").read_text()
    expectations = sorted(
        p.name for p in (shop / "tests/functions/integration/expectations").iterdir()
    )
    assert "test_fn5_delete.yml" in expectations and "test_plain_get.yml" in expectations

    tested = run("doit", "test", cwd=shop)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    # 11 handlers (fn0..fn5, plain), a unit and an integration test each, + 3 model tests
    assert "25 passed" in tested.stdout
    # Nothing was recorded or written: the generated tests need no network and no recordings.
    assert not list(shop.rglob("placebos")) and not list(shop.rglob("cassettes"))

    # The generated code is clean by ruff's defaults, as a user's linter would see it.
    # In the app's repository, as a user has it: its .gitignore leaves app/vendored (the
    # dependencies `doit test` vendored) out of the linter's view.
    subprocess.run(["git", "init", "-q"], cwd=shop, check=True)
    assert run("ruff", "check", "--isolated", "-q", ".", cwd=shop).returncode == 0
    assert run("ruff", "format", "--isolated", "--check", "-q", ".", cwd=shop).returncode == 0


def test_generated_function_answers_through_app_index(shop):
    """Once tight is vendored (as `doit vendor` will), Lambda can call the new function."""
    import json
    import shutil

    import tight
    from tight.testing.events import make_event

    created = run("doit", "generate_function", "name=items", "methods=get,post", cwd=shop)
    assert created.returncode == 0, created.stderr
    shutil.copytree(Path(tight.__file__).parent, shop / "app" / "vendored" / "tight")
    script = (
        "import json, sys; sys.path.insert(0, '.'); import app_index;"
        "print(json.dumps(app_index.items(json.load(sys.stdin), None)))"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script],  # the app folder and the stdlib only
        cwd=shop,
        input=json.dumps(make_event("POST", "/items", body={"a": 1})),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout)
    assert response["statusCode"] == 201
    assert json.loads(response["body"])["received"] == {"a": 1}


def test_doit_list_and_help_document_every_task(shop):
    listed = run("doit", "list", cwd=shop)
    assert listed.returncode == 0
    lines = {line.split()[0]: line for line in listed.stdout.splitlines() if line.strip()}
    for task in ("generate_app", "generate_function", "generate_model", "generate_env", "test"):
        assert task in lines and len(lines[task].split(None, 1)[1]) > 20
    helped = run("doit", "help", "generate_function", cwd=shop)
    assert "--name" in helped.stdout and "--methods" in helped.stdout
    assert "get,post,put,patch,delete" in helped.stdout


def test_a_users_dodo_adds_tasks_beside_tights(shop):
    dodo = shop / "dodo.py"
    dodo.write_text(
        dodo.read_text() + '\n\ndef task_hello():\n    """Say hello."""\n'
        '    return {"actions": ["echo hello"]}\n'
    )
    listed = run("doit", "list", cwd=shop).stdout
    assert "hello" in listed and "generate_function" in listed
    assert "hello" in run("doit", "hello", cwd=shop).stdout


def test_functions_take_the_long_form_of_parameters_too(shop):
    result = run("doit", "generate_function", "--name", "orders", "--methods", "post", cwd=shop)
    assert result.returncode == 0, result.stderr
    assert "post_handler" in (shop / "app/functions/orders/handler.py").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "generate_function needs a name"),
        (["name=my-func"], "'my-func' is not a valid function name: use lowercase letters"),
        (["name=my-func"], "did you mean doit generate_function name=my_func?"),
        (["name=1st"], "'1st' is not a valid function name"),
        # The error says lowercase, so an uppercase name is refused, with the name to use.
        (["name=Items"], "'Items' is not a valid function name"),
        (["name=Orders"], "did you mean doit generate_function name=orders?"),
        (["name=class"], "'class' is a Python keyword"),
        (["name=vendored"], "'vendored' is reserved"),
        (["name=tight"], "'tight' is reserved"),
        (["name=lib"], "'lib' is reserved"),
        (["name=items"], "app/functions/items exists already"),
        (["name=fresh", "methods=get,fetch"], "unknown method(s) fetch"),
    ],
)
def test_bad_function_input_is_one_line_and_changes_nothing(shop, args, message):
    assert run("doit", "generate_function", "name=items", cwd=shop).returncode == 0
    (shop / "app/functions/items/handler.py").write_text("# my own code\n")
    before = snapshot(shop)
    result = run("doit", "generate_function", *args, cwd=shop)
    assert result.returncode != 0
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("error: ") and message in errors[0]
    assert snapshot(shop) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "generate_app needs a name"),
        (["name=my app"], "'my app' is not a valid app name: use lowercase letters, digits"),
        (["name=my app"], "did you mean tight generate_app name=my-app?"),
        (["name=MyShop"], "did you mean tight generate_app name=myshop?"),
        (["name=1st"], "'1st' is not a valid app name"),
        (["name=shop-"], "'shop-' is not a valid app name"),
        (["name=" + "a" * 41], "at most 40 characters"),
        (["name=taken"], "exists already"),
        (["name=new", "dir=missing"], "dir=missing is not a folder"),
    ],
)
def test_bad_app_input_is_one_line_and_changes_nothing(workdir, args, message):
    (workdir / "taken").mkdir()
    (workdir / "taken" / "notes.txt").write_text("mine")
    before = snapshot(workdir)
    result = run("tight", "generate_app", *args, cwd=workdir)
    assert result.returncode != 0
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("error: ") and message in errors[0]
    assert snapshot(workdir) == before


def test_generate_function_outside_an_app_says_how_to_start_one(workdir):
    (workdir / "dodo.py").write_text("from tight_tasks import *\n")
    before = snapshot(workdir)
    for command in (
        ("tight", "generate_function", "name=x"),
        ("doit", "generate_function", "name=x"),
    ):
        result = run(*command, cwd=workdir)
        assert result.returncode != 0
        assert "no tight.yml" in result.stderr and "tight generate_app" in result.stderr
    assert snapshot(workdir) == before


def test_a_failed_render_leaves_nothing_behind(shop, monkeypatch, tmp_path):
    from tight_tasks import scaffold
    from tight_tasks.resources import templates_dir

    broken = tmp_path / "templates"
    import shutil

    shutil.copytree(templates_dir(), broken)
    # The test template renders after the handler: it must not leave the handler behind.
    (broken / "function" / "test_integration.py.j2").write_text("{{ no_such_variable }}\n")
    monkeypatch.setattr(scaffold, "templates_dir", lambda: broken)
    before = snapshot(shop)
    import jinja2

    with pytest.raises(jinja2.UndefinedError):
        scaffold.generate_function("orders", "get", root=shop)
    assert snapshot(shop) == before


def test_generate_env_merges_defaults_environment_and_existing_values(shop):
    (shop / "env.dist.yml").write_text("LOG_LEVEL: INFO\nTABLE: notes\nAPI_KEY:\nDEBUG: false\n")
    env = {"API_KEY": "k-123", "LOG_LEVEL": "DEBUG"}
    result = run("doit", "generate_env", cwd=shop, env=env)
    assert result.returncode == 0, result.stderr
    assert "created env.yml" in result.stdout and "merged" not in result.stdout
    written = yaml.safe_load((shop / "env.yml").read_text())
    assert written == {"LOG_LEVEL": "DEBUG", "TABLE": "notes", "API_KEY": "k-123", "DEBUG": "false"}
    # A hand edit survives a later run; the environment still wins where it is set.
    (shop / "env.yml").write_text("TABLE: my_notes\nAPI_KEY: k-123\nEXTRA: kept\n")
    merged = run("doit", "generate_env", cwd=shop, env={"LOG_LEVEL": "WARNING"})
    assert merged.returncode == 0, merged.stderr
    assert "merged env.dist.yml and the environment into env.yml" in merged.stdout
    assert "created" not in merged.stdout
    written = yaml.safe_load((shop / "env.yml").read_text())
    assert written == {
        "LOG_LEVEL": "WARNING", "TABLE": "my_notes", "API_KEY": "k-123", "DEBUG": "false",
        "EXTRA": "kept",
    }  # fmt: skip
    # An environment value that replaces one in env.yml is named, not called "kept".
    replaced = run("doit", "generate_env", cwd=shop, env={"LOG_LEVEL": "ERROR", "TABLE": "x"})
    assert replaced.returncode == 0, replaced.stderr
    assert replaced.stdout.splitlines()[-1] == (
        "merged env.dist.yml and the environment into env.yml; the environment replaced your "
        "value of LOG_LEVEL, TABLE (your other values kept)"
    )
    assert yaml.safe_load((shop / "env.yml").read_text())["TABLE"] == "x"
    same = run("doit", "generate_env", cwd=shop, env={"LOG_LEVEL": "ERROR"})
    assert "(your values kept)" in same.stdout  # the same value again replaces nothing


def test_an_unknown_log_level_is_a_config_error_naming_the_levels(shop):
    levels = "use one of DEBUG, INFO, WARNING, ERROR, CRITICAL"
    (shop / "env.dist.yml").write_text("TABLE: notes\nLOG_LEVEL: LOUD\n")
    before = snapshot(shop)
    result = run("doit", "generate_env", cwd=shop)
    assert result.stderr.splitlines() == [
        f"error: env.dist.yml:2: LOG_LEVEL LOUD is not a log level; {levels}"
    ]
    assert snapshot(shop) == before
    (shop / "env.dist.yml").write_text("TABLE: notes\nLOG_LEVEL: debug\n")
    shouted = run("doit", "generate_env", cwd=shop, env={"LOG_LEVEL": "LOUD"})
    assert shouted.stderr.splitlines() == [
        f"error: LOG_LEVEL LOUD is not a log level; {levels} (it is set in the environment)"
    ]
    assert run("doit", "generate_env", cwd=shop).returncode == 0  # debug: any case will do
    (shop / "env.yml").write_text("LOG_LEVEL: LOUD\n")
    tested = run("doit", "test", cwd=shop)
    assert tested.returncode != 0
    assert f"env.yml:1: LOG_LEVEL LOUD is not a log level; {levels}" in tested.stderr
    assert "passed" not in tested.stdout


def test_generate_env_keeps_the_files_mode_and_its_symlink(shop, tmp_path):
    """env.yml holds secrets: a 0600 file stays 0600, and a link to a file kept elsewhere
    stays a link, the file it points to updated in place."""
    (shop / "env.dist.yml").write_text("LOG_LEVEL: INFO\nAPI_KEY:\n")
    env_file = shop / "env.yml"
    env_file.write_text("API_KEY: old\n")
    env_file.chmod(0o600)
    assert run("doit", "generate_env", cwd=shop, env={"API_KEY": "new"}).returncode == 0
    assert yaml.safe_load(env_file.read_text())["API_KEY"] == "new"
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"

    vault = tmp_path / "vault"
    vault.mkdir()
    kept = vault / "shop.env.yml"
    kept.write_text("API_KEY: linked\n")
    kept.chmod(0o640)
    env_file.unlink()
    env_file.symlink_to(kept)
    assert run("doit", "generate_env", cwd=shop, env={"LOG_LEVEL": "DEBUG"}).returncode == 0
    assert env_file.is_symlink() and env_file.resolve() == kept
    assert yaml.safe_load(kept.read_text()) == {"LOG_LEVEL": "DEBUG", "API_KEY": "linked"}
    assert oct(kept.stat().st_mode & 0o777) == "0o640"
    assert sorted(p.name for p in vault.iterdir()) == ["shop.env.yml"]  # no temporary left


def test_generate_env_lists_every_key_without_a_value_and_writes_nothing(shop):
    (shop / "env.dist.yml").write_text("A_KEY:\nB_KEY: ''\nC_KEY: set\n")
    environment = {k: v for k, v in os.environ.items() if k not in ("A_KEY", "B_KEY")}
    before = snapshot(shop)
    result = subprocess.run(
        [str(BIN / "doit"), "generate_env"], cwd=shop, capture_output=True, text=True,
        env=environment,
    )  # fmt: skip
    assert result.returncode != 0
    assert "no value for A_KEY, B_KEY" in result.stderr
    assert snapshot(shop) == before


def test_a_new_user_gets_green_tests_within_a_minute(workdir):
    """pip install done: app, two functions, a model, tests, as the README says."""
    import time

    started = time.monotonic()
    assert run("tight", "generate_app", "name=quick", cwd=workdir).returncode == 0
    app = workdir / "quick"
    assert (
        run("doit", "generate_function", "name=items", "methods=get,post", cwd=app).returncode == 0
    )
    assert run("doit", "generate_function", "name=users", cwd=app).returncode == 0
    assert run("doit", "generate_model", "name=item", cwd=app).returncode == 0
    assert run("doit", "generate_env", cwd=app).returncode == 0
    tested = run("doit", "test", cwd=app)
    assert tested.returncode == 0, tested.stdout
    assert "9 passed" in tested.stdout
    assert time.monotonic() - started < 60
