"""Expectation files: a response's status, named headers and JSON body, kept as YAML.

``Expectations(path, update).check(response)`` compares a Lambda HTTP response with
``path``: the status, each header the file names (case-insensitively) and the body (JSON
decoded when it is JSON). With ``update`` the file is written instead, atomically. A
mismatch raises ``ExpectationMismatch`` whose message is a unified diff of the two. The
response is scrubbed by the recordings' policy before it is written or compared, so a file
never holds a secret and a scrubbed file still matches the response it came from.
"""

import difflib
import json
import os
from pathlib import Path
from typing import Any

from tight.testing.scrub import MARKER, ScrubPolicy

UPDATE_HINT = "write it with `pytest --tight-update-expectations`"


class ExpectationMismatch(AssertionError):
    """The response differs from the expectation file; the message shows how."""


def summarize(response: dict[str, Any]) -> dict[str, Any]:
    """The parts of a Lambda HTTP response an expectation holds."""
    if not isinstance(response, dict) or "statusCode" not in response:
        raise TypeError(f"expected a Lambda HTTP response dict with statusCode, got {response!r}")
    headers: dict[str, Any] = {}
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers[name] = values[0] if len(values) == 1 else list(values)
    headers.update(response.get("headers") or {})
    if response.get("cookies"):
        headers["Set-Cookie"] = list(response["cookies"])
    raw = response.get("body")
    body: Any
    if response.get("isBase64Encoded"):
        body = {"base64": raw}
    elif isinstance(raw, str) and raw:
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw
    else:
        body = raw or None
    return {"status": response["statusCode"], "headers": headers, "body": body}


def masked_like(expected: Any, actual: Any) -> Any:
    """``actual`` with the strings that the expectation holds masked taken as masked.

    A recording run masks what it learnt was secret (a value read from Secrets Manager),
    which playback, seeing only the marker, cannot know: where the file has the marker,
    any string matches it."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        return {k: masked_like(expected[k], v) if k in expected else v for k, v in actual.items()}
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        return [masked_like(e, a) for e, a in zip(expected, actual, strict=True)]
    if isinstance(expected, str) and isinstance(actual, str) and MARKER in expected:
        import re

        parts = (re.escape(part) for part in expected.split(MARKER))
        if re.fullmatch("(?s)" + ".+?".join(parts), actual):
            return expected
    return actual


def _dump(data: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)


class Expectations:
    """One expectation file and whether this run writes it or checks against it."""

    def __init__(self, path: Path, update: bool = False, policy: ScrubPolicy | None = None) -> None:
        self.path = Path(path)
        self.update = update
        self.policy = policy or ScrubPolicy()
        self.written: list[Path] = []

    def check(self, response: dict[str, Any]) -> None:
        summary = summarize(response)
        body = summary["body"]
        if isinstance(body, dict) and set(body) == {"base64"}:
            body = {"base64": self._binary_body(body["base64"], summary["headers"])}
        else:
            body = self.policy.data(body)
        actual = {
            "status": summary["status"],
            "headers": self.policy.headers(summary["headers"]),
            "body": body,
        }
        if self.update:
            self._write(actual)
            return
        import yaml

        try:
            expected = yaml.safe_load(self.path.read_text(encoding="utf-8")) or {}
        except FileNotFoundError:
            raise ExpectationMismatch(f"no expectation file {self.path}; {UPDATE_HINT}") from None
        named = {str(name).lower(): name for name in (expected.get("headers") or {})}
        got_headers = {
            named[name.lower()]: value
            for name, value in actual["headers"].items()
            if name.lower() in named
        }
        wanted = {
            "status": expected.get("status"),
            "headers": expected.get("headers") or {},
            "body": expected.get("body"),
        }
        projected = masked_like(
            wanted, {"status": actual["status"], "headers": got_headers, "body": actual["body"]}
        )
        if projected != wanted:
            diff = "".join(
                difflib.unified_diff(
                    _dump(wanted).splitlines(keepends=True),
                    _dump(projected).splitlines(keepends=True),
                    fromfile=f"{self.path} (expected)",
                    tofile="response (actual)",
                )
            )
            raise ExpectationMismatch(
                f"response differs from {self.path}:\n{diff}\n"
                "if the new response is right, refresh the file with "
                "`pytest --tight-update-expectations`"
            )

    def _binary_body(self, encoded: Any, headers: dict[str, Any]) -> Any:
        """A base64 body scrubbed as the bytes it stands for (by its Content-Type)."""
        import base64
        import binascii

        from tight.testing.scrub import header_value

        if not isinstance(encoded, str):
            return self.policy.data(encoded)
        try:
            raw = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            return self.policy.data(encoded)
        clean = self.policy.body(raw, header_value(headers, "content-type"))
        return encoded if clean == raw else base64.b64encode(clean).decode("ascii")

    def _write(self, actual: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        temporary.write_text(_dump(actual), encoding="utf-8")
        os.replace(temporary, self.path)
        self.written.append(self.path)
