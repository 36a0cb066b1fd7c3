"""pytest plugin for Tight apps: fixtures, event factories, and record/playback of calls.

Registered through the ``pytest11`` entry point, so every project with tight installed
has it; in a project without ``tight.yml`` it does nothing until one of its fixtures is
used. By default tests play back recordings and make no network calls; ``pytest
--tight-record`` (or ``TIGHT_RECORD=1``) records instead:

- AWS SDK calls made through ``tight.providers.aws.clients.boto3_client.session()``:
  placebo JSON under ``<test dir>/placebos/<test name>/``;
- HTTP calls made with requests/urllib3: vcrpy cassettes under ``<test dir>/cassettes/``.

Fixtures: ``app`` (the app's ``app_index``, fresh per test), ``event`` (an event factory),
``lambda_context``, ``boto3_session`` (alias ``dynamo_db_session``), ``http_recorder`` and
``expect_response``. ``env.yml`` at the app root is loaded into the environment for the
session. Test-only dependencies (boto3, placebo, vcrpy, PyYAML) are imported only when a
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


def is_recording(config: pytest.Config) -> bool:
    """True when this run records instead of playing back."""
    return bool(config.getoption("--tight-record")) or (
        os.environ.get(RECORD_ENV, "").strip().lower() in TRUTHY
    )


def find_app_root(config: pytest.Config) -> Path | None:
    """The folder holding tight.yml: ``--tight-app-root``, else rootdir or a parent of it."""
    option = config.getoption("--tight-app-root")
    if option:
        root = Path(option).resolve()
        if not (root / CONFIG_FILE).is_file():
            raise pytest.UsageError(f"--tight-app-root {root} holds no {CONFIG_FILE}")
        return root
    start = Path(config.rootpath).resolve()
    for candidate in (start, *start.parents):
        if (candidate / CONFIG_FILE).is_file():
            return candidate
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
    return found


def _passed(item: pytest.Item) -> bool:
    reports = item.stash.get(_REPORTS, {})
    return all(report.passed for report in reports.values()) and "call" in reports


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """Fail a test whose recordings could not answer, with the recorders' own message.

    The code under test usually swallows the recorder's exception (a handler answers 500),
    so the test is failed here, where the message reaches the person reading the output.
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
    return report


# -- environment ---------------------------------------------------------------------------
def read_env_file(path: Path) -> dict[str, str]:
    """``env.yml`` as environment variables; a clear error when it is not a flat mapping."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise pytest.UsageError(f"{path} must be a mapping of variable names to values")
    env: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, (dict, list)):
            raise pytest.UsageError(
                f"{path}: {key} must be a single value, not a {type(value).__name__}"
            )
        if value is not None:
            env[str(key)] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


@pytest.fixture(scope="session", autouse=True)
def _tight_env_file(pytestconfig: pytest.Config) -> Iterator[None]:
    """Loads the app's env.yml for the session and restores the environment after."""
    root = find_app_root(pytestconfig)
    if root is None or not (root / ENV_FILE).is_file():
        yield
        return
    values = read_env_file(root / ENV_FILE)
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


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
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    if tight_mode == "playback":
        # Fixed fake credentials: nothing is signed or sent, and botocore never goes
        # looking for credentials (the instance metadata service is a network call).
        session = boto3.session.Session(
            aws_access_key_id="playback",
            aws_secret_access_key="playback",
            region_name=region,
        )
        recorder = AwsRecorder(session, folder, "playback", name)
    else:
        local = _local_dynamo(request.config)
        if local and not os.environ.get("TIGHT_DYNAMO_ENDPOINT"):
            # `doit dynamo_start` is running: record against it, with any credentials.
            patch = pytest.MonkeyPatch()
            request.addfinalizer(patch.undo)
            patch.setenv("TIGHT_DYNAMO_ENDPOINT", local)
            for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
                if not os.environ.get(key):
                    patch.setenv(key, "local")
        session = boto3.session.Session(region_name=region)
        writing = folder.with_name(f".{name}.recording-{os.getpid()}")
        shutil.rmtree(writing, ignore_errors=True)
        recorder = AwsRecorder(session, writing, "record", name)
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
    """This test's vcrpy cassette; in playback, network connections are refused."""
    from tight.testing.http import HttpRecorder
    from tight.testing.network import NetworkGuard

    cassette = request.path.parent / "cassettes" / f"{recording_name(request.node)}.yaml"
    secrets = tuple(
        value
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
        if (value := os.environ.get(key))
    )
    recorder = HttpRecorder(cassette, tight_mode, secrets)
    guard = NetworkGuard()
    _register(request.node, recorder)
    recorder.start()
    if tight_mode == "playback":
        guard.start()
    try:
        yield recorder
    finally:
        guard.stop()
        recorder.finish(failed=not _passed(request.node))
        if guard.attempts:
            recorder.problems.extend(
                f"network connection to {address} refused in playback" for address in guard.attempts
            )


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
        path, update=bool(pytestconfig.getoption("--tight-update-expectations"))
    )
    return expectations.check
