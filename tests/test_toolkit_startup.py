"""What a doit command with nothing to do loads: every command imports every task module and
creates every task, so none of them may import PyYAML, boto3, the SAM translator, the
runtime's models or ctypes before they are needed (bench/toolkit measures the time)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from wheelhouse import build_wheelhouse

BIN = Path(sys.executable).parent
# Loaded by none of doit's own modules; each is a few milliseconds or more to import.
NEVER_ON_A_NO_OP = (
    "yaml", "boto3", "botocore", "samtranslator", "cfnlint", "jinja2", "tight.models",
    "ctypes", "difflib", "platform", "shlex", "secrets",
)  # fmt: skip

DOIT = """
import json, runpy, sys
sys.argv = ["doit", *sys.argv[2:]]
try:
    runpy.run_module("doit", run_name="__main__")
except SystemExit as done:
    code = done.code
with open(OUT, "w") as out:
    json.dump({"code": code, "modules": sorted(sys.modules)}, out)
"""


def doit(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(BIN / "doit"), *args], cwd=root, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def loaded_by(root: Path, env: dict[str, str], *args: str) -> set[str]:
    """The modules a ``doit <args>`` process has loaded when it exits (it must succeed)."""
    out = root.parent / "modules.json"
    probe = DOIT.replace("OUT", repr(str(out)))
    done = subprocess.run(
        [sys.executable, "-c", probe, "-", *args], cwd=root, env=env, capture_output=True,
        text=True,
    )  # fmt: skip
    report = json.loads(out.read_text())
    assert report["code"] in (0, None), done.stdout + done.stderr
    return set(report["modules"])


@pytest.fixture
def app(tmp_path):
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"), PIP_CONFIG_FILE=os.devnull)
    wheels = build_wheelhouse(tmp_path / "wheelhouse")
    subprocess.run([str(BIN / "tight"), "generate_app", "name=shop"], cwd=tmp_path, env=env,
                   check=True, capture_output=True)  # fmt: skip
    root = tmp_path / "shop"
    doit(root, env, "generate_function", "name=items")
    doit(root, env, "generate_model", "name=item")
    (root / "requirements.in").write_text("purepkg\n")
    with (root / "tight.yml").open("a") as settings:
        settings.write(f"no_index: true\nfind_links: {wheels}\n")
    return root, env


def test_no_op_commands_load_nothing_they_do_not_need(app):
    root, env = app
    doit(root, env, "artifact")
    doit(root, env, "template")
    for command in (["list"], ["artifact"], ["template"]):
        loaded = loaded_by(root, env, *command)
        assert "tight_tasks.artifact" in loaded  # the probe did run doit with the app's tasks
        assert sorted(loaded.intersection(NEVER_ON_A_NO_OP)) == [], command
    # The same commands with work to do still find what they need.
    handler = root / "app/functions/items/handler.py"
    handler.write_text(handler.read_text() + "\n# edited\n")
    assert "yaml" in loaded_by(root, env, "template")  # it wrote the template again
    rebuilt = doit(root, env, "artifact")
    assert "imported 1 function(s) from shop.zip" in rebuilt.stdout


def test_a_tight_yml_edit_is_read_again(app):
    root, env = app
    doit(root, env, "list")
    with (root / "tight.yml").open("a") as settings:
        settings.write("runtme: python3.12\n")
    broken = subprocess.run(
        [str(BIN / "doit"), "artifact"], cwd=root, env=env, capture_output=True, text=True
    )
    assert broken.returncode != 0
    assert "unknown key runtme; did you mean runtime?" in broken.stderr
