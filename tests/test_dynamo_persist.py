"""The moto backend keeps its data: tables, indexes, TTL settings and items written before
`doit dynamo_stop` are there after the next `doit dynamo_start`; a kill -9 leaves the last
stop's data whole; only `doit dynamo_reset` or `persist: false` start empty.

The moto backend is "installed" by linking this environment's moto into the app's
.tight/dynamo/moto with the install stamp `doit dynamo_install` writes (test_dynamo.py
covers the real install); the server is then the real moto server on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import moto
import pytest

from tight.testing.servers import free_port

BIN = Path(sys.executable).parent
MODEL = """
from tight.models import TTL, GlobalIndex, Model, Number, String


class Note(Model):
    hash_key = "id"
    id = String()
    owner = String()
    stars = Number(default=0)
    expires = TTL()
    ttl = "expires"
    indexes = (GlobalIndex("by_owner", hash_key="owner"),)
"""


def run(*command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=cwd, capture_output=True, text=True
    )


def doit(task: str, root: Path) -> str:
    result = run("doit", task, cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def fake_install(root: Path) -> None:
    """This environment's moto as the app's moto backend, stamped as `dynamo_install` does."""
    from tight_tasks.config import load
    from tight_tasks.dynamo import INSTALL_STAMP, MOTO_SPEC
    from tight_tasks.target import Sources

    folder = root / ".tight/dynamo/moto"
    folder.mkdir(parents=True)
    (folder / "moto").symlink_to(Path(moto.__file__).parent)
    wanted = {
        "spec": MOTO_SPEC,
        "sources": Sources.from_settings(load(root), root).fingerprint(),
        "python": sys.version.split()[0],
    }
    (folder / INSTALL_STAMP).write_text(json.dumps(wanted) + "\n")


@pytest.fixture(scope="module")
def notes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("persist")
    saved = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(folder / "cache")
    assert run("tight", "generate_app", "name=notes", cwd=folder).returncode == 0
    root = folder / "notes"
    (root / "app/models/note.py").write_text(MODEL)
    port = free_port()
    with open(root / "tight.yml", "a") as settings:
        settings.write(f"dynamo:\n  backend: moto\n  port: {port}\n")
    fake_install(root)
    yield root, port
    if saved is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = saved
    record = root / ".tight/dynamo/server.json"
    if record.exists():  # never leave a server behind
        try:
            os.killpg(json.loads(record.read_text())["pid"], signal.SIGKILL)
        except ProcessLookupError:
            pass


def client(port: int):
    return boto3.client(
        "dynamodb", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
        aws_access_key_id="local", aws_secret_access_key="local",
    )  # fmt: skip


def everything(port: int) -> dict:
    """Each table's keys, indexes, TTL and sorted items: what a restart must keep."""
    db = client(port)
    found = {}
    for name in db.list_tables()["TableNames"]:
        table = db.describe_table(TableName=name)["Table"]
        found[name] = {
            "keys": table["KeySchema"],
            "indexes": sorted(i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])),
            "ttl": db.describe_time_to_live(TableName=name)["TimeToLiveDescription"],
            "items": sorted(
                db.scan(TableName=name)["Items"],
                key=lambda i: json.dumps(i, sort_keys=True, default=repr),
            ),
        }
    return found


def test_items_tables_indexes_and_ttl_survive_a_stop_and_start(notes):
    root, port = notes
    doit("dynamo_start", root)
    db = client(port)
    for i in range(60):  # more than one BatchWriteItem of 25
        item = {"id": {"S": str(i)}, "owner": {"S": f"o{i % 3}"}, "stars": {"N": str(i)}}
        db.put_item(TableName="notes-dev-note", Item=item)
    db.put_item(TableName="notes-dev-note", Item={"id": {"S": "bin"}, "data": {"B": b"\x00\xff"}})
    db.create_table(
        TableName="scratch", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                   {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "N"}],
    )  # fmt: skip
    db.put_item(TableName="scratch", Item={"pk": {"S": "a"}, "sk": {"N": "1"}})
    before = everything(port)
    assert before["notes-dev-note"]["ttl"]["AttributeName"] == "expires"
    assert before["notes-dev-note"]["indexes"] == ["by_owner"]

    stopped = doit("dynamo_stop", root)
    assert "kept 2 table(s) and 62 item(s) in moto-data.json" in stopped
    started = doit("dynamo_start", root)
    assert "put back 2 table(s) and 62 item(s) kept by the last stop" in started
    assert everything(port) == before
    owned = client(port).query(
        TableName="notes-dev-note", IndexName="by_owner",
        KeyConditionExpression="#o = :o", ExpressionAttributeNames={"#o": "owner"},
        ExpressionAttributeValues={":o": {"S": "o1"}},
    )["Items"]  # fmt: skip
    assert len(owned) == 20, "the index answers queries after the restart"


def test_a_kill_9_then_a_start_brings_back_the_last_stop_whole(notes):
    root, port = notes
    record = root / ".tight/dynamo/server.json"
    if not record.exists():
        doit("dynamo_start", root)
    kept = (root / ".tight/dynamo/moto-data.json").read_bytes()
    client(port).put_item(TableName="notes-dev-note", Item={"id": {"S": "unsaved"}})
    os.killpg(json.loads(record.read_text())["pid"], signal.SIGKILL)
    time.sleep(0.2)
    assert (root / ".tight/dynamo/moto-data.json").read_bytes() == kept
    assert not list((root / ".tight/dynamo").glob(".moto-data.json.*")), "no temporary left"
    started = doit("dynamo_start", root)
    assert "removing a stale record" in started and "put back 2 table(s)" in started
    assert "unsaved" not in repr(client(port).scan(TableName="notes-dev-note")["Items"])
    assert len(client(port).scan(TableName="notes-dev-note")["Items"]) == 61


def test_an_unreadable_data_file_stops_the_start_with_the_fix(notes):
    root, _port = notes
    if (root / ".tight/dynamo/server.json").exists():
        doit("dynamo_stop", root)
    path = root / ".tight/dynamo/moto-data.json"
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])  # as a crash of another writer would leave it
    try:
        result = run("doit", "dynamo_start", cwd=root)
        assert result.returncode != 0
        assert ".tight/dynamo/moto-data.json cannot be read" in result.stderr
        assert "doit dynamo_reset" in result.stderr and "Traceback" not in result.stderr
        assert not (root / ".tight/dynamo/server.json").exists(), "no server was started"
        assert path.read_bytes() == good[: len(good) // 2], "the file is left for the user"
    finally:
        path.write_bytes(good)


def test_persist_false_and_reset_start_empty(notes):
    root, port = notes
    settings = root / "tight.yml"
    original = settings.read_text()
    settings.write_text(original + "  persist: false\n")
    try:
        started = doit("dynamo_start", root)
        assert "put back" not in started
        assert client(port).scan(TableName="notes-dev-note")["Items"] == []
        assert "kept" not in doit("dynamo_stop", root)
    finally:
        settings.write_text(original)
    assert (root / ".tight/dynamo/moto-data.json").is_file(), "persist: false deletes nothing"
    doit("dynamo_start", root)
    assert len(client(port).scan(TableName="notes-dev-note")["Items"]) == 61
    reset = doit("dynamo_reset", root)
    assert "deleted 2 table(s)" in reset
    assert not (root / ".tight/dynamo/moto-data.json").exists()
    assert client(port).list_tables()["TableNames"] == ["notes-dev-note"]
    assert client(port).scan(TableName="notes-dev-note")["Items"] == []
    assert "kept 1 table(s) and 0 item(s)" in doit("dynamo_stop", root)
    reset = doit("dynamo_reset", root)  # stopped: the kept data alone goes
    assert "removed the data kept in .tight/dynamo; the next dynamo_start starts empty" in reset
    assert not (root / ".tight/dynamo/moto-data.json").exists()


def test_a_stop_that_cannot_read_the_server_keeps_the_last_data(tmp_path):
    """A server that dies while stop reads it: the file of the last stop stays, whole."""
    from tight_tasks import dynamo_data

    kept = dynamo_data.data_path(tmp_path)
    kept.write_text('{"format": 1, "tables": []}\n')
    message = dynamo_data.save(tmp_path, f"http://127.0.0.1:{free_port()}")
    assert message.startswith("could not read the tables to keep them")
    assert "moto-data.json keeps what the last stop saved" in message
    assert kept.read_text() == '{"format": 1, "tables": []}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["moto-data.json"], "no temporary left"
