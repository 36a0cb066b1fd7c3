"""The shipped runtime's imports point one way and never reach the toolkit.

The shipped runtime is ``tight/`` less what ``doit vendor`` leaves out (``tight/testing/``
and the plugin's old path ``tight/core/test_helpers.py``). Every import statement that can
run counts, at module level or inside a function, since a lazy import is still an arrow a
reader follows (those under ``if TYPE_CHECKING:`` never run): the graph must have no
cycle, and no arrow may reach ``tight_tasks``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import tight
from tight_tasks.vendor import RUNTIME_EXCLUDES

RUNTIME = Path(tight.__file__).parent


def shipped_modules() -> dict[str, Path]:
    modules = {}
    for path in sorted(RUNTIME.rglob("*.py")):
        relative = path.relative_to(RUNTIME.parent)
        if any(part in RUNTIME_EXCLUDES for part in relative.parts):
            continue
        parts = list(relative.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node that can run: the bodies of ``if TYPE_CHECKING:`` are for type checkers
    only (a model's page type naming ``Model``), so their imports are no arrows."""
    found: list[ast.AST] = []
    pending = [tree]
    while pending:
        node = pending.pop()
        found.append(node)
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            pending.extend(node.orelse)
            continue
        pending.extend(ast.iter_child_nodes(node))
    return found


def imported_names(path: Path, module: str) -> set[str]:
    """Every module ``path`` imports (``from pkg import sub`` names ``pkg.sub`` when it is one)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def runtime_graph() -> dict[str, set[str]]:
    modules = shipped_modules()
    return {
        name: {other for other in imported_names(path, name) if other in modules and other != name}
        for name, path in modules.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path that returns to its start, or None."""
    state: dict[str, str] = {}
    trail: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        trail.append(node)
        for other in sorted(graph[node]):
            if state.get(other) == "open":
                return [*trail[trail.index(other) :], other]
            if other not in state and (cycle := visit(other)):
                return cycle
        trail.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_graph_is_read_from_every_shipped_module():
    graph = runtime_graph()
    assert "tight.serving" in graph and "tight.testing.plugin" not in graph
    assert "tight.core.test_helpers" not in graph
    # The arrows the layout is built on are seen, lazy ones included.
    assert "tight.serving" in graph["tight.core.logger"]
    assert "tight.reasons" in graph["tight.errors"]
    assert "tight.errors" in graph["tight.config"]  # imported inside a function
    assert "tight.models.pages" in graph["tight.models.model"]  # on first query
    assert "tight.models.model" not in graph["tight.models.pages"]  # for type checkers only


def test_the_runtime_import_graph_has_no_cycle():
    assert find_cycle(runtime_graph()) is None


def test_a_cycle_is_found_when_there_is_one():
    """The check itself can fail: a graph with a loop three long is caught."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert find_cycle(graph) == ["a", "b", "c", "a"]


def test_the_shipped_runtime_never_imports_the_toolkit():
    modules = shipped_modules()
    reaching = {
        name: sorted(n for n in imported_names(path, name) if n.split(".")[0] == "tight_tasks")
        for name, path in modules.items()
    }
    assert {name: found for name, found in reaching.items() if found} == {}


def test_the_testing_package_may_import_the_toolkit_and_says_so():
    import tight.testing

    assert "tight_tasks" in (tight.testing.__doc__ or "")
    plugin = RUNTIME / "testing" / "plugin.py"
    assert any(n.startswith("tight_tasks") for n in imported_names(plugin, "tight.testing.plugin"))


def test_the_plugins_old_path_is_the_plugin_itself():
    import tight.core.test_helpers as old
    import tight.testing.plugin as plugin

    assert old is plugin
    assert old.app is plugin.app
