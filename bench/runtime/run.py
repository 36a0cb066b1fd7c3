"""Runtime benchmark: Tight against a raw handler, Powertools' resolver and Chalice, in one run.

Per-invoke time (GET with a path parameter, POST echoing a JSON body; v1 events), cold start
(import + first call over a Lambda-like preload, with and without .pyc, and how many modules
it loaded) for 1 and 50 functions/routes, Tight's cold start with app/vendored as a regular
and as a namespace package, and the runtime's zipped size. Every figure comes
from a fresh interpreter whose path is only the deploy folder, the runs of every framework
interleaved. Results print as ratios against the peers measured in this same run and are
saved to bench/results/runtime.json. Nothing here asserts a timing.

    python bench/runtime/run.py [--quick] [--clock cpu]

``--clock cpu`` times each child by its own CPU time instead of the wall clock: on a shared
machine, time the child spends preempted by other work then does not count.
"""

from __future__ import annotations

import argparse
import compileall
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from apps import FRAMEWORKS, LAMBDA_PRELUDE, build  # noqa: E402

CHILD = LAMBDA_PRELUDE + (HERE / "child.py").read_text()
SIZES = (1, 50)
METHODS = ("GET", "POST")


CLOCK = "wall"


def run_child(mode: str, folder: Path, entry: str, method: str, *extra: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", CHILD, mode, str(folder), entry, method, *extra],
        capture_output=True,
        text=True,
        env={**os.environ, "TIGHT_BENCH_CLOCK": CLOCK},
    )
    if result.returncode != 0:
        raise RuntimeError(f"{folder.name} {mode} {method} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def clear_bytecode(folder: Path) -> None:
    for cache in folder.rglob("__pycache__"):
        shutil.rmtree(cache)


def zipped_size(folder: Path) -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*.py")):
            archive.write(path, path.relative_to(folder.parent))
    return len(buffer.getvalue())


def check_answers(name: str, method: str, body: object) -> None:
    """Every framework must answer the same thing, or the comparison means nothing."""
    decoded = json.loads(body) if isinstance(body, str) else body
    expected = (
        {"id": "42"}
        if method == "GET"
        else {"name": "teapot", "size": 3, "tags": ["kitchen", "tea"], "price": 12.5}
    )
    if decoded != expected:
        raise RuntimeError(f"{name} {method} answered {decoded!r}, expected {expected!r}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (smoke run)")
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="time children by the wall clock (default) or by their own CPU time",
    )
    args = parser.parse_args()
    global CLOCK
    CLOCK = args.clock
    cold_runs = 5 if args.quick else 21
    rounds = 1 if args.quick else 3
    number = "2000" if args.quick else "20000"

    results: dict[str, object] = {"python": sys.version.split()[0], "clock": CLOCK}
    invoke: dict[str, float] = {}
    cold: dict[str, float] = {}
    modules: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="tight-bench-") as tmp:
        root = Path(tmp)
        folders = {}
        for framework in FRAMEWORKS:
            for size in SIZES:
                folders[framework, size] = build(framework, size, root)
        print(
            f"per-invoke time (µs): best of {rounds} interleaved processes,"
            f" each the best of 7 x {number} calls; {CLOCK} clock",
            flush=True,
        )
        for folder, _ in folders.values():
            clear_bytecode(folder)
            compileall.compile_dir(str(folder), quiet=1)
        # Rounds interleave the frameworks, so drift on a shared machine hits each alike.
        for _ in range(rounds):
            for (framework, size), (folder, entry) in folders.items():
                for method in METHODS:
                    answer = run_child("invoke", folder, entry, method, number)
                    check_answers(f"{framework}_{size}", method, answer["body"])
                    key = f"{framework}/{size}/{method}"
                    micros = float(answer["seconds"]) * 1e6  # type: ignore[arg-type]
                    invoke[key] = min(invoke.get(key, micros), micros)
        for key, micros in invoke.items():
            framework, size, method = key.split("/")
            print(f"  {framework:<10} {size:>2} {method:<4} {micros:8.2f}", flush=True)
        print(
            f"\ncold start over the preload, median of {cold_runs} fresh interpreters (ms),"
            " interleaved",
            flush=True,
        )
        # A copy of each folder without bytecode, so that every variant's runs can
        # interleave: drift on a shared machine then hits each alike.
        variants = {}
        for (framework, size), (folder, entry) in folders.items():
            source = folder.with_name(folder.name + "_source")
            shutil.copytree(folder, source)
            clear_bytecode(source)
            variants[f"{framework}/{size}/pyc"] = (folder, entry)
            variants[f"{framework}/{size}/source"] = (source, entry)
        # The same Tight app with app/vendored as a namespace package (no __init__.py), as
        # `doit vendor` wrote it before it made the folder a regular package.
        for build_kind in ("pyc", "source"):
            folder, entry = variants[f"tight/1/{build_kind}"]
            namespace = folder.with_name(folder.name + "_namespace")
            shutil.copytree(folder, namespace)
            (namespace / "app" / "vendored" / "__init__.py").unlink()
            for cached in (namespace / "app" / "vendored" / "__pycache__").glob("__init__.*"):
                cached.unlink()
            variants[f"tight-namespace/1/{build_kind}"] = (namespace, entry)
        samples: dict[str, list[float]] = {key: [] for key in variants}
        for _ in range(cold_runs):
            for key, (folder, entry) in variants.items():
                answer = run_child("cold", folder, entry, "GET")
                check_answers(key, "GET", answer["body"])
                samples[key].append(float(answer["seconds"]) * 1e3)  # type: ignore[arg-type]
                modules[key] = int(answer["modules"])  # type: ignore[call-overload]
        for key, values in samples.items():
            framework, count, build_kind = key.split("/")
            cold[key] = statistics.median(values)
            print(
                f"  {framework:<10} {count:>2} {build_kind:<6} {cold[key]:8.2f}"
                f"  ({modules[key]} modules loaded)",
                flush=True,
            )
        sizes = {
            "tight": zipped_size(folders["tight", 1][0] / "app" / "vendored" / "tight"),
            "powertools": zipped_size(folders["powertools", 1][0] / "aws_lambda_powertools"),
            "chalice": zipped_size(folders["chalice", 1][0] / "chalice"),
        }

    results.update(invoke_us=invoke, cold_ms=cold, cold_modules=modules, zipped_bytes=sizes)
    report(invoke, cold, sizes)
    out = HERE.parent / "results"
    out.mkdir(exist_ok=True)
    (out / "runtime.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nsaved {out / 'runtime.json'}")
    return 0


def report(invoke: dict[str, float], cold: dict[str, float], sizes: dict[str, int]) -> None:
    print("\n== summary: Tight against the peers measured in this run ==")
    for size in SIZES:
        for method in METHODS:
            t = invoke[f"tight/{size}/{method}"]
            line = ", ".join(
                f"{peer} {invoke[f'{peer}/{size}/{method}'] / t:.1f}x slower"
                if peer != "raw"
                else f"{t / invoke[f'raw/{size}/{method}']:.2f}x raw"
                for peer in ("raw", "powertools", "chalice")
            )
            print(f"invoke {method:<4} {size:>2} routes: tight {t:.2f} µs = {line}")
    for size in SIZES:
        for build_kind in ("pyc", "source"):
            t = cold[f"tight/{size}/{build_kind}"]
            peers = ", ".join(
                f"{peer} {cold[f'{peer}/{size}/{build_kind}']:.2f} ms"
                for peer in ("raw", "powertools", "chalice")
            )
            print(f"cold start {build_kind:<6} {size:>2} functions: tight {t:.2f} ms ({peers})")
    for build_kind in ("pyc", "source"):
        regular, namespace = cold[f"tight/1/{build_kind}"], cold[f"tight-namespace/1/{build_kind}"]
        print(
            f"cold start {build_kind:<6} app/vendored a regular package: {regular:.2f} ms, "
            f"a namespace package: {namespace:.2f} ms ({regular / namespace:.2f}x)"
        )
    for build_kind in ("pyc", "source"):
        spread = cold[f"tight/50/{build_kind}"] - cold[f"tight/1/{build_kind}"]
        print(f"cold start, 50 functions minus 1 ({build_kind}): {spread:+.2f} ms")
    print(
        "zipped size: " + ", ".join(f"{name} {size / 1024:.1f} KB" for name, size in sizes.items())
    )

    def faster(method: str) -> bool:
        return all(
            invoke[f"{peer}/{size}/{method}"] >= 5 * invoke[f"tight/{size}/{method}"]
            for peer in ("powertools", "chalice")
            for size in SIZES
        )

    targets = [
        ("invoke GET <= 1.5x raw", invoke["tight/1/GET"] <= 1.5 * invoke["raw/1/GET"]),
        ("invoke POST <= 1.5x raw", invoke["tight/1/POST"] <= 1.5 * invoke["raw/1/POST"]),
        ("GET >= 5x faster than Powertools and Chalice", faster("GET")),
        ("POST >= 5x faster than Powertools and Chalice", faster("POST")),
        ("cold start <= 3 ms (pyc)", cold["tight/1/pyc"] <= 3.0),
        ("50 functions within 1 ms of 1", abs(cold["tight/50/pyc"] - cold["tight/1/pyc"]) <= 1.0),
        ("runtime <= 100 KB zipped", sizes["tight"] <= 100 * 1024),
    ]
    fastest_peer = min(invoke[f"{peer}/1/POST"] for peer in ("powertools", "chalice"))
    print(
        f"(POST bound: the raw handler itself is only {fastest_peer / invoke['raw/1/POST']:.1f}x"
        " faster than the faster peer; decoding and encoding the body dominate)"
    )
    print("targets: " + "; ".join(f"{name}: {'met' if ok else 'MISSED'}" for name, ok in targets))


if __name__ == "__main__":
    sys.exit(main())
