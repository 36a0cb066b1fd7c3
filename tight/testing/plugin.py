"""pytest plugin for Tight apps: fixtures, event factories, and record/playback of calls.

Registered through the ``pytest11`` entry point, so every project with tight installed
has it; in a project without ``tight.yml`` it does nothing until one of its fixtures is
used. In an app, from the plugin's start (before any conftest.py is imported): ``env.yml``
and ``tight.yml`` are read (a bad one ends the run with one ``error:`` line), the app's
settings (name, stage, CORS, headers) apply to every test, only ``tests/`` is collected,
and the network is guarded for the whole session (``tight.testing.network``). By default
tests play back recordings; ``pytest --tight-record`` (or ``TIGHT_RECORD=1``) records
instead, through the one scrubbing policy of ``tight.testing.scrub``. Every test of the
app is recorded and played back, whatever fixtures it uses:

- AWS SDK calls, from any botocore client (``boto3_client.session()``, ``boto3.client``,
  ``boto3.resource``, a ``boto3.Session`` made anywhere, even at import time): placebo
  JSON under ``<test dir>/placebos/<test name>/`` (``tight.testing.aws``);
- HTTP calls made with requests, urllib3, ``urllib.request`` or ``http.client``: vcrpy
  cassettes under ``<test dir>/cassettes/`` (``tight.testing.http``).

While recording, a connection neither recorder captured fails its test (it could not be
played back); a recording run ends by listing the files it wrote.

Fixtures: ``app`` (the app's ``app_index``, fresh per test), ``event`` (an event factory),
``lambda_context``, ``boto3_session`` (alias ``dynamo_db_session``), ``http_recorder`` and
``expect_response``. Test-only dependencies (boto3, placebo, vcrpy, PyYAML) are imported only
when a test session of an app, or a fixture, needs them.
"""

import importlib
import os
import re
import shutil
import sys
import types
from collections.abc import Callable, Generator, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tight.testing.events import Events, LambdaContext, events

CONFIG_FILE = "tight.yml"
ENV_FILE = "env.yml"
RECORD_ENV = "TIGHT_RECORD"
TRUTHY = ("1", "true", "yes", "on")

PLAYBACK_ENV = "TIGHT_PLAYBACK"
# In playback nothing is signed or sent: fixed fake credentials keep botocore from looking
# for real ones (the instance metadata service is a network call).
PLAYBACK_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "playback",
    "AWS_SECRET_ACCESS_KEY": "playback",
    "AWS_EC2_METADATA_DISABLED": "true",
}

_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()
_RECORDING = pytest.StashKey["TestRecording"]()
_START_ERROR = pytest.StashKey[str]()
_SEEN_PROBLEMS = pytest.StashKey[int]()
_ANSWER_PROBLEMS = pytest.StashKey[list[str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tight", "Tight: record and play back AWS and HTTP calls")
    group.addoption(
        "--tight-record",
        action="store_true",
        default=False,
        help="record AWS SDK and HTTP calls against real services instead of playing back "
        "(also TIGHT_RECORD=1)",
    )
    group.addoption(
        "--tight-update-expectations",
        action="store_true",
        default=False,
        help="write or refresh expectations/<test name>.yml from the responses",
    )
    group.addoption(
        "--tight-app-root",
        default=None,
        help="the app folder that holds tight.yml (default: found from pytest's rootdir)",
    )
    parser.addini(
        "tight_allow_network",
        "host:port (or host:*) every test may reach in playback, one per line",
        type="linelist",
        default=[],
    )


def _option(config: pytest.Config, name: str) -> Any:
    """A command-line option, also before pytest has set them all (at the plugin's start)."""
    dest = name.lstrip("-").replace("-", "_")
    known = getattr(config, "known_args_namespace", None)  # parsed first, our options in it
    if known is not None and hasattr(known, dest):
        return getattr(known, dest)
    return getattr(config.option, dest, None)


def is_recording(config: pytest.Config) -> bool:
    """True when this run records instead of playing back."""
    return bool(_option(config, "--tight-record")) or (
        os.environ.get(RECORD_ENV, "").strip().lower() in TRUTHY
    )


def find_app_root(config: pytest.Config) -> Path | None:
    """The folder holding tight.yml: ``--tight-app-root``, else rootdir or a parent of it."""
    session = config.stash.get(_SESSION, None)
    if session is not None:
        return session.root
    option = _option(config, "--tight-app-root")
    if option:
        root = Path(option).resolve()
        if not (root / CONFIG_FILE).is_file():
            raise pytest.UsageError(f"--tight-app-root {root} holds no {CONFIG_FILE}")
        return root
    start = Path(config.rootpath).resolve()
    from tight.config import ConfigError
    from tight_tasks.config import find_app_root as find_upward  # shipped with the plugin

    try:  # the one rule, as `tight` finds an app: the nearest folder with tight.yml upward
        return find_upward(start)
    except ConfigError:
        return None


def recording_name(item: pytest.Item) -> str:
    """A file-system-safe name for the test: ``test_get[rest]`` -> ``test_get-rest``."""
    return re.sub(r"[^\w.-]+", "-", item.name).strip("-")


def _problems(item: pytest.Item) -> list[str]:
    found = item.stash.setdefault(_ANSWER_PROBLEMS, [])
    typed = sys.modules.get("tight.typed")
    if typed is not None and typed.answer_problems:  # answers unlike their annotations
        found.extend(typed.answer_problems)
        typed.answer_problems.clear()
    found = list(found)
    recording = item.stash.get(_RECORDING, None)
    if recording is not None:
        found.extend(recording.aws.problems)
        found.extend(recording.http.problems)
    session = item.config.stash.get(_SESSION, None)
    if session is not None and session.guard is not None:
        found.extend(session.guard.attempts)
    return list(dict.fromkeys(found))


def _passed(item: pytest.Item) -> bool:
    reports = item.stash.get(_REPORTS, {})
    return all(report.passed for report in reports.values()) and "call" in reports


# -- the session: config files, environment, network guard ---------------------------------
class TightRunError(Exception):
    """The test run cannot start; the message (one line) says why and what to do."""


class ConfigFileError(TightRunError):
    """A config file the test run cannot use: shown as ``error: <file>:<line>: <what>``."""

    def __init__(self, path: Path, line: int | None, problem: str) -> None:
        try:
            shown = os.path.relpath(path)
        except ValueError:
            shown = str(path)
        shown = str(path) if shown.startswith("..") else shown
        where = f"{shown}:{line}" if line else shown
        super().__init__(f"{where}: {problem}")


class TightSession:
    """What the plugin knows about the app for the whole run, found at its start."""

    def __init__(self, root: Path | None, recording: bool = False) -> None:
        self.root = root
        self.recording = recording
        self.policy: Any = None  # tight.testing.scrub.ScrubPolicy
        self.guard: Any = None  # tight.testing.network.NetworkGuard, in an app
        self.router: Any = None  # tight.testing.aws.AwsRouter, once installed
        self.settings: dict[str, Any] = {}  # tight.yml's share for the runtime
        self.saved_env: dict[str, str | None] = {}
        self.recording_line = ""
        self.written: list[Path] = []  # recordings this run wrote
        self.removed: list[Path] = []  # stale recordings it removed

    @property
    def mode(self) -> str:
        return "record" if self.recording else "playback"

    def set_env(self, values: Mapping[str, str | None]) -> None:
        """Set (a value) or unset (None) environment variables until ``restore_env``."""
        for key, value in values.items():
            self.saved_env.setdefault(key, os.environ.get(key))
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def aws_router(self) -> Any:
        """The session's ``AwsRouter``, installed on first use."""
        if self.router is None:
            from tight.testing.aws import AwsRouter

            self.router = AwsRouter()
            self.router.install()
        return self.router

    def apply_settings(self) -> None:
        """The app's settings for the runtime (``tight.config``), as the ``app`` fixture
        and a deployed function have them: a model's table is ``<name>-<stage>-<model>``."""
        if self.settings:
            from tight import config

            config.configure(**self.settings)

    def begin(self) -> None:
        """Apply the app's settings and start guarding and recording, for the whole run."""
        if self.root is None:
            return
        self.apply_settings()
        self.guard.start()
        self.aws_router()

    def end(self) -> None:
        if self.guard is not None:
            self.guard.stop()
        if self.router is not None:
            self.router.uninstall()
        if self.settings:
            from tight import config

            config.reset()
        self.restore_env()

    def restore_env(self) -> None:
        for key, old in self.saved_env.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
        self.saved_env = {}


_SESSION = pytest.StashKey[TightSession]()


def read_yaml(path: Path) -> tuple[Any, Any]:
    """A YAML file's data and node tree (``tight_tasks.config.read_yaml``);
    ``ConfigFileError`` naming the line when it is not valid YAML."""
    from tight_tasks.config import YamlFileError
    from tight_tasks.config import read_yaml as read

    try:
        return read(path)
    except YamlFileError as error:
        raise ConfigFileError(path, error.line, error.problem) from None


def line_of(node: Any, *keys: Any) -> int | None:
    """The line of ``keys`` in a YAML node tree (``tight_tasks.config.line_of``)."""
    from tight_tasks.config import line_of as find

    return find(node, *keys)


def read_env_file(path: Path) -> dict[str, str]:
    """``env.yml`` as environment variables; ``ConfigFileError`` when it is not a flat
    mapping of names to single values. Read by the toolkit's one env-file reader."""
    from tight_tasks.env import EnvFileError
    from tight_tasks.env import read_env_file as read

    try:
        values = read(path)
    except EnvFileError as error:
        raise ConfigFileError(path, error.line, error.problem) from None
    return {key: value for key, value in values.items() if value is not None}


def read_testing_config(root: Path) -> dict[str, Any]:
    """tight.yml checked for a test run, and its ``testing`` settings:
    ``{"scrub": {"keys": [...], "patterns": [...]}}``.

    The one place the plugin reads tight.yml. It is checked with the toolkit's schema
    (``tight_tasks.config``, installed with the plugin); a ``ConfigFileError`` names the
    line of the key at fault."""
    from tight_tasks.config import SettingError, validate

    path = root / CONFIG_FILE
    data, node = read_yaml(path)
    try:  # the schema every task checks tight.yml against
        data = validate(data)
    except SettingError as error:
        raise ConfigFileError(path, line_of(node, *error.path), error.problem) from None
    testing = data.get("testing") or {}
    if not isinstance(testing, dict) or set(testing) - {"scrub"}:
        raise ConfigFileError(
            path, line_of(node, "testing"), "testing must be a mapping with the key scrub"
        )
    scrub = testing.get("scrub") or {}
    rules: dict[str, list[str]] = {}
    for field in ("keys", "patterns"):
        values = scrub.get(field) or [] if isinstance(scrub, dict) else []
        values = values if isinstance(values, list) else [values]
        for index, value in enumerate(values):
            where = line_of(node, "testing", "scrub", field, index)
            if not isinstance(value, str) or not value:
                raise ConfigFileError(
                    path, where, f"testing.scrub.{field} must be a list of non-empty strings"
                )
            if field == "patterns":
                try:
                    empty = re.compile(value).search("") is not None
                except re.error as error:
                    raise ConfigFileError(
                        path, where, f"testing.scrub.patterns: {value!r} is not a regex: {error}"
                    ) from None
                if empty:  # it would put the marker between every two characters
                    raise ConfigFileError(
                        path,
                        where,
                        f"testing.scrub.patterns: {value!r} matches the empty string; "
                        "make it match at least one character (+ instead of *)",
                    )
        rules[field] = list(values)
    return {"scrub": rules}


def read_app_config(root: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """The app's ``testing`` settings and ``env.yml``, both checked: what a test run reads
    first, and what `doit test` checks before it starts pytest. ``ConfigFileError``."""
    testing = read_testing_config(root)
    env_path = root / ENV_FILE
    return testing, read_env_file(env_path) if env_path.is_file() else {}


def _start_session(config: pytest.Config) -> TightSession:
    """Read the app's config files, load env.yml, build the scrubbing policy and check
    where a recording would go. Raises ``TightRunError`` (or ``UsageError``)."""
    from tight.testing.network import NetworkGuard
    from tight.testing.scrub import ScrubPolicy

    root = find_app_root(config)
    session = TightSession(root, is_recording(config))
    if root is None:
        return session
    testing, env = read_app_config(root)
    session.settings = read_runtime_settings(root)
    session.policy = ScrubPolicy(**testing["scrub"]).secret_values_of(env)
    session.set_env(env)
    from tight.testing.deps import add_vendored

    add_vendored(root)
    try:
        session.set_env(_session_env(session))
        if session.recording:
            _prepare_recording(config, session)
    except BaseException:
        session.restore_env()
        raise
    session.guard = NetworkGuard(config.getini("tight_allow_network"), session.recording)
    return session


def read_runtime_settings(root: Path) -> dict[str, Any]:
    """tight.yml's share for the runtime (app name, stage, CORS, headers), the values
    ``doit vendor`` writes to tight.json; ``TightRunError`` when the runtime refuses them."""
    from tight.config import ConfigError
    from tight_tasks.config import load, runtime_config

    try:
        return runtime_config(load(root))
    except ConfigError as error:
        raise TightRunError(f"{CONFIG_FILE}: {error}") from None


def _session_env(session: TightSession) -> dict[str, str | None]:
    """The environment every test (and every process a test starts) runs in, beside env.yml:
    a region, the app's name for its models, and in playback ``TIGHT_PLAYBACK=1`` and
    placeholder credentials (a recording is made with the real ones)."""
    values: dict[str, str | None] = {"TIGHT_CHECK_ANSWERS": "1"}  # see tight.typed
    if not (os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")):
        values["AWS_DEFAULT_REGION"] = recording_region()
    name = session.settings.get("app_name")
    if name and not os.environ.get("TIGHT_APP"):
        values["TIGHT_APP"] = str(name)
    if session.recording:
        values[PLAYBACK_ENV] = None
    else:
        values[PLAYBACK_ENV] = "1"
        values.update(PLAYBACK_CREDENTIALS)
        values.update({"AWS_SESSION_TOKEN": None, "AWS_PROFILE": None})
    return values


CREDENTIAL_SOURCES = {
    "env": "environment variables",
    "shared-credentials-file": "the shared credentials file",
    "config-file": "the AWS config file",
    "iam-role": "the instance role",
    "container-role": "the container role",
    "assume-role": "an assumed role",
    "sso": "AWS SSO",
}


def recording_region() -> str:
    """The region AWS calls are recorded in (and played back as)."""
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def _prepare_recording(config: pytest.Config, session: TightSession) -> None:
    """Point a recording at the local DynamoDB when one runs, find credentials, and say
    in one line where the recording goes."""
    import boto3
    from botocore.exceptions import BotoCoreError

    local = _local_dynamo(config)
    if local and not os.environ.get("TIGHT_DYNAMO_ENDPOINT"):
        session.set_env({"TIGHT_DYNAMO_ENDPOINT": local})  # `doit dynamo_start` runs
    endpoints = []
    if os.environ.get("TIGHT_DYNAMO_ENDPOINT"):
        endpoints.append(f"DynamoDB at {os.environ['TIGHT_DYNAMO_ENDPOINT']}")
    if os.environ.get("AWS_ENDPOINT_URL"):
        endpoints.append(f"AWS_ENDPOINT_URL {os.environ['AWS_ENDPOINT_URL']}")
    else:
        endpoints.append("AWS" if not endpoints else "other services at AWS")
    region = recording_region()
    try:
        credentials = boto3.session.Session(region_name=region).get_credentials()
    except BotoCoreError as error:  # a profile that does not exist, a broken config file
        raise TightRunError(f"cannot record: {error}") from None
    if credentials is None and not (
        os.environ.get("TIGHT_DYNAMO_ENDPOINT") or os.environ.get("AWS_ENDPOINT_URL")
    ):
        raise TightRunError(
            "--tight-record: recording against AWS needs credentials and none were found: set "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE, or record against "
            "a local server (`doit dynamo_start`, or AWS_ENDPOINT_URL)"
        )
    if credentials is None:  # a local server accepts any credentials
        session.set_env({"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"})
        source = "none found, using placeholders (local endpoint)"
    else:
        source = CREDENTIAL_SOURCES.get(credentials.method, credentials.method)
        if os.environ.get("AWS_PROFILE") and credentials.method != "env":
            source += f" (profile {os.environ['AWS_PROFILE']})"
        frozen = credentials.get_frozen_credentials()
        session.policy = session.policy.with_values(
            v for v in (frozen.access_key, frozen.secret_key, frozen.token) if v
        )
    session.recording_line = (
        f"tight: recording against {', '.join(endpoints)}; region {region}; "
        f"credentials from {source}"
    )


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """The plugin's start, before any conftest.py is imported: read the app's config files,
    apply its settings and environment, and guard and record from here on."""
    config = early_config
    if _option(config, "help") or _option(config, "version") or _SESSION in config.stash:
        return
    try:
        session = _start_session(config)
    except (TightRunError, pytest.UsageError) as error:
        config.stash[_START_ERROR] = str(error)
        config.known_args_namespace.noconftest = True  # the run ends at pytest_cmdline_main
        return
    config.stash[_SESSION] = session
    session.begin()


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    """A bad env.yml or tight.yml ends the run here with one line."""
    if config.getoption("help", False) or config.getoption("version", False):
        return None
    error = config.stash.get(_START_ERROR, None)
    if error is None and _SESSION not in config.stash:
        try:  # a run whose initial conftests were not loaded
            config.stash[_SESSION] = session = _start_session(config)
            session.begin()
        except (TightRunError, pytest.UsageError) as failure:
            error = str(failure)
    if error is not None:
        sys.stderr.write(f"error: {error}\n")
        sys.stderr.flush()
        return int(pytest.ExitCode.USAGE_ERROR)
    return None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "tight_allow_network(*addresses): let this test reach the network itself, in "
        "playback and while recording (only host:port addresses, when given)",
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(_SESSION, None)
    if session is None:
        return
    session.end()
    del config.stash[_SESSION]


def pytest_sessionstart(session: pytest.Session) -> None:
    tight = session.config.stash.get(_SESSION, None)
    if tight is not None and tight.recording_line:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(tight.recording_line)
        else:
            sys.stderr.write(tight.recording_line + "\n")


def _outside_tests(config: pytest.Config, path: Path) -> bool:
    """True for a path of the app that is not under its ``tests/`` folder."""
    session = config.stash.get(_SESSION, None)
    if session is None or session.root is None:
        return False
    try:
        relative = Path(path).resolve().relative_to(session.root)
    except ValueError:
        return False
    return bool(relative.parts) and relative.parts[0] != "tests"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """In an app, only ``tests/`` is collected: never app/vendored, .tight or build."""
    return True if _outside_tests(config, collection_path) else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests named on the command line outside ``tests/`` (pytest collects named paths
    whatever ``pytest_ignore_collect`` says) are deselected, so they never run."""
    outside = [item for item in items if _outside_tests(config, item.path)]
    if outside:
        config.hook.pytest_deselected(items=outside)
        items[:] = [item for item in items if item not in outside]


def _policy(config: pytest.Config) -> Any:
    from tight.testing.scrub import ScrubPolicy

    session = config.stash.get(_SESSION, None)
    return session.policy if session is not None and session.policy is not None else ScrubPolicy()


# -- one test's recordings -----------------------------------------------------------------
class TestRecording:
    """One test's AWS and HTTP recordings, from its setup to the end of its teardown."""

    __test__ = False  # not a test class, whatever pytest's python_classes say

    def __init__(self, item: pytest.Item, session: TightSession) -> None:
        from tight.testing.aws import AwsRecorder
        from tight.testing.http import HttpRecorder

        self.session = session
        name = recording_name(item)
        base = Path(item.path).parent
        self.placebos = base / "placebos" / name
        folder = self.placebos
        if session.recording:  # written aside, put in place only if the test passes
            folder = folder.with_name(f".{name}.recording-{os.getpid()}")
            shutil.rmtree(folder, ignore_errors=True)
        guard = session.guard
        passthrough = guard.permits if guard is not None else None
        policy = _policy(item.config).with_values(
            value
            for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
            if (value := os.environ.get(key)) and value not in PLAYBACK_CREDENTIALS.values()
        )
        self.aws = AwsRecorder(None, folder, session.mode, name, policy, passthrough)
        cassette = base / "cassettes" / f"{name}.yaml"
        self.http = HttpRecorder(cassette, session.mode, self.aws.policy, passthrough)

    def start(self) -> None:
        self.session.aws_router().recorder = self.aws
        self.http.start()

    def finish(self, passed: bool) -> None:
        """Stop recording; a passing recording replaces the old one, which a passing test
        that made no such calls any more removes (it would be stale)."""
        router = self.session.router
        if router is not None and router.recorder is self.aws:
            router.recorder = None
        self.aws.finish()
        self.http.finish(failed=not passed)
        if not self.session.recording:
            return
        from tight.testing.aws import replace_folder

        if passed and self.aws.calls:
            replace_folder(self.aws.folder, self.placebos)
            self.session.written.extend(self.placebos / p.name for p in self.aws.written)
        else:
            shutil.rmtree(self.aws.folder, ignore_errors=True)
            if passed and self.placebos.exists():
                shutil.rmtree(self.placebos)
                self.session.removed.append(self.placebos)
        self.session.written.extend(self.http.written)
        self.session.removed.extend(self.http.removed)
        for folder in (self.placebos.parent, self.http.path.parent):
            try:
                folder.rmdir()  # only when empty: no empty placebos/ or cassettes/ is left
            except OSError:
                pass


def _recording(item: pytest.Item) -> TestRecording:
    """The test's recordings, started on first use (for every test of an app, before its
    setup; outside an app, when a fixture asks)."""
    recording = item.stash.get(_RECORDING, None)
    if recording is None:
        session = item.config.stash.get(_SESSION, None)
        if session is None:  # the plugin did not start (pytest run without its entry point)
            session = item.config.stash[_SESSION] = TightSession(None, is_recording(item.config))
        recording = item.stash[_RECORDING] = TestRecording(item, session)
        recording.start()
    return recording


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    """Record or play back every test of an app, and open the network guard for a test
    marked ``tight_allow_network``, for it alone."""
    session = item.config.stash.get(_SESSION, None)
    if session is None:
        return (yield)
    guard = session.guard
    if guard is not None:
        marker = item.get_closest_marker("tight_allow_network")
        guard.begin_test(marker is not None and not marker.args, marker.args if marker else ())
    try:
        if session.root is not None:
            _recording(item)
        return (yield)
    finally:
        recording = item.stash.get(_RECORDING, None)
        try:
            if recording is not None:
                recording.finish(_passed(item))
        finally:
            if guard is not None:
                guard.end_test()


def _fail_on_problems(item: pytest.Item, error: BaseException | None) -> None:
    """Fail the test with the recorders' or the guard's messages not reported yet.

    The code under test usually swallows the exception (a handler answers 500), so the
    test is failed here, where the message reaches the person reading the output."""
    problems = _problems(item)
    seen = item.stash.get(_SEEN_PROBLEMS, 0)
    item.stash[_SEEN_PROBLEMS] = len(problems)
    if len(problems) > seen:
        message = "\n".join(problems[seen:])
        if error is not None:
            raise pytest.fail.Exception(message, pytrace=False) from error
        pytest.fail(message, pytrace=False)


def _problems_checked(item: pytest.Item) -> Generator[None, Any, Any]:
    """The body of a hook wrapper that fails ``item`` on its recorders' or guard's problems,
    whether the wrapped step raised or not."""
    try:
        result = yield
    except BaseException as error:
        _fail_on_problems(item, error)
        raise
    _fail_on_problems(item, None)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    """Fail a test whose recordings could not answer, or that made a call that cannot be
    recorded or played back, with the recorders' or the guard's own message."""
    return (yield from _problems_checked(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    """The same for what a fixture's teardown did."""
    return (yield from _problems_checked(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    if report.failed and call.excinfo is not None and call.excinfo.errisinstance(ImportError):
        _stop_if_not_vendored(item.config, str(call.excinfo.value))
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """A test module that cannot import a locked package nobody vendored: one line."""
    report = yield
    if report.failed:
        _stop_if_not_vendored(collector.config, str(report.longrepr))
    return report


def _stop_if_not_vendored(config: pytest.Config, text: str) -> None:
    from tight.testing.deps import not_vendored

    root = find_app_root(config)
    advice = not_vendored(root, text) if root is not None else None
    if advice is not None:
        pytest.exit(advice, returncode=pytest.ExitCode.USAGE_ERROR)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """A recording run ends by saying which files it wrote, and which stale ones it removed."""
    session = config.stash.get(_SESSION, None)
    if session is None or not session.recording:
        return

    def shown(path: Path) -> str:
        try:
            return str(path.relative_to(session.root or config.rootpath))
        except ValueError:
            return str(path)

    written = sorted(dict.fromkeys(shown(p) for p in session.written))
    removed = sorted(dict.fromkeys(shown(p) for p in session.removed))
    if not written and not removed:
        terminalreporter.write_line("tight: recorded nothing: no test made an AWS or HTTP call")
        return
    if written:
        terminalreporter.write_line(f"tight: wrote {len(written)} recording file(s):")
        for path in written:
            terminalreporter.write_line(f"  {path}")
    if removed:
        terminalreporter.write_line(
            f"tight: removed {len(removed)} stale recording(s) of tests that no longer make "
            "those calls:"
        )
        for path in removed:
            terminalreporter.write_line(f"  {path}")


# -- fixtures ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def tight_app_root(pytestconfig: pytest.Config) -> Path:
    """The app's root folder (the one holding tight.yml)."""
    root = find_app_root(pytestconfig)
    if root is None:
        pytest.fail(
            f"no {CONFIG_FILE} in {pytestconfig.rootpath} or above it; run pytest from the "
            "app's root or pass --tight-app-root",
            pytrace=False,
        )
    return root


@pytest.fixture
def tight_mode(pytestconfig: pytest.Config) -> str:
    """'record' or 'playback' for this run."""
    return "record" if is_recording(pytestconfig) else "playback"


@pytest.fixture
def event() -> Events:
    """``event(method, path, body=None, headers=None, query=None, path_params=None,
    principal_id=None, kind="rest")``: an event as API Gateway REST ('rest'), HTTP API
    ('http'), an ALB ('alb') or a function URL ('url') would send it; ``event.sqs(bodies)``,
    ``event.sns(messages)``, ``event.s3(bucket, keys)``, ``event.kinesis(data)``,
    ``event.dynamodb_stream(items)``, ``event.eventbridge(source, detail_type, detail)`` and
    ``event.schedule()`` build the other sources' events (tight.testing.events)."""
    return events


@pytest.fixture
def lambda_context(request: pytest.FixtureRequest) -> LambdaContext:
    """A Lambda context: aws_request_id, function_name, get_remaining_time_in_millis(), ..."""
    return LambdaContext(function_name=recording_name(request.node)[:64])


@pytest.fixture
def boto3_session(request: pytest.FixtureRequest, tight_mode: str) -> Iterator[Any]:
    """A fresh session that ``boto3_client.session()`` returns during the test; its calls,
    like every AWS call of the test, are recorded or played back."""
    import boto3

    from tight.providers.aws.clients import boto3_client

    _recording(request.node)
    region = recording_region()
    if tight_mode == "playback":
        session = boto3.session.Session(
            aws_access_key_id="playback",
            aws_secret_access_key="playback",
            region_name=region,
        )
    else:
        # Where to record (a running local DynamoDB, credentials) was settled at the start.
        session = boto3.session.Session(region_name=region)
    boto3_client.set_session(session)
    try:
        yield session
    finally:
        boto3_client.reset()


def _local_dynamo(config: pytest.Config) -> str | None:
    """The endpoint of the local DynamoDB `doit dynamo_start` runs for this app, if any."""
    root = find_app_root(config)
    if root is None:
        return None
    try:
        from tight_tasks.dynamo import alive, read_state
    except ImportError:
        return None
    state = read_state(root)
    if state is None or not alive(int(state["pid"])):
        return None
    return str(state["endpoint"])


@pytest.fixture
def dynamo_db_session(boto3_session: Any) -> Any:
    """The original name of ``boto3_session``."""
    return boto3_session


@pytest.fixture
def http_recorder(request: pytest.FixtureRequest) -> Any:
    """This test's vcrpy cassette (in playback, an HTTP call it does not hold fails); every
    test of an app has one, this fixture only names it."""
    return _recording(request.node).http


def _forget_app_modules() -> None:
    from tight.providers.aws.controllers import lambda_proxy_event

    for name in list(sys.modules):
        if name in ("app_index", "app") or name.startswith("app."):
            del sys.modules[name]
    for name in list(lambda_proxy_event._controllers):
        if name.startswith("app."):
            del lambda_proxy_event._controllers[name]
    authorizers = sys.modules.get("tight.providers.aws.controllers.authorizer")
    for name in list(getattr(authorizers, "_controllers", ())):
        if name.startswith("app."):
            del authorizers._controllers[name]  # type: ignore[union-attr]


def load_app_index(root: Path) -> types.ModuleType:
    """Import the app's ``app_index`` afresh, as Lambda would, with tight.yml applied."""
    import tight
    from tight import config

    _forget_app_modules()
    config.reset()
    if not (root / "app" / "vendored" / "tight" / "__init__.py").is_file():
        # Not vendored yet: the installed tight serves as app.vendored.tight.
        if not (root / "app" / "vendored").is_dir():
            package = types.ModuleType("app.vendored")
            package.__path__ = []
            sys.modules["app.vendored"] = package
        sys.modules["app.vendored.tight"] = tight
        tight.alias_runtime("app.vendored.tight")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        from tight_tasks.config import load, runtime_config
    except ImportError:  # the runtime alone: tight.yml is applied when the app is vendored
        pass
    else:
        config.configure(**runtime_config(load(root)))
    return importlib.import_module("app_index")


@pytest.fixture
def app(
    request: pytest.FixtureRequest, tight_app_root: Path, boto3_session: Any, http_recorder: Any
) -> Iterator[types.ModuleType]:
    """The app's ``app_index`` module, loaded fresh for this test; call
    ``app.<function>(event, lambda_context)`` as Lambda does."""
    from tight import config

    added = str(tight_app_root) not in sys.path
    module = load_app_index(tight_app_root)
    try:
        yield module
    finally:
        _forget_app_modules()
        config.reset()
        session = request.config.stash.get(_SESSION, None)
        if session is not None:
            session.apply_settings()  # for the tests after this one
        if added:
            while str(tight_app_root) in sys.path:
                sys.path.remove(str(tight_app_root))


@pytest.fixture
def expect_response(
    request: pytest.FixtureRequest, pytestconfig: pytest.Config
) -> Callable[[Any], None]:
    """``expect_response(response)``: compare with ``expectations/<test name>.yml`` (status,
    the headers the file names, JSON body); ``--tight-update-expectations`` writes it."""
    from tight.testing.expectations import Expectations

    path = request.path.parent / "expectations" / f"{recording_name(request.node)}.yml"
    expectations = Expectations(
        path,
        update=bool(pytestconfig.getoption("--tight-update-expectations")),
        policy=_policy(pytestconfig),
    )
    return expectations.check
