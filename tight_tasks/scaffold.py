"""Scaffolding: new apps, functions and models rendered from the Jinja2 templates.

Every generator validates its input first and renders everything into a staging folder
before anything is moved into place, so bad input or a failed render leaves the tree
byte-for-byte as it was, and no existing file is ever overwritten.
"""

import keyword
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tight_tasks.config import (
    LAMBDA_RUNTIMES,
    MODULE_NAME_WORDS,
    find_app_root,
    is_app_name,
    is_module_name,
    load,
    suggest_app_name,
    suggest_module_name,
)
from tight_tasks.errors import TightTaskError, as_action
from tight_tasks.resources import templates_dir
from tight_tasks.taskkit import param, report_created

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
DEFAULT_METHODS = ("get",)
# Names that would shadow a package the app or Lambda depends on, or an app folder.
RESERVED = frozenset(
    (
        "app", "app_index", "functions", "models", "lib", "vendored", "tests", "test",
        "tight", "tight_tasks", "boto3", "botocore", "doit", "dodo", "pytest", "json",
        "os", "sys", "run", "conftest",
    )
)  # fmt: skip
APP_PACKAGES = (
    "app/functions",
    "app/models",
    "app/lib",
    "tests",
    "tests/functions",
    "tests/functions/unit",
    "tests/functions/integration",
    "tests/models",
)


def validate_name(name: str | None, what: str, example: str) -> str:
    """A function's or a model's name (a Python module name Lambda's handler setting
    carries: lowercase), or a ``TightTaskError`` saying what is wrong and what to do."""
    command = f"doit generate_{what}"
    if name is None or not str(name).strip():
        raise TightTaskError(f"generate_{what} needs a name: {command} name={example}")
    name = str(name).strip()
    if not is_module_name(name):
        raise TightTaskError(
            f"'{name}' is not a valid {what} name: use {MODULE_NAME_WORDS} "
            f"(did you mean {command} name={suggest_module_name(name)}?)"
        )
    if keyword.iskeyword(name):
        raise TightTaskError(f"'{name}' is a Python keyword; choose another {what} name")
    if name in RESERVED:
        raise TightTaskError(
            f"'{name}' is reserved (it would shadow a package or folder Tight apps use); "
            f"choose another {what} name"
        )
    return name


def validate_app_name(name: str | None) -> tuple[str, str]:
    """``(folder, app name)`` for ``tight generate_app name=...``: the folder is named as
    given; tight.yml's ``name`` is the same with hyphens for underscores, because it goes
    into zip, stack, bucket and table names, which take hyphens. Anything else is refused
    with the name to use instead."""
    if name is None or not str(name).strip():
        raise TightTaskError("generate_app needs a name: tight generate_app name=my-app")
    folder = str(name).strip()
    app = folder.replace("_", "-")
    if not is_app_name(app):
        raise TightTaskError(
            f"'{folder}' is not a valid app name: use lowercase letters, digits and hyphens, "
            f"starting with a letter, at most 40 characters (did you mean tight generate_app "
            f"name={suggest_app_name(folder)}?)"
        )
    return folder, app


def parse_methods(methods: str | None) -> list[str]:
    """``"get,post"`` -> ``["get", "post"]``, in a fixed order; unknown methods are an error."""
    if methods is None or not methods.strip():
        return list(DEFAULT_METHODS)
    asked = [m.strip().lower() for m in methods.split(",") if m.strip()]
    unknown = [m for m in asked if m not in HTTP_METHODS]
    if unknown:
        raise TightTaskError(
            f"unknown method(s) {', '.join(unknown)}; choose from {','.join(HTTP_METHODS)} "
            "(OPTIONS and HEAD are answered for you)"
        )
    return [m for m in HTTP_METHODS if m in asked]


def default_runtime() -> str:
    """This interpreter's version when Lambda has it, else the newest Lambda runtime."""
    mine = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return mine if mine in LAMBDA_RUNTIMES else LAMBDA_RUNTIMES[-1]


def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


class Staging:
    """Files rendered into a private folder, moved into place only when all are ready."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.folder = Path(tempfile.mkdtemp(prefix=".tight-staging-", dir=root))
        self.files: list[Path] = []  # relative paths, in the order they were added
        self.folders: list[Path] = []
        self._env = _environment()

    def render(self, template: str, target: str, **context: Any) -> None:
        text = self._env.get_template(template).render(**context)
        self.write(target, text)

    def write(self, target: str, text: str) -> None:
        path = self.folder / target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        self.files.append(Path(target))

    def folder_only(self, target: str) -> None:
        (self.folder / target).mkdir(parents=True, exist_ok=True)
        self.folders.append(Path(target))

    def commit(self) -> list[Path]:
        """Move every staged file into the root; none may exist there already."""
        clashes = [p for p in self.files if (self.root / p).exists()]
        if clashes:
            raise TightTaskError(
                f"{clashes[0].as_posix()} exists already; Tight never overwrites your files: "
                "move it away or choose another name"
            )
        moved: list[Path] = []
        created_dirs: list[Path] = []
        try:
            for relative in [*self.folders, *(p.parent for p in self.files)]:
                for parent in reversed([relative, *relative.parents]):
                    if parent != Path(".") and not (self.root / parent).exists():
                        (self.root / parent).mkdir()
                        created_dirs.append(parent)
            for relative in self.files:
                os.replace(self.folder / relative, self.root / relative)
                moved.append(relative)
        except OSError:
            for relative in reversed(moved):
                os.replace(self.root / relative, self.folder / relative)
            for relative in reversed(created_dirs):
                shutil.rmtree(self.root / relative, ignore_errors=True)
            raise
        return moved

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _staged(root: Path, build: Any) -> list[Path]:
    staging = Staging(root)
    try:
        build(staging)
        return staging.commit()
    finally:
        staging.discard()


def generate_app(name: str | None, directory: str | None = None) -> Path:
    """Create the app folder ``<directory>/<name>``; returns its path."""
    name, app_name = validate_app_name(name)
    parent = Path(directory or ".").resolve()
    if not parent.is_dir():
        raise TightTaskError(f"dir={directory} is not a folder; create it first or pick another")
    target = parent / name
    if target.exists():
        raise TightTaskError(
            f"{target} exists already; choose another name or dir= (Tight never overwrites)"
        )
    context = {"name": app_name, "runtime": default_runtime(), "architecture": "x86_64"}
    staging = Staging(parent)
    try:
        app = Path(name)
        for template in sorted((templates_dir() / "app").rglob("*.j2")):
            relative = template.relative_to(templates_dir() / "app").with_suffix("")
            if relative.name == "gitignore":
                relative = relative.with_name(".gitignore")
            staging.render(
                template.relative_to(templates_dir()).as_posix(), str(app / relative), **context
            )
        for package in APP_PACKAGES:
            staging.write(str(app / package / "__init__.py"), "")
        staging.folder_only(str(app / "app" / "vendored"))
        # One rename puts the whole app in place: it appears complete or not at all.
        os.rename(staging.folder / name, target)
    finally:
        staging.discard()
    return target


def generate_function(
    name: str | None, methods: str | None = None, root: Path | None = None
) -> list[Path]:
    """Write app/functions/<name>/ with its unit and integration tests and expectations."""
    app_root = find_app_root(root)
    load(app_root)  # every task checks tight.yml, even one that only adds files
    name = validate_name(name, "function", "items")
    chosen = parse_methods(methods)
    function_dir = app_root / "app" / "functions" / name
    if function_dir.exists():
        raise TightTaskError(
            f"app/functions/{name} exists already; edit app/functions/{name}/handler.py or "
            "choose another name"
        )

    def build(staging: Staging) -> None:
        context = {"name": name, "methods": chosen}
        staging.write(f"app/functions/{name}/__init__.py", "")
        staging.render("function/handler.py.j2", f"app/functions/{name}/handler.py", **context)
        staging.render(
            "function/test_unit.py.j2", f"tests/functions/unit/test_{name}.py", **context
        )
        staging.render(
            "function/test_integration.py.j2",
            f"tests/functions/integration/test_{name}.py",
            **context,
        )
        for method in chosen:
            staging.render(
                "function/expectation.yml.j2",
                f"tests/functions/integration/expectations/test_{name}_{method}.yml",
                name=name,
                method=method,
            )

    return _staged(app_root, build)


def class_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_") if part) or name


def generate_model(name: str | None, root: Path | None = None) -> list[Path]:
    """Write app/models/<name>.py and tests/models/test_<name>.py."""
    app_root = find_app_root(root)
    load(app_root)  # every task checks tight.yml, even one that only adds files
    name = validate_name(name, "model", "item")
    if (app_root / "app" / "models" / f"{name}.py").exists():
        raise TightTaskError(f"app/models/{name}.py exists already; choose another name")

    def build(staging: Staging) -> None:
        context = {"name": name, "class_name": class_name(name)}
        staging.render("model/model.py.j2", f"app/models/{name}.py", **context)
        staging.render("model/test_model.py.j2", f"tests/models/test_{name}.py", **context)
        if not (app_root / "app" / "models" / "__init__.py").exists():
            staging.write("app/models/__init__.py", "")
        if not (app_root / "tests" / "models" / "__init__.py").exists():
            staging.write("tests/models/__init__.py", "")

    return _staged(app_root, build)


def describe(paths: Iterable[Path]) -> str:
    return "\n".join(f"created {p.as_posix()}" for p in paths)


# Task creators: `doit list` shows each docstring; the work is the functions above.


def _generate_app(name: str, dir: str) -> Any:
    target = generate_app(name, dir or None)
    print(f"created {target}")
    app_name = validate_app_name(name)[1]
    if app_name != target.name:
        print(f"app name in tight.yml: {app_name} (AWS resource names take hyphens)")
    print(f"next: cd {target} && doit generate_function name=items && doit test")


def _generate_function(name: str, methods: str) -> Any:
    return generate_function(name, methods)


def _generate_model(name: str) -> Any:
    return generate_model(name)


def task_generate_app() -> dict[str, Any]:
    """Create a new app folder: tight generate_app name=my-app [dir=path]."""
    return {
        "actions": [(as_action(_generate_app),)],
        "params": [
            param(
                "name",
                "the app's folder; tight.yml's name is the same with hyphens for "
                "underscores (lowercase letters, digits, hyphens; e.g. my-app)",
            ),
            param("dir", "the folder to create the app in (default: the current folder)"),
        ],
        "uptodate": [False],
    }


def task_generate_function() -> dict[str, Any]:
    """Add a function with tests that pass: doit generate_function name=x [methods=get,post]."""
    return {
        "actions": [(as_action(report_created(_generate_function)),)],
        "params": [
            param("name", f"the function's name: {MODULE_NAME_WORDS} (e.g. items)"),
            param(
                "methods",
                "HTTP methods to handle, comma-separated, from get,post,put,patch,delete",
                "get",
            ),
        ],
        "uptodate": [False],
    }


def task_generate_model() -> dict[str, Any]:
    """Add a model in app/models with its test: doit generate_model name=x."""
    return {
        "actions": [(as_action(report_created(_generate_model)),)],
        "params": [param("name", f"the model's name: {MODULE_NAME_WORDS} (e.g. item)")],
        "uptodate": [False],
    }
