"""The local DynamoDB lifecycle through the real doit tasks, servers on 127.0.0.1.

The moto and dynalite backends install offline from what `make test` fetched into .cache/
(moto's wheels, dynalite's npm cache); the command backend runs the moto server of this
environment, as a user's own server command would.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from tight.testing.servers import free_port

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
    gone = f"stale: .tight/dynamo/server.json names pid {pid}, which is gone"
    deadline = time.monotonic() + 60  # until init has reaped it: "gone", not any "stale"
    while gone not in (status := run("doit", "dynamo_status", cwd=root).stdout):
        assert time.monotonic() < deadline, status
        time.sleep(0.05)
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


@pytest.mark.slow
@pytest.mark.skipif(
    not (CACHE / "wheels-dynamo").is_dir(), reason="run `make test`: it fetches moto's wheels"
)
def test_moto_backend_installs_into_the_app_and_serves(workdir):
    port = free_port()
    root = make_app(
        workdir, f"dynamo:\n  backend: moto\n  port: {port}\n",
        find_links=str(CACHE / "wheels-dynamo"), no_index=True,
    )  # fmt: skip
    with socket.socket() as squatter:  # the first start fails, after installing
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        failed = run("doit", "dynamo_start", cwd=root)
    assert failed.returncode != 0 and f"port {port} on 127.0.0.1 is in use" in failed.stderr
    lines = failed.stdout.strip().splitlines()
    assert any(
        line.startswith("installing moto[server]>=5,<6 into .tight/dynamo/moto with ")
        and line.endswith(", once: later starts reuse it")
        for line in lines
    ), failed.stdout
    assert re.search(r"^installed moto\[server\]>=5,<6 into \.tight/dynamo/moto in [0-9.]+ s$",
                     failed.stdout, re.M), failed.stdout  # fmt: skip
    assert (root / ".tight/dynamo/moto/moto/__init__.py").is_file()
    started = run("doit", "dynamo_start", cwd=root)
    assert "installing" not in started.stdout, "a failed start must not reinstall moto"
    run("doit", "forget", "dynamo_install", cwd=root)  # doit's record lost: the stamp holds
    again = run("doit", "dynamo_install", cwd=root)
    assert "already installed in .tight/dynamo/moto; nothing to do" in again.stdout
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


@pytest.fixture
def foreign():
    """A process dynamo_start did not start, leading its own session and process group
    (as the server does), so a killpg on its PID would take it down."""
    setsid = shutil.which("setsid")
    from tight_tasks.dynamo import process_identity

    process = subprocess.Popen(
        [setsid, "sleep", "300"] if setsid else ["sleep", "300"], start_new_session=not setsid
    )
    # setsid execs sleep: the identity is the one the tests compare only once the command
    # line is sleep's (before, it is setsid's), so wait for exactly that, not for "not setsid"
    deadline = time.monotonic() + 30
    identity = process_identity(process.pid)
    while identity is None or identity["cmdline"] != ["sleep", "300"]:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"setsid sleep 300 did not become sleep 300: {identity}")
        time.sleep(0.01)
        identity = process_identity(process.pid)
    yield process
    process.kill()
    process.wait()


def write_record(root: Path, **fields: object) -> None:
    record = root / ".tight/dynamo/server.json"
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(fields))


def test_a_record_naming_another_process_never_gets_it_signalled(command_app, foreign):
    from tight_tasks.dynamo import process_identity

    root, port = command_app
    endpoint = f"http://127.0.0.1:{port}"
    real = process_identity(foreign.pid)
    assert real is not None and real["cmdline"][-2:] == ["sleep", "300"]
    records = {
        "no identity (a hand-edited or older record)": {},
        "another start time (a PID reused)": {**real, "started": "proc:0:1"},
        "another command line": {**real, "cmdline": [sys.executable, "-m", "moto.server"]},
    }
    base = {"pid": foreign.pid, "backend": "command", "endpoint": endpoint, "port": port}
    for case, identity in records.items():
        write_record(root, **base, **identity)
        status = run("doit", "dynamo_status", cwd=root).stdout
        assert (
            f"stale: .tight/dynamo/server.json names pid {foreign.pid}, which is now "
            "another process" in status
        ), case
        stopped = run("doit", "dynamo_stop", cwd=root)
        assert stopped.returncode == 0, case
        assert "removed the stale record" in stopped.stdout and "no signal" in stopped.stdout
        assert foreign.poll() is None, f"{case}: the foreign process was signalled"
        assert not (root / ".tight/dynamo/server.json").exists()
    write_record(root, **base, **records["another start time (a PID reused)"])
    started = run("doit", "dynamo_start", cwd=root)
    assert started.returncode == 0, started.stderr
    assert f"removing a stale record: pid {foreign.pid} is now another process" in started.stdout
    assert state(root)["pid"] != foreign.pid
    assert run("doit", "dynamo_stop", cwd=root).returncode == 0
    assert foreign.poll() is None
    # The same record with the process's true identity is trusted: the check is what spared it.
    write_record(root, **base, **real)
    assert f"stopped command (pid {foreign.pid})" in run("doit", "dynamo_stop", cwd=root).stdout
    assert foreign.wait(timeout=10) is not None


@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="reads /proc")
def test_an_identity_read_right_after_popen_is_never_the_one_mid_exec():
    """Popen returns once execve has begun: /proc/<pid>/cmdline may still be empty then
    (often, on a loaded machine); dynamo_start records exactly such a fresh server."""
    from tight_tasks.dynamo import process_identity

    for _ in range(50):
        process = subprocess.Popen(["sleep", "300"])
        try:
            identity = process_identity(process.pid)
        finally:
            process.kill()
            process.wait()
        assert identity is not None and identity["cmdline"] == ["sleep", "300"], identity
    assert process_identity(process.pid) is None


def test_without_proc_the_identity_comes_from_ps(foreign, monkeypatch):
    if shutil.which("ps") is None:
        pytest.skip("no ps here")
    from tight_tasks import dynamo

    monkeypatch.setattr(dynamo, "_has_proc", lambda: False)
    identity = dynamo.process_identity(foreign.pid)
    assert identity is not None
    assert identity["started"].startswith("ps:") and identity["cmdline"].endswith("sleep 300")
    record = {"pid": foreign.pid, **identity}
    assert dynamo.owner(record) == "ours"
    assert dynamo.owner({**record, "started": "ps:Mon Jan  1 00:00:00 2024"}) == "other"
    assert dynamo.owner({**record, "cmdline": "python -m moto.server"}) == "other"
    foreign.kill()
    foreign.wait()
    assert dynamo.owner(record) == "gone"


def test_scoped_environ_puts_back_exactly_what_was_there(monkeypatch):
    from tight_tasks.dynamo import scoped_environ

    monkeypatch.setenv("TIGHT_KEPT", "before")
    monkeypatch.delenv("TIGHT_ABSENT", raising=False)
    with pytest.raises(RuntimeError), scoped_environ({"TIGHT_KEPT": None, "TIGHT_ABSENT": "x"}):
        assert "TIGHT_KEPT" not in os.environ and os.environ["TIGHT_ABSENT"] == "x"
        raise RuntimeError("a failing create_table")
    assert os.environ["TIGHT_KEPT"] == "before" and "TIGHT_ABSENT" not in os.environ
