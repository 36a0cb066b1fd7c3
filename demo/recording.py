"""The demo's third stage: a function backed by a local DynamoDB, recorded and replayed.

With the real commands: an app, a model (``doit generate_model``) and a function whose
handler stores notes through it; ``doit dynamo_start`` starts the local DynamoDB (moto,
installed into the app's .tight/) and creates the model's table; the function serves a
POST and a GET against it from the vendored app; a test records against the running
server with ``--tight-record``; then the server stops and the test replays offline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

NOTES_HANDLER = """\
import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy

from app.models.note import Note


@lambda_proxy.post
def post_handler(*args, **kwargs):
    note = Note(**kwargs["event"]["body"]).save(overwrite=False)
    return {"statusCode": 201, "body": note.to_dict()}


@lambda_proxy.get
def get_handler(*args, **kwargs):
    note = Note.get(kwargs["request"].path_params["id"])  # ItemNotFound answers 404
    return {"statusCode": 200, "body": note.to_dict()}
"""

NOTES_TEST = """\
def test_write_then_read_a_note(app, event, lambda_context, expect_response):
    note = {"id": "n1", "name": "record once, replay forever", "count": 1}
    created = app.notes(event("POST", "/notes", body=note), lambda_context)
    assert created["statusCode"] == 201
    again = app.notes(event("POST", "/notes", body=note), lambda_context)
    assert again["statusCode"] == 409  # the note exists: a failed condition
    read = app.notes(event("GET", "/notes/n1", path_params={"id": "n1"}), lambda_context)
    expect_response(read)
    missing = app.notes(event("GET", "/notes/n2", path_params={"id": "n2"}), lambda_context)
    assert missing["statusCode"] == 404
"""

INVOKER = """
import json, sys
sys.path.insert(0, ".")
import app_index

for event in json.load(sys.stdin):
    print(json.dumps(app_index.notes(event, None)))
"""


def command(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    print(f"  $ {' '.join(args)}")
    executable = Path(sys.executable).parent / args[0]
    completed = subprocess.run(
        [str(executable), *args[1:]], cwd=cwd, capture_output=True, text=True, env=env, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{completed.stdout}{completed.stderr}")
    return completed.stdout


def echo(output: str, *keep: str) -> None:
    for line in output.splitlines():
        if any(word in line for word in keep):
            print(f"    {line.strip()}")


def pytest_summary(root: Path, *args: str) -> tuple[int, str]:
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in completed.stdout.splitlines() if line.strip()]
    if completed.returncode != 0:
        print(completed.stdout[-3000:], completed.stderr[-2000:], file=sys.stderr)
    return completed.returncode, lines[-1].strip("= ") if lines else ""


def main(folder: Path) -> tuple[int, Path]:
    """Stage 3 in ``folder``; the exit code and the app's root."""
    from tight.testing.events import make_event
    from tight.testing.servers import free_port

    folder.mkdir(parents=True, exist_ok=True)
    print("stage 3: a function backed by a local DynamoDB; record its test, replay offline")
    command("tight", "generate_app", "name=notes-app", cwd=folder)
    root = folder / "notes-app"
    command("doit", "generate_model", "name=note", cwd=root)
    command("doit", "generate_function", "name=notes", "methods=get,post", cwd=root)
    # The user writes the handler, and tests for it in place of the generated ones.
    (root / "app/functions/notes/handler.py").write_text(NOTES_HANDLER)
    for generated in (root / "tests/functions").rglob("test_notes*"):
        generated.unlink()
    (root / "tests/functions/integration/test_notes_recorded.py").write_text(NOTES_TEST)
    settings = (root / "tight.yml").read_text() + f"dynamo:\n  port: {free_port()}\n"
    wheels = Path(__file__).resolve().parent.parent / ".cache" / "wheels-dynamo"
    if wheels.is_dir():  # a checkout that ran `make test` has moto's wheels at hand
        settings += f"find_links: {wheels}\nno_index: true\n"
    (root / "tight.yml").write_text(settings)
    echo(command("doit", "dynamo_start", cwd=root), "installed", "DynamoDB on", "created tables")
    try:
        state = json.loads((root / ".tight/dynamo/server.json").read_text())
        command("doit", "vendor", cwd=root)
        events = [
            make_event("POST", "/notes", body={"id": "s1", "name": "hello", "count": 2}),
            make_event("GET", "/notes/s1", path_params={"id": "s1"}),
            make_event("GET", "/notes/n9", path_params={"id": "n9"}),
        ]
        env = dict(
            os.environ, TIGHT_DYNAMO_ENDPOINT=state["endpoint"], AWS_ACCESS_KEY_ID="local",
            AWS_SECRET_ACCESS_KEY="local", AWS_DEFAULT_REGION="us-east-1",
        )  # fmt: skip
        served = subprocess.run(
            [sys.executable, "-I", "-c", INVOKER], cwd=root, input=json.dumps(events),
            capture_output=True, text=True, env=env, check=True,
        )  # fmt: skip
        for event, line in zip(events, served.stdout.splitlines(), strict=False):
            response = json.loads(line)
            request = f"{event['httpMethod']} {event['path']}"
            print(f"  app_index.notes {request} -> {response['statusCode']} {response['body']}")
        # The plugin records against the running local DynamoDB by itself.
        print("  $ pytest --tight-record --tight-update-expectations")
        code, summary = pytest_summary(root, "--tight-record", "--tight-update-expectations")
        print(f"    recording run: {summary}")
        for path in sorted((root / "tests").rglob("*")):
            recorded = {"placebos", "cassettes", "expectations"} & set(path.parts)
            if path.is_file() and recorded and "test_write_then_read_a_note" in path.as_posix():
                print(f"    wrote {path.relative_to(root)}")
    finally:
        echo(command("doit", "dynamo_stop", cwd=root), "stopped")
    if code != 0:
        return code, root
    print("  $ pytest   (the server is stopped: playback, network refused)")
    code, summary = pytest_summary(root)
    print(f"    playback run: {summary}")
    return code, root
