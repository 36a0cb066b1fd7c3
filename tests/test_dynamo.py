"""The local DynamoDB lifecycle through the real doit tasks, servers on 127.0.0.1.

The moto and dynalite backends install offline from what `make test` fetched into .cache/
(moto's wheels, dynalite's npm cache); the command backend runs the moto server of this
environment, as a user's own server command would.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

BIN = Path(sys.executable).parent
CACHE = Path(__file__).resolve().parent.parent / ".cache"
MODEL = """
from tight.models import TTL, Model, Number, String


class Note(Model):
    hash_key = "id"
    id = String()
    text = String()
    stars = Number(default=0)
    expires = TTL()
    ttl = "expires"
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(
    *command: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=cwd, capture_output=True, text=True,
        env=dict(os.environ, **(env or {})),
    )  # fmt: skip


def make_app(folder: Path, dynamo: str, **settings: object) -> Path:
    assert run("tight", "generate_app", "name=notes", cwd=folder).returncode == 0
    root = folder / "notes"
    (root / "app/models/note.py").write_text(MODEL)
    extra = "".join(f"{key}: {json.dumps(value)}\n" for key, value in settings.items())
    (root / "tight.yml").write_text((root / "tight.yml").read_text() + extra + dynamo)
    return root


def client(port: int):
    return boto3.client(
        "dynamodb", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
        aws_access_key_id="local", aws_secret_access_key="local",
    )  # fmt: skip


def state(root: Path) -> dict:
    return json.loads((root / ".tight/dynamo/server.json").read_text())


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    yield tmp_path
    for record in tmp_path.rglob(".tight/dynamo/server.json"):  # never leave a server behind
        pid = json.loads(record.read_text())["pid"]
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture
def command_app(workdir):
    port = free_port()
    command = f"{sys.executable} -m moto.server -H 127.0.0.1 -p {{port}}"
    root = make_app(workdir, f"dynamo:\n  backend: command\n  port: {port}\n  command: {command}\n")
    return root, port


def test_start_twice_stop_twice(command_app):
    root, port = command_app
    first = run("doit", "dynamo_start", cwd=root)
    assert first.returncode == 0, first.stderr
    assert (
        f"on http://127.0.0.1:{port}" in first.stdout
        and "created tables: notes-dev-note" in first.stdout
    )
    pid = state(root)["pid"]
    assert client(port).list_tables()["TableNames"] == ["notes-dev-note"]
    second = run("doit", "dynamo_start", cwd=root)
    assert (
        second.returncode == 0
        and f"already running: command on http://127.0.0.1:{port} (pid {pid})" in second.stdout
    )
    assert state(root)["pid"] == pid
    assert (
        f"running: command on http://127.0.0.1:{port} (pid {pid})"
        in run("doit", "dynamo_status", cwd=root).stdout
    )
    assert f"stopped command (pid {pid})" in run("doit", "dynamo_stop", cwd=root).stdout
    assert not (root / ".tight/dynamo/server.json").exists()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "the server is gone"
    again = run("doit", "dynamo_stop", cwd=root)
    assert again.returncode == 0 and "not running" in again.stdout
    assert "not running" in run("doit", "dynamo_status", cwd=root).stdout


def test_a_server_killed_from_outside_is_reported_and_replaced(command_app):
    root, _port = command_app
    assert run("doit", "dynamo_start", cwd=root).returncode == 0
    pid = state(root)["pid"]
    os.killpg(pid, signal.SIGKILL)
    for _ in range(100):
        if "stale" in run("doit", "dynamo_status", cwd=root).stdout:
            break
        time.sleep(0.05)
    status = run("doit", "dynamo_status", cwd=root).stdout
    assert f"stale: .tight/dynamo/server.json names pid {pid}, which is gone" in status
    restarted = run("doit", "dynamo_start", cwd=root)
    assert restarted.returncode == 0, restarted.stderr
    assert f"removing a stale record: pid {pid} is gone" in restarted.stdout
    assert state(root)["pid"] != pid
    assert run("doit", "dynamo_stop", cwd=root).returncode == 0


def test_a_port_in_use_is_a_clear_error(command_app):
    root, port = command_app
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        result = run("doit", "dynamo_start", cwd=root)
    assert result.returncode != 0
    assert f"error: port {port} on 127.0.0.1 is in use by another process" in result.stderr
    assert "dynamo.port" in result.stderr
    assert not (root / ".tight/dynamo/server.json").exists()


def test_stop_stops_only_the_server_it_started(command_app):
    root, _port = command_app
    other_port = free_port()
    other = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(other_port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert run("doit", "dynamo_start", cwd=root).returncode == 0
        assert run("doit", "dynamo_stop", cwd=root).returncode == 0
        assert other.poll() is None, "a server dynamo_start did not start keeps running"
    finally:
        other.kill()
        other.wait()


@pytest.mark.skipif(
    not (CACHE / "wheels-dynamo").is_dir(), reason="run `make test`: it fetches moto's wheels"
)
def test_moto_backend_installs_into_the_app_and_serves(workdir):
    port = free_port()
    root = make_app(
        workdir, f"dynamo:\n  backend: moto\n  port: {port}\n",
        find_links=str(CACHE / "wheels-dynamo"), no_index=True,
    )  # fmt: skip
    installed = run("doit", "dynamo_install", cwd=root)
    assert installed.returncode == 0, installed.stderr
    assert (root / ".tight/dynamo/moto/moto/__init__.py").is_file()
    assert "-- dynamo_install" in run("doit", "dynamo_install", cwd=root).stdout
    started = run("doit", "dynamo_start", cwd=root)
    assert started.returncode == 0, started.stderr
    assert state(root)["command"][1:3] == ["-m", "moto.server"]
    db = client(port)
    db.put_item(TableName="notes-dev-note", Item={"id": {"S": "1"}})
    ttl = db.describe_time_to_live(TableName="notes-dev-note")["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires"
    assert run("doit", "dynamo_stop", cwd=root).returncode == 0


@pytest.mark.skipif(
    not (CACHE / "npm").is_dir(), reason="run `make test`: it fills dynalite's npm cache"
)
def test_dynalite_keeps_data_across_a_restart_until_reset(workdir):
    port = free_port()
    root = make_app(workdir, f"dynamo:\n  backend: dynalite\n  port: {port}\n")
    offline = {"npm_config_cache": str(CACHE / "npm"), "npm_config_offline": "true"}
    installed = run("doit", "dynamo_install", cwd=root, env=offline)
    assert installed.returncode == 0, installed.stderr
    started = run("doit", "dynamo_start", cwd=root)
    assert started.returncode == 0, started.stderr
    client(port).put_item(TableName="notes-dev-note", Item={"id": {"S": "kept"}})
    assert run("doit", "dynamo_stop", cwd=root).returncode == 0
    assert run("doit", "dynamo_start", cwd=root).returncode == 0
    items = client(port).scan(TableName="notes-dev-note")["Items"]
    assert items == [{"id": {"S": "kept"}}]
    reset = run("doit", "dynamo_reset", cwd=root)
    assert reset.returncode == 0 and "deleted 1 table(s)" in reset.stdout
    assert client(port).scan(TableName="notes-dev-note")["Items"] == []
    assert run("doit", "dynamo_stop", cwd=root).returncode == 0


def test_bad_dynamo_settings_are_clear_errors(workdir):
    root = make_app(workdir, "dynamo:\n  backend: docker\n")
    result = run("doit", "dynamo_start", cwd=root)
    assert result.returncode != 0
    assert "dynamo.backend docker is unknown; use one of moto, dynalite, command" in result.stderr
