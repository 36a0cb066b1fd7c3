"""The runtime benchmark's apps answer the same thing in every framework, or ratios mean nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "runtime"
sys.path.insert(0, str(BENCH))

from apps import FRAMEWORKS, LAMBDA_PRELUDE, build  # noqa: E402


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("size", [1, 50])
def test_each_framework_answers_alike(framework, size, tmp_path):
    folder, entry = build(framework, size, tmp_path)
    child = LAMBDA_PRELUDE + (BENCH / "child.py").read_text()  # as run.py runs it
    answers = {}
    for mode, method in (("invoke", "GET"), ("invoke", "POST"), ("cold", "GET")):
        result = subprocess.run(
            [sys.executable, "-I", "-S", "-B", "-c", child, mode, str(folder), entry, method, "10"],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        answer = json.loads(result.stdout.splitlines()[-1])
        assert answer["status"] == 200
        assert answer["seconds"] > 0
        answers[mode, method] = json.loads(answer["body"])
    assert answers["invoke", "GET"] == {"id": "42"} == answers["cold", "GET"]
    assert answers["invoke", "POST"] == {
        "name": "teapot",
        "size": 3,
        "tags": ["kitchen", "tea"],
        "price": 12.5,
    }


@pytest.mark.slow
def test_the_serve_benchmark_runs_both_servers_and_leaves_no_process(tmp_path):
    """A --quick run of bench/serve/run.py: Tight and chalice local answer alike (the bench
    checks every answer), every figure is there, and both servers are stopped."""
    script = BENCH.parent / "serve" / "run.py"
    result = subprocess.run(
        [sys.executable, str(script), "--quick", "--results", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    saved = json.loads((tmp_path / "serve.json").read_text())
    for method in ("GET", "POST"):
        for mode in ("close", "keep-alive"):
            assert saved["ratios"]["warm_p50"][f"{method}/{mode}"] > 0
            assert saved["ratios"]["overhead"][f"{method}/{mode}"]["ratio"] > 0
    assert saved["edit_ms"]["median"]["tight"] > 0 < saved["edit_ms"]["median"]["chalice"]
    assert "targets:" in result.stdout
