"""A local wheelhouse built by the tests, so lock and vendor need no network.

Packages: a pure-Python wheel; a compiled-looking package with manylinux2014 wheels for
x86_64 and aarch64 (abi3, so any CPython 3 takes them) that say which one they are; a
package that only publishes manylinux_2_28 wheels; an sdist-only package whose in-tree
build backend makes a pure wheel; an sdist-only package whose backend makes a
platform-specific wheel; and a stand-in for boto3, which Lambda provides.
"""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import textwrap
import zipfile
from pathlib import Path


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def make_wheel(folder: Path, name: str, version: str, tag: str, files: dict[str, str],
               requires: tuple[str, ...] = ()) -> Path:  # fmt: skip
    """A wheel named ``name-version-tag.whl`` holding ``files`` (path -> text)."""
    dist_info = f"{name}-{version}.dist-info"
    pure = tag.endswith("none-any")
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
    contents = {path: text.encode() for path, text in files.items()}
    contents[f"{dist_info}/METADATA"] = metadata.encode()
    contents[f"{dist_info}/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: tight-tests\nRoot-Is-Purelib: {str(pure).lower()}\n"
        f"Tag: {tag}\n"
    ).encode()
    record = [_record_line(path, data) for path, data in contents.items()]
    record.append(f"{dist_info}/RECORD,,")
    contents[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    path = folder / f"{name}-{version}-{tag}.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in contents.items():
            archive.writestr(zipfile.ZipInfo(member, (2020, 1, 1, 0, 0, 0)), data)
    return path


BACKEND = '''
"""An in-tree PEP 517 backend: builds a wheel with no build dependencies."""
import base64, hashlib, os, zipfile

NAME, VERSION, TAG = {name!r}, {version!r}, {tag!r}


def _line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{{name}},sha256={{digest}},{{len(data)}}"


def get_requires_for_build_wheel(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    info = f"{{NAME}}-{{VERSION}}.dist-info"
    files = {{
        f"{{NAME}}/__init__.py": b"BUILT_FROM_SDIST = True\\n",
        f"{{info}}/METADATA": (
            f"Metadata-Version: 2.1\\nName: {{NAME}}\\nVersion: {{VERSION}}\\n".encode()
        ),
        f"{{info}}/WHEEL": f"Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\nTag: {{TAG}}\\n".encode(),
    }}
    record = [_line(k, v) for k, v in files.items()] + [f"{{info}}/RECORD,,"]
    files[f"{{info}}/RECORD"] = ("\\n".join(record) + "\\n").encode()
    name = f"{{NAME}}-{{VERSION}}-{{TAG}}.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as archive:
        for member, data in files.items():
            archive.writestr(member, data)
    return name
'''


def make_sdist(folder: Path, name: str, version: str, wheel_tag: str) -> Path:
    """An sdist whose in-tree backend builds a wheel tagged ``wheel_tag``."""
    base = f"{name}-{version}"
    files = {
        "pyproject.toml": textwrap.dedent(
            """
            [build-system]
            requires = []
            build-backend = "backend"
            backend-path = ["."]
            """
        ),
        "backend.py": BACKEND.format(name=name, version=version, tag=wheel_tag),
        "PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
    }
    path = folder / f"{base}.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for member, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{base}/{member}")
            info.size = len(data)
            info.mtime = 1577836800
            archive.addfile(info, io.BytesIO(data))
    return path


def build_wheelhouse(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    make_wheel(folder, "purepkg", "1.0", "py3-none-any",
               {"purepkg/__init__.py": "VALUE = 'pure'\n"}, requires=("fastpkg",))  # fmt: skip
    for machine in ("x86_64", "aarch64"):
        make_wheel(folder, "fastpkg", "2.0", f"cp38-abi3-manylinux2014_{machine}",
                   {"fastpkg/__init__.py": f"MACHINE = {machine!r}\n"})  # fmt: skip
        make_wheel(folder, "newpkg", "1.0", f"cp38-abi3-manylinux_2_28_{machine}",
                   {"newpkg/__init__.py": f"MACHINE = {machine!r}\n"})  # fmt: skip
    make_wheel(folder, "boto3", "9.9.9", "py3-none-any", {"boto3/__init__.py": "FAKE = True\n"})
    make_sdist(folder, "sdistpkg", "1.0", "py3-none-any")
    make_sdist(folder, "nativepkg", "1.0", "cp311-cp311-linux_x86_64")
    return folder
