"""The project's tests build events with the plugin's own factory (tight.testing.events)."""

from __future__ import annotations

from typing import Any

from tight.testing.events import KINDS, LambdaContext
from tight.testing.events import make_event as _make_event

__all__ = ["KINDS", "FakeContext", "make_event"]


def make_event(kind: str, method: str = "GET", path: str = "/", **kwargs: Any) -> dict[str, Any]:
    """``make_event(kind, method, path, ...)`` with a fixed request id, for assertions."""
    kwargs.setdefault("request_id", "req-1")
    return _make_event(method, path, kind=kind, **kwargs)


class FakeContext(LambdaContext):
    """A Lambda context with a fixed request id."""

    def __init__(self) -> None:
        super().__init__(function_name="tests", aws_request_id="lambda-req-1")
