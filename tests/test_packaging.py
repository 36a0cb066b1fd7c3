"""The distribution as a user installs it: console script, project tasks, shipped files."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tight_tasks.resources import runtime_dir, templates_dir

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def test_tight_console_script_runs_doit_over_tight_tasks(tmp_path):
    tight = shutil.which("tight", path=str(BIN)) or shutil.which("tight")
    assert tight, "the tight console script is installed"
    result = subprocess.run([tight, "list"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    help_result = subprocess.run([tight, "help"], cwd=tmp_path, capture_output=True, text=True)
    assert help_result.returncode == 0
    assert help_result.stdout.startswith("usage: tight <task>")


def test_project_tasks_have_docstrings_shown_by_doit_list():
    result = subprocess.run(
        [sys.executable, "-m", "doit", "list"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    for task in ("test", "bench", "demo"):
        assert task in lines
        assert len(lines[task].split(None, 1)[1]) > 20, f"{task} has a help line"


def test_resources_are_found_from_a_checkout():
    assert (templates_dir() / "README.md").is_file()
    assert (runtime_dir() / "providers/aws/lambda_app/app.py").is_file()


@pytest.mark.slow
def test_wheel_ships_both_packages_templates_and_the_console_script(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("tight-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "tight/providers/aws/lambda_app/app.py" in names
    assert "tight_tasks/cli.py" in names
    assert "tight_tasks/templates/README.md" in names
    assert not any(name.startswith("tests/") for name in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "tight = tight_tasks.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_demo_runs_end_to_end():
    result = subprocess.run(
        [sys.executable, "-m", "tight_tasks.demo"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    for status in ("200", "201", "204", "400", "404", "405", "500"):
        assert f"-> {status} " in result.stdout
    assert "$ tight generate_app name=demo_app" in result.stdout
    assert "$ doit generate_function name=items methods=get,post,delete" in result.stdout
    assert "8 passed" in result.stdout  # the scaffolded app's own tests
    assert "$ doit artifact" in result.stdout and "build/demo_app.zip  sha256 " in result.stdout
    assert "invoked from the unzipped artifact" in result.stdout
    assert "8 requests answered" in result.stdout  # the scaffolded functions, 4 kinds each
    assert "11 requests answered" in result.stdout
    assert "Access-Control-Allow-Origin': 'https://demo.example'" in result.stdout
    assert "ERROR unhandled error while serving the request (request rest-2)" in result.stdout
    assert "hunter2" not in result.stdout
    assert "$ doit dynamo_start" in result.stdout
    assert "created tables: notes_app-dev-note" in result.stdout
    assert "app_index.notes GET /notes/s1 -> 200" in result.stdout
    assert "app_index.notes GET /notes/n9 -> 404" in result.stdout
    assert "recording run: 4 passed" in result.stdout
    assert "placebos/test_write_then_read_a_note/dynamodb.PutItem_1.json" in result.stdout
    assert "stopped moto" in result.stdout
    assert "playback run: 4 passed" in result.stdout
