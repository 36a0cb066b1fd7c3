"""Which models a function's code uses, and which of it writes, read with ``ast`` (never imported).

**Uses.** The function's code is the files of ``app/functions/<name>`` and every app module
they import, transitively, however it is imported: ``from app.models.item import Item``,
``from app.models import Item`` (followed through ``app/models/__init__.py`` or any module that
re-exports it), ``import app.models.item as m`` then ``m.Item``, relative imports
(``from ..models.item import Item``, ``from .helpers import find``), and helper modules under
``app/`` (``app/lib/lookup.py``). A model is used when its name is read anywhere in that code,
even in a helper function the handler never calls: a module the function imports is code it
may run. A model module (``app/models/*.py``) counts only once one of its models is used;
then the other models its code names are used too. A model module read as a whole
(``getattr(models, name)``) uses all of its models.

**Writes.** A function writes a model's table when its code calls a write on the model class
or on a value that may be an instance of it: ``Item(...).save()``, ``Item.get(k).delete()``,
``item.update(...)`` after ``item = Item.get(k)``, ``Item.batch_write(...)``, ``t.put(item)``
in ``with Item.transaction() as t`` (the table of ``item``), or a method of a model that itself
writes (``def rename(self): self.update(...)``). Values are followed through assignments,
``for`` loops, ``with`` and annotations, function by function. Where the code cannot tell
what a value is (a parameter without a model annotation, what an app function returns), a
write call on it is a write on every table the function uses. A value that is plain data is
never a model: literals, comprehensions, ``dict(...)``, the event and other arguments a
handler receives, and what is read from them (``data = kwargs["event"]["body"];
data.update(x)`` writes nothing), and the containers holding models (only their elements are).

A name imported from a model module that is not there, or a ``Model`` subclass defined
outside ``app/models``, is reported (``unresolved``, and in ``models``): the template refuses
both, since no role could name its table.
"""

import ast
import builtins
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

MODELS_PACKAGE = "app.models"
MODEL_BASES = frozenset(("tight.models.Model", "tight.models.model.Model"))
# Model methods that write; put/update/delete are a transaction's too (on their argument).
WRITE_CALLS = frozenset(("save", "delete", "update", "batch_write", "put"))
TRANSACTION_WRITES = frozenset(("put", "update", "delete"))
# Model methods whose result is plain data, never an instance.
PLAIN_METHODS = frozenset(
    ("to_dict", "to_item", "key", "own_key", "table_name", "model_name", "table_definition")
)
# Calls whose result is plain data whatever they are given.
PLAIN_CALLS = frozenset(
    f"builtins.{name}"
    for name in ("dict", "str", "int", "float", "bool", "bytes", "len", "repr", "isinstance")
) | frozenset(("json.loads", "json.dumps"))
CONTAINER_CALLS = frozenset(
    f"builtins.{name}" for name in ("list", "tuple", "set", "frozenset", "sorted", "reversed")
)

# What a value may be: a model class or instance ("class", module, name), an app module
# ("module", name), an app function ("func", module, name), something outside the app
# ("ext", dotted name), a container of one of these ("in", token), a method's own instance
# (SELF), a transaction (TRANSACTION), or anything (UNKNOWN). No token: plain data.
Token = tuple[Any, ...]
Tokens = frozenset[Token]
UNKNOWN: Token = ("unknown",)
SELF: Token = ("self",)
TRANSACTION: Token = ("transaction",)
PLAIN: Tokens = frozenset()


def is_model_module(module: str) -> bool:
    return module == MODELS_PACKAGE or module.startswith(MODELS_PACKAGE + ".")


@dataclass
class Uses:
    """The models a function's code uses and writes, as ``(module, class name)``; a name
    ``*`` is every model of the module. ``unresolved``: ``(file, module, name)``."""

    models: dict[tuple[str, str], str] = field(default_factory=dict)  # -> the file using it
    writes: set[tuple[str, str]] = field(default_factory=set)
    unresolved: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class Scope:
    node: ast.AST
    parent: "Scope | None"
    is_class: bool = False
    bindings: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    globals: set[str] = field(default_factory=set)


class Module:
    """One app module: its scopes, the names bound in each, and the reads and calls to check."""

    def __init__(self, name: str, path: Path, tree: ast.Module, package: bool) -> None:
        self.name = name
        self.path = path
        self.package = name if package else name.rpartition(".")[0]
        self.scope = Scope(tree, None)
        self.stars: list[str] = []  # the modules of its `from x import *`
        self.imports: list[str] = []  # every module it imports, absolute
        self.reads: list[tuple[ast.expr, Scope, bool]] = []  # (node, scope, is an attribute's base)
        self.bases: set[int] = set()  # the nodes that are an attribute's object
        self.calls: list[tuple[ast.Call, Scope, str | None]] = []  # (call, scope, method it is in)
        self.handler = name.startswith("app.functions.") and name.endswith(".handler")
        self.visit_body(tree.body, self.scope, None)

    def absolute(self, module: str | None, level: int) -> str:
        if not level:
            return vendored(module or "")
        base = self.package.split(".")
        base = base[: len(base) - (level - 1)] if level > 1 else base
        return ".".join(base + ([module] if module else []))

    def bind(self, scope: Scope, name: str, binding: tuple[Any, ...]) -> None:
        target = self.scope if name in scope.globals else scope
        target.bindings.setdefault(name, []).append(binding)

    def bind_target(self, target: ast.expr, scope: Scope, binding: tuple[Any, ...]) -> None:
        if isinstance(target, ast.Name):
            self.bind(scope, target.id, binding)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self.bind_target(element, scope, ("element", binding))
        elif isinstance(target, ast.Starred):
            self.bind_target(target.value, scope, binding)
        else:  # an attribute or item set: no name is bound, but its parts are read
            self.visit(target, scope, None)

    def visit_body(self, body: list[ast.stmt], scope: Scope, method: str | None) -> None:
        for statement in body:
            self.visit(statement, scope, method)

    def visit_function(self, node: Any, scope: Scope, method: str | None) -> None:
        decorators = getattr(node, "decorator_list", [])  # a lambda has none
        for expression in [*decorators, *node.args.defaults, *node.args.kw_defaults]:
            if expression is not None:
                self.visit(expression, scope, method)
        inner = Scope(node, scope)
        arguments = node.args
        positional = [*arguments.posonlyargs, *arguments.args]
        handler = self.handler and scope is self.scope and self.is_handler(node)
        static = isinstance(node, ast.Lambda) or any(
            isinstance(d, ast.Name) and d.id == "staticmethod" for d in node.decorator_list
        )
        for index, argument in enumerate([*positional, *arguments.kwonlyargs]):
            if handler:
                binding: tuple[Any, ...] = ("tokens", PLAIN)
            elif index == 0 and scope.is_class and not static:  # self or cls
                binding = ("tokens", frozenset((SELF,)) if is_model_module(self.name) else None)
            elif argument.annotation is not None:
                binding = ("annotation", argument.annotation, scope)
            else:
                binding = ("tokens", None)
            self.bind(inner, argument.arg, binding)
        for argument in (arguments.vararg, arguments.kwarg):
            if argument is not None:  # *args is a tuple and **kwargs a dict: containers
                contents = PLAIN if handler else frozenset((("in", UNKNOWN),))
                self.bind(inner, argument.arg, ("tokens", contents))
        if isinstance(node, ast.Lambda):
            self.visit(node.body, inner, method)
        else:
            own = node.name if scope.is_class else method
            self.visit_body(node.body, inner, own)

    def is_handler(self, node: Any) -> bool:
        """A function Lambda or a controller calls, whose arguments are the event's data."""
        if isinstance(node, ast.Lambda):
            return False
        for decorator in node.decorator_list:
            while isinstance(decorator, (ast.Call, ast.Attribute)):
                decorator = decorator.func if isinstance(decorator, ast.Call) else decorator.value
            if isinstance(decorator, ast.Name):
                for binding in self.scope.bindings.get(decorator.id, []):
                    if binding[0] in ("import", "from") and binding[1].startswith("tight"):
                        return True
        return bool(node.name == "handler")

    def visit(self, node: ast.AST, scope: Scope, method: str | None) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            where = ("def", node) if scope is self.scope else ("tokens", None)
            self.bind(scope, node.name, where)
            self.visit_function(node, scope, method)
            return
        if isinstance(node, ast.Lambda):
            self.visit_function(node, scope, method)
            return
        if isinstance(node, ast.ClassDef):
            self.bind(scope, node.name, ("def", node) if scope is self.scope else ("tokens", None))
            for expression in [*node.decorator_list, *node.bases]:
                self.visit(expression, scope, method)
            body = Scope(node, scope, is_class=True)
            self.visit_body(node.body, body, method)
            return
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            if isinstance(node, ast.Global):
                scope.globals.update(node.names)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                module = self.absolute(alias.name, 0)
                self.imports.append(module)
                if alias.asname:
                    self.bind(scope, alias.asname, ("import", module))
                else:  # `import a.b` binds a
                    top = alias.name.split(".")[0]
                    self.bind(scope, top, ("import", top))
            return
        if isinstance(node, ast.ImportFrom):
            module = self.absolute(node.module, node.level)
            self.imports.append(module)
            for alias in node.names:
                if alias.name == "*":
                    self.stars.append(module)
                    continue
                self.imports.append(f"{module}.{alias.name}")
                self.bind(scope, alias.asname or alias.name, ("from", module, alias.name))
            return
        if isinstance(node, ast.Assign):
            for target in node.targets:
                self.bind_target(target, scope, ("value", node.value, scope))
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.NamedExpr)):
            if node.value is not None:
                self.bind_target(node.target, scope, ("value", node.value, scope))
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
            self.bind_target(node.target, scope, ("element", ("value", node.iter, scope)))
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            self.bind_target(node.optional_vars, scope, ("value", node.context_expr, scope))
        elif isinstance(node, ast.ExceptHandler) and node.name:
            self.bind(scope, node.name, ("tokens", PLAIN))
        if isinstance(node, (ast.Name, ast.Attribute)) and isinstance(node.ctx, ast.Load):
            self.reads.append((node, scope, id(node) in self.bases))
        if isinstance(node, ast.Attribute):
            self.bases.add(id(node.value))
        if isinstance(node, ast.Call):
            self.calls.append((node, scope, method))
        # Targets were bound above (and an attribute or item target visited there).
        if isinstance(node, ast.Assign):
            skip = {id(target) for target in node.targets}
        elif isinstance(node, ast.withitem):
            skip = {id(node.optional_vars)}
        else:
            skip = {id(getattr(node, "target", None))}
        for child in ast.iter_child_nodes(node):
            if id(child) not in skip:
                self.visit(child, scope, method)


class Reader:
    """Reads the app's modules once each and answers what names and values are."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.modules: dict[str, Module | None] = {}
        self.memo: dict[tuple[Any, ...], Tokens] = {}
        self.pending: dict[tuple[Any, ...], Tokens] = {}  # names being computed, so far
        self.cycle = False  # whether what is being computed read a pending name
        self.writers = self.writing_methods()

    # -- modules --------------------------------------------------------------------------------

    def path_of(self, module: str) -> Path | None:
        """The app's own file of a module (a folder for a namespace package), never vendored."""
        inside = module == "app" or module.startswith("app.")
        if not inside or module == "app.vendored" or vendored(module) != module:
            return None
        base = self.root.joinpath(*module.split("."))
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
        return base if base.is_dir() else None  # a namespace package: submodules only

    def module(self, name: str) -> Module | None:
        if name not in self.modules:
            from tight_tasks.functions import parse_file

            path = self.path_of(name)
            found = None
            if path is not None and path.is_file():
                found = Module(name, path, parse_file(self.root, path), path.name == "__init__.py")
            self.modules[name] = found
        return self.modules[name]

    def module_of(self, path: Path) -> Module | None:
        parts = list(path.relative_to(self.root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        return self.module(".".join(parts))

    # -- names and values -----------------------------------------------------------------------

    def member(self, module: str, name: str) -> Tokens:
        """What ``module.name`` is (a cycle of re-exports alone is nothing)."""
        if (module, name) == ("app", "vendored") or self.path_of(module) is None:
            return frozenset((("ext", vendored(f"{module}.{name}")),))
        return self.settle(("member", module, name), lambda: self.lookup(module, name))

    def lookup(self, module: str, name: str) -> Tokens:
        loaded = self.module(module)
        if loaded is not None and name in loaded.scope.bindings:
            found = self.bound(loaded, loaded.scope, name)
            # Made at run time in a model module (a factory): the template checks what it is.
            made_here = any(b[0] not in ("import", "from") for b in loaded.scope.bindings[name])
            if is_model_module(module) and made_here and not any(t[0] == "class" for t in found):
                found |= {("class", module, name)}
            return found
        if self.path_of(f"{module}.{name}") is not None:
            return frozenset((("module", f"{module}.{name}"),))
        for star in loaded.stars if loaded is not None else []:
            if self.path_of(star) is None or self.defines(star, name):
                return self.member(star, name)
        if is_model_module(module):  # not there: the template names it
            return frozenset((("missing", module, name),))
        return frozenset((UNKNOWN,))

    def defines(self, module: str, name: str, seen: frozenset[str] = frozenset()) -> bool:
        """Whether an app module has ``name`` (bound, a submodule, or by a star import)."""
        loaded = self.module(module)
        if loaded is None or module in seen:
            return self.path_of(f"{module}.{name}") is not None
        return name in loaded.scope.bindings or any(
            self.path_of(star) is not None and self.defines(star, name, seen | {module})
            for star in loaded.stars
        )

    def bound(self, module: Module, scope: Scope, name: str) -> Tokens:
        """Every value ``name`` is given in ``scope``."""
        return self.settle(
            ("bound", module.name, id(scope), name),
            lambda: frozenset().union(*(self.binding(module, b) for b in scope.bindings[name])),
        )

    def settle(self, key: tuple[Any, ...], compute: "Callable[[], Tokens]") -> Tokens:
        """``compute()``, kept. Names given each other's values (``prev = cur; cur =
        prev.next``) are computed again until nothing is added, and a value that rested on an
        unfinished one is kept only once the outermost is done."""
        if key in self.memo:
            return self.memo[key]
        if key in self.pending:
            self.cycle = True
            return self.pending[key]
        self.pending[key] = PLAIN
        outer_cycle = self.cycle
        while True:
            self.cycle = False
            found = compute()
            if not self.cycle or found == self.pending[key]:
                break
            self.pending[key] = found
        del self.pending[key]
        if not self.cycle or not self.pending:
            self.memo[key] = found
        self.cycle = self.cycle or outer_cycle
        return found

    def binding(self, module: Module, binding: tuple[Any, ...]) -> Tokens:
        kind = binding[0]
        if kind == "import":
            return self.module_token(binding[1])
        if kind == "from":
            return self.member(binding[1], binding[2])
        if kind == "def":
            node = binding[1]
            what = "class" if isinstance(node, ast.ClassDef) else "func"
            return frozenset(((what, module.name, node.name),))
        if kind == "value":
            return self.value(module, binding[1], binding[2])
        if kind == "element":
            return elements(self.binding(module, binding[1]))
        if kind == "annotation":
            return self.annotation(module, binding[1], binding[2])
        return binding[1] if binding[1] is not None else frozenset((UNKNOWN,))

    def module_token(self, module: str) -> Tokens:
        if self.path_of(module) is None:
            return frozenset((("ext", vendored(module)),))
        return frozenset((("module", module),))

    def name(self, module: Module, scope: Scope, name: str) -> Tokens:
        """What a name read in ``scope`` is: Python's scopes, then star imports, builtins."""
        current: Scope | None = scope
        while current is not None:
            if name in current.bindings and (current is scope or not current.is_class):
                return self.bound(module, current, name)
            current = current.parent
        for star in module.stars:
            if self.path_of(star) is not None and self.defines(star, name):
                return self.member(star, name)
        if hasattr(builtins, name):
            return frozenset((("ext", f"builtins.{name}"),))
        for star in module.stars:  # from outside the app, or missing (in a model module)
            return self.member(star, name)
        return frozenset((UNKNOWN,))

    def annotation(self, module: Module, node: ast.expr, scope: Scope) -> Tokens:
        """A parameter's annotation: its models, anything for ``Any``, else plain data."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                node = ast.parse(node.value, mode="eval").body
            except SyntaxError:
                return frozenset((UNKNOWN,))
        found: set[Token] = set()
        for part in ast.walk(node):
            if isinstance(part, (ast.Name, ast.Attribute)):
                for token in self.value(module, part, scope):
                    if token[0] == "class":
                        found.add(token)
                    elif token[0] == "ext" and token[1] in ("typing.Any", "builtins.object"):
                        found.add(UNKNOWN)
        return frozenset(found)

    def value(self, module: Module, node: ast.expr, scope: Scope) -> Tokens:
        """What an expression may be (no token: plain data)."""
        if isinstance(node, ast.Name):
            return self.name(module, scope, node.id)
        if isinstance(node, ast.Attribute):
            return self.attribute(self.value(module, node.value, scope), node.attr)
        if isinstance(node, ast.Call):
            return self.call(module, node, scope)
        if isinstance(node, (ast.Subscript, ast.Starred)):
            return elements(self.value(module, node.value, scope))
        if isinstance(node, (ast.Await, ast.NamedExpr)):
            return self.value(module, node.value, scope)
        if isinstance(node, (ast.IfExp, ast.BoolOp, ast.BinOp)):
            parts = (
                [node.body, node.orelse]
                if isinstance(node, ast.IfExp)
                else node.values
                if isinstance(node, ast.BoolOp)
                else [node.left, node.right]
            )
            return frozenset().union(*(self.value(module, p, scope) for p in parts))
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return contains(*(self.value(module, e, scope) for e in node.elts))
        if isinstance(node, ast.Dict):
            return contains(*(self.value(module, v, scope) for v in node.values))
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
            return contains(self.value(module, node.elt, scope))
        if isinstance(node, ast.DictComp):
            return contains(self.value(module, node.value, scope))
        if isinstance(node, (ast.Constant, ast.JoinedStr, ast.Compare, ast.UnaryOp, ast.Lambda)):
            return PLAIN
        return frozenset((UNKNOWN,))

    def attribute(self, tokens: Tokens, name: str) -> Tokens:
        found: set[Token] = set()
        for token in tokens:
            if token[0] == "module":
                found |= self.member(token[1], name)
            elif token[0] == "ext":
                found.add(("ext", vendored(f"{token[1]}.{name}")))
            elif token[0] == "class":
                found.add(("method", token, name))
            elif token[0] != "func":
                found.add(token)  # an attribute of an instance may be anything it holds
        return frozenset(found)

    def call(self, module: Module, node: ast.Call, scope: Scope) -> Tokens:
        if isinstance(node.func, ast.Attribute) and node.func.attr == "transaction":
            return frozenset((TRANSACTION,))
        arguments = [*node.args, *(k.value for k in node.keywords)]
        found: set[Token] = set()
        for token in self.value(module, node.func, scope):
            if token[0] == "method":  # Item.get(...), item.to_dict(), Item(...).save()
                if token[2] not in PLAIN_METHODS:
                    found.add(token[1])
            elif token[0] == "class":
                found.add(token)  # an instance
            elif token[0] == "ext":
                if token[1] in PLAIN_CALLS:
                    continue
                given = [escaped(self.value(module, a, scope)) for a in arguments]
                if token[1] in CONTAINER_CALLS:
                    found |= contains(*given)
                else:  # copy.copy(item), next(iter(items)): what it is given, at most
                    found |= frozenset().union(*given) if given else set()
            elif token[0] in ("func", "module", "unknown"):
                found.add(UNKNOWN)
            elif token[0] == "in":
                found.add(token[1])  # a container's method: d.get(k), items.pop()
            else:
                found.add(token)
        return frozenset(found)

    # -- writes ---------------------------------------------------------------------------------

    def written(self, module: Module, node: ast.Call, scope: Scope) -> Tokens:
        """What a call writes: its receiver, or a transaction action's item; PLAIN if none."""
        func = node.func
        if not isinstance(func, ast.Attribute):
            return PLAIN
        receiver = self.value(module, func.value, scope)
        found: set[Token] = set()
        if func.attr in TRANSACTION_WRITES and TRANSACTION in receiver:
            given = node.args[0] if node.args else None
            for keyword in node.keywords:
                if keyword.arg == "item":
                    given = keyword.value
            if given is not None:
                found |= self.value(module, given, scope)
        if func.attr in self.writers:
            found |= receiver - {TRANSACTION}
        # An attribute of a model (a property) may be another model's instance.
        found = {UNKNOWN if t[0] == "method" else t for t in found}
        return frozenset(t for t in found if t[0] in ("class", "unknown", "self"))

    def writing_methods(self) -> frozenset[str]:
        """WRITE_CALLS and the names of the models' own methods that write on their instance
        or class (``def rename(self): self.update(...)``), found until none is added."""
        self.writers = WRITE_CALLS
        folder = self.root / "app/models"
        files = sorted(folder.rglob("*.py")) if folder.is_dir() else []
        models = [m for m in (self.module_of(p) for p in files) if m is not None]
        while True:
            found = set(self.writers)
            for module in models:
                for node, scope, method in module.calls:
                    if method is None:
                        continue
                    for token in self.written(module, node, scope):
                        if token == SELF or (token[0] == "class" and token[1] == module.name):
                            found.add(method)
            if found == self.writers:
                return self.writers
            self.writers = frozenset(found)

    def is_model(self, token: Token, seen: frozenset[Token] = frozenset()) -> bool:
        """A model class: any name of a model module (the template checks what it is), or a
        class elsewhere whose bases are ``Model`` or a model."""
        if token[0] != "class" or token in seen:
            return False
        if is_model_module(token[1]):
            return True
        module = self.module(token[1])
        if module is None:
            return False
        for binding in module.scope.bindings.get(token[2], []):
            if binding[0] == "def" and isinstance(binding[1], ast.ClassDef):
                for base in binding[1].bases:
                    for found in self.value(module, base, module.scope):
                        if found[0] == "ext" and found[1] in MODEL_BASES:
                            return True
                        if self.is_model(found, seen | {token}):
                            return True
        return False

    # -- a function -----------------------------------------------------------------------------

    def uses(self, files: list[Path]) -> Uses:
        """The models the code in ``files`` (and all it imports) uses and writes."""
        uses = Uses()
        queue = [m for m in (self.module_of(p) for p in files) if m is not None]
        counted = {m.name for m in queue}
        unknown_write = False
        while queue:
            module = queue.pop(0)
            where = str(module.path.relative_to(self.root))
            own = module.name if is_model_module(module.name) else None
            for imported in module.imports:
                if not is_model_module(imported) and imported not in counted:
                    found = self.module(imported)
                    if found is not None:
                        counted.add(imported)
                        queue.append(found)
            used: set[Token] = set()
            for node, scope, is_base in module.reads:
                for token in elements(self.value(module, node, scope)):
                    if token[0] == "missing":
                        uses.unresolved.append((where, token[1], token[2]))
                    elif token[0] == "module" and not is_base and is_model_module(token[1]):
                        used.add(("class", token[1], "*"))
                    elif self.is_model(token) and token[1] != own:
                        used.add(token)
            for node, scope, _ in module.calls:
                for token in self.written(module, node, scope):
                    if token == UNKNOWN:
                        unknown_write = True
                    elif self.is_model(token) and token[1] != own:
                        uses.writes.add((token[1], token[2]))
            for token in sorted(used):
                uses.models.setdefault((token[1], token[2]), where)
                if is_model_module(token[1]) and token[1] not in counted:
                    activated = self.module(token[1])
                    if activated is not None:
                        counted.add(token[1])
                        queue.append(activated)
        if unknown_write:
            uses.writes |= set(uses.models)
        uses.unresolved = sorted(set(uses.unresolved))
        return uses


def elements(tokens: Tokens) -> Tokens:
    """What is in a value: a container's elements, else the value itself."""
    return frozenset(t[1] if t[0] == "in" else t for t in tokens)


def contains(*parts: Tokens) -> Tokens:
    """A container of these values (a container of containers holds their elements)."""
    return frozenset(t if t[0] == "in" else ("in", t) for part in parts for t in part)


def vendored(name: str) -> str:
    """A module's name as Tight's code knows it, whether imported as vendored or not."""
    return name.removeprefix("app.vendored.")


def escaped(tokens: Tokens) -> Tokens:
    """A module handed to other code (``getattr(models, name)``): any model of it, if a
    model module, else anything."""
    return frozenset(
        (("class", t[1], "*") if is_model_module(t[1]) else UNKNOWN) if t[0] == "module" else t
        for t in tokens
    )


def read_uses(root: Path, files: list[Path]) -> Uses:
    """The models a function's files use and write (the module docstring has the rules)."""
    return Reader(root).uses(files)
