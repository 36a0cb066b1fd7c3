"""Records and replays AWS SDK calls, strictly and without credentials, through botocore's
event hooks; the files are placebo's.

``AwsRecorder(session, folder, mode)`` is one test's recording: in record mode every
response is scrubbed and written as ``<service>.<Operation>_<n>.json`` (placebo's own file
format) beside ``calls.json``, the order the calls were made in. Each call there also names
what ``doit permissions`` checks against the function's role: the app function whose code
made it (``app/functions/<name>/`` on the call's stack; none for a test's own setup), the
client's region, and the request's parameters that name resources (``request_names``).

In playback mode no request leaves the process: each call is answered from the recording,
and a call that is missing or out of order fails with a message naming the call and how to
record it, instead of placebo's habit of cycling through whatever responses it has.

A recorder hears the calls of the clients of the ``session`` it is given; with
``session=None`` it hears them through ``AwsRouter``, which the test plugin installs for a
whole test session: every botocore client created while it is installed (by
``boto3.client``, ``boto3.resource``, any ``boto3.Session``, at import time or in a test)
sends its calls to the recorder of the test running at the time of the call.
"""

import functools
import json
import os
import re
import shutil
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tight.testing.scrub import ScrubPolicy

MANIFEST = "calls.json"
# Request parameters that name the resource a call acts on (the role must allow it there).
NAMING_PARAMS = frozenset(
    ("Bucket", "Key", "QueueUrl", "SecretId", "KeyId", "Name", "Names", "Path", "CopySource")
)
NAMING_SUFFIXES = ("Name", "Arn", "ARN")
TRANSACT_KINDS = ("Put", "Update", "Delete", "ConditionCheck", "Get")
_FUNCTION_FILE = re.compile(r"[/\\]app[/\\]functions[/\\]([^/\\]+)[/\\]")


def request_names(params: Any) -> dict[str, Any]:
    """The parameters of a request that name resources: tables, indexes, queues, buckets
    and keys, topics, streams, ARNs; for DynamoDB's batches and transactions, the tables
    of their items (``RequestItems``: names; ``TransactItems``: ``[kind, table]`` pairs)."""
    if not isinstance(params, dict):
        return {}
    names: dict[str, Any] = {}
    for key, value in params.items():
        if key == "RequestItems" and isinstance(value, dict):
            names[key] = sorted(str(table) for table in value)
        elif key == "TransactItems" and isinstance(value, list):
            names[key] = [
                [kind, item[kind].get("TableName")]
                for item in value
                if isinstance(item, dict)
                for kind in TRANSACT_KINDS
                if isinstance(item.get(kind), dict)
            ]
        elif key == "Entries" and isinstance(value, list):
            buses = {e.get("EventBusName") for e in value if isinstance(e, dict)}
            if buses - {None}:
                names["EventBusNames"] = sorted(str(bus) for bus in buses if bus)
        elif key in NAMING_PARAMS or key.endswith(NAMING_SUFFIXES):
            if isinstance(value, str) or (
                isinstance(value, list) and all(isinstance(v, str) for v in value)
            ):
                names[key] = value
            elif key == "CopySource" and isinstance(value, dict):
                names[key] = f"{value.get('Bucket')}/{value.get('Key')}"
    return names


def recording_stage() -> str:
    """The stage the app's resource names carry while recording, as a model names its table
    (``<app>-<stage>-<model>``): ``doit permissions`` maps them to the stage it checks."""
    try:
        from tight import config

        stage = config.settings().stage
    except Exception:  # noqa: BLE001 - a bad setting fails the tests elsewhere, not here
        stage = None
    return stage or os.environ.get("TIGHT_STAGE") or "dev"


def calling_function() -> str | None:
    """The app function whose code is on the stack (the outermost ``app/functions/<name>/``
    frame), or None: a call a test or a fixture makes itself."""
    found = None
    frame = sys._getframe(1)
    while frame is not None:
        match = _FUNCTION_FILE.search(frame.f_code.co_filename)
        if match:
            found = match.group(1)
        frame = frame.f_back  # type: ignore[assignment]
    return found


RECORD_HINT = "re-record it with `pytest --tight-record` (or TIGHT_RECORD=1)"


class RecordingProblem(Exception):
    """A call the recording cannot answer: missing, or not the call recorded at that place."""


def _json_default(value: Any) -> Any:
    """placebo's JSON encoding (datetimes and streams as tagged dicts), without the debug
    prints of its own serializer; bytes are tagged too, so playback gives bytes back."""
    import base64
    import datetime

    from botocore.response import StreamingBody

    if isinstance(value, datetime.datetime):
        fields = ("year", "month", "day", "hour", "minute", "second", "microsecond")
        return {"__class__": "datetime", **{f: getattr(value, f) for f in fields}}
    if isinstance(value, StreamingBody):
        import io

        body = value.read()
        value._raw_stream = io.BytesIO(body)  # let the code under test still read it
        value._amount_read = 0
        checksum = getattr(value, "_checksum", None)
        if checksum is not None:  # a checksummed body (S3) checks the second read afresh
            value._checksum = type(checksum)()
        return {"__class__": "StreamingBody", "body": base64.b64encode(body).decode()}
    if isinstance(value, (bytes, bytearray)):
        return {"__class__": "bytes", "body": base64.b64encode(value).decode()}
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _object_hook(deserialize: Any) -> Any:
    """placebo's ``deserialize``, and the bytes ``_json_default`` tags."""
    import base64

    def hook(value: dict[str, Any]) -> Any:
        if value.get("__class__") == "bytes" and isinstance(value.get("body"), str):
            return base64.b64decode(value["body"])
        return deserialize(value)

    return hook


class AwsRecorder:
    """One test's AWS recording: a folder of placebo responses plus the call order.

    ``passthrough(host, port)``, when given, names endpoints the test reaches for real
    (its ``tight_allow_network`` addresses): those calls are neither answered nor recorded.
    """

    def __init__(
        self,
        session: Any,
        folder: Path,
        mode: str,
        test_name: str = "",
        policy: ScrubPolicy | None = None,
        passthrough: Callable[[str, int], bool] | None = None,
    ) -> None:
        if mode not in ("record", "playback"):
            raise ValueError("mode is 'record' or 'playback'")
        self.session = session
        self.folder = Path(folder)
        self.mode = mode
        self.test_name = test_name
        self.passthrough = passthrough
        self.calls: list[str] = []  # "dynamodb.GetItem", in the order made
        self.problems: list[str] = []
        self.written: list[Path] = []
        self._lock = threading.Lock()
        # The recording's own credentials are masked wherever they appear.
        policy = policy or ScrubPolicy()
        self.policy = policy.with_values(self._session_secrets()) if mode == "record" else policy
        self._recorded: list[dict[str, str]] = []
        if mode == "playback":
            self._recorded = self._read_manifest()
        if session is not None:
            attach(session.events, lambda: self)

    def _session_secrets(self) -> tuple[str, ...]:
        credentials = self.session.get_credentials() if self.session is not None else None
        if credentials is None:
            return ()
        frozen = credentials.get_frozen_credentials()
        return tuple(v for v in (frozen.access_key, frozen.secret_key, frozen.token) if v)

    def _read_manifest(self) -> list[dict[str, str]]:
        try:
            data = json.loads((self.folder / MANIFEST).read_text())
        except FileNotFoundError:
            return []
        return list(data.get("calls", []))

    @staticmethod
    def describe(service_id: str, operation: str) -> str:
        return f"{service_id}.{operation}"

    # -- botocore's hooks ----------------------------------------------------------------
    def _passes_through(self, params: Any) -> bool:
        if self.passthrough is None or not isinstance(params, dict) or not params.get("url"):
            return False
        from urllib.parse import urlsplit

        url = urlsplit(params["url"])
        port = url.port or (443 if url.scheme == "https" else 80)
        return bool(url.hostname) and self.passthrough(url.hostname or "", port)

    def before_call(self, model: Any, params: Any, context: Any) -> Any:
        """Playback's answer, or None to let the call go on (recording, or a passthrough)."""
        if self._passes_through(params):
            if isinstance(context, dict):
                context["tight_passthrough"] = True
            return None
        if self.mode == "playback":
            return self._answer(model)
        return None

    def after_call(self, http_response: Any, parsed: Any, model: Any, context: Any) -> None:
        passed_through = isinstance(context, dict) and context.get("tight_passthrough")
        if self.mode == "record" and not passed_through:
            shown = self.describe(model.service_model.service_id, model.name)
            request = context.get("tight_request") if isinstance(context, dict) else None
            self._save_response(
                model.service_model.endpoint_prefix,
                model.name,
                parsed,
                http_response.status_code,
                shown,
                request,
            )

    def learn_params(self, params: Any, context: Any = None) -> None:
        """Learn the secrets the code sends (a SecretString it stores, an SSM SecureString
        Value, a KMS Plaintext) so that they are masked wherever they appear later: in an
        HTTP recording, an expectation file, another AWS response. In both modes, so that
        a request the code sends with such a secret is scrubbed alike at recording and at
        playback, and still matches its recording."""
        if isinstance(params, dict):
            self.policy.data(params)  # masks a copy, learning each secret it masks
        if self.mode == "record" and isinstance(context, dict):
            request: dict[str, Any] = {}
            function = calling_function()
            if function:
                request["function"] = function
            if context.get("client_region"):
                request["region"] = context["client_region"]
            names = request_names(params)
            if names:
                request["params"] = self.policy.data(names)
            context["tight_request"] = request

    # -- record ------------------------------------------------------------------------
    def _save_response(
        self,
        service: str,
        operation: str,
        response_data: Any,
        http_response: int = 200,
        shown: str = "",
        request: dict[str, Any] | None = None,
    ) -> None:
        base = f"{service}.{operation}"
        data = {"status_code": http_response, "data": response_data}
        text = json.dumps(data, indent=2, sort_keys=True, default=_json_default)
        clean = self.policy.data(json.loads(text))  # scrubbed before it is written
        with self._lock:
            index = sum(1 for call in self.calls if call == base) + 1
            file_name = f"{base}_{index}.json"
            self.calls.append(base)
            self.folder.mkdir(parents=True, exist_ok=True)  # only once there is a call
            path = self.folder / file_name
            path.write_text(json.dumps(clean, indent=2, sort_keys=True) + "\n")
            self.written.append(path)
            entry = {"operation": base, "call": shown or base, "file": file_name}
            self._recorded.append({**entry, **(request or {})})

    def finish(self) -> None:
        """Write the call order (record mode, when there were calls) and stop listening."""
        if self.session is not None:
            detach(self.session.events)
        if self.mode == "record" and self.calls:
            manifest = {"test": self.test_name, "stage": recording_stage(), "calls": self._recorded}
            manifest = self.policy.data(manifest)
            (self.folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
            self.written.append(self.folder / MANIFEST)

    # -- playback ----------------------------------------------------------------------
    def _answer(self, model: Any) -> Any:
        from placebo.pill import FakeHttpResponse
        from placebo.serializer import deserialize

        base = f"{model.service_model.endpoint_prefix}.{model.name}"
        shown = self.describe(model.service_model.service_id, model.name)
        with self._lock:
            position = len(self.calls) + 1
            self.calls.append(base)
        if not self._recorded:
            problem = (
                f"no recording for {shown}, call {position}: {self.folder} has none; "
                f"record it with `pytest --tight-record -k {self.test_name or '<test>'}`"
            )
        elif position > len(self._recorded):
            problem = (
                f"no recording for {shown}, call {position}: the recording has only "
                f"{len(self._recorded)} call(s); {RECORD_HINT}"
            )
        elif self._recorded[position - 1]["operation"] != base:
            recorded = self._recorded[position - 1]
            problem = (
                f"stale recording: call {position} is {shown}, but the recording has "
                f"{recorded.get('call') or recorded['operation']} there ({self.folder}); "
                f"the code's AWS calls changed since it was recorded: {RECORD_HINT}"
            )
        else:
            path = self.folder / self._recorded[position - 1]["file"]
            with open(path) as handle:
                data = json.load(handle, object_hook=_object_hook(deserialize))
            return FakeHttpResponse(data["status_code"]), data["data"]
        self.problems.append(problem)
        raise RecordingProblem(problem)


HOOKS = "tight-aws-recorder"


def attach(events: Any, recorder: Callable[[], "AwsRecorder | None"]) -> None:
    """Send the calls of the clients ``events`` belongs to (a client's, or a session's:
    its clients made from now on) to ``recorder()``, the recorder of the moment."""

    def before_call(model: Any, params: Any = None, context: Any = None, **kwargs: Any) -> Any:
        current = recorder()
        return current.before_call(model, params, context) if current is not None else None

    def after_call(
        http_response: Any, parsed: Any, model: Any, context: Any = None, **kwargs: Any
    ) -> None:
        current = recorder()
        if current is not None:
            current.after_call(http_response, parsed, model, context)

    def learn(params: Any = None, context: Any = None, **kwargs: Any) -> None:
        current = recorder()
        if current is not None:
            current.learn_params(params, context)

    # First, and as specific as any: a response is recorded as it came off the wire,
    # before boto3's own handlers (a DynamoDB resource's deserializer) change it in place,
    # and played back in that same form for them.
    events.register_first("before-call.*.*", before_call, unique_id=f"{HOOKS}-before")
    events.register_first("after-call.*.*", after_call, unique_id=f"{HOOKS}-after")
    events.register_first("provide-client-params.*.*", learn, unique_id=f"{HOOKS}-learn")


def detach(events: Any) -> None:
    events.unregister("before-call.*.*", unique_id=f"{HOOKS}-before")
    events.unregister("after-call.*.*", unique_id=f"{HOOKS}-after")
    events.unregister("provide-client-params.*.*", unique_id=f"{HOOKS}-learn")


# Clients botocore makes for itself, to find credentials (an assumed role's STS, SSO):
# their calls depend on the machine, not on the code under test, and playback needs none.
CREDENTIAL_MODULES = ("botocore.credentials", "botocore.tokens", "botocore.utils")


class AwsRouter:
    """For a whole test session: every botocore client created while installed sends its
    calls to ``recorder``, the running test's ``AwsRecorder``.

    Between tests (importing, collecting) there is none, and a call fails naming itself:
    nothing records it and playback could not answer it."""

    def __init__(self) -> None:
        self.recorder: AwsRecorder | None = None
        self.installed = False
        self._original: Any = None

    def current(self) -> "AwsRecorder | None":
        if not self.installed:
            return None  # a client that outlived the session: left alone
        if self.recorder is None:
            raise RecordingProblem(
                "an AWS call made outside any test (while importing or collecting) is "
                "neither recorded nor played back: make it inside a test or a fixture"
            )
        return self.recorder

    def install(self) -> None:
        """Patch ``botocore.session.Session.create_client`` (every boto3 and botocore
        client is made there) to attach this router to each new client."""
        if self.installed:
            return
        import botocore.session

        original = botocore.session.Session.create_client
        router = self

        @functools.wraps(original)
        def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = original(session, *args, **kwargs)
            made_by = sys._getframe(1).f_globals.get("__name__", "")
            if router.installed and made_by not in CREDENTIAL_MODULES:
                attach(client.meta.events, router.current)
            return client

        self._original = original
        botocore.session.Session.create_client = create_client
        self.installed = True

    def uninstall(self) -> None:
        if not self.installed:
            return
        import botocore.session

        botocore.session.Session.create_client = self._original
        self.installed = False
        self.recorder = None


def replace_folder(source: Path, target: Path) -> None:
    """Put a finished recording in place of the old one, never leaving half of either."""
    target.parent.mkdir(parents=True, exist_ok=True)
    retired = target.with_name(f".{target.name}.old-{os.getpid()}")
    if target.exists():
        os.replace(target, retired)
    os.replace(source, target)
    shutil.rmtree(retired, ignore_errors=True)
