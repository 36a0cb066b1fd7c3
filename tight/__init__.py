"""Tight: a microframework for Python services on AWS Lambda.

An app ships a copy of this package in ``app/vendored/tight``; its entry module imports it
as ``app.vendored.tight...`` while handlers import plain ``tight...``. Two names must not
mean two copies (two registries, two configurations), so when this package is imported
under another name it registers itself as ``tight`` too, answers every ``<alias>.x``
submodule with the canonical ``tight.x`` through a meta-path finder, and puts the vendored
folder on ``sys.path`` so that vendored dependencies import by their own names. The code
lives here, not in a submodule, because it runs on every cold start.

The same finder makes the vendored copy's imports cheap: each module costs a cold start
its import, and Python's path search (try every path hook, list each new folder, stat each
candidate) is most of that. The runtime, and the app's own package once ``app.run()`` has
registered it, are plain source in a known layout, so the finder goes straight to
``<folder>/<name>/__init__.py`` or ``<folder>/<name>.py``, and leaves anything else
(another layout, a zip, a name that is not there, a package whose ``__path__`` was changed)
to Python. A compiled extension module is not looked for: beside a ``.py`` of the same
name, the ``.py`` is what runs.
"""

__version__ = "0.2.0"


def alias_runtime(alias: str, vendored_dir: "str | None" = None) -> bool:
    """Make ``alias`` and every ``alias.x`` name the canonical ``tight`` and ``tight.x``.

    Returns True when no ``tight`` was imported yet and the module imported as ``alias``
    becomes it. The test plugin calls this for an app that has not vendored tight yet.
    """
    import sys

    if vendored_dir is not None and vendored_dir not in sys.path:
        sys.path.insert(0, vendored_dir)
    prefix = alias + "."
    canonical = sys.modules.get("tight")
    if canonical is None:
        # Nothing imported plain ``tight`` yet: the module being imported as ``alias``
        # becomes it, rather than the same file being found and run a second time.
        canonical = sys.modules["tight"] = sys.modules[alias]
        became = True
    else:
        sys.modules[alias] = canonical
        for name, module in list(sys.modules.items()):
            if name.startswith("tight."):
                sys.modules.setdefault(alias + name[5:], module)
        became = False
    if not any(getattr(f, "prefix", None) == prefix for f in sys.meta_path):
        finder = RuntimeFinder(alias, canonical if became else None)
        # Ahead of the path search, behind anything installed to see imports first
        # (pytest's assertion rewriter, an editable install's finder).
        meta_path = sys.meta_path
        at = next(
            (i for i, f in enumerate(meta_path) if getattr(f, "__name__", "") == "PathFinder"),
            len(meta_path),
        )
        meta_path.insert(at, finder)  # type: ignore[arg-type]
    return became


def register_folder(package: str, folder: str) -> bool:
    """Let the vendored runtime's finder find ``package.x`` straight in ``folder``.

    ``app.run()`` registers the app's ``app`` package. Returns False, changing nothing,
    when no vendored runtime serves (the installed ``tight`` leaves finding to Python).
    """
    import sys

    for finder in sys.meta_path:
        if isinstance(finder, RuntimeFinder) and finder.folders:
            finder.folders[package + "."] = folder
            return True
    return False


# Tight's test support, which `doit vendor` does not copy into an app (the plugin, and its
# original path): found in the installed Tight when the vendored copy serves as ``tight``.
NOT_VENDORED = ("tight.testing", "tight.core.test_helpers")


class RuntimeFinder:
    """Finds ``<alias>.x`` as the canonical ``tight.x``, and the modules of the registered
    packages (the vendored copy's own, the app's) by their path. Its own loader for aliases
    (duck-typed: importlib.abc would import typing, a few milliseconds on every cold start).
    """

    def __init__(self, alias: str, package: object = None) -> None:
        import os

        self.prefix = alias + "."
        self.sep = os.sep
        self.isfile = os.path.isfile
        # Package name + "." -> the one folder holding its modules.
        self.folders: dict[str, str] = {}
        spec = getattr(package, "__spec__", None)
        loader = getattr(spec, "loader", None)
        paths = getattr(package, "__path__", None)
        # Only a copy loaded from source files has the layout the shortcut assumes.
        self.source_loader: object = None
        if type(loader).__name__ == "SourceFileLoader" and paths and len(paths) == 1:
            self.source_loader = type(loader)
            self.folders["tight."] = paths[0]
        # ``x.py`` caches its bytecode in ``__pycache__/x.<tag>.pyc`` unless -O or
        # PYTHONPYCACHEPREFIX moves it: then the import system works the name out itself.
        import sys

        tag = sys.implementation.cache_tag
        moved = tag is None or sys.pycache_prefix is not None or sys.flags.optimize
        self.cache_suffix = None if moved else "." + tag + ".pyc"

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> object:
        if fullname.startswith(self.prefix):
            return type(__spec__)(fullname, self)  # type: ignore[arg-type]
        for prefix, root in self.folders.items():
            if fullname.startswith(prefix):
                spec = self._spec_in(root, fullname, fullname[len(prefix) :], path)
                if spec is None and fullname in NOT_VENDORED and prefix == "tight.":
                    return self._installed(fullname, root)
                return spec
        return None

    def _installed(self, fullname: str, vendored: str) -> object:
        """The test support ``doit vendor`` leaves out, from the installed Tight: a test
        that imported ``app_index`` first (the vendored copy became ``tight``) can still
        import ``tight.testing``."""
        import os
        import sys
        from importlib.machinery import PathFinder

        for entry in sys.path:
            candidate = os.path.join(entry or os.curdir, "tight")
            if os.path.realpath(candidate) == os.path.realpath(vendored):
                continue
            if os.path.isfile(os.path.join(candidate, "__init__.py")):
                parent = candidate if fullname == "tight.testing" else candidate + os.sep + "core"
                return PathFinder.find_spec(fullname, [parent])
        return None

    def _spec_in(self, root: str, fullname: str, relative: str, path: object) -> object:
        sep = self.sep
        folder, _, name = relative.rpartition(".")
        directory = root + sep + folder.replace(".", sep) if folder else root
        # Only where Python itself would look: the parent package's one folder.
        if type(path) is not list or path != [directory]:
            return None
        base = directory + sep + name
        origin = base + sep + "__init__.py"
        package = self.isfile(origin)
        if package:
            cache_folder, stem = base, "__init__"
        else:
            origin = base + ".py"
            if not self.isfile(origin):
                return None
            cache_folder, stem = directory, name
        spec = type(__spec__)(
            fullname,
            self.source_loader(fullname, origin),  # type: ignore[operator]
            origin=origin,
            is_package=package,
        )
        if package:
            spec.submodule_search_locations = [base]
        spec.has_location = True
        if self.cache_suffix is not None:
            spec.cached = cache_folder + sep + "__pycache__" + sep + stem + self.cache_suffix
        return spec

    def create_module(self, spec: object) -> object:
        import sys

        canonical = "tight." + spec.name[len(self.prefix) :]  # type: ignore[attr-defined]
        __import__(canonical)
        module = sys.modules[canonical]
        spec.loader_state = module.__spec__  # type: ignore[attr-defined]
        return module

    def exec_module(self, module: object) -> None:
        # The import system stamped the alias spec onto the shared module; restore the
        # canonical one so reloads and introspection keep seeing the real name.
        module.__spec__ = module.__spec__.loader_state  # type: ignore[attr-defined]


if __name__ != "tight":
    import os as _os

    if alias_runtime(__name__, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))):
        # Its name follows, so that ``from tight import x`` resolves to ``tight.x`` directly.
        __name__ = "tight"
