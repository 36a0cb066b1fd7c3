"""Structured logging: one JSON object per line, through the standard ``logging`` module.

``info(message=..., **fields)``, ``warn(...)``, ``error(...)`` and ``exception(...)`` write
``{"level", "message", "timestamp", "function", "request_id", ...fields}``. The function and
the Lambda context come from the invocation being served (``tight.serving``), so
``request_id`` is Lambda's ``aws_request_id``, the id CloudWatch shows; an HTTP request's
own id (API Gateway's, a function URL's) is added as ``gateway_request_id``. The level comes
from ``LOG_LEVEL`` (default ``INFO``; the toolkit refuses an unknown level before deploy, and
the runtime says so in the log if one gets through); handlers are attached on first use, not
at import.
"""

import json
import logging
import os
import sys
import time

from tight import serving

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
else:
    # Annotations are evaluated at import; loading typing for them would cost every
    # cold start more than this whole module does.
    Any = object

LOGGER_NAME = "tight"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

_logger: logging.Logger | None = None


def invocation() -> tuple[str | None, Any, Any]:
    """(function, request, context) the runtime is serving, if it is serving anything."""
    return serving.current


def set_invocation(function: str | None, request: Any = None, context: Any = None) -> None:
    """Say which function, request and Lambda context the next log lines belong to."""
    serving.serve_as(function, request, context)


def current_request_id() -> str | None:
    """Lambda's ``aws_request_id`` for the invocation being served, if any."""
    request_id = getattr(invocation()[2], "aws_request_id", None)
    return request_id if isinstance(request_id, str) else None


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON; fields given as ``extra`` are merged in."""

    def format(self, record: logging.LogRecord) -> str:
        function, request, context = invocation()
        request_id = getattr(context, "aws_request_id", None)
        entry: dict[str, Any] = {
            "level": record.levelname,
            "message": record.getMessage(),
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "function": function or os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
            "request_id": request_id if isinstance(request_id, str) else None,
        }
        gateway_request_id = getattr(request, "gateway_request_id", None)
        if gateway_request_id is not None:
            entry["gateway_request_id"] = gateway_request_id
        fields = getattr(record, "tight_fields", None)
        if fields:
            entry.update(fields)
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, separators=(",", ":"))


class StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stdout`` is at the time, so redirection (tests) is honoured."""

    @property
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def get_logger() -> logging.Logger:
    """The ``tight`` logger, set up on first use with the JSON formatter and ``LOG_LEVEL``."""
    global _logger
    if _logger is None:
        logger = logging.getLogger(LOGGER_NAME)
        if not logger.handlers:
            handler = StdoutHandler()
            handler.setFormatter(JsonFormatter())
            logger.addHandler(handler)
        # Lambda's bootstrap installs its own root handler; one line per record is enough.
        logger.propagate = False
        level = os.environ.get("LOG_LEVEL", "INFO").strip().upper()
        known = level in LEVELS or level in ("WARN", "FATAL")  # logging's own aliases
        logger.setLevel(level if known else "INFO")
        _logger = logger
        if not known:
            logger.error(
                "%s",
                f"LOG_LEVEL {level!r} is not a log level; set it to one of "
                f"{', '.join(LEVELS)} (logging at INFO meanwhile)",
                extra={"tight_fields": {}},
            )
    return _logger


def _log(level: int, message: str, fields: dict[str, Any], exc_info: bool = False) -> None:
    logger = get_logger()
    if logger.isEnabledFor(level):
        logger.log(level, "%s", message, exc_info=exc_info, extra={"tight_fields": fields})


def debug(message: str = "", **fields: Any) -> None:
    _log(logging.DEBUG, message, fields)


def info(message: str = "", **fields: Any) -> None:
    _log(logging.INFO, message, fields)


def warn(message: str = "", **fields: Any) -> None:
    _log(logging.WARNING, message, fields)


warning = warn


def error(message: str = "", **fields: Any) -> None:
    _log(logging.ERROR, message, fields)


def exception(message: str = "", **fields: Any) -> None:
    """Log at ERROR with the traceback of the exception being handled."""
    _log(logging.ERROR, message, fields, exc_info=True)
