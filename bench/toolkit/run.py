"""Toolkit benchmark: how long a user waits for scaffolding, `doit list` and a rebuild.

Wall time of real commands in a fresh app, median of several runs, beside the peers
measured in the same run: `chalice new-project` against `tight generate_app`, and a bare
`python -c pass` as the floor every command starts from. Then, in an app built from a
local wheelhouse (no network), `doit artifact` when nothing changed (the no-op) and after
a handler edit (a new zip, compiled and import-checked), beside `doit list` in that app
(doit and the task module starting: the floor of every doit command). Each command's CPU
time is reported too: on a busy machine it is the steadier figure. Commands run with
bytecode caching on, as a user's install has it. Nothing here asserts a timing.

    python bench/toolkit/run.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(HERE.parent.parent / "tests"))


CPU: dict[str, list[float]] = {}  # CPU seconds (user + system) of each command's process


def timed(command: list[str], cwd: Path, env: dict[str, str], label: str = "") -> float:
    """Wall time; the CPU time goes to CPU[label]."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    CPU.setdefault(label or " ".join(command), []).append(cpu)
    return elapsed


def artifact_times(folder: Path, env: dict[str, str], runs: int) -> dict[str, float]:
    """`doit artifact` with nothing to do, and after each of ``runs`` handler edits, each
    run beside `doit list` in the same app."""
    from wheelhouse import build_wheelhouse

    wheels = build_wheelhouse(folder / "wheelhouse")
    subprocess.run([str(BIN / "tight"), "generate_app", "name=shop"], cwd=folder, env=env,
                   check=True, capture_output=True)  # fmt: skip
    app = folder / "shop"
    subprocess.run([str(BIN / "doit"), "generate_function", "name=items"], cwd=app, env=env,
                   check=True, capture_output=True)  # fmt: skip
    (app / "requirements.in").write_text("purepkg\n")
    with (app / "tight.yml").open("a") as settings:
        settings.write(f"no_index: true\nfind_links: {wheels}\n")
    doit = [str(BIN / "doit"), "artifact"]
    listing = [str(BIN / "doit"), "list"]
    timed(doit, app, env, "first build")  # lock, vendor and the first zip
    handler = app / "app/functions/items/handler.py"
    samples: dict[str, list[float]] = {
        "doit list (app)": [],
        "doit artifact (no-op)": [],
        "doit artifact (handler edit)": [],
    }
    for run in range(runs):  # interleaved: load on a shared machine hits each alike
        for name in samples:
            if name == "doit artifact (handler edit)":
                handler.write_text(handler.read_text() + f"\n# edit {run}\n")
            command = listing if name == "doit list (app)" else doit
            samples[name].append(timed(command, app, env, name))
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (smoke run)")
    runs = 3 if parser.parse_args().quick else 9
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="tight-bench-toolkit-") as tmp:
        root = Path(tmp)
        env = dict(os.environ, XDG_CACHE_HOME=str(root / "cache"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # else every command compiles the toolkit
        samples: dict[str, list[float]] = {
            "python -c pass": [],
            "tight generate_app": [],
            "chalice new-project": [],
            "doit list": [],
            "doit generate_function": [],
        }
        for run in range(runs):
            work = root / f"run{run}"
            work.mkdir()
            app = work / "app_one"
            for name, command, cwd in (
                ("python -c pass", [sys.executable, "-c", "pass"], work),
                ("tight generate_app", [str(BIN / "tight"), "generate_app", "name=app_one"], work),
                ("chalice new-project", [str(BIN / "chalice"), "new-project", "chalice_one"], work),
                ("doit list", [str(BIN / "doit"), "list"], app),
                (
                    "doit generate_function",
                    [str(BIN / "doit"), "generate_function", f"name=fn{run}"],
                    app,
                ),
            ):
                samples[name].append(timed(command, cwd, env, name))
            shutil.rmtree(work)
        for name, values in samples.items():
            results[name] = statistics.median(values)
        results.update(artifact_times(root, env, runs))

    cpu = {name: statistics.median(CPU[name]) for name in results}
    print(f"toolkit commands, median of {runs} runs (s): wall, CPU")
    for name, seconds in results.items():
        print(f"  {name:<28} {seconds:6.3f} {cpu[name]:6.3f}")
    floor = results["python -c pass"]
    ratio = results["chalice new-project"] / results["tight generate_app"]
    print(f"tight generate_app is {ratio:.1f}x as fast as chalice new-project")
    for name in (
        "doit list",
        "doit generate_function",
        "doit artifact (no-op)",
        "doit artifact (handler edit)",
    ):
        print(
            f"{name}: {results[name]:.3f} s, {results[name] / floor:.1f}x a bare interpreter start"
        )
    listing, listing_cpu = results["doit list (app)"], cpu["doit list (app)"]
    for name in ("doit artifact (no-op)", "doit artifact (handler edit)"):
        print(
            f"{name}: {results[name] / listing:.2f}x doit list in the same app "
            f"({cpu[name] / listing_cpu:.2f}x in CPU time)"
        )
    targets = [
        ("doit list < 0.5 s", results["doit list"] < 0.5),
        ("doit generate_function < 0.5 s", results["doit generate_function"] < 0.5),
        ("no-op artifact <= 0.15 s", results["doit artifact (no-op)"] <= 0.15),
        ("handler edit <= 0.3 s", results["doit artifact (handler edit)"] <= 0.3),
        ("in CPU time: no-op <= 0.15 s", cpu["doit artifact (no-op)"] <= 0.15),
        ("handler edit <= 0.3 s", cpu["doit artifact (handler edit)"] <= 0.3),
    ]
    print("targets: " + "; ".join(f"{name}: {'met' if ok else 'MISSED'}" for name, ok in targets))
    out = HERE.parent / "results"
    out.mkdir(exist_ok=True)
    (out / "toolkit.json").write_text(
        json.dumps({"median_seconds": results, "median_cpu_seconds": cpu}, indent=2) + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
