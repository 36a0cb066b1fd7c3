"""Batch benchmark: an SQS function in Tight against a raw loop and Powertools, in one run.

An SQS batch of 100 messages with JSON bodies, one handler call per message: Tight's
``@sqs.record``, a hand-written loop that reports failures, and Powertools' ``BatchProcessor``
with ``process_partial_response``. Per-record cost is timed for all three interleaved in one
interpreter (garbage collection off, as timeit does), so load on a shared machine hits each
alike; the ratios are the median over several interpreters of the ratios within each.
Cold start is import plus first call (a one-message batch, and for comparison a GET to an
HTTP function of the same Tight app), median of fresh interpreters whose path is only the
deploy folder. Every consumer must report the same poisoned message before anything is
timed. Results print as ratios against the peers measured in this run and are saved to
bench/results/batch.json. Nothing here asserts a timing.

    python bench/runtime/batch.py [--quick]
"""

from __future__ import annotations

import argparse
import compileall
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from apps import LAMBDA_PRELUDE, TIGHT_HANDLER, TIGHT_INDEX, _copy_module  # noqa: E402

from tight.testing.events import make_event, sqs  # noqa: E402
from tight_tasks.vendor import copy_runtime  # noqa: E402

BATCH = 100
FRAMEWORKS = ("raw", "tight", "powertools")

TIGHT_SQS = """\
import tight.providers.aws.controllers.sqs as sqs


@sqs.record
def on_order(*args, **kwargs):
    order = kwargs["record"].json()
    if order.get("poison"):
        raise ValueError("poisoned order")
"""

RAW = """\
import json


def process(order):
    if order.get("poison"):
        raise ValueError("poisoned order")


def handler(event, context):
    failures = []
    for record in event["Records"]:
        try:
            process(json.loads(record["body"]))
        except Exception:
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
"""

POWERTOOLS = """\
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)

processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record):
    order = record.json_body
    if order.get("poison"):
        raise ValueError("poisoned order")


def handler(event, context):
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
"""

# Runs inside a fresh interpreter (python -I -S -B -c) whose path is only the deploy folder.
CHILD = (
    LAMBDA_PRELUDE
    + """\
import io

mode, folder, entry, event_file = sys.argv[1:5]
sys.path.insert(0, folder)
os.chdir(folder)
with open(event_file) as f:
    event = json.load(f)


context = Context()
module_name, attribute = entry.rsplit(".", 1)
if mode == "cold":
    start = clock()
    handler = getattr(importlib.import_module(module_name), attribute)
    answer = handler(event, context)
    elapsed = clock() - start
    print(json.dumps({"seconds": elapsed, "answer": answer}))
else:
    handler = getattr(importlib.import_module(module_name), attribute)
    real_stdout, sys.stdout = sys.stdout, io.StringIO()  # the failure logs
    answer = handler(event, context)
    sys.stdout = real_stdout
    print(json.dumps({"answer": answer}))
"""
)

# Times every consumer in one interpreter, in interleaved repetitions, so that load on the
# shared machine falls on each alike. argv: event file, calls per timing, then one
# "name=folder" per consumer (each folder's handler.py, or app_index.orders for Tight).
COMPARE = (
    LAMBDA_PRELUDE
    + """\
import gc, importlib.util

event_file, number = sys.argv[1], int(sys.argv[2])
with open(event_file) as f:
    event = json.load(f)
handlers = {}
for spec in sys.argv[3:]:
    name, folder = spec.split("=", 1)
    sys.path.insert(0, folder)
    if name == "tight":
        handlers[name] = importlib.import_module("app_index").orders
    else:
        path = folder + "/handler.py"
        module_spec = importlib.util.spec_from_file_location(name + "_handler", path)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        handlers[name] = module.handler
best = {name: float("inf") for name in handlers}
for handler in handlers.values():
    for _ in range(50):
        handler(event, None)
# As timeit does: no garbage collection while timing, so that one consumer's heap (Powertools
# loads thousands of objects) does not slow the others' collections.
gc.collect()
gc.disable()
for _ in range(9):
    for name, handler in handlers.items():
        start = time.perf_counter()
        for _ in range(number):
            handler(event, None)
        best[name] = min(best[name], (time.perf_counter() - start) / number)
gc.enable()
print(json.dumps(best))
"""
)


def build(framework: str, root: Path) -> tuple[Path, str]:
    """The deploy folder and the entry ``module.attribute`` Lambda would call."""
    folder = root / framework
    folder.mkdir(parents=True)
    if framework == "raw":
        (folder / "handler.py").write_text(RAW)
        return folder, "handler.handler"
    if framework == "powertools":
        (folder / "handler.py").write_text(POWERTOOLS)
        for name in ("aws_lambda_powertools", "jmespath", "typing_extensions"):
            _copy_module(name, folder)
        return folder, "handler.handler"
    (folder / "app_index.py").write_text(TIGHT_INDEX)
    for name, source in (("orders", TIGHT_SQS), ("items", TIGHT_HANDLER)):
        (folder / "app" / "functions" / name).mkdir(parents=True)
        (folder / "app" / "functions" / name / "handler.py").write_text(source)
    for package in ("app", "app/functions"):
        (folder / package / "__init__.py").write_text("")
    copy_runtime(folder / "app" / "vendored")
    return folder, "app_index.orders"


def run_child(mode: str, folder: Path, entry: str, event: Path, *extra: str) -> dict[str, object]:
    result = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-B",
            "-c",
            CHILD,
            mode,
            str(folder),
            entry,
            str(event),
            *extra,
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{folder.name} {mode} failed:\n{result.stderr[-2000:]}")
    answer: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


def write_events(root: Path) -> dict[str, Path]:
    orders = [
        {"order": i, "customer": f"c-{i % 17}", "items": [{"sku": "tea", "qty": 2}], "total": 12.5}
        for i in range(BATCH)
    ]
    poisoned = [dict(order) for order in orders]
    poisoned[37]["poison"] = True
    made = {
        "batch": sqs(bodies=orders, queue="orders"),
        "poisoned": sqs(bodies=poisoned, queue="orders"),
        "one": sqs(bodies=orders[:1], queue="orders"),
        "get": make_event("GET", "/items/42", path_params={"item_id": "42"}),
    }
    paths = {}
    for name, event in made.items():
        paths[name] = root / f"{name}.json"
        paths[name].write_text(json.dumps(event))
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (smoke run)")
    args = parser.parse_args()
    rounds = 1 if args.quick else 5
    number = "20" if args.quick else "200"
    cold_runs = 5 if args.quick else 31

    per_record: dict[str, float] = {}
    ratios: dict[str, list[float]] = {}
    cold: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="tight-batch-bench-") as tmp:
        root = Path(tmp)
        event = write_events(root)
        poisoned = json.loads(event["poisoned"].read_text())["Records"][37]["messageId"]
        folders = {framework: build(framework, root) for framework in FRAMEWORKS}
        for folder, _ in folders.values():
            compileall.compile_dir(str(folder), quiet=1)
        for framework, (folder, entry) in folders.items():
            answer = run_child("check", folder, entry, event["poisoned"])["answer"]
            expected = {"batchItemFailures": [{"itemIdentifier": poisoned}]}
            if answer != expected:
                raise RuntimeError(f"{framework} answered {answer!r}, expected {expected!r}")
        print(
            f"per-record cost (µs): batches of {BATCH}, best of 9 interleaved timings in each "
            f"of {rounds} interpreters",
            flush=True,
        )
        for _ in range(rounds):
            result = subprocess.run(
                [sys.executable, "-I", "-S", "-B", "-c", COMPARE, str(event["batch"]), number]
                + [f"{name}={folder}" for name, (folder, _) in folders.items()],
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                raise RuntimeError(f"timing failed:\n{result.stderr[-2000:]}")
            timings = json.loads(result.stdout.strip().splitlines()[-1])
            for name, seconds in timings.items():
                micros = seconds * 1e6 / BATCH
                per_record[name] = min(per_record.get(name, micros), micros)
            # Ratios within one interpreter: the timings they divide ran side by side.
            for name in ("tight", "powertools"):
                ratios.setdefault(name, []).append(timings[name] / timings["raw"])
        for framework, micros in per_record.items():
            print(f"  {framework:<10} {micros:8.3f}", flush=True)
        for name, values in ratios.items():
            per_record[f"{name}_over_raw"] = statistics.median(values)
        print(f"\nimport + first call, median of {cold_runs} fresh interpreters (ms)", flush=True)
        tight_folder = folders["tight"][0]
        cases = {
            "raw": (*folders["raw"], event["one"]),
            "tight_sqs": (tight_folder, "app_index.orders", event["one"]),
            "tight_http": (tight_folder, "app_index.items", event["get"]),
            "powertools": (*folders["powertools"], event["one"]),
        }
        samples: dict[str, list[float]] = {name: [] for name in cases}
        for run in range(cold_runs):
            # Alternate the order, so that going first or second favours neither.
            ordered = list(cases.items())
            for name, (folder, entry, path) in ordered if run % 2 else reversed(ordered):
                answer = run_child("cold", folder, entry, path)
                samples[name].append(float(answer["seconds"]) * 1e3)  # type: ignore[arg-type]
        for name, values in samples.items():
            cold[name] = statistics.median(values)
            print(f"  {name:<10} {cold[name]:8.2f}", flush=True)
        # Each SQS run is paired with the HTTP run right after it, so load on the shared
        # machine shifts both alike; the median of the differences is the gap.
        cold["sqs_minus_http"] = statistics.median(
            sqs - http
            for sqs, http in zip(samples["tight_sqs"], samples["tight_http"], strict=True)
        )
        # The fastest of each, the least disturbed by other work on the machine.
        cold["best_sqs_minus_http"] = min(samples["tight_sqs"]) - min(samples["tight_http"])
        shutil.rmtree(root, ignore_errors=True)

    report(per_record, cold)
    out = HERE.parent / "results"
    out.mkdir(exist_ok=True)
    results = {"python": sys.version.split()[0], "per_record_us": per_record, "cold_ms": cold}
    (out / "batch.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nsaved {out / 'batch.json'}")
    return 0


def report(per_record: dict[str, float], cold: dict[str, float]) -> None:
    tight = per_record["tight"]
    to_raw, powertools_to_raw = per_record["tight_over_raw"], per_record["powertools_over_raw"]
    print("\n== summary: Tight's SQS batch against the peers measured in this run ==")
    print(
        f"per record (median of the ratios within each interpreter): tight {tight:.2f} µs = "
        f"{to_raw:.2f}x the raw loop (powertools {powertools_to_raw:.2f}x the raw loop, "
        f"{powertools_to_raw / to_raw:.2f}x tight)"
    )
    gap = cold["sqs_minus_http"]
    best_gap = cold["best_sqs_minus_http"]
    print(
        f"import + first call: tight SQS {cold['tight_sqs']:.2f} ms, tight HTTP "
        f"{cold['tight_http']:.2f} ms (paired gap {gap:+.2f} ms, fastest runs {best_gap:+.2f} ms), "
        f"raw loop {cold['raw']:.2f} ms, "
        f"powertools {cold['powertools']:.2f} ms"
    )
    targets = [
        ("per record <= 1.3x the raw loop", to_raw <= 1.3),
        ("per record faster than Powertools", to_raw < powertools_to_raw),
        ("SQS import + first call within 1 ms of HTTP's", abs(gap) <= 1.0),
        ("(fastest runs) within 1 ms", abs(best_gap) <= 1.0),
    ]
    print("targets: " + "; ".join(f"{name}: {'met' if ok else 'MISSED'}" for name, ok in targets))


if __name__ == "__main__":
    sys.exit(main())
