"""Local serving benchmark: `doit serve` against `chalice local`, the same API, in one run.

Both serve ``GET /items/{id}`` (answers ``{"id": id}``) and ``POST /items`` (echoes the JSON
body) on 127.0.0.1, each answer carrying the code's version in an ``X-Version`` header:
Tight as a scaffolded app (``tight generate_app``, ``doit generate_function name=items
methods=get,post``, the handler replaced) under ``doit serve port=M``, Chalice as an
``app.py`` under ``chalice local --port N``. One ``http.client`` times both:

- a warm request, GET and POST, a new connection per request and one kept alive: p50 and
  p90 over the same number of requests per server, the servers interleaved in small
  batches after a warm-up;
- the first request after an edit of the handler: the file is written, then the same GET
  is sent (every 5 ms while the server is restarting or still answers the old code) until
  the answer carries the new version; the servers' edits alternate;
- the server's overhead: ``app_index.items(event, context)`` called in-process with the
  event ``doit serve`` builds for the same request, against the warm request through
  ``doit serve``.

Results print as ratios against Chalice measured in this same run and are saved to
bench/results/serve.json. Nothing here asserts a timing.

    python bench/serve/run.py [--quick] [--results DIR]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
PEERS = ("tight", "chalice")
METHODS = ("GET", "POST")
MODES = ("close", "keep-alive")
BODY = {"name": "teapot", "size": 3, "tags": ["kitchen", "tea"], "price": 12.5}
RETRY = 0.005  # seconds between tries while a server restarts after an edit

TIGHT_HANDLER = """\
import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy

VERSION = "{version}"


@lambda_proxy.get
def get_handler(*args, **kwargs):
    item_id = kwargs["event"]["pathParameters"]["id"]
    return {{"statusCode": 200, "headers": {{"X-Version": VERSION}}, "body": {{"id": item_id}}}}


@lambda_proxy.post
def post_handler(*args, **kwargs):
    body = kwargs["event"]["body"]
    return {{"statusCode": 200, "headers": {{"X-Version": VERSION}}, "body": body}}
"""

CHALICE_APP = """\
from chalice import Chalice, Response

app = Chalice(app_name="peer")
VERSION = "{version}"


@app.route("/items/{{id}}", methods=["GET"])
def get_item(id):
    return Response(body={{"id": id}}, headers={{"X-Version": VERSION}})


@app.route("/items", methods=["POST"])
def post_item():
    return Response(body=app.current_request.json_body, headers={{"X-Version": VERSION}})
"""

CHALICE_CONFIG = {"version": "2.0", "app_name": "peer", "stages": {"dev": {}}}

# Run in a fresh interpreter from the app's root, as doit serve's worker runs: the handler
# called in-process with the event doit serve builds for the request, ``number`` times.
IN_PROCESS = """\
import json, sys, time
from tight_tasks.worker import Context, _load

root, config, events, number = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], int(sys.argv[4])
sys.path.insert(0, root)
handler = _load(root, config).items
context = Context("items", 30, 128)
timings = {}
for method, event in json.loads(events).items():
    text = json.dumps(event)
    answer = handler(json.loads(text), context)  # the first call imports the controller
    best = None
    for _ in range(7):
        copies = [json.loads(text) for _ in range(number)]  # a handler may decode in place
        started = time.perf_counter()
        for copy in copies:
            handler(copy, context)
        took = (time.perf_counter() - started) / number
        best = took if best is None else min(best, took)
    timings[method] = {"seconds": best, "answer": answer}
print(json.dumps(timings, default=str))
"""


# -- the two apps ------------------------------------------------------------------------
def run(command: list[str], cwd: Path, env: dict[str, str]) -> None:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")


def tight_app(folder: Path, env: dict[str, str]) -> Path:
    run([str(BIN / "tight"), "generate_app", "name=shop"], folder, env)
    root = folder / "shop"
    run([str(BIN / "doit"), "generate_function", "name=items", "methods=get,post"], root, env)
    (root / "app/functions/items/handler.py").write_text(TIGHT_HANDLER.format(version=0))
    return root


def chalice_app(folder: Path) -> Path:
    root = folder / "peer"
    (root / ".chalice").mkdir(parents=True)
    (root / ".chalice" / "config.json").write_text(json.dumps(CHALICE_CONFIG))
    (root / "app.py").write_text(CHALICE_APP.format(version=0))
    return root


def edited_file(peer: str, root: Path) -> Path:
    return root / ("app/functions/items/handler.py" if peer == "tight" else "app.py")


def write_version(peer: str, root: Path, version: int) -> None:
    source = TIGHT_HANDLER if peer == "tight" else CHALICE_APP
    edited_file(peer, root).write_text(source.format(version=version))


# -- servers -----------------------------------------------------------------------------
def group_members(group: int) -> list[int]:
    """The processes still in process group ``group``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pgrp is the 5th field, counted after the command's closing parenthesis.
            if int(stat.rsplit(")", 1)[1].split()[2]) == group:
                found.append(int(entry.name))
    return found


def processes_naming(root: Path) -> list[int]:
    """Processes whose command line names ``root`` (doit serve's workers run in sessions
    of their own, so they are not in the server's group)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if str(root).encode() in cmdline:
                found.append(int(entry.name))
    return found


@contextmanager
def server(peer: str, root: Path, env: dict[str, str]) -> Iterator[int]:
    """Start the peer's server on a free port of 127.0.0.1, yield the port; on the way out
    stop it as Ctrl-C would (its whole process group: `chalice local` runs the server in a
    child that a SIGTERM to the parent would leave behind) and check nothing is left."""
    from tight.testing.servers import free_port, wait_for_port

    port = free_port()
    if peer == "tight":
        command = [str(BIN / "doit"), "serve", f"port={port}"]
    else:
        command = [str(BIN / "chalice"), "local", "--port", str(port)]
    with (root.parent / f"{peer}-console.txt").open("w") as console:
        process = subprocess.Popen(
            command, cwd=root, env=env, stdout=console, stderr=console, start_new_session=True
        )
        try:
            wait_for_port(port, timeout=60)
            yield port
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM if peer == "tight" else signal.SIGINT)
            process.wait(timeout=30)
            deadline = time.monotonic() + 10
            while (group_members(process.pid) or processes_naming(root)) and (
                time.monotonic() < deadline
            ):
                time.sleep(0.05)
            left = group_members(process.pid) + processes_naming(root)
            if left:
                raise RuntimeError(f"{peer}'s server left processes behind: {sorted(set(left))}")


# -- the client --------------------------------------------------------------------------
class Client:
    """One peer's requests, timed: a connection per request, or one kept alive."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.kept: http.client.HTTPConnection | None = None

    def send(self, method: str, keep_alive: bool) -> tuple[float, int, str | None, bytes]:
        """Seconds from sending to the last byte of the answer, status, version, body."""
        body = json.dumps(BODY).encode() if method == "POST" else None
        path = "/items/42" if method == "GET" else "/items"
        headers = {"Content-Type": "application/json"} if body else {}
        started = time.perf_counter()
        if keep_alive:
            if self.kept is None:
                self.kept = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            connection = self.kept
        else:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            headers["Connection"] = "close"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        finally:
            if not keep_alive:
                connection.close()
        took = time.perf_counter() - started
        return took, response.status, response.getheader("X-Version"), answer

    def close(self) -> None:
        if self.kept is not None:
            self.kept.close()
            self.kept = None


def check_answer(peer: str, method: str, status: int, body: bytes) -> None:
    """Both servers must answer the same thing, or the comparison means nothing."""
    expected = {"id": "42"} if method == "GET" else BODY
    if status != 200 or json.loads(body) != expected:
        raise RuntimeError(f"{peer} {method} answered {status} {body!r}, expected {expected!r}")


def warm_latency(clients: dict[str, Client], rounds: int, batch: int) -> dict[str, list[float]]:
    """Milliseconds per request, per ``peer/method/mode``; batches of each series alternate
    between the servers (the order swapped every round), so drift hits both alike."""
    samples: dict[str, list[float]] = {
        f"{peer}/{method}/{mode}": [] for peer in PEERS for method in METHODS for mode in MODES
    }
    for peer, client in clients.items():  # warm-up: workers started, connections open
        for method in METHODS:
            for mode in MODES:
                for _ in range(batch):
                    _, status, _, body = client.send(method, mode == "keep-alive")
                    check_answer(peer, method, status, body)
    for number in range(rounds):
        order = PEERS if number % 2 == 0 else PEERS[::-1]
        for method in METHODS:
            for mode in MODES:
                for peer in order:
                    for _ in range(batch):
                        took, status, _, body = clients[peer].send(method, mode == "keep-alive")
                        check_answer(peer, method, status, body)
                        samples[f"{peer}/{method}/{mode}"].append(took * 1000)
    return samples


def edit_latency(
    roots: dict[str, Path], clients: dict[str, Client], edits: int
) -> dict[str, list[float]]:
    """Milliseconds from writing the handler to the first answer of the new code."""
    samples: dict[str, list[float]] = {peer: [] for peer in PEERS}
    for number in range(edits):
        order = PEERS if number % 2 == 0 else PEERS[::-1]
        for peer in order:
            client, version = clients[peer], str(number + 1)
            client.close()
            # Chalice's file watcher notes the files' times when its server starts; let it.
            time.sleep(1.5)
            started = time.perf_counter()
            write_version(peer, roots[peer], number + 1)
            deadline = started + 60
            while True:
                try:
                    _, status, seen, body = client.send("GET", keep_alive=False)
                except (OSError, http.client.HTTPException):
                    seen = None  # restarting: nothing listens yet, or the answer was cut
                if seen == version:
                    check_answer(peer, "GET", status, body)
                    break
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"{peer} never answered version {version} after the edit")
                time.sleep(RETRY)
            samples[peer].append((time.perf_counter() - started) * 1000)
    return samples


# -- in-process --------------------------------------------------------------------------
def in_process(root: Path, port: int, env: dict[str, str], number: int) -> dict[str, float]:
    """Milliseconds per ``app_index.items(event, context)`` call in-process, per method,
    with the event doit serve builds for the request the client sends."""
    from tight_tasks.config import load, runtime_config
    from tight_tasks.routes import routes
    from tight_tasks.serve import HttpRequest, RouteTable, lambda_environment, rest_event

    settings = load(root)
    stage = str(settings.get("stage") or "dev")
    table = RouteTable(routes(root, settings))
    host = f"127.0.0.1:{port}"
    events = {}
    for method in METHODS:
        body = json.dumps(BODY).encode() if method == "POST" else b""
        headers = [("Host", host), ("Accept-Encoding", "identity")]
        if body:
            headers += [("Content-Length", str(len(body))), ("Content-Type", "application/json")]
        path = "/items/42" if method == "GET" else "/items"
        match = table.match(method, path)
        if match is None:
            raise RuntimeError(f"the app has no route {method} {path}")
        request = HttpRequest(method, path, headers, body, "127.0.0.1")
        events[method] = rest_event(request, match, stage, "bench-request", host)
    config = runtime_config(settings)
    config["stage"] = stage
    result = subprocess.run(
        [sys.executable, "-c", IN_PROCESS, str(root), json.dumps(config), json.dumps(events),
         str(number)],
        cwd=root,
        env=lambda_environment(root, settings, stage, "items", None),
        capture_output=True,
        text=True,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"the in-process call failed:\n{result.stderr[-2000:]}")
    timings = json.loads(result.stdout.strip().splitlines()[-1])
    for method, timing in timings.items():
        answer = timing["answer"]
        check_answer("tight in-process", method, answer["statusCode"], answer["body"].encode())
    return {method: float(timing["seconds"]) * 1000 for method, timing in timings.items()}


# -- report ------------------------------------------------------------------------------
def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def chalice_watcher() -> str:
    try:
        import watchdog  # noqa: F401
    except ImportError:
        return "stat polling every 1 s (watchdog not installed)"
    return "watchdog events"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests (smoke run)")
    parser.add_argument(
        "--results", type=Path, default=HERE.parent / "results", help="where serve.json goes"
    )
    args = parser.parse_args()
    rounds, batch, edits, calls = (2, 5, 2, 200) if args.quick else (10, 20, 7, 2000)

    with tempfile.TemporaryDirectory(prefix="tight-bench-serve-") as tmp:
        folder = Path(tmp)
        env = dict(os.environ, XDG_CACHE_HOME=str(folder / "cache"))
        env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        # Neither server writes bytecode into the app: a new .pyc in Chalice's project
        # folder would count as an edit (doit serve's workers never write it).
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        roots = {"tight": tight_app(folder, env), "chalice": chalice_app(folder)}
        with (
            server("tight", roots["tight"], env) as tight_port,
            server("chalice", roots["chalice"], env) as chalice_port,
        ):
            clients = {"tight": Client(tight_port), "chalice": Client(chalice_port)}
            print(
                f"warm requests: {rounds} rounds x {batch} per server, method and connection,"
                " interleaved",
                flush=True,
            )
            warm = warm_latency(clients, rounds, batch)
            print(f"first request after an edit: {edits} edits per server, alternating", flush=True)
            edited = edit_latency(roots, clients, edits)
            for client in clients.values():
                client.close()
            calls_ms = in_process(roots["tight"], tight_port, env, calls)

    figures = {
        key: {"p50": statistics.median(values), "p90": percentile(values, 0.9), "n": len(values)}
        for key, values in warm.items()
    }
    edit_ms = {peer: statistics.median(values) for peer, values in edited.items()}
    results: dict[str, Any] = {
        "python": sys.version.split()[0],
        "chalice_reload": chalice_watcher(),
        "warm_ms": figures,
        "edit_ms": {"median": edit_ms, "samples": edited},
        "in_process_ms": calls_ms,
    }
    print("\nwarm request latency (ms): p50, p90")
    for key, figure in figures.items():
        print(f"  {key:<28} {figure['p50']:7.3f} {figure['p90']:7.3f}")
    print("first request after an edit (ms): median, samples")
    for peer, values in edited.items():
        print(f"  {peer:<8} {edit_ms[peer]:8.1f}  " + " ".join(f"{v:.0f}" for v in values))
    print(f"  (chalice local reloads by {results['chalice_reload']})")

    print("\n== summary: Tight against chalice local, measured in this run ==")
    ratios: dict[str, Any] = {"warm_p50": {}, "warm_p90": {}, "overhead": {}}
    for method in METHODS:
        for mode in MODES:
            mine, peer = figures[f"tight/{method}/{mode}"], figures[f"chalice/{method}/{mode}"]
            p50, p90 = mine["p50"] / peer["p50"], mine["p90"] / peer["p90"]
            ratios["warm_p50"][f"{method}/{mode}"] = p50
            ratios["warm_p90"][f"{method}/{mode}"] = p90
            print(
                f"warm {method:<4} {mode:<10}: tight p50 {mine['p50']:.3f} ms = {p50:.2f}x"
                f" chalice, p90 {mine['p90']:.3f} ms = {p90:.2f}x"
            )
    ratios["edit"] = edit_ms["tight"] / edit_ms["chalice"]
    print(
        f"first request after an edit: tight {edit_ms['tight']:.1f} ms = {ratios['edit']:.2f}x"
        f" chalice ({edit_ms['chalice']:.1f} ms)"
    )
    for method in METHODS:
        call = calls_ms[method]
        for mode in MODES:
            served = figures[f"tight/{method}/{mode}"]["p50"]
            ratios["overhead"][f"{method}/{mode}"] = {
                "ms": served - call,
                "ratio": served / call,
            }
            print(
                f"doit serve over the in-process call, {method:<4} {mode:<10}: "
                f"+{served - call:.3f} ms ({served:.3f} ms served, {call * 1000:.1f} µs"
                f" in-process: {served / call:.0f}x)"
            )
    results["ratios"] = ratios
    targets = [
        (
            f"warm {method} {mode} p50 <= 1x chalice",
            ratios["warm_p50"][f"{method}/{mode}"] <= 1.0,
        )
        for method in METHODS
        for mode in MODES
    ]
    targets.append(("first request after an edit <= 1x chalice", ratios["edit"] <= 1.0))
    results["targets"] = dict(targets)
    print("targets: " + "; ".join(f"{name}: {'met' if ok else 'MISSED'}" for name, ok in targets))
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "serve.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nsaved {args.results / 'serve.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
