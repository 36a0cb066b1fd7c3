"""Tight's own tasks: `doit test`, `doit bench`, `doit demo` (the Makefile runs them in .venv)."""

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
            [PY, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        ],
        "uptodate": [False],
    }


def task_bench():
    """Benchmark the runtime against a raw handler, Powertools and Chalice; print ratios."""
    return {
        "actions": [[PY, "bench/runtime/run.py"]],
        "uptodate": [False],
    }


def task_demo():
    """Build a sample app, invoke each function with events of each kind, print the answers."""
    return {
        "actions": [[PY, "-m", "tight_tasks.demo"]],
        "uptodate": [False],
    }
