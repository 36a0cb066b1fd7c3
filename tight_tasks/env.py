"""``doit generate_env``: env.yml from env.dist.yml, the environment and the env.yml you have.

For each key in env.dist.yml the value is, in order: the environment variable of that
name, the value already in env.yml (so hand edits survive), the default in env.dist.yml.
A key with none of these is an error that lists every such key; nothing is written then.
Keys that only env.yml has are kept.
"""

import os
from pathlib import Path
from typing import Any

from tight_tasks.errors import TightTaskError, as_action
from tight_tasks.files import write_atomic

DIST_FILE = "env.dist.yml"
ENV_FILE = "env.yml"


def read_env_file(path: Path) -> dict[str, str | None]:
    """An ``env.yml``-style file as environment variables: a flat mapping whose values are
    given as the environment would hold them (``true``, not ``True``); ``None`` where the
    file names a variable without a value. The one reader of env.yml and env.dist.yml, for
    ``doit generate_env`` and the test plugin alike.
    """
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise TightTaskError(f"{path.name} is not valid YAML: {error}") from error
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise TightTaskError(f"{path.name} must be a mapping of variable names to values")
    nested = [f"{k} ({type(v).__name__})" for k, v in data.items() if isinstance(v, (dict, list))]
    if nested:
        raise TightTaskError(f"{path.name}: {', '.join(nested)} must be single values")
    return {str(k): None if v is None else _text(v) for k, v in data.items()}


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def merge_env(root: Path, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The variables env.yml should hold; ``TightTaskError`` listing keys with no value."""
    environ = dict(os.environ) if environ is None else environ
    dist_path = root / DIST_FILE
    if not dist_path.is_file():
        raise TightTaskError(f"no {DIST_FILE} in {root}; list the app's variables there first")
    dist = read_env_file(dist_path)
    current = read_env_file(root / ENV_FILE) if (root / ENV_FILE).is_file() else {}
    merged: dict[str, str] = {}
    missing: list[str] = []
    for key, default in dist.items():
        if key in environ:
            merged[key] = environ[key]
        elif current.get(key) not in (None, ""):
            merged[key] = str(current[key])
        elif default not in (None, ""):
            merged[key] = str(default)
        else:
            missing.append(key)
    if missing:
        raise TightTaskError(
            f"no value for {', '.join(missing)}: set {'them' if len(missing) > 1 else 'it'} in "
            f"the environment (e.g. {missing[0]}=... doit generate_env) or give a default in "
            f"{DIST_FILE}"
        )
    for key, value in current.items():
        if key not in merged and value is not None:
            merged[key] = value
    return merged


def write_env(root: Path, environ: dict[str, str] | None = None) -> Path:
    """Write env.yml atomically; returns its path."""
    import yaml

    merged = merge_env(root, environ)
    header = f"# Written by `doit generate_env` from {DIST_FILE} and the environment.\n"
    text = header + yaml.safe_dump(merged, sort_keys=False, default_flow_style=False)
    return write_atomic(root / ENV_FILE, text)


# Task creators: `doit list` shows each docstring; the work is the functions above.


def _generate_env() -> Any:
    from tight_tasks.config import find_app_root, load

    root = find_app_root()
    load(root)  # every task checks tight.yml
    existed = (root / ENV_FILE).is_file()
    target = write_env(root)
    if existed:
        print(f"merged {DIST_FILE} and the environment into {target.name} (your values kept)")
    else:
        print(f"created {target.name} from {DIST_FILE} and the environment")


def task_generate_env() -> dict[str, Any]:
    """Write env.yml from env.dist.yml and the environment (environment wins)."""
    return {
        "actions": [(as_action(_generate_env),)],
        "uptodate": [False],
    }
