"""One function's warm process, as Lambda keeps one: ``doit serve`` and ``doit invoke`` run
every function in a ``Worker`` of its own, which imports the app once and answers
invocations until a file it loaded changes.

The protocol is JSON lines. The server writes ``{"event", "timeout", "memory"}`` to the
worker's stdin; the worker answers on its original stdout ``{"result"}`` or ``{"error",
"traceback"}``, with ``"cold"`` (its first invocation) and ``"files"`` (the app's files it
has loaded, sent again only after it imported more, so the server knows when it went
stale). What the function prints or logs goes to the worker's stderr, which the server
shows as logs. Run as a script
(``python worker.py <root> <function> <runtime config JSON>``), the worker imports nothing
of the toolkit, as Lambda's process has none of it.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

SCRIPT = __file__
# Files whose change makes every worker stale: the settings, the environment, the deps.
SHARED_INPUTS = ("tight.yml", "env.yml", "env.dist.yml", "app/vendored", "app/vendored/tight.json")


def _mtime(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


class Worker:
    """The server's handle on one function's process: started on first use, restarted
    fresh when stale, killed when an invocation runs past the function's timeout."""

    def __init__(
        self,
        root: Path,
        function: str,
        env: dict[str, str],
        config: dict[str, Any],
        timeout: int,
        memory: int,
        log: Callable[[str], None],
    ) -> None:
        self.root, self.function, self.env, self.config = root, function, env, config
        self.timeout, self.memory, self.log = timeout, memory, log
        self.process: Any = None
        self.pending = b""
        self.seen = -1  # the count of changes on disk its files were last compared at
        self.noted = False  # it reported files it had not loaded before
        self.watched: dict[str, int | None] = {}

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        import subprocess
        import threading

        handler_dir = self.root / "app" / "functions" / self.function
        inputs = [str(self.root / name) for name in SHARED_INPUTS]
        inputs += [str(p) for p in handler_dir.rglob("*.py")]
        self.watched = {path: _mtime(path) for path in inputs}
        self.process = subprocess.Popen(
            [sys.executable, "-u", SCRIPT, str(self.root), self.function, json.dumps(self.config)],
            cwd=self.root,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # Ctrl-C reaches the server, which stops its workers
        )
        self.pending = b""
        threading.Thread(target=self._read_logs, args=(self.process,), daemon=True).start()

    def _answer(self, wait: float) -> dict[str, Any] | None:
        """The worker's next answer line, read by the invoking thread itself (no reader
        thread to hand it over: one wake-up less per request); ``None`` when the process
        ended; ``TimeoutError`` after ``wait`` seconds."""
        import select
        import time

        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + wait
        while True:
            line, newline, rest = self.pending.partition(b"\n")
            if newline:
                self.pending = rest
                try:
                    answer = json.loads(line)
                except ValueError:
                    answer = None
                if isinstance(answer, dict):
                    return answer
                self.log(line.decode(errors="replace"))
                continue
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return None
            self.pending += chunk

    def _read_logs(self, process: Any) -> None:
        for line in process.stderr:
            self.log(line.decode(errors="replace").rstrip("\n"))

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        import signal

        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.wait()
        for stream in (process.stdin, process.stdout, process.stderr):
            try:
                stream.close()
            except OSError:
                pass

    def stale(self) -> bool:
        """True when a file this worker loaded (or the settings) changed since it started."""
        return any(_mtime(path) != stamp for path, stamp in self.watched.items())

    def _note_files(self, files: Iterable[str]) -> None:
        for path in files:
            if path not in self.watched:
                self.watched[path] = _mtime(path)
                self.noted = True

    # -- invocation --------------------------------------------------------------------
    def invoke(self, event: Any, limit: float | None = None) -> dict[str, Any]:
        """The worker's answer: ``result`` or ``error`` (with ``traceback``), ``cold``; or
        ``{"timeout": seconds}`` when it ran past the function's timeout (it is stopped),
        with ``"gateway": True`` when ``limit`` (an API's own wait) came first. A stale
        worker is the caller's to replace (``doit serve`` checks before each request, with
        the environment the settings give now)."""
        if self.process is not None and self.process.poll() is not None:
            self.stop()
        if self.process is None:
            self.start()
        request = {"event": event, "timeout": self.timeout, "memory": self.memory}
        try:
            self.process.stdin.write(json.dumps(request, separators=(",", ":")).encode() + b"\n")
            self.process.stdin.flush()
        except OSError:
            pass  # it died while starting: the answer below says so
        gateway = limit is not None and limit < self.timeout
        try:
            answer = self._answer(limit if gateway and limit is not None else self.timeout + 0.5)
        except TimeoutError:
            self.stop()
            return {"timeout": self.timeout, "gateway": gateway, "cold": False}
        if answer is None:
            code = self.process.wait()
            self.stop()
            return {"error": f"the worker process exited with status {code}", "cold": True}
        self._note_files(answer.pop("files", []))
        return dict(answer)


# -- the worker process ----------------------------------------------------------------
@functools.cache
def _fixed(function_name: str) -> tuple[str, str, str]:
    """The function's ARN, log group and log stream: the same for every invocation of a
    worker, read from its environment once."""
    region = os.environ.get("AWS_REGION", "us-east-1")
    return (
        f"arn:aws:lambda:{region}:123456789012:function:{function_name}",
        os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", ""),
        os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", ""),
    )


class Context:
    """What Lambda passes as ``context``; its remaining time counts down from the timeout."""

    def __init__(self, function_name: str, timeout: float, memory: int) -> None:
        import time
        import uuid

        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn, self.log_group_name, self.log_stream_name = _fixed(function_name)
        self.memory_limit_in_mb = memory
        self.aws_request_id = str(uuid.uuid4())
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        import time

        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _load(root: str, config: dict[str, Any]) -> Any:
    """The app's ``app_index``, with the installed Tight serving as ``app.vendored.tight``
    until the app vendors its own (as ``doit test`` loads it)."""
    import importlib
    import types

    import tight
    from tight import config as runtime_config

    if not os.path.isfile(os.path.join(root, "app", "vendored", "tight", "__init__.py")):
        if not os.path.isdir(os.path.join(root, "app", "vendored")):
            package = types.ModuleType("app.vendored")
            package.__path__ = []
            sys.modules["app.vendored"] = package
        sys.modules["app.vendored.tight"] = tight
        tight.alias_runtime("app.vendored.tight")
    vendored = os.path.join(root, "app", "vendored")
    if os.path.isdir(vendored) and vendored not in sys.path:
        sys.path.append(vendored)
    runtime_config.configure(**config)
    return importlib.import_module("app_index")


def _app_files(root: str) -> list[str]:
    prefix = root.rstrip(os.sep) + os.sep
    files = []
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if isinstance(path, str) and path.startswith(prefix):
            files.append(path)
    return files


def _failed(answer: dict[str, Any], error: BaseException) -> None:
    import traceback

    answer["error"] = f"{type(error).__name__}: {error}"
    answer["traceback"] = "".join(traceback.format_exception(error))
    sys.stderr.write(answer["traceback"])
    sys.stderr.flush()


def main(argv: list[str]) -> int:
    root, function, config = argv[1], argv[2], json.loads(argv[3])
    # Run as a script, Python put this folder (the toolkit's) first on sys.path; the app's
    # modules must not find the toolkit's ``config`` or ``errors`` there. The app root is
    # first instead, as /var/task is on Lambda.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [root] + [p for p in sys.path if os.path.abspath(p or ".") != here]
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # what the function prints is a log line, as on Lambda
    sys.stdout = sys.stderr
    cold = True
    handler = None
    modules_seen = -1
    for line in sys.stdin:
        request = json.loads(line)
        context = Context(
            os.environ.get("AWS_LAMBDA_FUNCTION_NAME", function),
            request["timeout"],
            request["memory"],
        )
        answer: dict[str, Any] = {"cold": cold}
        try:
            if handler is None:
                handler = getattr(_load(root, config), function)
            answer["result"] = handler(request["event"], context)
        except Exception as error:  # noqa: BLE001 - the server answers it as Lambda does
            _failed(answer, error)
        cold = False
        if len(sys.modules) != modules_seen:  # the files only when the imports changed
            modules_seen = len(sys.modules)
            answer["files"] = _app_files(root)
        try:
            text = json.dumps(answer, default=str, separators=(",", ":"))  # as Lambda's does
        except (TypeError, ValueError, RecursionError) as error:
            answer.pop("result", None)
            _failed(answer, error)
            text = json.dumps(answer)
        answers.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
