"""Atomic file writes and folder swaps, with a failure injected at every step."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from tight_tasks import files

OLD = {"a.txt": "old a", "pkg/__init__.py": "OLD = 1", "pkg/only_old.py": "x"}
NEW = {"a.txt": "new a", "pkg/__init__.py": "NEW = 1", "pkg/deep/only_new.py": "y"}


def write_tree(folder: Path, tree: dict[str, str]) -> None:
    for name, text in tree.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)


def tree(folder: Path) -> dict[str, str] | None:
    if not folder.is_dir():
        return None
    return {
        p.relative_to(folder).as_posix(): p.read_text() for p in folder.rglob("*") if p.is_file()
    }


class Crash(Exception):
    pass


class Injector:
    """Counts the swap's file-system steps; raises at step ``at`` (and, for a crash, at every
    step after it too: a process that died does nothing more)."""

    def __init__(self, monkeypatch, at: int, crash: bool, use_exchange: bool) -> None:
        self.at, self.crash, self.count = at, crash, 0
        real_rename, real_replace, real_rmtree = os.rename, os.replace, shutil.rmtree
        real_exchange = files.exchange if use_exchange else (lambda a, b: False)
        for owner, name, real in (
            (os, "rename", real_rename),
            (os, "replace", real_replace),
            (shutil, "rmtree", real_rmtree),
            (files, "exchange", real_exchange),
        ):
            monkeypatch.setattr(owner, name, self.wrap(real))

    def wrap(self, real):
        def step(*args, **kwargs):
            self.count += 1
            if self.count == self.at or (self.crash and self.count > self.at):
                raise Crash(f"injected at step {self.count}")
            return real(*args, **kwargs)

        return step


def steps_of_a_clean_swap(tmp_path: Path, monkeypatch, use_exchange: bool) -> int:
    target = tmp_path / "count" / "vendored"
    write_tree(target, OLD)
    with monkeypatch.context() as patch:
        injector = Injector(patch, at=0, crash=False, use_exchange=use_exchange)
        staging = files.staging_folder(target)
        write_tree(staging, NEW)
        files.swap_folder(staging, target)
    assert tree(target) == NEW
    return injector.count


@pytest.mark.parametrize("crash", [False, True], ids=["fails-once", "crashes"])
@pytest.mark.parametrize("use_exchange", [True, False], ids=["exchange", "journal"])
def test_a_failure_at_any_step_leaves_a_whole_tree_and_the_next_run_recovers(
    tmp_path, monkeypatch, crash, use_exchange
):
    if use_exchange and not sys.platform.startswith(("linux", "darwin")):
        pytest.skip("no atomic exchange on this platform")
    total = steps_of_a_clean_swap(tmp_path, monkeypatch, use_exchange)
    assert total >= (2 if use_exchange else 4)
    for step in range(1, total + 1):
        parent = tmp_path / f"step{step}"
        target = parent / "vendored"
        write_tree(target, OLD)
        staging = files.staging_folder(target)
        write_tree(staging, NEW)
        with monkeypatch.context() as patch:
            Injector(patch, at=step, crash=crash, use_exchange=use_exchange)
            with pytest.raises(Crash):
                files.swap_folder(staging, target)
        if not crash or use_exchange:
            assert tree(target) in (OLD, NEW), f"step {step}: the folder is missing or mixed"
        files.recover_folder(target)  # the next run
        assert tree(target) in (OLD, NEW), f"step {step}: not recovered"
        assert [p.name for p in parent.iterdir()] == ["vendored"], f"step {step}: leftovers"


def test_the_kernel_exchange_is_used_where_there_is_one(tmp_path):
    if not sys.platform.startswith("linux"):
        pytest.skip("renameat2 is Linux's")
    first, second = tmp_path / "first", tmp_path / "second"
    write_tree(first, OLD)
    write_tree(second, NEW)
    assert files.exchange(first, second) is True
    assert (tree(first), tree(second)) == (NEW, OLD)


def test_a_failed_build_leaves_the_target_as_it_was(tmp_path):
    target = tmp_path / "vendored"
    write_tree(target, OLD)
    with pytest.raises(RuntimeError), files.building_folder(target) as staging:
        write_tree(staging, NEW)
        raise RuntimeError("pip failed")
    assert tree(target) == OLD
    assert [p.name for p in tmp_path.iterdir()] == ["vendored"]
    with files.building_folder(target) as staging:
        write_tree(staging, NEW)
    assert tree(target) == NEW
    assert [p.name for p in tmp_path.iterdir()] == ["vendored"]


def test_recovery_keeps_the_staging_folder_of_a_run_still_going(tmp_path):
    target = tmp_path / "vendored"
    write_tree(target, OLD)
    other = target.with_name(f".vendored-new-{os.getppid()}-abcd")  # a live process's
    dead = target.with_name(".vendored-old-999999999-abcd")
    write_tree(other, NEW)
    write_tree(dead, OLD)
    files.recover_folder(target)
    assert tree(other) == NEW and not dead.exists() and tree(target) == OLD


def test_write_atomic_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "server.json"
    files.write_atomic(path, "old")
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(Crash("disk full")))
    with pytest.raises(Crash):
        files.write_atomic(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["server.json"]
