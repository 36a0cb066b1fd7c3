"""The `tight` command as a user runs it: from any folder inside an app, and its help."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def run(*command: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, XDG_CACHE_HOME=str(home / "cache"))
    return subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=cwd, capture_output=True, text=True, env=env
    )


@pytest.fixture
def shop(tmp_path):
    made = run("tight", "generate_app", "name=shop", cwd=tmp_path, home=tmp_path)
    assert made.returncode == 0, made.stderr
    return tmp_path / "shop"


def test_tight_runs_tasks_from_a_subfolder_at_the_app_root(shop, tmp_path):
    deep = shop / "app" / "functions"
    created = run("tight", "generate_function", "name=items", cwd=deep, home=tmp_path)
    assert created.returncode == 0, created.stderr
    assert (shop / "app/functions/items/handler.py").is_file()
    assert not (deep / "app").exists()  # created at the root, not where the command ran
    # The same parameters as doit, in both forms, and the app's own dodo.py tasks too.
    dodo = shop / "dodo.py"
    dodo.write_text(
        dodo.read_text() + '\n\ndef task_hello():\n    """Say hello."""\n'
        '    return {"actions": ["echo hello from $(pwd)"], "verbosity": 2}\n'
    )
    tests_folder = shop / "tests" / "functions"
    assert f"hello from {shop}" in run("tight", "hello", cwd=tests_folder, home=tmp_path).stdout
    long_form = run("tight", "generate_model", "--name", "item", cwd=tests_folder, home=tmp_path)
    assert long_form.returncode == 0, long_form.stderr
    assert (shop / "app/models/item.py").is_file()
    listed = run("tight", "list", cwd=deep, home=tmp_path).stdout
    assert "hello" in listed and "generate_function" in listed


def test_a_doit_run_and_a_tight_run_share_doits_state(shop, tmp_path):
    """`tight` from a subfolder is the same run as `doit` at the root: same state file."""
    dodo = shop / "dodo.py"
    dodo.write_text(
        dodo.read_text() + "\n\ndef task_once():\n"
        '    return {"actions": ["echo ran >> once.log"], "file_dep": ["requirements.in"]}\n'
    )
    assert run("doit", "once", cwd=shop, home=tmp_path).returncode == 0
    again = run("tight", "once", cwd=shop / "app", home=tmp_path)
    assert again.returncode == 0 and "-- once" in again.stdout  # up to date: skipped
    assert (shop / "once.log").read_text() == "ran\n"


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.mark.parametrize(("program", "where"), [("tight", "app/functions"), ("doit", ".")])
def test_generate_app_inside_an_app_is_refused(shop, tmp_path, program, where):
    """A second app nested in the first would ship in its zip: refused, nothing written."""
    before = snapshot(shop)
    result = run(program, "generate_app", "name=other", cwd=shop / where, home=tmp_path)
    assert result.returncode != 0
    errors = result.stderr.strip().splitlines()
    assert errors == [
        f"error: {(shop / where).resolve()} is inside the app {shop} (it has tight.yml); "
        f"create a new app outside it: cd {tmp_path} && tight generate_app name=other"
    ]
    assert snapshot(shop) == before
    beside = run("tight", "generate_app", "name=other", f"dir={tmp_path}", cwd=shop, home=tmp_path)
    assert beside.returncode == 0, beside.stderr
    assert (tmp_path / "other" / "tight.yml").is_file()


def test_version_is_tights_then_doits(tmp_path):
    import doit.version

    import tight

    result = run("tight", "--version", cwd=tmp_path, home=tmp_path)
    assert result.returncode == 0, result.stderr
    doits = ".".join(map(str, doit.version.VERSION))
    assert result.stdout.splitlines() == [f"tight {tight.__version__}", f"doit {doits}"]


def test_every_summary_is_whole_in_doit_list_and_tight_help(shop, tmp_path):
    """doit shows a creator's first docstring line: a summary on two lines is cut short."""
    import tight_tasks

    summaries = {
        name.removeprefix("task_"): " ".join(
            getattr(tight_tasks, name).__doc__.split("\n\n")[0].split()
        )
        for name in tight_tasks.__all__
        if name.startswith("task_")
    }
    listed = run("doit", "list", cwd=shop, home=tmp_path).stdout.splitlines()
    helped = run("tight", "--help", cwd=shop, home=tmp_path).stdout.splitlines()
    for lines in (listed, helped):
        shown = {line.split()[0]: line.split(None, 1)[1] for line in lines if " " in line.strip()}
        for task, summary in summaries.items():
            assert shown.get(task) == summary, task
    assert summaries["generate_function"].endswith("[methods=get,post | trigger=sqs].")


def test_outside_any_app_tasks_that_need_one_say_how_to_start(tmp_path):
    result = run("tight", "generate_function", "name=x", cwd=tmp_path, home=tmp_path)
    assert result.returncode != 0
    assert "no tight.yml in" in result.stderr and "tight generate_app" in result.stderr


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["help"], []])
def test_help_lists_tights_commands_one_line_each(tmp_path, args):
    result = run("tight", *args, cwd=tmp_path, home=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("usage: tight <task>")
    commands = {line.split()[0]: line for line in lines if line.startswith("  ")}
    for task in (
        "generate_app", "generate_function", "generate_model", "generate_env", "test", "lock",
        "vendor", "artifact", "schema", "dynamo_start", "dynamo_stop",
    ):  # fmt: skip
        assert task in commands, task
        assert len(commands[task].split(None, 1)[1]) > 20, f"{task} has a help line"
    assert "doit -k" in result.stdout
    assert "run " not in commands  # doit's own commands are not Tight's list


def test_help_for_one_task_shows_its_parameters(tmp_path):
    result = run("tight", "help", "generate_function", cwd=tmp_path, home=tmp_path)
    assert result.returncode == 0
    assert "--name" in result.stdout and "--methods" in result.stdout


def test_pytest_args_are_split_as_a_shell_would(shop, tmp_path):
    for name in ("items", "users"):
        assert (
            run("tight", "generate_function", f"name={name}", cwd=shop, home=tmp_path).returncode
            == 0
        )
    result = run("doit", "test", "pytest_args=-k 'unit and items' -q", cwd=shop, home=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed, 3 deselected" in result.stdout
    unclosed = run("doit", "test", "pytest_args=-k 'unit", cwd=shop, home=tmp_path)
    assert unclosed.returncode != 0
    assert 'error: pytest_args "-k \'unit" cannot be split: No closing quotation' in unclosed.stderr


def test_the_stage_parameters_help_names_the_stage_tight_yml_gives(shop, monkeypatch):
    from tight_tasks.taskkit import stage_param

    monkeypatch.chdir(shop)
    monkeypatch.setenv("XDG_CACHE_HOME", str(shop.parent / "cache"))
    assert stage_param("the stage")["help"] == "the stage (default: dev, the stage in tight.yml)"
    settings = (shop / "tight.yml").read_text().replace("stage: dev", "stage: prod")
    (shop / "tight.yml").write_text(settings)
    assert stage_param("the stage")["help"] == "the stage (default: prod, the stage in tight.yml)"
    (shop / "tight.yml").write_text(settings.replace("stage: prod\n", ""))
    assert stage_param("the stage")["help"] == "the stage (default: dev)"


def test_help_template_shows_the_stage_tight_yml_gives(shop, tmp_path):
    settings = (shop / "tight.yml").read_text().replace("stage: dev", "stage: prod")
    (shop / "tight.yml").write_text(settings)
    helped = run("tight", "help", "template", cwd=shop / "app", home=tmp_path).stdout
    assert "(default: prod, the stage in tight.yml)" in helped
