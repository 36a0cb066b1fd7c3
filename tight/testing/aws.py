"""Records and replays AWS SDK calls with placebo, strictly and without credentials.

``AwsRecorder(session, folder, mode)`` attaches a placebo ``Pill`` to a boto3 session. In
record mode every response is scrubbed and written as ``<service>.<Operation>_<n>.json``
(placebo's own file format) beside ``calls.json``, the order the calls were made in. In
playback mode no request leaves the process: each call is answered from the recording, and
a call that is missing or out of order fails with a message naming the call and how to
record it, instead of placebo's habit of cycling through whatever responses it has.
"""

import json
import os
import shutil
from pathlib import Path
from typing import Any

from tight.testing.scrub import ScrubPolicy

MANIFEST = "calls.json"
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
    """One test's AWS recording: a folder of placebo responses plus the call order."""

    def __init__(
        self,
        session: Any,
        folder: Path,
        mode: str,
        test_name: str = "",
        policy: ScrubPolicy | None = None,
    ) -> None:
        import placebo

        if mode not in ("record", "playback"):
            raise ValueError("mode is 'record' or 'playback'")
        self.session = session
        self.folder = Path(folder)
        self.mode = mode
        self.test_name = test_name
        self.calls: list[str] = []  # "dynamodb.GetItem", in the order made
        self.problems: list[str] = []
        # The recording's own credentials are masked wherever they appear.
        policy = policy or ScrubPolicy()
        self.policy = policy.with_values(self._session_secrets()) if mode == "record" else policy
        self._pill = placebo.pill.Pill()
        self._pill.attach(session, str(self.folder))
        # Replace placebo's two hooks with strict, scrubbing ones.
        self._pill._record_data = self._record_data
        self._pill._mock_request = self._mock_request
        self._shown = ""
        self._recorded: list[dict[str, str]] = []
        if mode == "playback":
            self._recorded = self._read_manifest()
            self._pill.playback()
        else:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._pill.record()
        # in both modes, so that a request the code sends with such a secret is scrubbed
        # alike at recording and at playback, and still matches its recording
        self._learning(True)

    LEARN = "provide-client-params"

    def _learning(self, on: bool) -> None:
        """Learn the secrets the code sends (a SecretString it stores, an SSM SecureString
        Value, a KMS Plaintext) so that they are masked wherever they appear later: in an
        HTTP recording, an expectation file, another AWS response."""
        targets = [self.session.events, *(c.meta.events for c in self._pill.clients)]
        for events in targets:
            if on:
                events.register(self.LEARN, self._learn_params, "tight-learn-secrets")
            else:
                events.unregister(self.LEARN, unique_id="tight-learn-secrets")

    def _learn_params(self, params: Any = None, **kwargs: Any) -> None:
        if isinstance(params, dict):
            self.policy.data(params)  # masks a copy, learning each secret it masks

    def _session_secrets(self) -> tuple[str, ...]:
        credentials = self.session.get_credentials()
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

    # -- record ------------------------------------------------------------------------
    def _record_data(self, http_response: Any, parsed: Any, model: Any, **kwargs: Any) -> None:
        # placebo's after-call hook, keeping the readable name ("DynamoDB.GetItem") as well.
        self._shown = self.describe(model.service_model.service_id, model.name)
        self._save_response(
            model.service_model.endpoint_prefix, model.name, parsed, http_response.status_code
        )

    def _save_response(
        self, service: str, operation: str, response_data: Any, http_response: int = 200
    ) -> None:
        base = f"{service}.{operation}"
        index = sum(1 for call in self.calls if call == base) + 1
        file_name = f"{base}_{index}.json"
        self.calls.append(base)
        data = {"status_code": http_response, "data": response_data}
        text = json.dumps(data, indent=2, sort_keys=True, default=_json_default)
        clean = self.policy.data(json.loads(text))  # scrubbed before it is written
        (self.folder / file_name).write_text(json.dumps(clean, indent=2, sort_keys=True) + "\n")
        self._recorded.append({"operation": base, "call": self._shown, "file": file_name})

    def finish(self) -> None:
        """Write the call order (record mode) and detach from the session."""
        self._pill.stop()
        self._learning(False)
        if self.mode == "record":
            manifest = self.policy.data({"test": self.test_name, "calls": self._recorded})
            (self.folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")

    # -- playback ----------------------------------------------------------------------
    def _mock_request(self, **kwargs: Any) -> Any:
        from placebo.pill import FakeHttpResponse
        from placebo.serializer import deserialize

        model = kwargs["model"]
        base = f"{model.service_model.endpoint_prefix}.{model.name}"
        shown = self.describe(model.service_model.service_id, model.name)
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


def replace_folder(source: Path, target: Path) -> None:
    """Put a finished recording in place of the old one, never leaving half of either."""
    target.parent.mkdir(parents=True, exist_ok=True)
    retired = target.with_name(f".{target.name}.old-{os.getpid()}")
    if target.exists():
        os.replace(target, retired)
    os.replace(source, target)
    shutil.rmtree(retired, ignore_errors=True)
