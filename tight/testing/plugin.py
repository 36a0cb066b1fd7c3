"""pytest plugin for Tight apps: fixtures, event factories, and record/playback of calls.

Registered through the ``pytest11`` entry point, so every project with tight installed
has it; in a project without ``tight.yml`` it does nothing until one of its fixtures is
used. In an app, from the plugin's start: ``env.yml`` and ``tight.yml`` are read (a bad
one ends the run with one ``error:`` line), only ``tests/`` is collected, and the network
is refused for the whole session (``tight.testing.network``). By default tests play back
recordings; ``pytest --tight-record`` (or ``TIGHT_RECORD=1``) records instead, through the
one scrubbing policy of ``tight.testing.scrub``:

- AWS SDK calls made through ``tight.providers.aws.clients.boto3_client.session()``:
  placebo JSON under ``<test dir>/placebos/<test name>/``;
- HTTP calls made with requests/urllib3: vcrpy cassettes under ``<test dir>/cassettes/``.

Fixtures: ``app`` (the app's ``app_index``, fresh per test), ``event`` (an event factory),
``lambda_context``, ``boto3_session`` (alias ``dynamo_db_session``), ``http_recorder`` and
``expect_response``. Test-only dependencies (boto3, placebo, vcrpy, PyYAML) are imported only when a
fixture needs them.
"""

import importlib
import os
import re
import shutil
import sys
import types
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tight.testing.events import Events, LambdaContext, events

CONFIG_FILE = "tight.yml"
ENV_FILE = "env.yml"
RECORD_ENV = "TIGHT_RECORD"
TRUTHY = ("1", "true", "yes", "on")

_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()
_RECORDERS = pytest.StashKey[list[Any]]()


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


def is_recording(config: pytest.Config) -> bool:
    """True when this run records instead of playing back."""
    return bool(config.getoption("--tight-record")) or (
        os.environ.get(RECORD_ENV, "").strip().lower() in TRUTHY
    )


def find_app_root(config: pytest.Config) -> Path | None:
    """The folder holding tight.yml: ``--tight-app-root``, else rootdir or a parent of it."""
    session = config.stash.get(_SESSION, None)
    if session is not None:
        return session.root
    option = config.getoption("--tight-app-root")
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


def _register(item: pytest.Item, recorder: Any) -> None:
    item.stash.setdefault(_RECORDERS, []).append(recorder)


def _problems(item: pytest.Item) -> list[str]:
    found: list[str] = []
    for recorder in item.stash.get(_RECORDERS, []):
        found.extend(getattr(recorder, "problems", []))
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

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self.policy: Any = None  # tight.testing.scrub.ScrubPolicy
        self.guard: Any = None  # tight.testing.network.NetworkGuard, in playback
        self.saved_env: dict[str, str | None] = {}
        self.recording_line = ""

    def set_env(self, values: dict[str, str]) -> None:
        for key, value in values.items():
            self.saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value

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
    from tight.testing.scrub import ScrubPolicy

    root = find_app_root(config)
    session = TightSession(root)
    if root is None:
        return session
    testing, env = read_app_config(root)
    session.policy = ScrubPolicy(**testing["scrub"]).secret_values_of(env)
    session.set_env(env)
    from tight.testing.deps import add_vendored

    add_vendored(root)
    if is_recording(config):
        try:
            _prepare_recording(config, session)
        except BaseException:
            session.restore_env()
            raise
    else:
        from tight.testing.network import NetworkGuard

        session.guard = NetworkGuard(config.getini("tight_allow_network"))
    return session


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
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    """The plugin's start: a bad env.yml or tight.yml ends the run here with one line."""
    if config.getoption("help", False) or config.getoption("version", False):
        return None
    try:
        session = _start_session(config)
    except (TightRunError, pytest.UsageError) as error:
        sys.stderr.write(f"error: {error}\n")
        sys.stderr.flush()
        return int(pytest.ExitCode.USAGE_ERROR)
    config.stash[_SESSION] = session
    return None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "tight_allow_network(*addresses): let this test reach the network in playback "
        "(only host:port addresses, when given)",
    )
    session = config.stash.get(_SESSION, None)
    if session is not None and session.guard is not None:
        session.guard.start()


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(_SESSION, None)
    if session is None:
        return
    if session.guard is not None:
        session.guard.stop()
    session.restore_env()
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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    """Open the network guard for a test marked ``tight_allow_network``, for it alone."""
    session = item.config.stash.get(_SESSION, None)
    guard = session.guard if session is not None else None
    if guard is None:
        return (yield)
    marker = item.get_closest_marker("tight_allow_network")
    guard.attempts = []
    guard.allow_all = marker is not None and not marker.args
    guard.test_allowed = frozenset(str(a).lower() for a in marker.args) if marker else frozenset()
    try:
        return (yield)
    finally:
        guard.allow_all = False
        guard.test_allowed = frozenset()
        guard.attempts = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """Fail a test whose recordings could not answer, or that tried to reach the network,
    with the recorders' or the guard's own message.

    The code under test usually swallows the exception (a handler answers 500), so the
    test is failed here, where the message reaches the person reading the output.
    """
    try:
        result = yield
    except BaseException as error:
        problems = _problems(item)
        if problems:
            raise pytest.fail.Exception("\n".join(problems), pytrace=False) from error
        raise
    problems = _problems(item)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)
    return result


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


def _policy(config: pytest.Config) -> Any:
    from tight.testing.scrub import ScrubPolicy

    session = config.stash.get(_SESSION, None)
    return session.policy if session is not None and session.policy is not None else ScrubPolicy()


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
    """The session ``boto3_client.session()`` returns during the test, placebo attached."""
    import boto3

    from tight.providers.aws.clients import boto3_client
    from tight.testing.aws import AwsRecorder, replace_folder

    name = recording_name(request.node)
    folder = request.path.parent / "placebos" / name
    region = recording_region()
    policy = _policy(request.config)
    if tight_mode == "playback":
        # Fixed fake credentials: nothing is signed or sent, and botocore never goes
        # looking for credentials (the instance metadata service is a network call).
        session = boto3.session.Session(
            aws_access_key_id="playback",
            aws_secret_access_key="playback",
            region_name=region,
        )
        recorder = AwsRecorder(session, folder, "playback", name, policy)
    else:
        # Where to record (a running local DynamoDB, credentials) was settled at the start.
        session = boto3.session.Session(region_name=region)
        writing = folder.with_name(f".{name}.recording-{os.getpid()}")
        shutil.rmtree(writing, ignore_errors=True)
        recorder = AwsRecorder(session, writing, "record", name, policy)
    _register(request.node, recorder)
    boto3_client.set_session(session)
    try:
        yield session
    finally:
        recorder.finish()
        boto3_client.reset()
        if tight_mode == "record":
            if _passed(request.node) and recorder.calls:
                replace_folder(recorder.folder, folder)
            else:
                shutil.rmtree(recorder.folder, ignore_errors=True)
                if _passed(request.node):  # no AWS calls now: an old recording is stale
                    shutil.rmtree(folder, ignore_errors=True)


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
def http_recorder(request: pytest.FixtureRequest, tight_mode: str) -> Iterator[Any]:
    """This test's vcrpy cassette (in playback, an HTTP call it does not hold fails)."""
    from tight.testing.http import HttpRecorder

    cassette = request.path.parent / "cassettes" / f"{recording_name(request.node)}.yaml"
    policy = _policy(request.config).with_values(
        value
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
        if (value := os.environ.get(key))
    )
    recorder = HttpRecorder(cassette, tight_mode, policy)
    _register(request.node, recorder)
    recorder.start()
    try:
        yield recorder
    finally:
        recorder.finish(failed=not _passed(request.node))


def _forget_app_modules() -> None:
    from tight.providers.aws.controllers import lambda_proxy_event

    for name in list(sys.modules):
        if name in ("app_index", "app") or name.startswith("app."):
            del sys.modules[name]
    for name in list(lambda_proxy_event._controllers):
        if name.startswith("app."):
            del lambda_proxy_event._controllers[name]


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
def app(tight_app_root: Path, boto3_session: Any, http_recorder: Any) -> Iterator[types.ModuleType]:
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
