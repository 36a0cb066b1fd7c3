"""Make a vendored import name (``app.vendored.tight``) an alias of the ``tight`` package.

Used only by ``tight/__init__.py`` when the package is imported under another name. The
alias covers submodules too, through a meta-path finder, so
``app.vendored.tight.providers.aws.lambda_app.app`` *is* ``tight.providers.aws.lambda_app.app``.
The finder and loader are duck-typed rather than ``importlib.abc`` subclasses: that module
imports ``typing``, which would cost every cold start a few milliseconds.
"""

from __future__ import annotations

import importlib
import sys
from importlib.machinery import ModuleSpec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import ModuleType

CANONICAL = "tight"


class _AliasLoader:
    """Loads an aliased name by importing the canonical module and handing it back."""

    def __init__(self, canonical_name: str) -> None:
        self.canonical_name = canonical_name
        self._saved_spec: ModuleSpec | None = None

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        module = importlib.import_module(self.canonical_name)
        self._saved_spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # The import system stamped the alias spec onto the shared module; put the
        # canonical one back so reloads and introspection keep seeing the real name.
        module.__spec__ = self._saved_spec


class _AliasFinder:
    def __init__(self, alias: str) -> None:
        self.prefix = alias + "."

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        if not fullname.startswith(self.prefix):
            return None
        canonical_name = CANONICAL + "." + fullname[len(self.prefix) :]
        return ModuleSpec(fullname, _AliasLoader(canonical_name))  # type: ignore[arg-type]


def alias_package(alias: str) -> None:
    """Point ``sys.modules[alias]`` and every ``alias.*`` submodule at ``tight``."""
    if not any(isinstance(f, _AliasFinder) and f.prefix == alias + "." for f in sys.meta_path):
        sys.meta_path.insert(0, _AliasFinder(alias))
    canonical = importlib.import_module(CANONICAL)
    sys.modules[alias] = canonical
    for name, module in list(sys.modules.items()):
        if name.startswith(CANONICAL + "."):
            sys.modules.setdefault(alias + name[len(CANONICAL) :], module)
