"""Reads an app's ``tight.yml`` and writes the runtime's share of it as JSON.

The runtime never parses YAML (PyYAML is not in Lambda's Python runtime), so the toolkit
writes what the runtime needs (app name, stage, CORS, default headers) to
``app/vendored/tight.json``, validated here with the runtime's own rules.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from tight.config import RUNTIME_CONFIG_PATH, ConfigError, Cors

CONFIG_FILE = "tight.yml"
RUNTIME_KEYS = ("app_name", "stage", "cors", "headers")


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, when PyYAML has it
_cache: dict[Path, tuple[int, int, dict[str, Any]]] = {}


def load(app_root: str | os.PathLike[str]) -> dict[str, Any]:
    """``tight.yml`` of the app at ``app_root`` as a dict; a clear error when it is not valid.

    Parsed once per process while the file is unchanged: every task reads it.
    """
    path = Path(app_root) / CONFIG_FILE
    try:
        stat = path.stat()
        cached = _cache.get(path)
        if cached is not None and cached[:2] == (stat.st_size, stat.st_mtime_ns):
            return dict(cached[2])
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except FileNotFoundError:
        raise ConfigError(
            f"no {CONFIG_FILE} in {Path(app_root).resolve()}; run this from an app's root "
            "or create one with `tight generate_app name=<name>`"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must be a mapping of settings, not {type(data).__name__}")
    _cache[path] = (stat.st_size, stat.st_mtime_ns, data)
    return dict(data)


def runtime_config(settings: dict[str, Any]) -> dict[str, Any]:
    """The part of tight.yml the runtime reads, checked with the runtime's own rules."""
    result = {
        "app_name": settings.get("name") or settings.get("app_name"),
        "stage": settings.get("stage"),
        "cors": settings.get("cors"),
        "headers": settings.get("headers") or {},
    }
    Cors.from_value(result["cors"])  # raises ConfigError naming the bad key
    headers = result["headers"]
    if not isinstance(headers, dict):
        raise ConfigError("headers in tight.yml must map header names to values")
    result["headers"] = {str(k): str(v) for k, v in headers.items()}
    return result


def write_runtime_config(
    app_root: str | os.PathLike[str], vendored: str | os.PathLike[str] | None = None
) -> Path:
    """Write ``tight.json`` from ``tight.yml`` into ``vendored`` (app/vendored by default,
    or a vendor build's staging folder); atomic, so never half-written."""
    data = runtime_config(load(app_root))
    folder = (
        Path(vendored)
        if vendored is not None
        else Path(app_root).joinpath(*RUNTIME_CONFIG_PATH[:-1])
    )
    target = folder / RUNTIME_CONFIG_PATH[-1]
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(target.name + ".tmp")
    temporary.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, target)
    return target
