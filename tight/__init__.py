"""Tight: a microframework for Python services on AWS Lambda.

An app ships a copy of this package in ``app/vendored/tight`` and its entry module imports
it as ``app.vendored.tight...`` while handlers import plain ``tight...``.  Two names must not
mean two copies (two registries, two configurations), so when this package is imported
under any name other than ``tight`` it makes that name an alias of the one ``tight``
package, and puts the vendored folder on ``sys.path`` so vendored dependencies import too.
"""

from __future__ import annotations

__version__ = "0.1.0"

if __name__ != "tight":
    import os as _os
    import sys as _sys

    _vendored_dir = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
    if _vendored_dir not in _sys.path:
        _sys.path.insert(0, _vendored_dir)

    from tight._alias import alias_package as _alias_package

    _alias_package(__name__)
