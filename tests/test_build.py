"""doit lock / vendor / artifact on a real app against a local wheelhouse (no network)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from scaffolds import scaffold
from wheelhouse import build_wheelhouse, make_wheel

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def wheels(tmp_path_factory):
    return build_wheelhouse(tmp_path_factory.mktemp("wheelhouse"))


@pytest.fixture
def hermetic(tmp_path, monkeypatch):
    """pip sees only the test's wheelhouse: no machine-wide config, no other find-links."""
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    for key in list(os.environ):
        if key.startswith(("PIP_", "UV_")) and key != "PIP_CONFIG_FILE":
            monkeypatch.delenv(key)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    # uv asked to lock for a Python this machine lacks would download that Python (the
    # Internet, or about 12 s of retries offline) only to build sdists with it; the
    # wheelhouse's lock is the same with this interpreter.
    monkeypatch.setenv("UV_PYTHON_DOWNLOADS", "never")
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)


def run(
    *command: str, cwd: Path, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=cwd, capture_output=True, text=True,
        env=dict(os.environ, **(env or {})),
    )  # fmt: skip
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def make_app(folder: Path, wheels: Path, requirements: str, **settings: object) -> Path:
    root = scaffold(folder, "shop", ("generate_function", "name=items", "methods=get,post"))
    (root / "requirements.in").write_text(requirements)
    extra = {"no_index": True, "find_links": str(wheels), **settings}
    for key, value in extra.items():  # in place of the scaffold's line: a key is written once
        set_setting(root, key, value)
    return root


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def set_setting(root: Path, key: str, value: object) -> None:
    lines = [
        line
        for line in (root / "tight.yml").read_text().splitlines()
        if not line.startswith(f"{key}:")
    ]
    lines.append(f"{key}: {json.dumps(value)}")
    (root / "tight.yml").write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(("architecture", "machine"), [("x86_64", "x86_64"), ("arm64", "aarch64")])
def test_lock_then_vendor_picks_the_wheel_for_the_architecture(
    hermetic, tmp_path, wheels, architecture, machine
):
    root = make_app(tmp_path, wheels, "purepkg\nboto3\n", architecture=architecture)
    vendored = run("doit", "vendor", cwd=root)
    lock = (root / "requirements.txt").read_text()
    assert "purepkg==1.0" in lock and "fastpkg==2.0" in lock
    assert lock.count("--hash=sha256:") >= 4  # both fastpkg wheels, purepkg, boto3
    assert "doit lock" in lock and str(tmp_path) not in lock
    folder = root / "app" / "vendored"
    assert (folder / "fastpkg" / "__init__.py").read_text() == f"MACHINE = {machine!r}\n"
    assert (folder / "purepkg" / "__init__.py").is_file()
    assert (folder / "tight" / "providers" / "aws" / "lambda_app" / "app.py").is_file()
    assert not (folder / "tight" / "testing").exists(), "test support is not shipped"
    assert not (folder / "boto3").exists(), "Lambda provides boto3"
    assert "left out (Lambda's runtime has them): boto3" in vendored.stdout
    # Long steps say what they do and that it happens once; their last line, what and how long.
    lines = vendored.stdout.strip().splitlines()
    assert "locking requirements.in with pip-tools; done again only when it" in vendored.stdout
    assert re.search(r"^locked 3 package\(s\) from requirements.in into requirements.txt in "
                     r"[0-9.]+ s$", vendored.stdout, re.M), vendored.stdout  # fmt: skip
    assert "installing 2 locked package(s) for Python" in vendored.stdout
    assert "done again only when the lock, the target or the runtime change" in vendored.stdout
    assert re.fullmatch(r"vendored 2 package\(s\) and the tight runtime into app/vendored "
                        r"\(.*\) in [0-9.]+ s", lines[-1]), lines[-1]  # fmt: skip
    assert json.loads((folder / "tight.json").read_text())["app_name"] == "shop"
    assert (folder / "__init__.py").is_file()  # a regular package, not a namespace one


def test_vendor_precompiles_unchecked_hash_bytecode_when_versions_match(hermetic, tmp_path, wheels):
    here = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    root = make_app(tmp_path, wheels, "purepkg\n", runtime=here)
    run("doit", "vendor", cwd=root)
    pycs = list((root / "app" / "vendored").rglob("*.pyc"))
    assert pycs
    for pyc in pycs:
        assert int.from_bytes(pyc.read_bytes()[4:8], "little") == 0b01, pyc  # unchecked hash
    assert (
        b"/var/task/app/vendored/"
        in (
            root / "app/vendored/tight/__pycache__" / f"request.{sys.implementation.cache_tag}.pyc"
        ).read_bytes()
    )


def without_other_pythons(monkeypatch, tmp_path, version: str) -> None:
    """Hide every python<version> from the toolkit: no pyenv, no such program on PATH."""
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
    kept = [
        folder
        for folder in os.environ["PATH"].split(os.pathsep)
        if folder and not shutil.which(f"python{version}", path=folder)
    ]
    monkeypatch.setenv("PATH", os.pathsep.join(kept))


def test_other_python_targets_ship_sources_only_when_that_python_is_absent(
    hermetic, tmp_path, wheels, monkeypatch
):
    other = "3.12" if sys.version_info[:2] != (3, 12) else "3.11"
    without_other_pythons(monkeypatch, tmp_path, other)
    root = make_app(tmp_path, wheels, "purepkg\n", runtime=f"python{other}")
    result = run("doit", "artifact", cwd=root)
    assert f"sources only: no Python {other} here to compile with" in result.stdout
    assert f"import check skipped: there is no Python {other} here" in result.stdout
    assert not list((root / "app" / "vendored").rglob("*.pyc"))
    assert not [
        n for n in zipfile.ZipFile(root / "build/shop.zip").namelist() if n.endswith(".pyc")
    ]


def test_another_python_target_is_compiled_by_that_python_when_present(hermetic, tmp_path, wheels):
    from test_python_versions import interpreter

    other = "3.12" if sys.version_info[:2] != (3, 12) else "3.11"
    python = interpreter(other)
    if python is None:
        pytest.skip(f"no Python {other} on this machine")
    root = make_app(tmp_path, wheels, "purepkg\n", runtime=f"python{other}")
    result = run("doit", "artifact", cwd=root)
    assert "precompiled by" in result.stdout and "imported 1 function(s)" in result.stdout
    tag = "cpython-" + other.replace(".", "")
    names = zipfile.ZipFile(root / "build/shop.zip").namelist()
    assert f"app/functions/items/__pycache__/handler.{tag}.pyc" in names
    assert f"app/vendored/purepkg/__pycache__/__init__.{tag}.pyc" in names
    assert not [n for n in names if n.endswith(".pyc") and tag not in n]


def test_a_target_glibc_decides_which_manylinux_wheels_fit(hermetic, tmp_path, wheels):
    (tmp_path / "new").mkdir()
    root = make_app(tmp_path / "new", wheels, "newpkg\n", runtime="python3.12")
    run("doit", "vendor", cwd=root)  # Amazon Linux 2023, glibc 2.34, takes manylinux_2_28
    assert (root / "app/vendored/newpkg/__init__.py").is_file()
    (tmp_path / "old").mkdir()
    root = make_app(tmp_path / "old", wheels, "newpkg\n", runtime="python3.11")
    failed = run("doit", "vendor", cwd=root, check=False)  # Amazon Linux 2, glibc 2.26
    assert failed.returncode != 0
    assert "newpkg" in failed.stderr and "Python 3.11 on x86_64" in failed.stderr
    assert not (root / "app/vendored/newpkg").exists()


def test_no_op_reruns_do_nothing(hermetic, tmp_path, wheels):
    root = make_app(tmp_path, wheels, "purepkg\n")
    run("doit", "artifact", cwd=root)
    before = snapshot(root / "app" / "vendored")
    zipped = (root / "build" / "shop.zip").stat().st_mtime_ns
    again = run("doit", "artifact", cwd=root)
    assert "-- lock" in again.stdout and "-- vendor" in again.stdout
    assert "-- artifact" in again.stdout
    assert snapshot(root / "app" / "vendored") == before
    assert (root / "build" / "shop.zip").stat().st_mtime_ns == zipped


def test_changing_the_lock_revendors_and_builds_pure_sdists(hermetic, tmp_path, wheels):
    root = make_app(tmp_path, wheels, "purepkg\n")
    run("doit", "vendor", cwd=root)
    (root / "requirements.in").write_text("purepkg\nsdistpkg\n")
    result = run("doit", "vendor", cwd=root)
    assert ".  lock" in result.stdout and ".  vendor" in result.stdout
    assert "built sdistpkg-1.0-py3-none-any.whl from its sdist" in result.stdout
    assert (root / "app/vendored/sdistpkg/__init__.py").read_text() == "BUILT_FROM_SDIST = True\n"


def test_an_sdist_that_is_not_pure_python_is_a_clear_error(hermetic, tmp_path, wheels):
    root = make_app(tmp_path, wheels, "purepkg\n")
    run("doit", "vendor", cwd=root)
    before = snapshot(root / "app" / "vendored")
    (root / "requirements.in").write_text("purepkg\nnativepkg\n")
    failed = run("doit", "vendor", cwd=root, check=False)
    assert failed.returncode != 0
    error = failed.stderr.strip().splitlines()[-1]
    assert "nativepkg has no wheel for Python" in error
    assert "platform-specific wheel (nativepkg-1.0-cp311-cp311-linux_x86_64.whl)" in error
    assert "manylinux" in error
    assert snapshot(root / "app" / "vendored") == before


def test_a_hash_mismatch_fails_and_keeps_the_old_vendored(hermetic, tmp_path, wheels):
    private = tmp_path / "private-wheels"
    shutil.copytree(wheels, private)
    root = make_app(tmp_path, private, "purepkg\n")
    run("doit", "vendor", cwd=root)
    before = snapshot(root / "app" / "vendored")
    # Someone replaces a file on the index: same name, other bytes.
    (private / "purepkg-1.0-py3-none-any.whl").unlink()
    make_wheel(private, "purepkg", "1.0", "py3-none-any", {"purepkg/__init__.py": "EVIL = 1\n"},
               requires=("fastpkg",))  # fmt: skip
    set_setting(root, "architecture", "arm64")  # a reason to reinstall
    failed = run("doit", "vendor", cwd=root, check=False)
    assert failed.returncode != 0
    assert "purepkg==1.0 does not match its hash in requirements.txt" in failed.stderr
    assert snapshot(root / "app" / "vendored") == before
    assert not [p for p in (root / "app").iterdir() if p.name.startswith(".vendored")]


def test_tight_from_pypi_is_refused(hermetic, tmp_path, wheels):
    make_wheel(tmp_path, "tight", "0.1.0", "py3-none-any", {"tight/__init__.py": ""})
    shutil.copytree(wheels, tmp_path / "all", dirs_exist_ok=True)
    shutil.copy(tmp_path / "tight-0.1.0-py3-none-any.whl", tmp_path / "all")
    root = make_app(tmp_path, tmp_path / "all", "tight\n")
    failed = run("doit", "vendor", cwd=root, check=False)
    assert "unrelated project" in failed.stderr


def test_keep_provided_vendors_boto3_anyway(hermetic, tmp_path, wheels):
    root = make_app(tmp_path, wheels, "boto3\n", keep_provided=["boto3"])
    run("doit", "vendor", cwd=root)
    assert (root / "app/vendored/boto3/__init__.py").read_text() == "FAKE = True\n"


def test_lock_says_when_pip_compile_resolves_for_another_machine(hermetic, tmp_path, wheels):
    other = "python3.12" if sys.version_info[:2] != (3, 12) else "python3.11"
    root = make_app(tmp_path, wheels, "purepkg\n", runtime=other, architecture="arm64")
    result = run("doit", "lock", cwd=root)
    assert "warning: pip-compile resolves for this machine" in result.stdout
    assert "resolver: uv" in result.stdout


def test_a_package_the_index_lacks_is_a_clear_lock_error(hermetic, tmp_path, wheels):
    root = make_app(tmp_path, wheels, "purepkg\n")
    run("doit", "lock", cwd=root)
    lock = (root / "requirements.txt").read_bytes()
    (root / "requirements.in").write_text("purepkg\nno-such-package\n")
    failed = run("doit", "lock", cwd=root, check=False)
    assert failed.returncode != 0
    assert "could not lock requirements.in" in failed.stderr
    assert (root / "requirements.txt").read_bytes() == lock


@pytest.mark.parametrize("architecture", ["x86_64", "arm64"])
def test_uv_locks_for_the_target_with_hashes(hermetic, tmp_path, wheels, architecture):
    root = make_app(
        tmp_path, wheels, "purepkg\nnewpkg\n", resolver="uv", runtime="python3.12",
        architecture=architecture,
    )  # fmt: skip
    run("doit", "vendor", cwd=root)
    lock = (root / "requirements.txt").read_text()
    assert "purepkg==1.0" in lock and "newpkg==1.0" in lock and "--hash=sha256:" in lock
    assert "doit lock" in lock
    machine = "aarch64" if architecture == "arm64" else "x86_64"
    assert (root / "app/vendored/fastpkg/__init__.py").read_text() == f"MACHINE = {machine!r}\n"


ENTRY = (
    "import json, sys\n"
    "sys.path.insert(0, '.')\n"
    "import app_index\n"
    "event = json.load(sys.stdin)\n"
    "print(json.dumps(app_index.items(event, None)))\n"
)


def invoke_unzipped(folder: Path, extra_path: list[str] | None = None) -> dict[str, object]:
    """Call app_index.items as Lambda would: python -I, only boto3/botocore beside the zip."""
    import boto3
    import botocore

    from tight.testing.events import make_event

    provided = folder.parent / "lambda-runtime"
    if not provided.exists():
        provided.mkdir()
        for module in (boto3, botocore):
            shutil.copytree(Path(module.__file__).parent, provided / module.__name__)
    path = [str(provided), *(extra_path or [])]
    script = f"import sys; sys.path[1:1] = {path!r}\n" + ENTRY
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script],
        cwd=folder,
        input=json.dumps(make_event("GET", "/items")),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_artifact_is_self_contained(hermetic, tmp_path, wheels):
    root = make_app(tmp_path, wheels, "purepkg\n")
    handler = root / "app/functions/items/handler.py"
    handler.write_text(
        handler.read_text().replace(
            '"method": "GET"}}', '"method": "GET", "pure": __import__("purepkg").VALUE}}'
        )
    )
    built = run("doit", "artifact", cwd=root)
    assert "build/shop.zip  sha256 " in built.stdout and "unzipped" in built.stdout
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(root / "build/shop.zip") as archive:
        archive.extractall(unpacked)
    response = invoke_unzipped(unpacked)
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"function": "items", "method": "GET", "pure": "pure"}
    # As Lambda imports it, app.vendored is a regular package (a namespace one has no file).
    loaded = subprocess.run(
        [sys.executable, "-I", "-c", "import sys; sys.path.insert(0, ''); import app_index; "
         "print(sys.modules['app.vendored'].__file__)"],
        cwd=unpacked, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert loaded.stdout.strip() == str(unpacked / "app/vendored/__init__.py")


def test_excluded_files_never_ship(hermetic, tmp_path, wheels):
    root = make_app(tmp_path, wheels, "purepkg\n")
    (root / "env.yml").write_text("SECRET: 1\n")
    (root / ".env").write_text("SECRET=1\n")
    (root / "app" / ".env").write_text("SECRET=1\n")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (root / ".tight").mkdir()
    (root / ".tight" / "state").write_text("x")
    stale = root / "app/functions/items/__pycache__"
    stale.mkdir()
    (stale / f"handler.{sys.implementation.cache_tag}.pyc").write_bytes(b"\x00" * 32)
    run("doit", "artifact", cwd=root)
    names = zipfile.ZipFile(root / "build/shop.zip").namelist()
    top = {name.split("/")[0] for name in names}
    assert top == {"app", "app_index.py", "__pycache__"}  # no tight.yml nor env.dist.yml
    assert not [n for n in names if n.endswith((".env", "env.yml")) or "/.tight" in n]
    assert "app/vendored/.tight-vendor.json" not in names
    assert "app/vendored/tight.json" in names
    for name in names:
        if name.endswith(".pyc"):
            data = zipfile.ZipFile(root / "build/shop.zip").read(name)
            assert int.from_bytes(data[4:8], "little") == 0b01, name
    compiled = zipfile.ZipFile(root / "build/shop.zip").read(
        f"app/functions/items/__pycache__/handler.{sys.implementation.cache_tag}.pyc"
    )
    assert compiled != b"\x00" * 32


def test_two_checkouts_build_byte_identical_artifacts(hermetic, tmp_path, wheels):
    roots = []
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
        roots.append(make_app(tmp_path / name, wheels, "purepkg\nsdistpkg\n"))
    digests = []
    for root in roots:
        run("doit", "artifact", cwd=root)
        digests.append(hashlib.sha256((root / "build/shop.zip").read_bytes()).hexdigest())
    assert digests[0] == digests[1]
    info = zipfile.ZipFile(roots[0] / "build/shop.zip").infolist()
    assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in info)
    assert all(i.external_attr >> 16 == 0o100644 for i in info)
    assert [i.filename for i in info] == sorted(i.filename for i in info)


def test_source_date_epoch_dates_every_entry(hermetic, tmp_path, wheels, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    root = make_app(tmp_path, wheels, "purepkg\n")
    run("doit", "artifact", cwd=root)
    info = zipfile.ZipFile(root / "build/shop.zip").infolist()
    assert {i.date_time for i in info} == {(2023, 11, 14, 22, 13, 20)}


def test_a_comment_in_tight_yml_or_env_dist_changes_no_byte_of_the_zip(hermetic, tmp_path, wheels):
    root = make_app(tmp_path, wheels, "purepkg\n")
    run("doit", "artifact", cwd=root)
    first = (root / "build/shop.zip").read_bytes()
    for name in ("tight.yml", "env.dist.yml"):
        path = root / name
        path.write_text((path.read_text() if path.is_file() else "") + "# a note\n")
    again = run("doit", "artifact", cwd=root)
    assert again.returncode == 0, again.stderr
    assert (root / "build/shop.zip").read_bytes() == first


def test_a_handler_edit_rezips_without_revendoring(hermetic, tmp_path, wheels):
    root = make_app(tmp_path, wheels, "purepkg\n")
    run("doit", "artifact", cwd=root)
    first = (root / "build/shop.zip").read_bytes()
    handler = root / "app/functions/items/handler.py"
    handler.write_text(handler.read_text() + "\n# edited\n")
    result = run("doit", "artifact", cwd=root)
    assert "-- vendor" in result.stdout and ".  artifact" in result.stdout
    incremental = (root / "build/shop.zip").read_bytes()
    assert incremental != first
    # The import check's unzipped copy is kept up to date entry by entry: it holds the zip's
    # files, the new handler's bytes, and nothing the zip no longer has.
    extra = root / "app/functions/items/extra.py"
    extra.write_text("GONE = True\n")
    run("doit", "artifact", cwd=root)
    extra.unlink()
    run("doit", "artifact", cwd=root)
    incremental = (root / "build/shop.zip").read_bytes()
    unzipped = root / ".tight/artifact/shop.zip.unzipped"
    with zipfile.ZipFile(root / "build/shop.zip") as archive:
        expected = {name: archive.read(name) for name in archive.namelist()}
    held = snapshot(unzipped)
    held.pop(".tight-unzipped.json")
    assert held == expected
    assert zipfile.ZipFile(root / "build/shop.zip").testzip() is None  # every CRC checks out
    # Entries copied from the previous zip are the bytes a clean build writes.
    shutil.rmtree(root / "build")
    shutil.rmtree(root / ".tight")
    run("doit", "forget", "artifact", cwd=root)
    run("doit", "artifact", cwd=root)
    assert (root / "build/shop.zip").read_bytes() == incremental


def test_layer_splits_dependencies_from_the_function(hermetic, tmp_path, wheels):
    root = make_app(tmp_path, wheels, "purepkg\n")
    run("doit", "artifact", "layer=true", cwd=root)
    function = zipfile.ZipFile(root / "build/shop.zip").namelist()
    layer = zipfile.ZipFile(root / "build/shop-layer.zip").namelist()
    assert "python/purepkg/__init__.py" in layer and "python/fastpkg/__init__.py" in layer
    assert not [n for n in layer if not n.startswith("python/")]
    assert not [
        n for n in function if n.startswith(("app/vendored/purepkg", "app/vendored/fastpkg"))
    ]
    assert "app/vendored/tight/__init__.py" in function
    assert "app/vendored/__init__.py" in function and "python/__init__.py" not in layer
    unpacked, opt = tmp_path / "task", tmp_path / "opt"
    zipfile.ZipFile(root / "build/shop.zip").extractall(unpacked)
    zipfile.ZipFile(root / "build/shop-layer.zip").extractall(opt)
    assert invoke_unzipped(unpacked, [str(opt / "python")])["statusCode"] == 200


def test_the_size_limit_is_an_error_and_writes_nothing(hermetic, tmp_path, wheels, monkeypatch):
    from tight_tasks import artifact as artifact_module
    from tight_tasks.config import load
    from tight_tasks.errors import TightTaskError

    root = make_app(tmp_path, wheels, "purepkg\n")
    run("doit", "vendor", cwd=root)
    monkeypatch.setattr(artifact_module, "UNZIPPED_LIMIT", 10_000)
    with pytest.raises(
        TightTaskError, match="past Lambda's 250 MB limit; the largest packages: tight"
    ):
        artifact_module.artifact(root, load(root))
    assert not (root / "build").exists()


def test_a_large_zip_is_warned_about(hermetic, tmp_path, wheels, monkeypatch, capsys):
    from tight_tasks import artifact as artifact_module
    from tight_tasks.config import load

    root = make_app(tmp_path, wheels, "purepkg\n")
    run("doit", "vendor", cwd=root)
    monkeypatch.setattr(artifact_module, "ZIPPED_WARNING", 1_000)
    artifact_module.artifact(root, load(root))
    assert "warning: shop.zip is" in capsys.readouterr().out


def test_layer_can_be_asked_for_in_tight_yml(hermetic, tmp_path, wheels):
    root = make_app(tmp_path, wheels, "purepkg\n", layer=True)
    run("doit", "artifact", cwd=root)
    assert "python/purepkg/__init__.py" in zipfile.ZipFile(root / "build/shop-layer.zip").namelist()
    function = zipfile.ZipFile(root / "build/shop.zip").namelist()
    assert not [n for n in function if n.startswith("app/vendored/purepkg")]
    assert "-- artifact" in run("doit", "artifact", cwd=root).stdout


def test_a_handler_that_cannot_import_fails_the_build_and_keeps_the_previous_zip(
    hermetic, tmp_path, wheels
):
    root = make_app(tmp_path, wheels, "purepkg\n")
    handler = root / "app/functions/items/handler.py"
    # Lambda provides boto3 and botocore: importing them needs nothing in the zip.
    handler.write_text("import boto3, botocore\n" + handler.read_text())
    first = run("doit", "artifact", cwd=root)
    assert "imported 1 function(s) from shop.zip" in first.stdout
    good = (root / "build/shop.zip").read_bytes()
    handler.write_text("import not_in_requirements\n" + handler.read_text())
    failed = run("doit", "artifact", cwd=root, check=False)
    assert failed.returncode != 0
    assert failed.stderr.strip().splitlines()[-1] == (
        "error: function items cannot be imported from shop.zip (the previous zip is kept): "
        "ModuleNotFoundError: No module named 'not_in_requirements' "
        "(app/functions/items/handler.py line 1). Add not_in_requirements (the package that "
        "provides it) to requirements.in, then `doit artifact`"
    )
    assert "Traceback" not in failed.stderr
    assert (root / "build/shop.zip").read_bytes() == good
    assert sorted(p.name for p in (root / "build").iterdir()) == ["shop.zip"]
    again = run("doit", "artifact", cwd=root, check=False)  # still failing: checked again
    assert again.returncode != 0 and "not_in_requirements" in again.stderr
    handler.write_text(handler.read_text().replace("import not_in_requirements\n", ""))
    fixed = run("doit", "artifact", cwd=root)  # the good zip's bytes again: checked before
    assert "the zip has the bytes it had" in fixed.stdout
    assert (root / "build/shop.zip").read_bytes() == good


ASYNC_HANDLER = """
@lambda_proxy.put
async def put_handler(*args, **kwargs):
    return {"statusCode": 200}
"""


def test_the_import_checks_advice_fits_the_error(hermetic, tmp_path, wheels):
    """Only a package missing from the zip is a matter for requirements.in."""
    root = make_app(tmp_path, wheels, "purepkg\n")
    handler = root / "app/functions/items/handler.py"
    original = handler.read_text()
    run("doit", "artifact", cwd=root)
    good = (root / "build/shop.zip").read_bytes()
    where = "(app/functions/items/handler.py line 1)"
    cases = {
        "import purepkg.no_such_module\n": (
            f"ModuleNotFoundError: No module named 'purepkg.no_such_module' {where}. purepkg "
            "is in the zip but has no module purepkg.no_such_module: check the import, or the "
            "version of purepkg that requirements.txt pins"
        ),
        "import app.lib.helpers\n": (
            f"ModuleNotFoundError: No module named 'app.lib.helpers' {where}. app.lib.helpers "
            "is not in the zip: check the import's spelling and that the file is under app/"
        ),
        "TABLE = table_name\n": (
            f"NameError: name 'table_name' is not defined {where}. A name is used before it is "
            "defined (or misspelt) in code that runs when the module is imported: fix the "
            "code, then `doit artifact`"
        ),
        # Compiling the app's bytecode meets it first, in its own words.
        "def broken(:\n": (
            "error: app/functions/items/handler.py does not compile: SyntaxError: invalid "
            "syntax (line 1)"
        ),
        "import json\njson.loads('{')\n": (
            "JSONDecodeError: Expecting property name enclosed in double quotes: line 1 column "
            "2 (char 1) (app/functions/items/handler.py line 2). Importing the module runs "
            "its top-level code, as Lambda will: fix what fails there, then `doit artifact`"
        ),
    }
    for prefix, advice in cases.items():
        handler.write_text(prefix + original)
        failed = run("doit", "artifact", cwd=root, check=False)
        if not advice.startswith("error: "):
            advice = (
                "error: function items cannot be imported from shop.zip (the previous zip is "
                f"kept): {advice}"
            )
        assert failed.stderr.strip().splitlines() == [advice], prefix
    handler.write_text(original + ASYNC_HANDLER)
    failed = run("doit", "artifact", cwd=root, check=False)
    error = failed.stderr.strip().splitlines()[-1]
    assert "TypeError: @lambda_proxy.put cannot serve put_handler" in error, error
    assert "make it a plain def" in error and "requirements.in" not in error
    assert (root / "build/shop.zip").read_bytes() == good


def test_a_function_of_two_kinds_is_refused_as_template_refuses_it(hermetic, tmp_path, wheels):
    """Refused from the code, so also where the import check cannot run (another machine)."""
    import platform

    other = "arm64" if platform.machine() in ("x86_64", "AMD64") else "x86_64"
    for architecture in ("x86_64" if other == "arm64" else "arm64", other):
        folder = tmp_path / architecture
        folder.mkdir()
        root = make_app(folder, wheels, "purepkg\n", architecture=architecture)
        run("doit", "artifact", cwd=root)
        good = (root / "build/shop.zip").read_bytes()
        handler = root / "app/functions/items/handler.py"
        handler.write_text(
            handler.read_text()
            + "\nimport tight.providers.aws.controllers.sqs as sqs\n\n\n@sqs.record\n"
            "def each_message(message, **kwargs):\n    pass\n"
        )
        failed = run("doit", "artifact", cwd=root, check=False)
        assert failed.stderr.strip().splitlines() == [
            "error: app/functions/items registers handlers of http and sqs; a function serves "
            "one kind of event: split it into two functions"
        ], architecture
        assert (root / "build/shop.zip").read_bytes() == good


def test_an_unknown_log_level_in_env_dist_stops_the_artifact(hermetic, tmp_path, wheels):
    root = make_app(tmp_path, wheels, "purepkg\n")
    (root / "env.dist.yml").write_text("LOG_LEVEL: LOUD\n")
    failed = run("doit", "artifact", cwd=root, check=False)
    assert failed.stderr.strip().splitlines() == [
        "error: env.dist.yml:1: LOG_LEVEL LOUD is not a log level; use one of DEBUG, INFO, "
        "WARNING, ERROR, CRITICAL"
    ]
    assert not (root / "build/shop.zip").exists()


def test_the_import_check_runs_only_when_the_zip_changed(hermetic, tmp_path, wheels):
    root = make_app(tmp_path, wheels, "purepkg\n")
    # A handler may read its variables when imported: env.dist.yml names them, as for Lambda.
    (root / "env.dist.yml").write_text("GREETING: hello\nTABLE:\n")
    handler = root / "app/functions/items/handler.py"
    handler.write_text('import os\nTABLE = os.environ["TABLE"]\n' + handler.read_text())
    assert "imported 1 function(s)" in run("doit", "artifact", cwd=root).stdout
    run("doit", "forget", "artifact", cwd=root)
    again = run("doit", "artifact", cwd=root)
    assert "the zip has the bytes it had: its imports were checked then" in again.stdout
    assert "imported" not in again.stdout


def test_a_layer_dependency_is_found_by_the_import_check(hermetic, tmp_path, wheels):
    root = make_app(tmp_path, wheels, "purepkg\n", layer=True)
    handler = root / "app/functions/items/handler.py"
    handler.write_text("import purepkg, fastpkg\n" + handler.read_text())
    assert "imported 1 function(s) from shop.zip" in run("doit", "artifact", cwd=root).stdout


def test_a_target_this_machine_cannot_run_is_not_import_checked(hermetic, tmp_path, wheels):
    import platform

    other = "arm64" if platform.machine() in ("x86_64", "AMD64") else "x86_64"
    root = make_app(tmp_path, wheels, "purepkg\n", architecture=other)
    handler = root / "app/functions/items/handler.py"
    handler.write_text("import not_in_requirements\n" + handler.read_text())
    result = run("doit", "artifact", cwd=root)
    assert "import check skipped: this machine is linux" in result.stdout
    assert (root / "build/shop.zip").is_file()


SET_CONSTANTS = """
def kind(method, name):
    if method in {"GET", "HEAD", "OPTIONS", "TRACE"}:
        return "read"
    return "write" if name in {"items", "orders", "users", "carts", "notes"} else "other"
"""


@pytest.mark.parametrize("version", ["3.10", "3.11", "3.12", "3.13"])
def test_zips_are_byte_identical_whatever_the_hash_seed(hermetic, tmp_path, wheels, version):
    from test_python_versions import interpreter

    if interpreter(version) is None:
        pytest.skip(f"no Python {version} on this machine")
    digests = set()
    for seed in ("1", "2", "3"):
        (tmp_path / seed).mkdir()
        root = make_app(tmp_path / seed, wheels, "purepkg\n", runtime=f"python{version}")
        (root / "app/functions/items/kinds.py").write_text(SET_CONSTANTS)
        run("doit", "artifact", cwd=root, env={"PYTHONHASHSEED": seed})
        digests.add(hashlib.sha256((root / "build/shop.zip").read_bytes()).hexdigest())
        names = zipfile.ZipFile(root / "build/shop.zip").namelist()
        tag = "cpython-" + version.replace(".", "")
        assert f"app/functions/items/__pycache__/kinds.{tag}.pyc" in names
    assert len(digests) == 1, f"Python {version}: the zip depends on PYTHONHASHSEED"


def test_the_next_vendor_finishes_a_swap_a_crash_interrupted(hermetic, tmp_path, wheels):
    root = make_app(tmp_path, wheels, "purepkg\n")
    run("doit", "vendor", cwd=root)
    vendored = root / "app/vendored"
    built = snapshot(vendored)
    # A run without an atomic exchange died between its two renames: the old tree retired,
    # the new one still staged, the journal naming both.
    staging = root / "app/.vendored-new-999999999-dead"
    retired = root / "app/.vendored-old-999999999-dead"
    shutil.copytree(vendored, staging)
    vendored.rename(retired)
    (root / "app/.vendored.swap.json").write_text(
        json.dumps({"staging": str(staging), "retired": str(retired)})
    )
    result = run("doit", "vendor", cwd=root)
    assert "app/vendored is up to date" in result.stdout and "installing" not in result.stdout
    assert snapshot(vendored) == built
    assert sorted(p.name for p in (root / "app").iterdir() if p.name.startswith(".")) == []


def test_doit_test_vendors_first_so_a_new_requirement_just_works(hermetic, tmp_path, wheels):
    """A fresh clone (requirements.txt committed, app/vendored not) whose code imports a
    locked package: `doit test` vendors it, then the tests import it."""
    root = make_app(tmp_path, wheels, "purepkg\n")
    run("doit", "lock", cwd=root)
    shutil.rmtree(root / "app/vendored", ignore_errors=True)  # git ignores it: not in a clone
    test = root / "tests" / "test_uses_purepkg.py"
    test.write_text("import purepkg\n\n\ndef test_it():\n    assert purepkg.VALUE == 'pure'\n")
    tested = run("doit", "test", "pytest_args=-q tests/test_uses_purepkg.py", cwd=root, check=False)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "vendored 2 package(s)" in tested.stdout and "1 passed" in tested.stdout
    again = run("doit", "test", "pytest_args=-q tests/test_uses_purepkg.py", cwd=root)
    assert "-- vendor" in again.stdout  # up to date: not vendored again
    # Plain pytest, after a clone that was never vendored: the one step, not a traceback.
    shutil.rmtree(root / "app/vendored")
    plain = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/test_uses_purepkg.py"],
        cwd=root, capture_output=True, text=True,
    )  # fmt: skip
    assert plain.returncode == 4, plain.stdout + plain.stderr
    assert (
        "error: purepkg is pinned in requirements.txt but not in app/vendored: run `doit vendor`"
        in plain.stdout + plain.stderr
    )


def test_doit_test_says_how_to_make_a_missing_env_yml(hermetic, tmp_path, wheels):
    root = make_app(tmp_path, wheels, "")
    (root / "env.dist.yml").write_text("LOG_LEVEL: INFO\nSTRIPE_KEY:\n")
    tested = run("doit", "test", cwd=root, check=False)
    assert tested.returncode != 0 and "Traceback" not in tested.stderr
    assert (
        "error: no env.yml, and env.dist.yml has no default for STRIPE_KEY; run "
        "`doit generate_env`" in tested.stderr
    )
    (root / "env.yml").write_text("STRIPE_KEY: sk_test\n")
    assert run("doit", "test", cwd=root, check=False).returncode == 0
