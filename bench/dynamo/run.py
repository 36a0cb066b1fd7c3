"""Local DynamoDB benchmark: time to ready per backend, and the model API's overhead.

For each backend (moto installed into the app, dynalite, and the command backend running
this environment's moto server), the median time `doit dynamo_start` takes until the
server answers, over several start/stop cycles. Then the first `doit dynamo_start` of a
fresh app, which installs moto (with uv when there is one), package cache warm, against
installing moto with pip as the toolkit used to, in the same run. Then the warm start of the
moto backend keeping its data (a table of ITEMS items put back on each start, saved on each
stop) against the same start with ``persist: false``, in the same run. Then put and get
latency through ``tight.models`` against plain boto3 (resource and client) on the same moto
server, in the same run. Nothing asserts a timing.

    python bench/dynamo/run.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
CACHE = HERE.parent.parent / ".cache"
sys.path.insert(0, str(HERE.parent.parent))


def doit(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(BIN / "doit"), *args], cwd=cwd, capture_output=True, text=True, env=env
    )
    if result.returncode != 0:
        raise RuntimeError(f"doit {' '.join(args)} failed: {result.stdout}{result.stderr}")
    return result


def app(folder: Path, name: str, dynamo: str, env: dict[str, str]) -> Path:
    subprocess.run([str(BIN / "tight"), "generate_app", f"name={name}"], cwd=folder, env=env,
                   check=True, capture_output=True)  # fmt: skip
    root = folder / name
    settings = (root / "tight.yml").read_text() + dynamo
    if (CACHE / "wheels-dynamo").is_dir():  # offline, from what `make test` fetched
        settings += f"find_links: {CACHE / 'wheels-dynamo'}\nno_index: true\n"
    (root / "tight.yml").write_text(settings)
    return root


def start_times(root: Path, env: dict[str, str], cycles: int) -> tuple[float, float]:
    doit("dynamo_install", cwd=root, env=env)
    ready, wall = [], []
    for _ in range(cycles):
        started = time.perf_counter()
        doit("dynamo_start", cwd=root, env=env)
        wall.append(time.perf_counter() - started)
        state = json.loads((root / ".tight/dynamo/server.json").read_text())
        ready.append(state["ready_seconds"])
        doit("dynamo_stop", cwd=root, env=env)
    return statistics.median(ready), statistics.median(wall)


ITEMS = 500


def persistence(root: Path, env: dict[str, str], cycles: int) -> dict[str, float]:
    """Warm `doit dynamo_start` of the moto backend with ITEMS items kept, against the same
    start with `persist: false` (median whole command, s), and the stop that saves them."""
    import boto3

    # A model, as an app has: each start loads it to create its table (the kept items are
    # put back meanwhile).
    (root / "app/models/note.py").write_text(
        "from tight.models import Model, String\n\n\nclass Note(Model):\n"
        "    hash_key = 'id'\n    id = String()\n"
    )
    doit("dynamo_start", cwd=root, env=env)
    endpoint = json.loads((root / ".tight/dynamo/server.json").read_text())["endpoint"]
    db = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="local", aws_secret_access_key="local")  # fmt: skip
    db.create_table(
        TableName="kept", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
    )  # fmt: skip
    for i in range(ITEMS):
        db.put_item(TableName="kept", Item={"id": {"S": str(i)}, "text": {"S": "x" * 100}})
    doit("dynamo_stop", cwd=root, env=env)
    settings = root / "tight.yml"
    original = settings.read_text()
    timed: dict[str, list[float]] = {"kept": [], "persist: false": [], "stop (saving)": []}
    for _ in range(cycles):
        for mode in ("kept", "persist: false"):
            off = original.replace("dynamo:\n", "dynamo:\n  persist: false\n", 1)
            settings.write_text(original if mode == "kept" else off)
            started = time.perf_counter()
            result = doit("dynamo_start", cwd=root, env=env)
            timed[mode].append(time.perf_counter() - started)
            assert (f"and {ITEMS} item(s)" in result.stdout) == (mode == "kept"), result.stdout
            started = time.perf_counter()
            doit("dynamo_stop", cwd=root, env=env)
            if mode == "kept":
                timed["stop (saving)"].append(time.perf_counter() - started)
    settings.write_text(original)
    return {mode: statistics.median(values) for mode, values in timed.items()}


def first_start(folder: Path, env: dict[str, str]) -> dict[str, Any]:
    """A fresh app's first `doit dynamo_start` (install included), the caches warm from the
    runs before; and the pip install it replaces, warm too (second of two)."""
    from tight.testing.servers import free_port
    from tight_tasks.config import load
    from tight_tasks.dynamo import moto_install_command

    dynamo = f"dynamo:\n  backend: moto\n  port: {free_port()}\n"
    root = app(folder, "first", dynamo, env)
    started = time.perf_counter()
    result = doit("dynamo_start", cwd=root, env=env)
    first = time.perf_counter() - started
    doit("dynamo_stop", cwd=root, env=env)
    installer = "uv" if " with uv," in result.stdout else "pip"
    pip = []
    for attempt in range(2):
        target = folder / f"pip-moto-{attempt}"
        command = moto_install_command(target, load(root), root, "pip")
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=env)
        pip.append(time.perf_counter() - started)
    return {"first dynamo_start": first, "pip install (warm)": pip[-1], "installer": installer}


def latency(endpoint: str, rounds: int) -> dict[str, float]:
    import boto3

    from tight import config
    from tight.models import Model, Number, String
    from tight.providers.aws.clients import boto3_client, dynamo_db

    os.environ.update(TIGHT_DYNAMO_ENDPOINT=endpoint, AWS_ACCESS_KEY_ID="local",
                      AWS_SECRET_ACCESS_KEY="local", AWS_DEFAULT_REGION="us-east-1")  # fmt: skip
    boto3_client.reset()
    dynamo_db.reset()
    config.configure(app_name="bench", stage="dev")

    class Thing(Model):
        hash_key = "id"
        id = String()
        name = String()
        count = Number(default=0)

    Thing.create_table()
    table = dynamo_db.connect().table(Thing.table_name())
    client = boto3.session.Session().client(
        "dynamodb", endpoint_url=endpoint, region_name="us-east-1"
    )

    def median_ms(operation) -> float:
        for i in range(20):
            operation(i)
        samples = []
        for i in range(rounds):
            started = time.perf_counter()
            operation(i)
            samples.append(time.perf_counter() - started)
        return statistics.median(samples) * 1000

    return {
        "model put": median_ms(lambda i: Thing(id=str(i), name="n", count=i).save()),
        "resource put": median_ms(
            lambda i: table.put_item(Item={"id": str(i), "name": "n", "count": i})
        ),
        "client put": median_ms(
            lambda i: client.put_item(
                TableName=Thing.table_name(),
                Item={"id": {"S": str(i)}, "name": {"S": "n"}, "count": {"N": str(i)}},
            )
        ),
        "model get": median_ms(lambda i: Thing.get(str(i))),
        "resource get": median_ms(lambda i: table.get_item(Key={"id": str(i)})["Item"]),
        "client get": median_ms(
            lambda i: client.get_item(TableName=Thing.table_name(), Key={"id": {"S": str(i)}})[
                "Item"
            ]
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer cycles and calls")
    quick = parser.parse_args().quick
    cycles, rounds = (2, 100) if quick else (5, 400)
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="tight-bench-dynamo-") as tmp:
        folder = Path(tmp)
        env = dict(os.environ, XDG_CACHE_HOME=str(folder / "cache"))
        if (CACHE / "npm").is_dir():
            env.update(npm_config_cache=str(CACHE / "npm"), npm_config_prefer_offline="true")
        from tight.testing.servers import free_port

        command = f"{sys.executable} -m moto.server -H 127.0.0.1 -p {{port}}"
        backends = {
            "moto": f"dynamo:\n  backend: moto\n  port: {free_port()}\n",
            "dynalite": f"dynamo:\n  backend: dynalite\n  port: {free_port()}\n",
            "command (moto)": (
                f"dynamo:\n  backend: command\n  port: {free_port()}\n  command: {command}\n"
            ),
        }
        print(f"dynamo_start, median of {cycles} start/stop cycles (s)")
        starts = {}
        for index, (name, dynamo) in enumerate(backends.items()):
            root = app(folder, f"app{index}", dynamo, env)
            ready, wall = start_times(root, env, cycles)
            starts[name] = {"ready": ready, "doit dynamo_start": wall}
            print(f"  {name:<16} ready in {ready:.3f}   whole command {wall:.3f}")
        results["start"] = starts
        kept = persistence(folder / "app0", env, cycles)
        results["persistence"] = kept
        ratio = kept["kept"] / kept["persist: false"]
        print(
            f"moto warm dynamo_start keeping {ITEMS} items: {kept['kept']:.3f} s, with "
            f"persist: false {kept['persist: false']:.3f} s: {ratio:.2f}x; the stop that saves "
            f"them {kept['stop (saving)']:.3f} s"
        )
        first = first_start(folder, env)
        results["first_start"] = first
        fresh, pip = first["first dynamo_start"], first["pip install (warm)"]
        print(
            f"first dynamo_start of a fresh app, installing moto with {first['installer']}: "
            f"{fresh:.2f} s (ready to use); pip install of moto alone: {pip:.2f} s, "
            f"{pip / fresh:.1f}x as long"
        )
        root = app(folder, "latency", backends["command (moto)"], env)
        doit("dynamo_start", cwd=root, env=env)
        try:
            endpoint = json.loads((root / ".tight/dynamo/server.json").read_text())["endpoint"]
            times = latency(endpoint, rounds)
        finally:
            doit("dynamo_stop", cwd=root, env=env)
    results["latency_ms"] = times
    print(f"put/get latency against moto, median of {rounds} calls (ms)")
    for name, value in times.items():
        print(f"  {name:<14} {value:7.3f}")
    put = times["model put"] / times["resource put"] - 1
    get = times["model get"] / times["resource get"] - 1
    print(f"model API overhead over plain boto3 (resource): put {put:+.1%}, get {get:+.1%}")
    targets = [
        ("ready <= 1 s for every backend", all(v["ready"] <= 1.0 for v in starts.values())),
        ("kept data start <= 1.2x", ratio <= 1.2),
        ("first dynamo_start <= 10 s", first["first dynamo_start"] <= 10.0),
        ("model overhead <= 10%", put <= 0.10 and get <= 0.10),
    ]
    print("targets: " + "; ".join(f"{name}: {'met' if ok else 'MISSED'}" for name, ok in targets))
    out = HERE.parent / "results"
    out.mkdir(exist_ok=True)
    (out / "dynamo.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
