"""Build benchmark: how long `doit artifact` takes against the peers that build the same app.

One reference app (one function that imports requests, pydantic and PyJWT), built by:

- Tight: a cold build (lock, vendor, zip; with the default pip-tools resolver and with
  ``resolver: uv``), a no-op (nothing changed) and a handler edit;
- ``sam build`` repeated with nothing changed, and ``sam build --cached``;
- ``chalice package`` run again with nothing changed (its no-op);
- plain ``pip install -t`` + zip, the floor with no locking and no incremental step.

Every figure is the median wall time of real commands; results print as ratios against the
peers measured in this same run (machines differ too much for absolute figures to travel).
Three clean builds are also compared byte for byte. Nothing here asserts a timing.

aws-sam-cli is installed into ``bench/.peers/sam`` on first use (from PyPI); set
``TIGHT_BENCH_SAM`` to an existing ``sam`` executable to use that instead.

    python bench/build/run.py [--quick]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEERS = HERE.parent / ".peers"
BIN = Path(sys.executable).parent
RUNTIME = f"python{sys.version_info[0]}.{sys.version_info[1]}"
REQUIREMENTS = "requests\npydantic\nPyJWT\n"

HANDLER = """\
import jwt
import pydantic
import requests  # noqa: F401  (imported as a real function would)
import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy


class Item(pydantic.BaseModel):
    name: str


@lambda_proxy.post
def post_handler(*args, **kwargs):
    item = Item(**kwargs["event"]["body"])
    return {"statusCode": 201, "body": {"token": jwt.encode({"n": item.name}, "k")}}
"""

PLAIN_HANDLER = """\
import json

import jwt
import pydantic
import requests  # noqa: F401


class Item(pydantic.BaseModel):
    name: str


def handler(event, context):
    item = Item(**json.loads(event["body"]))
    return {"statusCode": 201, "body": json.dumps({"token": jwt.encode({"n": item.name}, "k")})}
"""

SAM_TEMPLATE = f"""\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Items:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: items/
      Handler: app.handler
      Runtime: {RUNTIME}
      Architectures: [x86_64]
"""

# chalice package imports app.py in its own interpreter, which lacks the app's packages:
# the handler imports them when called, as it would on Lambda.
CHALICE_APP = """\
from chalice import Chalice

app = Chalice(app_name="bench")


@app.route("/items", methods=["POST"])
def items():
    import jwt
    import pydantic
    import requests  # noqa: F401

    class Item(pydantic.BaseModel):
        name: str

    item = Item(**app.current_request.json_body)
    return {"token": jwt.encode({"n": item.name}, "k")}
"""


class Failed(RuntimeError):
    pass


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        tail = (result.stdout + result.stderr).strip().splitlines()[-15:]
        raise Failed(f"{' '.join(command)} failed in {cwd}:\n" + "\n".join(tail))
    return elapsed


def print_now(*args: object) -> None:
    print(*args, flush=True)


# -- Tight ----------------------------------------------------------------------------------
def tight_app(folder: Path, name: str, env: dict[str, str], resolver: str | None) -> Path:
    subprocess.run(
        [str(BIN / "tight"), "generate_app", f"name={name}"],
        cwd=folder, env=env, check=True, capture_output=True,
    )  # fmt: skip
    root = folder / name
    subprocess.run(
        [str(BIN / "doit"), "generate_function", "name=items", "methods=post"],
        cwd=root, env=env, check=True, capture_output=True,
    )  # fmt: skip
    (root / "app/functions/items/handler.py").write_text(HANDLER)
    (root / "requirements.in").write_text(REQUIREMENTS)
    settings = (root / "tight.yml").read_text()
    settings = "\n".join(line for line in settings.splitlines() if not line.startswith("runtime:"))
    settings += f"\nruntime: {RUNTIME}\n"
    if resolver:
        settings += f"resolver: {resolver}\n"
    (root / "tight.yml").write_text(settings)
    return root


def zip_digest(root: Path) -> str:
    zips = sorted((root / "build").glob("*.zip"))
    return hashlib.sha256(b"".join(z.read_bytes() for z in zips)).hexdigest()


def bench_tight(work: Path, env: dict[str, str], runs: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {
        "tight cold (pip-tools)": [],
        "tight cold (uv)": [],
        "tight no-op": [],
        "tight handler edit": [],
    }
    digests: list[str] = []
    artifact = [str(BIN / "doit"), "artifact"]
    for run in range(max(runs, 3)):  # three clean builds at least, for the byte check
        folder = work / f"tight-{run}"
        folder.mkdir()
        root = tight_app(folder, "bench-app", env, None)
        cold = timed(artifact, root, env)
        digests.append(zip_digest(root))
        if run >= runs:
            continue
        samples["tight cold (pip-tools)"].append(cold)
        samples["tight no-op"].append(timed(artifact, root, env))
        samples["tight no-op"].append(timed(artifact, root, env))
        handler = root / "app/functions/items/handler.py"
        handler.write_text(handler.read_text() + f"\n# edit {run}\n")
        samples["tight handler edit"].append(timed(artifact, root, env))
        uv_folder = work / f"tight-uv-{run}"
        uv_folder.mkdir()
        samples["tight cold (uv)"].append(
            timed(artifact, tight_app(uv_folder, "bench-app", env, "uv"), env)
        )
    identical = len(set(digests)) == 1
    print_now(f"  {len(digests)} clean builds byte-identical: {'yes' if identical else 'NO'}")
    return samples


# -- peers ----------------------------------------------------------------------------------
def find_sam() -> Path | None:
    """TIGHT_BENCH_SAM, else aws-sam-cli in bench/.peers/sam, installed there on first use."""
    given = os.environ.get("TIGHT_BENCH_SAM")
    if given:
        return Path(given)
    venv = PEERS / "sam"
    sam = venv / "bin" / "sam"
    if sam.is_file():
        return sam
    print_now(f"  installing aws-sam-cli into {venv} (once; set TIGHT_BENCH_SAM to skip)")
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
             "--disable-pip-version-check", "aws-sam-cli"],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
    except subprocess.CalledProcessError as error:
        reason = (error.stderr or str(error)).strip().splitlines()[-1:]
        print_now(f"  aws-sam-cli could not be installed ({reason}); sam rows are left out")
        shutil.rmtree(venv, ignore_errors=True)
        return None
    return sam


def sam_project(folder: Path) -> Path:
    (folder / "items").mkdir(parents=True)
    (folder / "items" / "app.py").write_text(PLAIN_HANDLER)
    (folder / "items" / "requirements.txt").write_text(REQUIREMENTS)
    (folder / "template.yaml").write_text(SAM_TEMPLATE)
    return folder


def bench_sam(work: Path, env: dict[str, str], runs: int) -> dict[str, list[float]]:
    sam = find_sam()
    if sam is None:
        return {}
    sam_env = dict(env, SAM_CLI_TELEMETRY="0")
    samples: dict[str, list[float]] = {"sam build (repeated)": [], "sam build --cached": []}
    project = sam_project(work / "sam")
    try:
        timed([str(sam), "build"], project, sam_env)  # the first build of each kind
        timed([str(sam), "build", "--cached"], project, sam_env)
        for _ in range(runs):
            samples["sam build (repeated)"].append(timed([str(sam), "build"], project, sam_env))
            samples["sam build --cached"].append(
                timed([str(sam), "build", "--cached"], project, sam_env)
            )
    except Failed as error:
        print_now(f"  sam build failed, sam rows are left out:\n{error}")
        return {}
    return samples


def bench_chalice(work: Path, env: dict[str, str], runs: int) -> dict[str, list[float]]:
    chalice = BIN / "chalice"
    if not chalice.is_file():
        print_now("  chalice is not installed (pip install -e '.[dev]'); its row is left out")
        return {}
    subprocess.run(
        [str(chalice), "new-project", "bench"], cwd=work, env=env, check=True, capture_output=True
    )
    project = work / "bench"
    (project / "app.py").write_text(CHALICE_APP)
    (project / "requirements.txt").write_text(REQUIREMENTS)
    out = work / "chalice-out"
    env = dict(env, AWS_DEFAULT_REGION=env.get("AWS_DEFAULT_REGION") or "us-east-1")
    samples: dict[str, list[float]] = {"chalice package (no-op)": []}
    try:
        timed([str(chalice), "package", str(out)], project, env)  # the first, cold package
        for _ in range(runs):
            samples["chalice package (no-op)"].append(
                timed([str(chalice), "package", str(out)], project, env)
            )
    except Failed as error:
        print_now(f"  chalice package failed, its row is left out:\n{error}")
        return {}
    return samples


def pip_and_zip(work: Path, env: dict[str, str], run: int) -> None:
    folder = work / f"plain-{run}"
    (folder / "package").mkdir(parents=True)
    (folder / "requirements.txt").write_text(REQUIREMENTS)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-t", str(folder / "package"), "-r", str(folder / "requirements.txt")],
        check=True, env=env, capture_output=True,
    )  # fmt: skip
    (folder / "package" / "app.py").write_text(PLAIN_HANDLER)
    with zipfile.ZipFile(folder / "function.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted((folder / "package").rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder / "package"))


def bench_plain(work: Path, env: dict[str, str], runs: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {"pip install -t + zip": []}
    for run in range(runs):
        started = time.perf_counter()
        pip_and_zip(work, env, run)
        samples["pip install -t + zip"].append(time.perf_counter() - started)
    return samples


# -- report ---------------------------------------------------------------------------------
def compare(results: dict[str, float], mine: str, peer: str, faster: bool) -> str:
    if mine not in results or peer not in results:
        return f"{mine} vs {peer}: not measured"
    ratio = results[peer] / results[mine]
    if faster:
        return f"{mine}: {ratio:.1f}x as fast as {peer} ({results[peer]:.2f} s)"
    return f"{mine}: {results[mine] / results[peer]:.2f}x {peer}'s time ({results[peer]:.2f} s)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run each (smoke run)")
    quick = parser.parse_args().quick
    runs = 1 if quick else 3
    samples: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="tight-bench-build-") as tmp:
        work = Path(tmp)
        # doit keeps its state in the user's cache: a fresh one, so cold is cold. pip's
        # cache stays where it is for every builder alike (a warm package cache).
        env = dict(os.environ, XDG_CACHE_HOME=str(work / "doit-cache"))
        env["PIP_CACHE_DIR"] = os.environ.get("PIP_CACHE_DIR") or str(
            Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pip"
        )
        for label, bench in (
            ("Tight", bench_tight),
            ("pip install -t + zip", bench_plain),
            ("chalice package", bench_chalice),
            ("sam build", bench_sam),
        ):
            print_now(f"measuring {label} ...")
            try:
                samples.update(bench(work, env, runs))
            except (Failed, subprocess.CalledProcessError) as error:
                print_now(f"  {label} failed; its rows are left out:\n{error}")
    results = {name: statistics.median(values) for name, values in samples.items() if values}

    print_now(f"\nbuilds of the reference app (requests, pydantic, PyJWT), median of {runs} (s)")
    for name, seconds in results.items():
        print_now(f"  {name:<26} {seconds:7.3f}")
    print_now("ratios against the peers measured in this run:")
    for line in (
        compare(results, "tight no-op", "sam build (repeated)", True),
        compare(results, "tight no-op", "sam build --cached", True),
        compare(results, "tight no-op", "chalice package (no-op)", True),
        compare(results, "tight cold (uv)", "sam build (repeated)", False),
        compare(results, "tight cold (pip-tools)", "sam build (repeated)", False),
        compare(results, "tight cold (pip-tools)", "pip install -t + zip", False),
    ):
        print_now(f"  {line}")
    goals = [("tight no-op", 0.15), ("tight handler edit", 0.3)]
    print_now(
        "goals: "
        + "; ".join(
            f"{name} <= {limit} s: "
            + ("not measured" if name not in results else "met" if results[name] <= limit else "MISSED")
            for name, limit in goals
        )
    )
    out = HERE.parent / "results"
    out.mkdir(exist_ok=True)
    (out / "build.json").write_text(
        json.dumps({"median_seconds": results, "runs": runs}, indent=2) + "\n"
    )
    return 0 if any(name.startswith("tight") for name in results) else 1


if __name__ == "__main__":
    sys.exit(main())
