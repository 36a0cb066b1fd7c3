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


def load(app_root: str | os.PathLike[str]) -> dict[str, Any]:
    """``tight.yml`` of the app at ``app_root`` as a dict; a clear error when it is not valid."""
    path = Path(app_root) / CONFIG_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"no {CONFIG_FILE} in {Path(app_root).resolve()}; run this from an app's root "
            "or create one with `tight generate_app name=<name>`"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must be a mapping of settings, not {type(data).__name__}")
    return data


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


def write_runtime_config(app_root: str | os.PathLike[str]) -> Path:
    """Write ``app/vendored/tight.json`` from ``tight.yml``; atomic, so never half-written."""
    data = runtime_config(load(app_root))
    target = Path(app_root).joinpath(*RUNTIME_CONFIG_PATH)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(target.name + ".tmp")
    temporary.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, target)
    return target
