"""``doit logs stage=<stage> name=<function>``: a deployed function's CloudWatch log, readable.

Tight's JSON log lines (``tight.core.logger``), and the runtime's for the logging module,
print as one line each: time, level, Lambda's request id, the message, then the extra fields
as ``name=value`` (a traceback follows on indented lines). Lambda's own records print as its
text format has them (START, END, REPORT), whether the function logs in JSON (as the template
deploys it) or in text; plain prints print as they are.
``since=`` says how far back to start; ``follow=true`` polls every 2 s for new events until
Ctrl-C. ``AWS_ENDPOINT_URL`` (read by boto3) points the calls at a local emulator.
"""

import json
import re
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tight_tasks.errors import TightTaskError, as_action
from tight_tasks.taskkit import failing, param, settings_or_error, stage_param

POLL_SECONDS = 2.0
DEFAULT_SINCE = "10m"
# Events can reach CloudWatch after later ones: each poll reads this far behind the newest
# event seen, and event ids keep what was printed from printing twice.
LATE_MS = 30_000
SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# The keys every Tight line carries; what else a line holds are the fields the code logged.
TIGHT_KEYS = ("level", "message", "timestamp", "function", "request_id", "traceback")
SHOWN_KEYS = (*TIGHT_KEYS, "requestId")  # the runtime's own JSON lines name it so
# A platform.report record's metrics, in the order and words of the text format's REPORT.
REPORT_METRICS = (
    ("durationMs", "Duration", "ms"),
    ("billedDurationMs", "Billed Duration", "ms"),
    ("memorySizeMB", "Memory Size", "MB"),
    ("maxMemoryUsedMB", "Max Memory Used", "MB"),
    ("initDurationMs", "Init Duration", "ms"),
    ("restoreDurationMs", "Restore Duration", "ms"),
)
SINCE_FORMS = "a duration such as 30s, 10m, 2h or 1d, or an ISO time such as 2024-05-01T12:00Z"


def log_group(app: str, stage: str, function: str) -> str:
    """Lambda's log group for the function ``doit template`` names ``<app>-<stage>-<name>``."""
    return f"/aws/lambda/{app}-{stage}-{function}"


def since_ms(value: str, now: float | None = None) -> int:
    """``since=`` as epoch milliseconds: a duration back from now, or an ISO time (UTC unless
    it says otherwise)."""
    now = time.time() if now is None else now
    text = value.strip()
    found = re.fullmatch(r"(\d+)\s*([smhd])", text)
    if found:
        return int((now - int(found.group(1)) * SECONDS[found.group(2)]) * 1000)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise TightTaskError(f"since must be {SINCE_FORMS}, not {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1000)


def _field(value: Any) -> str:
    """A field's value on one line: a plain word as it is, anything else as JSON."""
    if isinstance(value, str) and value and re.fullmatch(r"[^\s\"'=]+", value):
        return value
    return json.dumps(value, default=str, ensure_ascii=False)


def readable(message: str, timestamp_ms: int) -> str:
    """A log event as it prints: a Tight JSON line made readable, anything else as it is."""
    text = message.rstrip("\r\n")
    entry = None
    if text.startswith("{"):
        try:
            entry = json.loads(text)
        except ValueError:
            entry = None
    if isinstance(entry, dict) and str(entry.get("type", "")).startswith("platform."):
        return platform_line(entry) or text
    if not isinstance(entry, dict) or not {"level", "message"} <= set(entry):
        return text
    stamp = entry.get("timestamp") or _iso(timestamp_ms)
    # Tight's lines say request_id; the runtime's JSON lines (the logging module's) requestId.
    request = entry.get("request_id") or entry.get("requestId")
    parts = [str(stamp), f"{entry.get('level')!s:<5}", str(request or "-")]
    parts.append(str(entry.get("message")))
    parts += [f"{k}={_field(v)}" for k, v in entry.items() if k not in SHOWN_KEYS]
    line = " ".join(parts)
    traceback = entry.get("traceback")
    if isinstance(traceback, str) and traceback:
        line += "".join(f"\n    {row}" for row in traceback.rstrip().splitlines())
    return line


def platform_line(entry: dict[str, Any]) -> str | None:
    """Lambda's own record of an invocation in the JSON log format (``{"time", "type":
    "platform.report", "record"}``, which the template's LoggingConfig selects) as the text
    format writes it: ``START``, ``END`` and ``REPORT`` lines; None for a record not read."""
    record = entry.get("record")
    if not isinstance(record, dict):
        return None
    kind = str(entry["type"])[len("platform.") :]
    request = record.get("requestId", "-")
    status = record.get("status")
    failed = f"  Status: {status}" if status not in (None, "success") else ""
    if record.get("errorType"):
        failed += f"  Error Type: {record['errorType']}"
    if kind == "start":
        return f"START RequestId: {request} Version: {record.get('version', '$LATEST')}"
    if kind == "runtimeDone":
        return f"END RequestId: {request}{failed}"
    if kind == "report":
        metrics = record.get("metrics")
        metrics = metrics if isinstance(metrics, dict) else {}
        words = [f"REPORT RequestId: {request}"]
        for key, label, unit in REPORT_METRICS:
            if isinstance(metrics.get(key), (int, float)):
                words.append(f"{label}: {metrics[key]:g} {unit}")
        return "\t".join(words) + failed
    fields = " ".join(f"{k}={_field(v)}" for k, v in record.items())
    return f"{kind} {fields}".rstrip()


def _iso(timestamp_ms: int) -> str:
    moment = datetime.fromtimestamp(timestamp_ms / 1000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{timestamp_ms % 1000:03d}Z"


def fetch(client: Any, group: str, start_ms: int) -> list[dict[str, Any]]:
    """Every event of the group from ``start_ms`` on, oldest first."""
    events: list[dict[str, Any]] = []
    arguments: dict[str, Any] = {"logGroupName": group, "startTime": start_ms}
    while True:
        page = client.filter_log_events(**arguments)
        events += page.get("events", [])
        token = page.get("nextToken")
        if not token or token == arguments.get("nextToken"):
            break
        arguments["nextToken"] = token
    return sorted(events, key=lambda e: (e.get("timestamp", 0), e.get("ingestionTime", 0)))


def print_logs(
    client: Any, group: str, start_ms: int, follow: bool, poll_seconds: float = POLL_SECONDS
) -> None:
    """Print the group's events from ``start_ms``; with ``follow``, keep printing new ones."""
    seen: dict[str, int] = {}  # event id -> its timestamp
    while True:
        for event in fetch(client, group, start_ms):
            event_id = (
                event.get("eventId")
                or f"{event.get('logStreamName')}:{event.get('timestamp')}:{event.get('message')}"
            )
            if event_id in seen:
                continue
            seen[event_id] = int(event.get("timestamp", 0))
            print(readable(event.get("message", ""), seen[event_id]), flush=True)
        if not follow:
            return
        if seen:
            start_ms = max(start_ms, max(seen.values()) - LATE_MS)
            seen = {k: v for k, v in seen.items() if v >= start_ms}
        time.sleep(poll_seconds)


def logs(
    root: Path, settings: dict[str, Any], stage: str, function: str, since: str, follow: bool
) -> None:
    from botocore.exceptions import ClientError

    from tight_tasks.config import app_name
    from tight_tasks.deploy import _aws_error, _aws_errors, session
    from tight_tasks.functions import FUNCTIONS_DIR, function_names

    names = function_names(root)
    listed = ", ".join(names) or "none yet; add one with `doit generate_function name=<name>`"
    if not function:
        raise TightTaskError(f"name= is required: the function whose log to read ({listed})")
    if function not in names:
        raise TightTaskError(
            f"no function '{function}' in {FUNCTIONS_DIR} (functions here: {listed})"
        )
    start = since_ms(since or DEFAULT_SINCE)
    group = log_group(app_name(root, settings), stage, function)
    client = session().client("logs")
    try:
        print_logs(client, group, start, follow)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            raise TightTaskError(
                f"no log group {group}: deploy the function first (`doit deploy stage={stage}`); "
                "Lambda creates its log group on its first run"
            ) from None
        raise _aws_error(error, f"cannot read {group}") from None
    except _aws_errors() as error:
        raise _aws_error(error, f"cannot read {group}") from None


def _logs(stage: str, name: str, since: str, follow: str) -> None:
    from tight_tasks.config import load
    from tight_tasks.events_cli import flag
    from tight_tasks.template import stage_of

    root = Path.cwd()
    settings = load(root)
    following = flag("follow", follow) if follow else False
    try:
        logs(root, settings, stage_of(stage, settings), name.strip(), since, following)
    except KeyboardInterrupt:  # Ctrl-C is how follow=true ends
        pass


def task_logs() -> dict[str, Any]:
    """Print a deployed function's CloudWatch log, readable (follow=true to keep watching)."""
    _, settings, problem = settings_or_error()
    if settings is None:
        return failing(problem or "no tight.yml")
    return {
        "actions": [(as_action(_logs),)],
        "params": [
            stage_param("the deployed stage whose log to read"),
            param("name", "the function whose log to read (a folder of app/functions)"),
            param("since", f"how far back to start: {SINCE_FORMS} (default {DEFAULT_SINCE})"),
            param("follow", "true: keep printing new events (every 2 s) until Ctrl-C"),
        ],
        "uptodate": [False],
        "verbosity": 2,
        "meta": {"pipeable": True},
    }
