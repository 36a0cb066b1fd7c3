"""Tight: a microframework for Python services on AWS Lambda.

An app ships a copy of this package in ``app/vendored/tight``; its entry module imports it
as ``app.vendored.tight...`` while handlers import plain ``tight...``. Two names must not
mean two copies (two registries, two configurations), so when this package is imported
under another name it registers itself as ``tight`` too, answers every ``<alias>.x``
submodule with the canonical ``tight.x`` through a meta-path finder, and puts the vendored
folder on ``sys.path`` so that vendored dependencies import by their own names. The code
lives here, not in a submodule, because it runs on every cold start.
"""

__version__ = "0.1.0"


def alias_runtime(alias: str, vendored_dir: str | None = None) -> bool:
    """Make ``alias`` and every ``alias.x`` name the canonical ``tight`` and ``tight.x``.

    Returns True when no ``tight`` was imported yet and the module imported as ``alias``
    becomes it. The test plugin calls this for an app that has not vendored tight yet.
    """
    import importlib
    import sys

    ModuleSpec = type(__spec__)  # importlib.machinery's, without importing that module

    class AliasLoader:
        """Hands back the canonical module for an aliased name (duck-typed: importlib.abc
        would import typing, a few milliseconds on every cold start)."""

        def __init__(self, canonical_name: str) -> None:
            self.canonical_name = canonical_name
            self.spec: object = None

        def create_module(self, spec: object) -> object:
            module = importlib.import_module(self.canonical_name)
            self.spec = module.__spec__
            return module

        def exec_module(self, module: object) -> None:
            # The import system stamped the alias spec onto the shared module; restore the
            # canonical one so reloads and introspection keep seeing the real name.
            module.__spec__ = self.spec  # type: ignore[attr-defined]

    class AliasFinder:
        def __init__(self, alias: str) -> None:
            self.prefix = alias + "."

        def find_spec(self, fullname: str, path: object = None, target: object = None) -> object:
            if not fullname.startswith(self.prefix):
                return None
            canonical = "tight." + fullname[len(self.prefix) :]
            return ModuleSpec(fullname, AliasLoader(canonical))  # type: ignore[arg-type]

    if vendored_dir is not None and vendored_dir not in sys.path:
        sys.path.insert(0, vendored_dir)
    prefix = alias + "."
    if not any(getattr(f, "prefix", None) == prefix for f in sys.meta_path):
        sys.meta_path.insert(0, AliasFinder(alias))  # type: ignore[arg-type]
    canonical = sys.modules.get("tight")
    if canonical is None:
        # Nothing imported plain ``tight`` yet: the module being imported as ``alias``
        # becomes it, rather than the same file being found and run a second time.
        sys.modules["tight"] = sys.modules[alias]
        return True
    sys.modules[alias] = canonical
    for name, module in list(sys.modules.items()):
        if name.startswith("tight."):
            sys.modules.setdefault(alias + name[5:], module)
    return False


if __name__ != "tight":
    import os as _os

    if alias_runtime(__name__, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))):
        # Its name follows, so that ``from tight import x`` resolves to ``tight.x`` directly.
        __name__ = "tight"
