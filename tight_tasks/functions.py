"""An app's functions as their code and tight.yml show them, without importing anything.

``read_code`` walks ``app/functions/<name>`` (and the app modules it imports) with ``ast``:
which controller its decorators come from (the kind of function), which HTTP methods it
registers, and which models it uses and which of them it writes (``tight_tasks.model_uses``,
whose docstring has the rules). ``app_functions`` lists the functions
and ``function_trigger`` checks each one's tight.yml entry against its code; the route table
(``tight_tasks.routes``), the event sources and the template all start from these.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tight_tasks.errors import TightTaskError
from tight_tasks.triggers import TRIGGERS

FUNCTIONS_DIR = "app/functions"
CONTROLLERS_PACKAGE = "tight.providers.aws.controllers"
# The controller module a function's decorators come from -> the kind of function it is.
CONTROLLERS = {
    "lambda_proxy_event": "http",
    "sqs": "sqs",
    "sns": "sns",
    "s3": "s3",
    "kinesis": "kinesis",
    "dynamodb_stream": "dynamodb_stream",
    "eventbridge": "eventbridge",
    "authorizer": "authorizer",  # a Lambda authorizer, which routes name in their auth
}
HTTP_METHODS = ("get", "post", "put", "patch", "delete", "options", "head")
# The runtime module of ``@idempotent``: code importing it needs the idempotency table.
IDEMPOTENCY_MODULE = "tight.idempotency"
DEFAULT_TIMEOUT = 30  # seconds: API Gateway answers 504 after 29 s anyway
DEFAULT_MEMORY = 256  # MB: Python cold starts get slow below this


def camel(name: str) -> str:
    """A name as a CloudFormation logical id part: ``line_items`` -> ``LineItems``."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name))


@dataclass
class Code:
    """What a function's own code shows without running it."""

    kind: str | None = None  # "http", "sqs", ...; None for a plain handler(event, context)
    methods: list[str] = field(default_factory=list)
    # (module, class) of each model it uses ("*": all of the module's) -> the file naming it
    models: dict[tuple[str, str], str] = field(default_factory=dict)
    writes: set[tuple[str, str]] = field(default_factory=set)  # the models it writes
    # (file, module, name): a name it reads from a model module that has no such name
    unresolved: list[tuple[str, str, str]] = field(default_factory=list)
    idempotent: bool = False  # it imports tight.idempotency: it reads and writes its table


# -- reading the code -------------------------------------------------------------------------


def module_file(root: Path, module: str) -> Path | None:
    """The app's own file for an ``app.*`` module (never app/vendored)."""
    if not module.startswith("app.") or module.startswith("app.vendored"):
        return None
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def parse_file(root: Path, path: Path) -> Any:
    """A module's ``ast``; a syntax error is the user's to fix, named with its line."""
    import ast

    try:
        return ast.parse(path.read_bytes(), filename=str(path))
    except SyntaxError as error:
        raise TightTaskError(
            f"{path.relative_to(root)} line {error.lineno}: {error.msg}; fix it, then run "
            "the command again"
        ) from None


def imports_idempotency(tree: Any) -> bool:
    """Whether a module's ``ast`` imports ``tight.idempotency`` (vendored or not), in any
    form: ``from tight.idempotency import idempotent``, ``from tight import idempotency``,
    ``import tight.idempotency as idem``."""
    import ast

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name.removeprefix("app.vendored.") for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            module = node.module.removeprefix("app.vendored.")
            names = [module] + [f"{module}.{alias.name}" for alias in node.names]
        else:
            continue
        if any(n == IDEMPOTENCY_MODULE or n.startswith(IDEMPOTENCY_MODULE + ".") for n in names):
            return True
    return False


def app_uses_idempotency(root: Path) -> bool:
    """Whether any of the app's own code (not app/vendored) imports ``tight.idempotency``:
    then ``doit schema`` and ``doit dynamo_start`` make its table. A file that does not
    parse is skipped here (the template names it)."""
    import ast
    import os

    paths: list[Path] = []
    for folder, folders, files in os.walk(root / "app"):  # app/vendored: never walked
        folders[:] = sorted(f for f in folders if (folder, f) != (str(root / "app"), "vendored"))
        paths += [Path(folder) / f for f in files if f.endswith(".py")]
    for path in sorted(paths):
        data = path.read_bytes()
        if b"idempotency" not in data:
            continue
        try:
            tree = ast.parse(data, filename=str(path))
        except SyntaxError:
            continue
        if imports_idempotency(tree):
            return True
    return False


def read_code(root: Path, name: str) -> Code:
    """Walk the function's files, and the app modules they import, with ``ast``."""
    import ast

    from tight_tasks.model_uses import read_uses

    code = Code()
    kinds: set[str] = set()
    folder = root / FUNCTIONS_DIR / name
    files = sorted(folder.rglob("*.py"))
    queue = list(files)
    seen: set[Path] = set()
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        tree = parse_file(root, path)
        code.idempotent = code.idempotent or imports_idempotency(tree)
        controllers: dict[str, str] = {}  # local name -> controller module
        decorators: dict[str, tuple[str, str]] = {}  # local name -> (controller, attribute)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    module = alias.name.removeprefix("app.vendored.")
                    if module.startswith(CONTROLLERS_PACKAGE + ".") and alias.asname:
                        controllers[alias.asname] = module.rsplit(".", 1)[-1]
                    elif module.startswith(CONTROLLERS_PACKAGE + "."):
                        controllers[module] = module.rsplit(".", 1)[-1]
                    found = module_file(root, module)
                    if found:
                        queue.append(found)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                module = node.module.removeprefix("app.vendored.")
                for alias in node.names:
                    local = alias.asname or alias.name
                    if module == CONTROLLERS_PACKAGE:
                        controllers[local] = alias.name
                    elif module.startswith(CONTROLLERS_PACKAGE + "."):
                        decorators[local] = (module.rsplit(".", 1)[-1], alias.name)
                    for found in (
                        module_file(root, module),
                        module_file(root, f"{module}.{alias.name}"),
                    ):
                        if found:
                            queue.append(found)
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for decorator in node.decorator_list:
                    target = None
                    if isinstance(decorator, ast.Attribute) and isinstance(
                        decorator.value, (ast.Name, ast.Attribute)
                    ):
                        owner = ast.unparse(decorator.value)
                        if owner in controllers:
                            target = (controllers[owner], decorator.attr)
                    elif isinstance(decorator, ast.Name) and decorator.id in decorators:
                        target = decorators[decorator.id]
                    if target is None or target[0] not in CONTROLLERS:
                        continue
                    kind = CONTROLLERS[target[0]]
                    kinds.add(kind)
                    method = target[1].upper()
                    if kind == "http" and target[1] in HTTP_METHODS and method not in code.methods:
                        code.methods.append(method)
    if len(kinds) > 1:
        raise TightTaskError(
            f"app/functions/{name} registers handlers of {' and '.join(sorted(kinds))}; a "
            "function serves one kind of event: split it into two functions"
        )
    code.kind = kinds.pop() if kinds else None
    uses = read_uses(root, files)
    code.models, code.writes, code.unresolved = uses.models, uses.writes, uses.unresolved
    return code


def function_names(root: Path) -> list[str]:
    folder = root / FUNCTIONS_DIR
    if not folder.is_dir():
        return []
    return sorted(p.parent.name for p in folder.glob("*/handler.py"))


# -- the functions and their settings ---------------------------------------------------------


# tight.yml's keys and value types are checked when it is read (tight_tasks.config); what
# is checked here is only what needs the app's code: routes, triggers against handlers.


def function_setting(settings: dict[str, Any], key: str, default: int) -> int:
    """A setting every function shares (tight.yml ``function.<key>``)."""
    return int((settings.get("function") or {}).get(key, default))


def own_setting(settings: dict[str, Any], name: str, key: str, default: int) -> int:
    """Function ``name``'s ``timeout`` or ``memory_size``: its own (``functions.<name>.<key>``)
    when it sets one, else every function's (``function.<key>``), else ``default``."""
    own = function_entry(settings, name).get(key)
    return int(own) if isinstance(own, int) else function_setting(settings, key, default)


def function_entry(settings: dict[str, Any], name: str) -> dict[str, Any]:
    """The function's own section of tight.yml (``functions.<name>``), empty when absent."""
    return (settings.get("functions") or {}).get(name) or {}


def app_functions(root: Path, settings: dict[str, Any]) -> list[str]:
    """The app's function names, sorted; an error when there are none, when tight.yml
    names one that is not there, or when two would get the same logical id."""
    names = function_names(root)
    if not names:
        raise TightTaskError(
            f"no functions in {FUNCTIONS_DIR}; add one with `doit generate_function name=<name>`"
        )
    unknown = sorted(set(settings.get("functions") or {}) - set(names))
    if unknown:
        # A typo here would deploy no trigger at all, silently.
        raise TightTaskError(
            f"functions.{unknown[0]} in tight.yml names no function: there is no "
            f"{FUNCTIONS_DIR}/{unknown[0]}/handler.py; fix the name (functions here: "
            f"{', '.join(names)}) or create it with `doit generate_function name={unknown[0]}`"
        )
    ids = [camel(n) for n in names]
    if len(set(ids)) != len(ids):
        raise TightTaskError("two functions' names differ only in _ or case; rename one of them")
    return names


def function_trigger(name: str, entry: dict[str, Any], code: Code) -> str | None:
    """The function's one event-source trigger in tight.yml (None for an HTTP or plain
    function), checked against the kind of handlers its code registers."""
    triggers = [t for t in TRIGGERS if t in entry]
    if len(triggers) > 1:
        raise TightTaskError(
            f"functions.{name} in tight.yml has triggers {', '.join(triggers)}; a function has one"
        )
    if triggers and "routes" in entry:
        raise TightTaskError(
            f"functions.{name} in tight.yml has routes and a {triggers[0]} trigger; "
            "routes are for HTTP functions"
        )
    trigger = triggers[0] if triggers else None
    expected = "eventbridge" if trigger == "schedule" else trigger
    if trigger and code.kind not in (None, expected):
        raise TightTaskError(
            f"functions.{name} in tight.yml has a {trigger} trigger but "
            f"app/functions/{name}/handler.py registers {code.kind} handlers; make them agree"
        )
    if code.kind not in (None, "http", "authorizer") and not trigger:
        raise TightTaskError(
            f"app/functions/{name} handles {code.kind} events but tight.yml has no trigger for "
            f"it; add functions.{name}.{code.kind} (see the README's event sources)"
        )
    return trigger
