"""Toolkit benchmark: `doit template` for an app of 20 functions, fresh and as a no-op.

Wall time of the real command, median of several runs, beside what is measured in the
same run (wall time, and CPU time, steadier on a busy machine): a bare `python -c pass`
(the floor), `doit list` in the same app (doit's own
start-up, which every task pays) and Chalice's `chalice package` for an app of 20 routes
(the peer that writes a SAM template; it reuses its zip when nothing changed). Goals:
`doit template` <= 0.3 s, no-op <= 0.15 s. Commands run with bytecode caching on, as a
user's install has it. Nothing here asserts a timing.

    python bench/toolkit/template.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
FUNCTIONS = 20

HTTP = """import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy
from app.models.item import Item


@lambda_proxy.get
def get_handler(*args, **kwargs):
    return {"statusCode": 200, "body": Item.get(kwargs["event"]["pathParameters"]["id"]).to_dict()}


@lambda_proxy.post
def post_handler(*args, **kwargs):
    Item(**kwargs["event"]["body"]).save()
    return {"statusCode": 201}
"""

QUEUE = """import tight.providers.aws.controllers.sqs as sqs


@sqs.record
def on_message(*args, **kwargs):
    print(kwargs["record"].body)
"""


# One timer for both toolkit benches (this folder is on sys.path when a script runs).
from run import CPU, timed  # noqa: E402


def tight_app(folder: Path, env: dict[str, str]) -> Path:
    subprocess.run([str(BIN / "tight"), "generate_app", "name=bench"], cwd=folder, env=env,
                   check=True, capture_output=True)  # fmt: skip
    root = folder / "bench"
    subprocess.run([str(BIN / "doit"), "generate_model", "name=item"], cwd=root, env=env,
                   check=True, capture_output=True)  # fmt: skip
    triggers = []
    for number in range(FUNCTIONS):
        name = f"fn{number:02d}"
        (root / "app/functions" / name).mkdir(parents=True)
        (root / "app/functions" / name / "__init__.py").write_text("")
        queue = number % 4 == 3  # one in four consumes a queue
        (root / "app/functions" / name / "handler.py").write_text(QUEUE if queue else HTTP)
        if queue:
            triggers.append(f"  {name}:\n    sqs: {{queue: {name}}}\n")
    with (root / "tight.yml").open("a") as settings:
        settings.write("functions:\n" + "".join(triggers))
    return root


def chalice_app(folder: Path, env: dict[str, str]) -> Path:
    subprocess.run([str(BIN / "chalice"), "new-project", "peer"], cwd=folder, env=env,
                   check=True, capture_output=True)  # fmt: skip
    root = folder / "peer"
    routes = "".join(
        f"\n\n@app.route('/fn{n:02d}/{{id}}', methods=['GET', 'POST'])\n"
        f"def fn{n:02d}(id):\n    return {{'id': id}}\n"
        for n in range(FUNCTIONS)
    )
    (root / "app.py").write_text(
        f"from chalice import Chalice\n\napp = Chalice(app_name='peer')\n{routes}"
    )
    return root


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (smoke run)")
    runs = 3 if parser.parse_args().quick else 9
    with tempfile.TemporaryDirectory(prefix="tight-bench-template-") as tmp:
        folder = Path(tmp)
        env = dict(os.environ, XDG_CACHE_HOME=str(folder / "cache"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # else every command compiles the toolkit
        env.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # chalice package wants one
        root = tight_app(folder, env)
        peer = chalice_app(folder, env)
        doit = str(BIN / "doit")
        handler = root / "app/functions/fn00/handler.py"
        samples: dict[str, list[float]] = {
            "python -c pass": [],
            "doit list": [],
            "doit template": [],
            "doit template (no-op)": [],
            "chalice package": [],
        }
        for run in range(runs):
            for name, command, cwd in (
                ("python -c pass", [sys.executable, "-c", "pass"], root),
                ("doit list", [doit, "list"], root),
                ("doit template", [doit, "template"], root),
                ("doit template (no-op)", [doit, "template"], root),
                ("chalice package", [str(BIN / "chalice"), "package", str(folder / "out")], peer),
            ):
                if name == "doit template":  # an edit: the template is written again
                    handler.write_text(HTTP + f"\n# edit {run}\n")
                samples[name].append(timed(command, cwd, env, name))
        results = {name: statistics.median(values) for name, values in samples.items()}
        cpu = {name: statistics.median(CPU[name]) for name in samples}
    print(f"doit template, {FUNCTIONS} functions, median of {runs} runs (s): wall, CPU")
    for name, seconds in results.items():
        print(f"  {name:<24} {seconds:6.3f} {cpu[name]:6.3f}")
    floor = results["doit list"]
    print(
        f"doit template is {results['doit template'] / floor:.2f}x doit list, "
        f"the no-op {results['doit template (no-op)'] / floor:.2f}x; "
        f"chalice package takes {results['chalice package'] / results['doit template']:.1f}x "
        "as long as doit template"
    )
    targets = [
        ("doit template <= 0.3 s", results["doit template"] <= 0.3),
        ("no-op <= 0.15 s", results["doit template (no-op)"] <= 0.15),
        ("in CPU time: doit template <= 0.3 s", cpu["doit template"] <= 0.3),
        ("no-op <= 0.15 s", cpu["doit template (no-op)"] <= 0.15),
    ]
    print(
        f"doit list alone (doit and tight_tasks starting) takes {results['doit list']:.3f} s "
        f"wall, {cpu['doit list']:.3f} s CPU: the floor of every doit command"
    )
    print("targets: " + "; ".join(f"{name}: {'met' if ok else 'MISSED'}" for name, ok in targets))
    out = HERE.parent / "results"
    out.mkdir(exist_ok=True)
    (out / "toolkit_template.json").write_text(
        json.dumps({"median_seconds": results, "median_cpu_seconds": cpu}, indent=2) + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
