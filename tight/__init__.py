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

if __name__ != "tight":
    import importlib as _importlib
    import os as _os
    import sys as _sys

    # importlib.machinery.ModuleSpec, without importing importlib.machinery.
    _ModuleSpec = type(__spec__)

    class _AliasLoader:
        """Hands back the canonical module for an aliased name (duck-typed: importlib.abc
        would import typing, a few milliseconds on every cold start)."""

        def __init__(self, canonical_name: str) -> None:
            self.canonical_name = canonical_name
            self.spec: object = None

        def create_module(self, spec: object) -> object:
            module = _importlib.import_module(self.canonical_name)
            self.spec = module.__spec__
            return module

        def exec_module(self, module: object) -> None:
            # The import system stamped the alias spec onto the shared module; restore the
            # canonical one so reloads and introspection keep seeing the real name.
            module.__spec__ = self.spec  # type: ignore[attr-defined]

    class _AliasFinder:
        def __init__(self, alias: str) -> None:
            self.prefix = alias + "."

        def find_spec(self, fullname: str, path: object = None, target: object = None) -> object:
            if not fullname.startswith(self.prefix):
                return None
            canonical = "tight." + fullname[len(self.prefix) :]
            return _ModuleSpec(fullname, _AliasLoader(canonical))  # type: ignore[arg-type]

    _vendored_dir = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
    if _vendored_dir not in _sys.path:
        _sys.path.insert(0, _vendored_dir)
    if not any(isinstance(f, _AliasFinder) and f.prefix == __name__ + "." for f in _sys.meta_path):
        _sys.meta_path.insert(0, _AliasFinder(__name__))  # type: ignore[arg-type]
    _canonical = _sys.modules.get("tight")
    if _canonical is None:
        # Nothing imported plain ``tight`` yet: this module becomes it, rather than the same
        # file being found and run a second time. Its name follows, so that ``from tight
        # import x`` resolves to ``tight.x`` directly.
        _sys.modules["tight"] = _sys.modules[__name__]
        __name__ = "tight"
    else:
        _sys.modules[__name__] = _canonical
        for _name, _module in list(_sys.modules.items()):
            if _name.startswith("tight."):
                _sys.modules.setdefault(__name__ + _name[5:], _module)
