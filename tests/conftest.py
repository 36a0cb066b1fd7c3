"""Shared fixtures: write a small Tight app to a temporary folder and load it as Lambda does."""

from __future__ import annotations

import importlib
import shutil
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

# pytester's in-process runs put sys.modules back as they found it; PyYAML's C extension
# cannot be loaded twice, so a yaml first imported inside such a run (the toolkit imports
# it only when it parses) would come back as new classes beside the old extension. The same
# for what the plugin imports when an in-process run is an app's (it records or plays back
# every test): classes imported twice are no longer each other's (requests' cookie jar
# stops being a CookieJar).
import botocore.session  # noqa: F401
import pytest
import requests  # noqa: F401
import vcr  # noqa: F401
import yaml  # noqa: F401

import tight
from tight import config
from tight.core import logger
from tight.providers.aws.controllers import lambda_proxy_event

sys.path.insert(0, str(Path(__file__).parent))

pytest_plugins = ["pytester"]


def pytest_configure(config: pytest.Config) -> None:
    """Compile tight and tight_tasks to bytecode before any test starts a process.

    The project is installed editable, so its bytecode is written only by the imports
    themselves, and not at all where PYTHONDONTWRITEBYTECODE is set (as on the machines the
    suite runs on): each of the ~900 doit and tight commands the tests run would compile the
    toolkit from source again, 0.18 s of the 0.31 s a `doit list` takes. Python reads a .pyc
    that is there either way and checks it against its source; __pycache__ is git-ignored.
    """
    import compileall

    import tight_tasks

    for package in (tight, tight_tasks):
        compileall.compile_dir(Path(package.__file__).parent, quiet=1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests marked ``slow``, the suite's handful of longest, run first.

    pytest-xdist hands its workers tests in the order collected, and a worker never takes
    over tests another has queued: a 25 s test collected near the end (test_tutorial is)
    kept one worker busy while the other had nothing left. Run first, the long tests overlap
    with the rest. Mark only the few longest: they all go to the first worker's first batch
    (an eighth of the suite), and must stay well under half of the whole run.
    """
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # a stable sort


APP_INDEX = """\
from app.vendored.tight.providers.aws.lambda_app import app as app
app.run()
"""


def _forget_app_modules() -> None:
    for name in list(sys.modules):
        if name == "app_index" or name == "app" or name.startswith("app."):
            del sys.modules[name]
    for name in list(lambda_proxy_event._controllers):
        if name.startswith("app."):
            del lambda_proxy_event._controllers[name]
    authorizers = sys.modules.get("tight.providers.aws.controllers.authorizer")
    for name in list(getattr(authorizers, "_controllers", ())):
        if name.startswith("app."):
            del authorizers._controllers[name]


def write_app(root: Path, functions: dict[str, str], tight_yml: str | None = None) -> Path:
    """Write ``app_index.py``, one handler per function and a vendored copy of tight."""
    for name, source in functions.items():
        folder = root / "app" / "functions" / name
        folder.mkdir(parents=True)
        (folder / "handler.py").write_text(textwrap.dedent(source))
    (root / "app_index.py").write_text(APP_INDEX)
    shutil.copytree(
        Path(tight.__file__).parent,
        root / "app" / "vendored" / "tight",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    if tight_yml is not None:
        (root / "tight.yml").write_text(textwrap.dedent(tight_yml))
    return root


@pytest.fixture
def load_app(tmp_path: Path) -> Iterator[Callable[..., ModuleType]]:
    """``load_app({"name": source}, tight_yml=None)`` -> a freshly imported ``app_index``."""
    added: list[str] = []

    def load(functions: dict[str, str], tight_yml: str | None = None) -> ModuleType:
        root = write_app(tmp_path / "my_app", functions, tight_yml)
        if tight_yml is not None:
            from tight_tasks.config import write_runtime_config

            write_runtime_config(root)
        _forget_app_modules()
        config.reset()
        sys.path.insert(0, str(root))
        added.append(str(root))
        return importlib.import_module("app_index")

    yield load
    _forget_app_modules()
    config.reset()
    logger.set_invocation(None)
    for path in added:
        while path in sys.path:
            sys.path.remove(path)
        vendored = str(Path(path) / "app" / "vendored")
        while vendored in sys.path:
            sys.path.remove(vendored)


# What RecordedApp.keep leaves out: pytester's runs and captures, and bytecode.
NOT_KEPT = shutil.ignore_patterns("runpytest-*", "stdout", "stderr", "__pycache__")


class RecordedApp:
    """An app that a module's first test recorded against real servers on 127.0.0.1, kept
    for the module's other tests: each copies it into its own folder instead of recording
    the same app again (seconds each: the servers, and pytest run in a subprocess)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.made: Any = None  # what the recording run left for the tests to check

    def keep(self, root: Path, made: Any) -> None:
        """Keep the recorded app at ``root`` (not pytester's own runs), and ``made``."""
        shutil.copytree(root, self.folder, ignore=NOT_KEPT)
        self.made = made

    def copy_to(self, root: Path) -> None:
        shutil.copytree(self.folder, root, dirs_exist_ok=True)


@pytest.fixture(scope="module")
def recorded_once(tmp_path_factory: pytest.TempPathFactory) -> RecordedApp:
    """One per module (and xdist worker): see RecordedApp."""
    return RecordedApp(tmp_path_factory.mktemp("recorded") / "app")


@pytest.fixture(autouse=True)
def _clean_config() -> Iterator[None]:
    config.reset()
    yield
    config.reset()
