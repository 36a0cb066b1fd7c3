"""Records and replays HTTP calls, through vcrpy cassettes.

vcrpy stands in for the connections of ``http.client`` (and so ``urllib.request``),
urllib3, requests and botocore while a cassette is in use. One cassette per test. Record
mode records every request afresh (AWS SDK calls excepted: those are the AWS recorder's);
playback answers from the cassette and refuses anything not in it, naming the request and
how to record it. Requests to addresses the test reaches for real (``passthrough``: its
``tight_allow_network`` addresses) are neither recorded nor answered. Secrets are scrubbed
from requests and responses before vcrpy writes them.
"""

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tight.testing.scrub import ScrubPolicy, header_value

RECORD_HINT = "re-record it with `pytest --tight-record` (or TIGHT_RECORD=1)"


def _is_aws_sdk(request: Any) -> bool:
    agent = request.headers.get("User-Agent") or request.headers.get("user-agent") or ""
    if isinstance(agent, bytes):
        agent = agent.decode("latin-1")
    return "Botocore/" in agent or "Boto3/" in agent


BOUNDARY = "tight-recorded-boundary"


def _fixed_boundary(request: Any, body: Any) -> Any:
    """A multipart body with its random boundary replaced by a fixed one, in the body and
    the Content-Type, so the same upload made again matches its recording."""
    import re

    content_type = header_value(request.headers, "content-type")
    found = re.search(r"boundary=\"?([^\";,\s]+)", content_type)
    if not found or found.group(1) == BOUNDARY or not isinstance(body, (str, bytes)):
        return body
    boundary = found.group(1)
    for name in list(request.headers):
        if name.lower() == "content-type":
            request.headers[name] = content_type.replace(boundary, BOUNDARY)
    if isinstance(body, bytes):
        return body.replace(b"--" + boundary.encode("latin-1"), b"--" + BOUNDARY.encode())
    return body.replace("--" + boundary, "--" + BOUNDARY)


class HttpRecorder:
    """A vcrpy cassette for one test, entered by ``start()`` and saved by ``finish()``."""

    def __init__(
        self,
        cassette: Path,
        mode: str,
        policy: ScrubPolicy | None = None,
        passthrough: Callable[[str, int], bool] | None = None,
    ) -> None:
        import vcr

        if mode not in ("record", "playback"):
            raise ValueError("mode is 'record' or 'playback'")
        self.path = Path(cassette)
        # A re-recording goes to a new file that replaces the cassette only if the test
        # passes, so a failed run leaves the old recording as it was.
        self._writing = (
            self.path.with_name(f".{self.path.name}.recording-{os.getpid()}")
            if mode == "record"
            else self.path
        )
        self.mode = mode
        self.policy = policy or ScrubPolicy()
        self.passthrough = passthrough
        self.problems: list[str] = []
        self.written: list[Path] = []
        self.removed: list[Path] = []
        self.requests_seen = 0
        self._vcr = vcr.VCR(
            record_mode="all" if mode == "record" else "none",
            match_on=("method", "scheme", "host", "port", "path", "query", "body"),
            before_record_request=self._before_record_request,
            before_record_response=self._before_record_response,
            decode_compressed_response=True,
            record_on_exception=False,
        )
        self._context: Any = None
        self.cassette: Any = None

    # vcrpy applies this to a copy of each request, both before recording it and before
    # looking it up at playback: the same scrubbing on both sides keeps requests matching.
    def _before_record_request(self, request: Any) -> Any:
        if self.mode == "record" and _is_aws_sdk(request):
            return None  # recorded by the AWS recorder, as placebo responses
        if self.passthrough is not None and self.passthrough(request.host, request.port):
            return None  # the test reaches this address itself, in both modes
        policy = self.policy
        request.uri = policy.url(request.uri)
        request.headers = policy.headers(dict(request.headers))
        raw = getattr(request, "body_bytes", request.body)  # bytes even for a file upload
        if isinstance(raw, (str, bytes)) and raw:
            body = policy.body(raw, header_value(request.headers, "content-type"))
            body = _fixed_boundary(request, body)
            if body is not raw:
                request.body = body
                length = len(body if isinstance(body, bytes) else body.encode())
                for name in list(request.headers):
                    if name.lower() == "content-length":  # the body's length changed
                        request.headers[name] = str(length)
        return request

    def _before_record_response(self, response: dict[str, Any]) -> dict[str, Any]:
        policy = self.policy
        headers = response.get("headers", {})
        body = response.get("body", {}).get("string")
        clean = policy.body(body, header_value(headers, "content-type"))
        if clean is not body:
            response["body"]["string"] = clean
            length = len(clean if isinstance(clean, bytes) else clean.encode())
            for name in list(headers):
                if name.lower() == "content-length":  # the body's length changed
                    headers[name] = [str(length)]
        response["headers"] = policy.headers(headers)
        return response

    def start(self) -> None:
        # vcrpy makes the cassette's folder when it writes one: none for a test without calls.
        self._context = self._vcr.use_cassette(str(self._writing))
        self.cassette = self._context.__enter__()
        if self.mode == "playback":
            original = self.cassette.can_play_response_for

            def can_play(request: Any) -> bool:
                self.requests_seen += 1
                if original(request):
                    return True
                if self.cassette.write_protected and self.cassette.filter_request(request):
                    self.problems.append(
                        f"no recording for HTTP {request.method} {request.uri} "
                        f"(HTTP request {self.requests_seen}) in {self.path}; {RECORD_HINT}"
                    )
                return False

            self.cassette.can_play_response_for = can_play

    def finish(self, failed: bool = False) -> None:
        """Leave the cassette; in record mode it is written only when the test passed."""
        if self._context is None:
            return
        exc = (RuntimeError, RuntimeError("test failed"), None) if failed else (None, None, None)
        self._context.__exit__(*exc)
        self._context = None
        if self.mode != "record":
            return
        if failed:
            self._writing.unlink(missing_ok=True)
        elif self._writing.exists():
            os.replace(self._writing, self.path)
            self.written.append(self.path)
        elif self.path.exists():  # the test made no HTTP calls this time: it would be stale
            self.path.unlink()
            self.removed.append(self.path)
