"""The distribution as a user installs it: console script, project tasks, shipped files."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import tight
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
    # Built from a copy of the sources: setuptools builds in the source tree's build/lib,
    # where an earlier build's files (a module since removed) would land in the wheel.
    source = tmp_path / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=lambda folder, names: [
            name
            for name in names
            if name in ("__pycache__", ".git")
            or name.endswith(".egg-info")
            or (Path(folder) == ROOT and name in (".venv", ".cache", "build", "bench", "tests"))
        ],
    )
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-v",
            "-w",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    # setuptools warns about any shipped folder the packages list leaves out.
    assert "absent from the" not in built.stdout + built.stderr
    # PyPI's `tight` is another project (0.1.0, 2017): ours is `tight-lambda`, past 0.1.0.
    wheel = next(tmp_path.glob("tight_lambda-*.whl"))
    assert wheel.name == f"tight_lambda-{tight.__version__}-py3-none-any.whl"
    assert tight.__version__ != "0.1.0"
    names = zipfile.ZipFile(wheel).namelist()
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("/METADATA")))
    assert "Name: tight-lambda\n" in metadata.decode()
    assert "tight/providers/aws/lambda_app/app.py" in names
    assert "tight_tasks/cli.py" in names
    assert "tight_tasks/templates/README.md" in names
    assert "tight_tasks/templates/app/tests/conftest.py.j2" in names
    assert not any("demo" in name for name in names)
    assert not any(name.startswith("tests/") for name in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    entry_text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "tight = tight_tasks.cli:main" in entry_text
    assert "tight = tight.testing.plugin" in entry_text
    # Installed from the wheel, the `tight` command is this Tight and says so.
    target = tmp_path / "installed"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
         str(wheel)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    version = subprocess.run(
        [str(target / "bin" / "tight"), "--version"],
        env={**os.environ, "PYTHONPATH": str(target)},
        cwd=tmp_path, check=True, capture_output=True, text=True,
    )  # fmt: skip
    assert version.stdout.splitlines()[0] == f"tight {tight.__version__}"


@pytest.mark.slow
def test_demo_runs_end_to_end_in_order_and_keeps_its_apps(tmp_path):
    kept = tmp_path / "kept"
    result = subprocess.run(
        [sys.executable, "demo/run.py", "--keep", str(kept)],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for status in ("200", "201", "204", "400", "404", "405", "500"):
        assert f"-> {status} " in out
    assert "$ tight generate_app name=demo-app" in out
    assert "$ doit generate_function name=items methods=get,post,delete" in out
    assert "$ doit generate_function name=orders trigger=sqs" in out
    assert "11 passed" in out  # the scaffolded app's own tests
    # One poisoned message in three: only it is reported, so only it is retried.
    assert "'{not json'    -> reported failed: retried" in out
    assert out.count("-> done") == 2
    assert "ERROR SQS record failed (record_id=" in out and "error_type=JSONDecodeError" in out
    assert "$ doit artifact" in out and "build/demo-app.zip  sha256 " in out
    assert "invoked from the unzipped artifact" in out
    assert "8 requests answered" in out  # the scaffolded functions, 4 kinds each
    assert "11 requests answered" in out
    assert "Access-Control-Allow-Origin': 'https://demo.example'" in out
    assert "ERROR unhandled error while serving the request (request rest-2)" in out
    assert "hunter2" not in out
    assert "$ doit dynamo_start" in out
    assert "created tables: notes-app-dev-note" in out
    assert "app_index.notes GET /notes/s1 -> 200" in out
    assert "app_index.notes GET /notes/n9 -> 404" in out
    assert "recording run: 4 passed" in out
    assert "placebos/test_write_then_read_a_note/dynamodb.PutItem_1.json" in out
    assert "stopped moto" in out
    assert "playback run: 4 passed" in out
    # Steps print in the order they happen: what the recording wrote, then the stop.
    steps = [
        "stage 1:", "$ doit artifact", "stage 2:", "stage 3:", "$ doit dynamo_start",
        "recording run:", "wrote tests/", "$ doit dynamo_stop", "playback run:",
        "the apps are kept in",
    ]  # fmt: skip
    positions = [out.index(step) for step in steps]
    assert positions == sorted(positions), out
    assert (
        out.rstrip()
        .splitlines()[-2]
        .endswith(f"{kept / 'demo-app'} and {kept / 'demo-notes-app'}:")
    )
    assert (kept / "demo-app" / "build" / "demo-app.zip").is_file()
    assert (kept / "demo-notes-app" / "app" / "models" / "note.py").is_file()
    assert not (kept / "demo-notes-app" / ".tight").exists()
    assert "absent from the" not in result.stdout + result.stderr


def test_the_demo_is_not_part_of_the_installed_toolkit():
    import tight_tasks

    package = Path(tight_tasks.__file__).parent
    assert not list(package.glob("demo*.py"))
    assert (ROOT / "demo" / "run.py").is_file()


def test_root_only_ignore_rules_do_not_hide_source_folders():
    """`build/` alone once hid bench/build/run.py, so a fresh clone had no build bench."""

    def ignored(path: str) -> bool:
        check = subprocess.run(["git", "check-ignore", "-q", "--no-index", path], cwd=ROOT)
        return check.returncode == 0

    assert not ignored("bench/build/run.py")
    assert not ignored("demo/run.py")
    assert ignored("build/demo-app/tight.yml") and ignored("dist/tight.whl")
    assert ignored("tight/__pycache__/x.pyc")
    tracked = subprocess.run(
        ["git", "ls-files", "bench"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    for bench in ("runtime", "toolkit", "build", "dynamo"):
        assert f"bench/{bench}/run.py" in tracked


def test_doit_bench_runs_every_benchmark_even_after_one_fails(tmp_path, monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("project_dodo", ROOT / "dodo.py")
    assert spec and spec.loader
    dodo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dodo)
    scripts = [p for p in ROOT.glob("bench/*/*.py") if '__name__ == "__main__"' in p.read_text()]
    assert sorted(dodo.BENCHES) == sorted(p.relative_to(ROOT).as_posix() for p in scripts)
    ran = tmp_path / "ran"
    failing = tmp_path / "failing.py"
    failing.write_text(f"open({str(ran)!r}, 'a').write('failing ')\nraise SystemExit(1)\n")
    passing = tmp_path / "passing.py"
    passing.write_text(f"import sys\nopen({str(ran)!r}, 'a').write(' '.join(sys.argv[1:]))\n")
    monkeypatch.setattr(dodo, "BENCHES", (str(failing), str(passing)))
    assert dodo.run_bench(quick=True) is False
    assert ran.read_text() == "failing --quick"


def test_no_install_line_names_pypis_other_tight():
    """`pip install tight` fetches an unrelated 2017 project: no doc may tell users to type it."""
    docs = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md"), *(ROOT / "templates").rglob("*")]
    bare = re.compile(r"pip install (-U |--upgrade )?tight(?![-_\w/.])")
    said = [
        f"{path.relative_to(ROOT)}: {line.strip()}"
        for path in docs
        if path.is_file()
        for line in path.read_text().splitlines()
        if bare.search(line)
    ]
    assert said == []
    assert bare.search("pip install tight") and not bare.search("pip install tight-lambda")
    wheel = f"tight_lambda-{tight.__version__}-py3-none-any.whl"
    assert f"pip install dist/{wheel}" in (ROOT / "README.md").read_text()
