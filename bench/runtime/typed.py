"""Typed-request benchmark: a typed POST in Tight against Powertools' validating resolver.

A POST whose JSON body has 10 fields (strings with length and pattern, a bounded int, a
Decimal, a Literal, a bool, an optional string, a list, an ISO date, a nested object), in
three deploy folders: Tight with the body annotated (``body: Order``, a dataclass with
``tight.constraints``), its untyped twin (the same module, the handler unannotated and
reading ``event["body"]``), and Powertools' ``APIGatewayRestResolver(enable_validation=True)``
with the same model in pydantic. Each answers ``{"customer", "quantity"}`` and refuses a
bad body with a 422 before anything is timed.

Per invoke: every handler in one interpreter, timed interleaved (garbage collection off, as
timeit does); the ratios are the median over several interpreters of the ratios within each.
Cold start: import plus the first call, in fresh interpreters whose path is only the deploy
folder and which have first imported what Lambda's Python bootstrap imports before the handler
(``apps.LAMBDA_PRELUDE``: json, logging, traceback, decimal, enum, ...), median of many, the
frameworks interleaved. Results print as ratios against the peer
measured in this same run and are saved to bench/results/typed.json. Nothing here asserts a
timing.

    python bench/runtime/typed.py [--quick] [--clock cpu]

``--clock cpu`` times each cold start by the child's own CPU time instead of the wall clock:
on a shared machine, time the child spends preempted by other work then does not count.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from apps import LAMBDA_PRELUDE, TIGHT_INDEX, TIGHT_JSON, _copy_module  # noqa: E402

from tight.testing.events import make_event  # noqa: E402
from tight_tasks.vendor import copy_runtime  # noqa: E402

FRAMEWORKS = ("tight", "untyped", "typeddict", "powertools", "model")

# The user's own imports, the same in the typed module and its twin.
TIGHT_MODEL = """\
import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Literal, Optional

import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy
from tight.constraints import Length, Pattern, Range


@dataclass
class Address:
    street: str
    city: str


@dataclass
class Order:
    customer: Annotated[str, Length(min=1, max=40)]
    sku: Annotated[str, Pattern("^[A-Z]{3}-[0-9]{4}$")]
    quantity: Annotated[int, Range(ge=1, le=100)]
    price: Decimal
    currency: Literal["EUR", "USD"]
    express: bool
    tags: list[str]
    placed: datetime.date
    address: Address
    note: Optional[str] = None
"""

TIGHT_TYPED = (
    TIGHT_MODEL
    + """

@lambda_proxy.post
def post_handler(body: Order, **kwargs) -> dict:
    return {"customer": body.customer, "quantity": body.quantity}
"""
)

TIGHT_UNTYPED = (
    TIGHT_MODEL
    + """

@lambda_proxy.post
def post_handler(*args, **kwargs):
    body = kwargs["event"]["body"]
    return {"customer": body["customer"], "quantity": body["quantity"]}
"""
)

# The same order as TypedDicts: no dataclasses (whose import loads inspect, ast and more).
TIGHT_TYPEDDICT = """\
import datetime
from decimal import Decimal
from typing import Annotated, Literal, Optional, TypedDict

import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy
from tight.constraints import Length, Pattern, Range


class Address(TypedDict):
    street: str
    city: str


class OrderFields(TypedDict):
    customer: Annotated[str, Length(min=1, max=40)]
    sku: Annotated[str, Pattern("^[A-Z]{3}-[0-9]{4}$")]
    quantity: Annotated[int, Range(ge=1, le=100)]
    price: Decimal
    currency: Literal["EUR", "USD"]
    express: bool
    tags: list[str]
    placed: datetime.date
    address: Address


class Order(OrderFields, total=False):
    note: Optional[str]


@lambda_proxy.post
def post_handler(body: Order, **kwargs) -> dict:
    return {"customer": body["customer"], "quantity": body["quantity"]}
"""

# No framework: a plain Lambda handler module that only defines the same dataclasses (with the
# same stdlib imports, less the constraint markers) and answers without checking anything. Its
# cold start is what the model itself costs, which no framework can go under.
MODEL_ONLY = """\
import datetime
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Optional


@dataclass
class Address:
    street: str
    city: str


@dataclass
class Order:
    customer: str
    sku: str
    quantity: int
    price: Decimal
    currency: Literal["EUR", "USD"]
    express: bool
    tags: list[str]
    placed: datetime.date
    address: Address
    note: Optional[str] = None


def handler(event, context):
    body = json.loads(event["body"])
    answer = {"customer": body["customer"], "quantity": body["quantity"]}
    return {"statusCode": 200, "body": json.dumps(answer)}
"""

POWERTOOLS = """\
import datetime
from decimal import Decimal
from typing import Literal, Optional

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from pydantic import BaseModel, ConfigDict, Field

app = APIGatewayRestResolver(enable_validation=True)


class Address(BaseModel):
    model_config = ConfigDict(extra="forbid")
    street: str
    city: str


class Order(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer: str = Field(min_length=1, max_length=40)
    sku: str = Field(pattern="^[A-Z]{3}-[0-9]{4}$")
    quantity: int = Field(ge=1, le=100)
    price: Decimal
    currency: Literal["EUR", "USD"]
    express: bool
    tags: list[str]
    placed: datetime.date
    address: Address
    note: Optional[str] = None


@app.post("/orders")
def post_order(order: Order) -> dict:
    return {"customer": order.customer, "quantity": order.quantity}


def handler(event, context):
    return app.resolve(event, context)
"""

ORDER = {
    "customer": "Ada Lovelace",
    "sku": "TEA-0042",
    "quantity": 3,
    "price": 12.5,
    "currency": "EUR",
    "express": True,
    "tags": ["gift", "fragile"],
    "placed": "2026-12-03",
    "address": {"street": "1 Analytical Way", "city": "London"},
    "note": "ring twice",
}
BAD_ORDER = {**ORDER, "quantity": 0, "sku": "tea"}
ANSWER = {"customer": "Ada Lovelace", "quantity": 3}

# Runs inside a fresh interpreter (python -I -S -B -c) whose path is only the deploy folder,
# after LAMBDA_PRELUDE (Lambda's bootstrap imports, Context, clock).
CHILD = (
    LAMBDA_PRELUDE
    + """\
mode, folder, entry, event_file = sys.argv[1:5]
sys.path.insert(0, folder)
os.chdir(folder)
with open(event_file) as f:
    event = json.load(f)


module_name, attribute = entry.rsplit(".", 1)
if mode == "first-call":  # every import done (the function's module too): the call alone
    handler = getattr(importlib.import_module(module_name), attribute)
    importlib.import_module(f"app.functions.{attribute}.handler")
start = clock()
handler = getattr(importlib.import_module(module_name), attribute)
answer = handler(event, Context())
elapsed = clock() - start
print(json.dumps({"seconds": elapsed, "status": answer["statusCode"], "body": answer["body"]}))
"""
)

# Times every handler in one interpreter, interleaved. argv: event file, calls per timing,
# then "name=folder=entry" per handler.
COMPARE = (
    LAMBDA_PRELUDE
    + """\
import gc

event_file, number = sys.argv[1], int(sys.argv[2])
with open(event_file) as f:
    event = json.load(f)


context = Context()
handlers = {}
for spec in sys.argv[3:]:
    name, folder, entry = spec.split("=", 2)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    module_name, attribute = entry.rsplit(".", 1)
    handlers[name] = getattr(importlib.import_module(module_name), attribute)
    answer = handlers[name](event, context)
    if answer["statusCode"] != 200:
        raise SystemExit(f"{name} answered {answer!r}")
best = {name: float("inf") for name in handlers}
for handler in handlers.values():
    for _ in range(200):
        handler(event, context)
gc.collect()
gc.disable()
for _ in range(9):
    for name, handler in handlers.items():
        start = time.perf_counter()
        for _ in range(number):
            handler(event, context)
        best[name] = min(best[name], (time.perf_counter() - start) / number)
gc.enable()
print(json.dumps(best))
"""
)


def build(framework: str, root: Path) -> tuple[Path, str]:
    """The deploy folder and the entry ``module.attribute`` Lambda would call."""
    if framework == "model":
        folder = root / framework
        folder.mkdir(parents=True)
        # Its own module name: the per-invoke timing imports every handler in one
        # interpreter, where a second "handler" module would be Powertools' again.
        (folder / "model_handler.py").write_text(MODEL_ONLY)
        return folder, "model_handler.handler"
    if framework == "powertools":
        folder = root / framework
        folder.mkdir(parents=True)
        (folder / "handler.py").write_text(POWERTOOLS)
        for name in (
            "aws_lambda_powertools",
            "jmespath",
            "typing_extensions",
            "pydantic",
            "pydantic_core",
            "annotated_types",
            "typing_inspection",
        ):
            _copy_module(name, folder)
        return folder, "handler.handler"
    # One Tight app holds both functions, typed and untyped: one interpreter can then time
    # both (a process serves one app), and each cold start imports only its own function.
    folder = root / "tight"
    entry = {
        "tight": "app_index.orders",
        "untyped": "app_index.orders_untyped",
        "typeddict": "app_index.orders_typeddict",
    }[framework]
    if (folder / "app_index.py").exists():
        return folder, entry
    folder.mkdir(parents=True)
    (folder / "app_index.py").write_text(TIGHT_INDEX)
    for name, source in (
        ("orders", TIGHT_TYPED),
        ("orders_untyped", TIGHT_UNTYPED),
        ("orders_typeddict", TIGHT_TYPEDDICT),
    ):
        (folder / "app" / "functions" / name).mkdir(parents=True)
        (folder / "app" / "functions" / name / "handler.py").write_text(source)
        (folder / "app" / "functions" / name / "__init__.py").write_text("")
    for package in ("app", "app/functions"):
        (folder / package / "__init__.py").write_text("")
    copy_runtime(folder / "app" / "vendored")
    (folder / "app" / "vendored" / "tight.json").write_text(TIGHT_JSON)
    return folder, entry


def write_events(root: Path) -> dict[str, Path]:
    paths = {}
    for name, body in (("good", ORDER), ("bad", BAD_ORDER)):
        paths[name] = root / f"{name}.json"
        paths[name].write_text(json.dumps(make_event("POST", "/orders", body=body)))
    return paths


CLOCK = "wall"


def run_child(folder: Path, entry: str, event: Path, mode: str = "cold") -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", CHILD, mode, str(folder), entry, str(event)],
        capture_output=True,
        text=True,
        env={**os.environ, "TIGHT_BENCH_CLOCK": CLOCK},
    )
    if result.returncode != 0:
        raise RuntimeError(f"{folder.name} failed:\n{result.stderr[-2000:]}")
    answer: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


def check(folders: dict[str, tuple[Path, str]], events: dict[str, Path]) -> None:
    """Every framework answers the good order alike, and the typed ones refuse the bad one."""
    for name, (folder, entry) in folders.items():
        good = run_child(folder, entry, events["good"])
        if good["status"] != 200 or json.loads(str(good["body"])) != ANSWER:
            raise RuntimeError(f"{name} answered {good!r} to the good order")
        if name not in ("untyped", "model"):
            bad = run_child(folder, entry, events["bad"])
            if bad["status"] != 422:
                raise RuntimeError(f"{name} answered {bad!r} to the bad order, not a 422")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (smoke run)")
    parser.add_argument("--results", type=Path, default=HERE.parent / "results")
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="time cold starts by the wall clock (default) or by the child's own CPU time",
    )
    args = parser.parse_args()
    global CLOCK
    CLOCK = args.clock
    rounds = 1 if args.quick else 5
    number = "50" if args.quick else "2000"
    cold_runs = 3 if args.quick else 31

    invoke: dict[str, float] = {}
    ratios: dict[str, list[float]] = {
        "powertools_over_tight": [],
        "powertools_over_typeddict": [],
        "tight_over_untyped": [],
    }
    cold: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="tight-typed-bench-") as tmp:
        root = Path(tmp)
        events = write_events(root)
        folders = {framework: build(framework, root) for framework in FRAMEWORKS}
        for folder, _ in folders.values():
            compileall.compile_dir(str(folder), quiet=1)
        check(folders, events)
        print(
            f"per invoke (µs): a typed POST, 10-field body; best of 9 interleaved timings in "
            f"each of {rounds} interpreters",
            flush=True,
        )
        for _ in range(rounds):
            result = subprocess.run(
                [sys.executable, "-I", "-S", "-B", "-c", COMPARE, str(events["good"]), number]
                + [f"{name}={folder}={entry}" for name, (folder, entry) in folders.items()],
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                raise RuntimeError(f"timing failed:\n{result.stderr[-2000:]}")
            timings = json.loads(result.stdout.strip().splitlines()[-1])
            for name, seconds in timings.items():
                invoke[name] = min(invoke.get(name, seconds * 1e6), seconds * 1e6)
            ratios["powertools_over_tight"].append(timings["powertools"] / timings["tight"])
            ratios["powertools_over_typeddict"].append(timings["powertools"] / timings["typeddict"])
            ratios["tight_over_untyped"].append(timings["tight"] / timings["untyped"])
        for name, micros in invoke.items():
            print(f"  {name:<10} {micros:8.2f}", flush=True)
        for name, values in ratios.items():
            invoke[name] = statistics.median(values)
        print(
            f"\nimport + first call, median of {cold_runs} fresh interpreters (ms, {CLOCK} clock)",
            flush=True,
        )
        samples: dict[str, list[float]] = {name: [] for name in folders}
        for run in range(cold_runs):
            ordered = list(folders.items())
            for name, (folder, entry) in ordered if run % 2 else reversed(ordered):
                answer = run_child(folder, entry, events["good"])
                samples[name].append(float(answer["seconds"]) * 1e3)  # type: ignore[arg-type]
        for name, values in samples.items():
            cold[name] = statistics.median(values)
            print(f"  {name:<10} {cold[name]:8.2f}", flush=True)
        # Each typed run is paired with its twin's run beside it: load shifts both alike.
        cold["typed_minus_untyped"] = statistics.median(
            a - b for a, b in zip(samples["tight"], samples["untyped"], strict=True)
        )
        # The fastest of each, the least disturbed by other work on the machine.
        cold["best_typed_minus_untyped"] = min(samples["tight"]) - min(samples["untyped"])
        # The same gap without the imports both share (the runtime's, the user's module):
        # each first call timed with every import done, typed and untyped paired. What the
        # two cold starts share is most of their noise; this is the typed part alone.
        first: dict[str, list[float]] = {"tight": [], "untyped": []}
        for run in range(cold_runs):
            for name in ("tight", "untyped") if run % 2 else ("untyped", "tight"):
                folder, entry = folders[name]
                answer = run_child(folder, entry, events["good"], "first-call")
                first[name].append(float(answer["seconds"]) * 1e3)  # type: ignore[arg-type]
        cold["first_call_typed_minus_untyped"] = statistics.median(
            a - b for a, b in zip(first["tight"], first["untyped"], strict=True)
        )
        print(
            f"  first call, imports done: typed {statistics.median(first['tight']):.3f}, "
            f"untyped {statistics.median(first['untyped']):.3f}",
            flush=True,
        )
        # What the dataclass model alone costs (its module, no framework), and Tight's share
        # on top of it, paired run by run.
        cold["tight_minus_model"] = statistics.median(
            a - b for a, b in zip(samples["tight"], samples["model"], strict=True)
        )
        cold["powertools_over_model"] = cold["powertools"] / cold["model"]
        cold["powertools_over_tight"] = cold["powertools"] / cold["tight"]
        cold["powertools_over_typeddict"] = cold["powertools"] / cold["typeddict"]
        shutil.rmtree(root, ignore_errors=True)

    report(invoke, cold)
    args.results.mkdir(parents=True, exist_ok=True)
    results = {
        "python": sys.version.split()[0],
        "clock": CLOCK,
        "invoke_us": invoke,
        "cold_ms": cold,
    }
    (args.results / "typed.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nsaved {args.results / 'typed.json'}")
    return 0


def report(invoke: dict[str, float], cold: dict[str, float]) -> None:
    speedup, speedup_td = invoke["powertools_over_tight"], invoke["powertools_over_typeddict"]
    cold_ratio, cold_ratio_td = cold["powertools_over_tight"], cold["powertools_over_typeddict"]
    gap = cold["typed_minus_untyped"]
    print("\n== summary: Tight's typed POST against Powertools' validating resolver ==")
    print(
        f"per invoke: tight (dataclass) {invoke['tight']:.1f} µs, (TypedDict) "
        f"{invoke['typeddict']:.1f} µs, untyped twin {invoke['untyped']:.1f} µs, powertools "
        f"{invoke['powertools']:.1f} µs; powertools / tight = {speedup:.1f}x (dataclass), "
        f"{speedup_td:.1f}x (TypedDict), median of the ratios within each interpreter"
    )
    print(
        f"import + first call: tight (dataclass) {cold['tight']:.2f} ms, (TypedDict) "
        f"{cold['typeddict']:.2f} ms, untyped twin {cold['untyped']:.2f} ms (paired gap "
        f"{gap:+.2f} ms, fastest runs {cold['best_typed_minus_untyped']:+.2f} ms, first call "
        f"with the imports done {cold['first_call_typed_minus_untyped']:+.2f} ms), powertools "
        f"{cold['powertools']:.2f} ms; powertools / tight = "
        f"{cold_ratio:.1f}x (dataclass), {cold_ratio_td:.1f}x (TypedDict)"
    )
    print(
        f"the dataclass model alone (its module, no framework) {cold['model']:.2f} ms: no "
        f"framework can start more than {cold['powertools_over_model']:.1f}x below powertools "
        f"with it; Tight's share over it {cold['tight_minus_model']:+.2f} ms (paired)"
    )
    targets = [
        ("per invoke >= 3x faster than Powertools", min(speedup, speedup_td) >= 3),
        ("cold start >= 10x below Powertools' (dataclass model)", cold_ratio >= 10),
        ("(TypedDict model)", cold_ratio_td >= 10),
        ("typed cold start within 1 ms of the untyped twin's", gap <= 1.0),
        ("(fastest runs)", cold["best_typed_minus_untyped"] <= 1.0),
        ("(first call, imports done)", cold["first_call_typed_minus_untyped"] <= 1.0),
    ]
    print("targets: " + "; ".join(f"{name}: {'met' if ok else 'MISSED'}" for name, ok in targets))


if __name__ == "__main__":
    sys.exit(main())
