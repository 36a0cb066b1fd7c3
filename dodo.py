"""Tight's own tasks: `doit test`, `doit bench`, `doit demo`, `doit lock` (run in .venv)."""

import subprocess
import sys

DOIT_CONFIG = {"default_tasks": ["test"], "verbosity": 2}
PY = sys.executable
CODE = ["tight", "tight_tasks"]


def task_test():
    """Lint (ruff check, ruff format --check), type-check (mypy) and run the test suite."""
    return {
        "actions": [
            [PY, "-m", "ruff", "check", "."],
            [PY, "-m", "ruff", "format", "--check", "."],
            [PY, "-m", "mypy", *CODE],
            [PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2"],
        ],
        "uptodate": [False],
    }


BENCHES = (
    "bench/runtime/run.py",
    "bench/runtime/batch.py",
    "bench/runtime/typed.py",
    "bench/toolkit/run.py",
    "bench/toolkit/template.py",
    "bench/build/run.py",
    "bench/dynamo/run.py",
    "bench/idempotency/run.py",
    "bench/serve/run.py",
    "bench/serve/queues.py",
)


def run_bench(quick):
    """Every benchmark runs, even after one fails; the task fails if any did."""
    flags = ["--quick"] if quick else []
    codes = [subprocess.run([PY, script, *flags], check=False).returncode for script in BENCHES]
    return all(code == 0 for code in codes)


def task_bench():
    """Benchmark the runtime, the toolkit, the build and doit serve against peers; print ratios."""
    return {
        "actions": [(run_bench,)],
        "params": [
            {
                "name": "quick",
                "long": "quick",
                "type": bool,
                "default": False,
                "help": "one round and fewer repetitions: a smoke run, not figures to quote",
            }
        ],
        "uptodate": [False],
    }


def task_demo():
    """Build a sample app, invoke each function with events of each kind, print the answers;
    the apps are kept in build/demo-app and build/demo-notes-app."""
    return {
        "actions": [[PY, "demo/run.py"]],
        "uptodate": [False],
    }


def task_lock():
    """Re-lock requirements.txt from requirements.in with hashes (pip-compile)."""
    return {
        "actions": [
            [
                PY,
                "-m",
                "piptools",
                "compile",
                "--quiet",
                "--generate-hashes",
                "--allow-unsafe",
                "--strip-extras",
                "--no-emit-index-url",
                "--no-emit-find-links",
                "--output-file",
                "requirements.txt",
                "requirements.in",
            ]
        ],
        "file_dep": ["requirements.in"],
        "targets": ["requirements.txt"],
    }
