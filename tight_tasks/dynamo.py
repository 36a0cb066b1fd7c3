"""A local DynamoDB on 127.0.0.1: install, start, stop, status and reset.

Backends, chosen under ``dynamo:`` in tight.yml:

- ``moto`` (default): moto's server; needs neither Java nor Docker. Installed
  once into ``.tight/dynamo/moto`` (``moto[server]``), not into your environment: with uv
  when there is one (seconds from a warm cache), else with pip. Supports transactions,
  TTL and streams. Its tables, indexes, TTL settings and items are kept across a stop and
  the next start in ``.tight/dynamo/moto-data.json`` (``tight_tasks.dynamo_data``), unless
  ``persist: false``.
- ``dynalite``: persistent, in ``.tight/dynamo/data``; installed once with npm into
  ``.tight/dynamo/dynalite``. It lacks transactions, TTL and streams.
- ``command``: any server you give as ``command`` (``{port}`` is replaced), such as a
  DynamoDB Local you installed yourself. Tight never downloads Amazon's DynamoDB Local.

``start`` returns once the server answers (moto's kept data put back), creates every
model's missing table and never deletes data; ``stop`` stops only the process ``start``
started: ``.tight/dynamo/server.json`` records its PID, start time and command line, and a
PID that now names another process (reused after a reboot, or a record edited by hand) is
reported as stale and never signalled. ``status`` reports a stale record or a server
killed from outside; ``reset`` deletes the tables (and so the data) and creates them
again, and forgets moto's kept data. Installs are built beside their folder and swapped in
whole (``files.building_folder``), with a stamp of what was
installed so that an install already there is not done again.
"""

import json
import os
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tight_tasks.config import DYNAMO_BACKENDS, app_name
from tight_tasks.errors import TightTaskError, as_action
from tight_tasks.files import building_folder, recover_folder, write_atomic
from tight_tasks.target import Sources
from tight_tasks.taskkit import failing, in_app, settings_or_error

STATE_DIR = ".tight/dynamo"
STATE_FILE = "server.json"
INSTALL_STAMP = ".tight-install.json"
LOG_FILE = "server.log"
BACKENDS = DYNAMO_BACKENDS  # what tight.yml accepts: one list, in the schema
MOTO_SPEC = "moto[server]>=5,<6"
DYNALITE_SPEC = "dynalite@4"
READY_TIMEOUT = 30.0
IDENTITY_SETTLE_TIMEOUT = 5.0  # seconds a process may take through execve (or exit)
_PF_KTHREAD = 0x00200000  # /proc/<pid>/stat flags: a kernel thread, which has no cmdline


@dataclass(frozen=True)
class Backend:
    name: str
    port: int
    command_template: str | None = None
    persist: bool = True  # moto only: the other backends keep (or not) their own data

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> "Backend":
        section = settings.get("dynamo") or {}
        if not isinstance(section, dict):
            raise TightTaskError("dynamo in tight.yml must be a mapping (backend, port, command)")
        name = str(section.get("backend") or "moto")
        if name not in BACKENDS:
            raise TightTaskError(
                f"dynamo.backend {name} is unknown; use one of {', '.join(BACKENDS)}"
            )
        port = section.get("port", 8000)
        if not isinstance(port, int) or not 0 < port < 65536:
            raise TightTaskError(f"dynamo.port must be a TCP port number, not {port!r}")
        command = section.get("command")
        if name == "command" and not command:
            raise TightTaskError(
                "dynamo.backend command needs dynamo.command, the server to run, with {port}"
            )
        persist = section.get("persist", True)
        return cls(name, port, str(command) if command else None, persist is not False)

    @property
    def keeps_data(self) -> bool:
        """True when Tight saves this server's data on stop and loads it on start."""
        return self.name == "moto" and self.persist

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def state_dir(root: Path) -> Path:
    return root / STATE_DIR


# -- install ---------------------------------------------------------------------------------
def _installed(folder: Path, wanted: dict[str, str]) -> bool:
    try:
        return bool(json.loads((folder / INSTALL_STAMP).read_text()) == wanted)
    except (OSError, ValueError):
        return False


def _uv() -> str | None:
    from tight_tasks.lock import uv_executable

    try:
        return uv_executable()
    except TightTaskError:
        return None


def moto_install_command(
    staging: Path, settings: dict[str, Any], root: Path, installer: str
) -> list[str]:
    """The command that installs moto's server into ``staging`` with uv or pip."""
    sources = Sources.from_settings(settings, root).args()
    if installer == "uv":
        uv = _uv()
        assert uv is not None
        return [
            uv, "pip", "install", "--quiet", "--compile-bytecode", "--target", str(staging),
            "--python", sys.executable, MOTO_SPEC, *sources,
        ]  # fmt: skip
    return [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--target", str(staging), MOTO_SPEC, *sources,
    ]  # fmt: skip


def install(root: Path, settings: dict[str, Any]) -> str:
    """Install the backend into .tight/dynamo, once (atomically); returns what was done."""
    backend = Backend.from_settings(settings)
    if backend.name == "command":
        return "the command backend runs your own server: nothing to install"
    folder = state_dir(root) / backend.name
    spec = MOTO_SPEC if backend.name == "moto" else DYNALITE_SPEC
    wanted = {
        "spec": spec,
        "sources": Sources.from_settings(settings, root).fingerprint(),
        "python": sys.version.split()[0],  # moto's dependencies include compiled wheels
    }
    recover_folder(folder)
    if _installed(folder, wanted) and installed_marker(root, settings).is_file():
        return f"{spec} is already installed in {STATE_DIR}/{backend.name}; nothing to do"
    started = time.monotonic()
    with building_folder(folder) as staging:
        if backend.name == "moto":
            installer = "uv" if _uv() else "pip"
            print(
                f"installing {spec} into {STATE_DIR}/moto with {installer}, once: later "
                "starts reuse it",
                flush=True,
            )
            arguments = moto_install_command(staging, settings, root, installer)
            _install(arguments, f"{installer} could not install {spec} into {STATE_DIR}")
        else:
            print(f"installing {spec} into {STATE_DIR}/dynalite with npm, once", flush=True)
            arguments = [
                _which("npm"), "install", "--prefix", str(staging), "--no-audit", "--no-fund",
                "--prefer-offline", "--silent", DYNALITE_SPEC,
            ]  # fmt: skip
            _install(arguments, f"npm could not install {spec} into {STATE_DIR}")
        write_atomic(staging / INSTALL_STAMP, json.dumps(wanted) + "\n")
    elapsed = time.monotonic() - started
    return f"installed {spec} into {STATE_DIR}/{backend.name} in {elapsed:.1f} s"


def _install(arguments: list[str], failure: str) -> None:
    import subprocess

    completed = subprocess.run(arguments, capture_output=True, text=True)
    if completed.returncode != 0:
        reason = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        raise TightTaskError(f"{failure}: {reason}")


def installed_marker(root: Path, settings: dict[str, Any]) -> Path:
    backend = Backend.from_settings(settings)
    folder = state_dir(root)
    if backend.name == "moto":
        return folder / "moto" / "moto" / "__init__.py"
    if backend.name == "dynalite":
        return folder / "dynalite" / "node_modules" / "dynalite" / "cli.js"
    return folder / STATE_FILE  # nothing to install: never "missing"


def _which(program: str) -> str:
    import shutil

    found = shutil.which(program)
    if not found:
        raise TightTaskError(
            f"{program} is not on PATH; the dynalite backend needs Node.js and npm"
        )
    return found


# -- process ---------------------------------------------------------------------------------
def server_command(root: Path, backend: Backend) -> tuple[list[str], dict[str, str]]:
    env = dict(os.environ)
    folder = state_dir(root)
    if backend.name == "moto":
        env["PYTHONPATH"] = str(folder / "moto")
        return [
            sys.executable,
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            str(backend.port),
        ], env
    if backend.name == "dynalite":
        data = folder / "data"
        data.mkdir(parents=True, exist_ok=True)
        cli = folder / "dynalite" / "node_modules" / "dynalite" / "cli.js"
        return [
            _which("node"), str(cli), "--host", "127.0.0.1", "--port", str(backend.port),
            "--path", str(data), "--createTableMs", "0", "--deleteTableMs", "0",
            "--updateTableMs", "0",
        ], env  # fmt: skip
    assert backend.command_template is not None
    import shlex

    return shlex.split(backend.command_template.replace("{port}", str(backend.port))), env


def read_state(root: Path) -> dict[str, Any] | None:
    """The record ``start`` wrote, or None; a record without a usable PID is never trusted
    with a signal (``owner`` reports it as another process)."""
    try:
        data = json.loads((state_dir(root) / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        data = {}
    pid = data.get("pid")
    data["pid"] = pid if isinstance(pid, int) and not isinstance(pid, bool) and pid > 1 else 0
    return data


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _has_proc() -> bool:
    return Path("/proc/self/stat").is_file()


def _proc_identity(pid: int) -> dict[str, Any] | None:
    """``process_identity`` from /proc, once the process has a command line to be known by.

    /proc/<pid>/cmdline is empty (not the old program's, not the new one's) while the process
    is inside execve, after its new image replaced the old one and before the new arguments
    are in place, and again while it exits, its memory released but not yet a zombie. A
    caller right after ``Popen`` (which returns once execve has begun) meets the first window
    often on a loaded machine; neither is who the process is, so read again until the command
    line is there, the process is gone, or ``IDENTITY_SETTLE_TIMEOUT`` passes (then the empty
    command line is returned: it matches no record, so nothing is ever signalled on it).
    Kernel threads have no command line at all, and are returned as they are.
    """
    deadline = time.monotonic() + IDENTITY_SETTLE_TIMEOUT
    while True:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        fields = stat[stat.rindex(")") + 2 :].split()  # after the name, which may hold spaces
        if fields[0] in ("Z", "X"):
            return None  # exited, not yet reaped
        kernel_thread = int(fields[6]) & _PF_KTHREAD  # field 9, the flags
        if cmdline or kernel_thread or time.monotonic() > deadline:
            return {
                "started": f"proc:{_boot_id()}:{fields[19]}",
                "cmdline": [part.decode(errors="replace") for part in cmdline.split(b"\0")[:-1]],
            }
        time.sleep(0.002)


def process_identity(pid: int) -> dict[str, Any] | None:
    """When ``pid`` started and its command line, or None when no such process runs.

    From /proc where there is one (start time in clock ticks since boot, field 22 of
    /proc/<pid>/stat, with the boot's id), else from ``ps``. A reused PID has another start
    time; together with the command line this tells the server ``start`` ran from anything
    else that has its PID now.
    """
    if pid <= 1:
        return None
    if _has_proc():
        return _proc_identity(pid)
    import subprocess

    completed = subprocess.run(
        ["ps", "-p", str(pid), "-o", "lstart=", "-o", "state=", "-o", "command="],
        capture_output=True, text=True, env=dict(os.environ, LC_ALL="C"),
    )  # fmt: skip
    line = completed.stdout.strip()
    if completed.returncode != 0 or not line:
        return None
    parts = line.split(None, 6)  # lstart is five words: "Mon Jan  1 10:00:00 2024"
    if len(parts) < 7 or parts[5].startswith("Z"):
        return None
    return {"started": "ps:" + " ".join(parts[:5]), "cmdline": parts[6]}


def owner(state: dict[str, Any]) -> str:
    """``ours`` when the recorded PID is still the server ``start`` ran, ``gone`` when no
    process has that PID, ``other`` when another process has it (or the record cannot say)."""
    identity = process_identity(state["pid"])
    if identity is None:
        return "gone"
    recorded = {"started": state.get("started"), "cmdline": state.get("cmdline")}
    return "ours" if identity == recorded else "other"


def alive(pid: int) -> bool:
    return process_identity(pid) is not None


def port_in_use(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def answers(endpoint: str) -> bool:
    """True when a DynamoDB API answers ListTables at ``endpoint``."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        endpoint,
        data=b"{}",
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "X-Amz-Date": "20200101T000000Z",  # dynalite wants a date beside the signature
            "Authorization": (
                "AWS4-HMAC-SHA256 Credential=local/20200101/us-east-1/dynamodb/aws4_request, "
                "SignedHeaders=host;x-amz-date, Signature=local"
            ),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=1.0) as response:
            return "TableNames" in json.loads(response.read() or b"{}")
    except (urllib.error.URLError, OSError, ValueError):
        return False


def create_tables(root: Path, settings: dict[str, Any], endpoint: str) -> list[str]:
    """Create every model's table that is missing on the local server (and the
    idempotency table when the app's code imports ``tight.idempotency``)."""
    from tight_tasks.functions import app_uses_idempotency
    from tight_tasks.schema import model_files, table_models

    if not model_files(root) and not app_uses_idempotency(root):
        return []
    from tight import config
    from tight.providers.aws.clients import boto3_client, dynamo_db

    config.configure(app_name=app_name(root, settings), stage=str(settings.get("stage") or "dev"))
    local = {
        "TIGHT_DYNAMO_ENDPOINT": endpoint,
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "local"),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "local"),
    }
    with scoped_environ(local):
        boto3_client.reset()
        dynamo_db.reset()
        try:
            return [m.table_name() for m in table_models(root) if m.create_table()]
        finally:
            boto3_client.reset()
            dynamo_db.reset()


@contextmanager
def scoped_environ(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for None, remove) environment variables for the block, then put back
    exactly what was there before: the toolkit's one save-and-restore of os.environ."""
    saved = {key: os.environ.get(key) for key in values}
    try:
        for key, value in values.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def _stale(state: dict[str, Any], found: str) -> str:
    record = f"{STATE_DIR}/{STATE_FILE}"
    if found == "gone":
        return f"{record} names pid {state['pid']}, which is gone (killed from outside?)"
    return (
        f"{record} names pid {state['pid']}, which is now another process (its start time "
        "or command line is not the server's); it was sent no signal"
    )


def start(root: Path, settings: dict[str, Any]) -> dict[str, Any]:
    import subprocess

    backend = Backend.from_settings(settings)
    state = read_state(root)
    found = owner(state) if state else "gone"
    if state and found == "ours":
        if answers(state["endpoint"]):
            print(
                f"already running: {state['backend']} on {state['endpoint']} (pid {state['pid']})"
            )
            created = create_tables(root, settings, state["endpoint"])
            if created:
                print(f"created tables: {', '.join(created)}")
            return state
        raise TightTaskError(
            f"pid {state['pid']} from {STATE_DIR}/{STATE_FILE} is alive but does not answer on "
            f"{state['endpoint']}; `doit dynamo_stop` it, or look at {STATE_DIR}/{LOG_FILE}"
        )
    if state:
        why = "is gone" if found == "gone" else "is now another process, left alone"
        print(f"removing a stale record: pid {state['pid']} {why}")
        (state_dir(root) / STATE_FILE).unlink(missing_ok=True)
    if port_in_use(backend.port):
        raise TightTaskError(
            f"port {backend.port} on 127.0.0.1 is in use by another process; stop it, or set "
            "dynamo.port in tight.yml to a free port"
        )
    if backend.name != "command" and not installed_marker(root, settings).exists():
        raise TightTaskError(
            f"the {backend.name} backend is not installed; run `doit dynamo_install`"
        )
    from tight_tasks import dynamo_data

    # Read before the server starts: data that cannot be read stops the start, not the load.
    kept = dynamo_data.read(state_dir(root), STATE_DIR) if backend.keeps_data else None
    command, env = server_command(root, backend)
    folder = state_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(folder / LOG_FILE, "ab") as log:
        try:
            process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, cwd=root, start_new_session=True,
            )  # fmt: skip
        except OSError as error:
            raise TightTaskError(f"could not run {command[0]}: {error}") from error
    state = {
        "pid": process.pid,
        "backend": backend.name,
        "endpoint": backend.endpoint,
        "port": backend.port,
        "command": command,
        **(process_identity(process.pid) or {}),
    }
    write_atomic(folder / STATE_FILE, json.dumps(state, indent=2) + "\n")
    while not answers(backend.endpoint):
        if process.poll() is not None or time.monotonic() - started > READY_TIMEOUT:
            _terminate(process.pid, None)  # our own child: no identity to check
            process.wait()
            (folder / STATE_FILE).unlink(missing_ok=True)
            tail = (folder / LOG_FILE).read_text(errors="replace").strip().splitlines()[-3:]
            raise TightTaskError(
                f"the {backend.name} server did not answer on {backend.endpoint}: "
                + (" | ".join(tail) or "no output")
            )
        time.sleep(0.05)
    ready = time.monotonic() - started
    state["ready_seconds"] = round(ready, 3)
    # Read again once it answers: a server command may exec another program on its way up.
    state.update(process_identity(process.pid) or {})
    write_atomic(folder / STATE_FILE, json.dumps(state, indent=2) + "\n")
    print(
        f"{backend.name} DynamoDB on {backend.endpoint} (pid {process.pid}), ready in {ready:.2f} s"
    )
    put_back = None
    try:
        loading = dynamo_data.load(backend.endpoint, kept) if kept is not None else None
        try:
            created = create_tables(root, settings, backend.endpoint)
        finally:  # never leave a thread writing: the server's data is whole or not kept
            put_back = loading() if loading is not None else None
    except dynamo_data.ServerError as error:
        raise TightTaskError(
            f"could not put back the data kept in {STATE_DIR}/{dynamo_data.DATA_FILE}: "
            f"{error}; it stays as it was (this server's data is not saved over it); "
            "`doit dynamo_reset` starts empty"
        ) from None
    if backend.keeps_data:  # only now: a stop saves the data only once it is all back
        state["keeps_data"] = True
        write_atomic(folder / STATE_FILE, json.dumps(state, indent=2) + "\n")
    if put_back is not None:
        print(f"put back {put_back[0]} table(s) and {put_back[1]} item(s) kept by the last stop")
    if created:
        print(f"created tables: {', '.join(created)}")
    return state


def _terminate(pid: int, state: dict[str, Any] | None, timeout: float = 10.0) -> None:
    """SIGTERM the server's process group, then SIGKILL it after ``timeout``; with a record
    (``state``), each signal only while the PID is still that server."""

    def signal_group(number: int) -> bool:
        if state is not None and owner(state) != "ours":
            return False
        try:
            os.killpg(pid, number)
        except ProcessLookupError:
            return False
        return True

    import signal

    if not signal_group(signal.SIGTERM):
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        if not alive(pid):
            return
        time.sleep(0.05)
    signal_group(signal.SIGKILL)


def stop(root: Path) -> str:
    """Stop the server ``start`` started; moto's data is saved first (``dynamo_data``)."""
    state = read_state(root)
    record = state_dir(root) / STATE_FILE
    if state is None:
        return "not running (nothing was started by dynamo_start here)"
    found = owner(state)
    if found != "ours":
        record.unlink(missing_ok=True)
        return f"not running: {_stale(state, found)}; removed the stale record"
    kept = ""
    if state.get("keeps_data"):
        from tight_tasks import dynamo_data

        kept = "; " + dynamo_data.save(state_dir(root), str(state["endpoint"]))
    _terminate(state["pid"], state)
    record.unlink(missing_ok=True)
    return f"stopped {state['backend']} (pid {state['pid']}){kept}"


def status(root: Path) -> str:
    state = read_state(root)
    if state is None:
        return "not running"
    found = owner(state)
    if found != "ours":
        return f"stale: {_stale(state, found)}; `doit dynamo_start` starts a new one"
    if not answers(state["endpoint"]):
        return f"pid {state['pid']} is alive but {state['endpoint']} does not answer"
    return f"running: {state['backend']} on {state['endpoint']} (pid {state['pid']})"


def reset(root: Path, settings: dict[str, Any]) -> list[str] | None:
    """Forget moto's kept data; then, when a server runs, delete every table on it and
    create the models' tables again (the deleted tables' names, or None when none runs)."""
    from tight_tasks import dynamo_data

    state = read_state(root)
    running = state is not None and owner(state) == "ours"
    forgot = dynamo_data.forget(state_dir(root))
    if not running:
        if forgot:
            return None
        raise TightTaskError("no local DynamoDB is running and none kept data; nothing to reset")
    assert state is not None
    import boto3

    client = boto3.client(
        "dynamodb", endpoint_url=state["endpoint"], region_name="us-east-1",
        aws_access_key_id="local", aws_secret_access_key="local",
    )  # fmt: skip
    names: list[str] = list(client.list_tables().get("TableNames", []))
    for name in names:
        client.delete_table(TableName=name)
    create_tables(root, settings, state["endpoint"])
    return names


# Task creators: `doit list` shows each docstring; the work is the functions above.


def _dynamo_install(root: Path, settings: dict[str, Any]) -> None:
    print(install(root, settings))


def task_dynamo_install() -> dict[str, Any]:
    """Install the local DynamoDB backend (tight.yml dynamo.backend) into .tight/dynamo."""
    from doit.tools import config_changed

    root, settings, problem = settings_or_error()
    if settings is None:
        return failing(problem or "no tight.yml")
    try:
        backend = Backend.from_settings(settings)
        marker = installed_marker(root, settings)
    except TightTaskError as error:
        return failing(str(error))
    task: dict[str, Any] = {"actions": [(as_action(in_app(_dynamo_install)),)]}
    if backend.name == "command":
        task["uptodate"] = [True]
    else:
        task["targets"] = [str(marker.relative_to(root))]
        task["uptodate"] = [config_changed(backend.name)]
    return task


def _dynamo_start(root: Path, settings: dict[str, Any]) -> None:
    start(root, settings)


def task_dynamo_start() -> dict[str, Any]:
    """Start the local DynamoDB on 127.0.0.1; create the models' (and @idempotent's) tables."""
    return {
        "actions": [(as_action(in_app(_dynamo_start)),)],
        "task_dep": ["dynamo_install"],
        "uptodate": [False],
    }


def _dynamo_stop(root: Path, settings: dict[str, Any]) -> None:
    print(stop(root))


def task_dynamo_stop() -> dict[str, Any]:
    """Stop the local DynamoDB that dynamo_start started (and nothing else)."""
    return {"actions": [(as_action(in_app(_dynamo_stop)),)], "uptodate": [False]}


def _dynamo_status(root: Path, settings: dict[str, Any]) -> None:
    print(status(root))


def task_dynamo_status() -> dict[str, Any]:
    """Say whether the local DynamoDB runs, answers, or was killed from outside."""
    return {"actions": [(as_action(in_app(_dynamo_status)),)], "uptodate": [False]}


def _dynamo_reset(root: Path, settings: dict[str, Any]) -> None:
    deleted = reset(root, settings)
    if deleted is None:
        print(f"removed the data kept in {STATE_DIR}; the next dynamo_start starts empty")
        return
    print(f"deleted {len(deleted)} table(s) and their data; the models' tables are back, empty")


def task_dynamo_reset() -> dict[str, Any]:
    """Delete the local DynamoDB's tables and kept data, then recreate the models' tables."""
    return {"actions": [(as_action(in_app(_dynamo_reset)),)], "uptodate": [False]}
