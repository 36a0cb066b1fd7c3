"""``doit generate_env``: env.yml from env.dist.yml, the environment and the env.yml you have.

For each key in env.dist.yml the value is, in order: the environment variable of that
name, the value already in env.yml (so hand edits survive), the default in env.dist.yml.
A key with none of these is an error that lists every such key; nothing is written then.
Keys that only env.yml has are kept. The task says which of your env.yml values the
environment replaced.

Values the runtime reads are checked here, where every env file is read: ``LOG_LEVEL``
is one of ``LOG_LEVELS`` (an unknown level would otherwise log at INFO unnoticed).
"""

import os
from pathlib import Path
from typing import Any

from tight_tasks.errors import TightTaskError, as_action
from tight_tasks.files import write_atomic

DIST_FILE = "env.dist.yml"
ENV_FILE = "env.yml"
# The levels the runtime's logger takes from LOG_LEVEL (in any case, as it upper-cases it).
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def log_level_problem(value: str | None) -> str | None:
    """Why ``value`` cannot be ``LOG_LEVEL``, or None when it can (unset or empty: INFO)."""
    if value in (None, "") or str(value).upper() in LOG_LEVELS:
        return None
    return f"LOG_LEVEL {value} is not a log level; use one of {', '.join(LOG_LEVELS)}"


class EnvFileError(TightTaskError):
    """An env file that is not a flat mapping of names to single values; ``line`` is where
    (1-based, or None) and ``problem`` what, so the test plugin can show ``env.yml:2: ...``."""

    def __init__(self, path: Path, line: int | None, problem: str) -> None:
        self.path, self.line, self.problem = path, line, problem
        super().__init__(f"{path.name}{f':{line}' if line else ''}: {problem}")


def read_env_file(path: Path) -> dict[str, str | None]:
    """An ``env.yml``-style file as environment variables: a flat mapping whose values are
    given as the environment would hold them (``true``, not ``True``); ``None`` where the
    file names a variable without a value. The one reader of env.yml and env.dist.yml, for
    ``doit generate_env`` and the test plugin alike; ``EnvFileError`` names the line.
    """
    from tight_tasks.config import YamlFileError, read_yaml

    try:
        data, node = read_yaml(path)
    except YamlFileError as error:
        raise EnvFileError(path, error.line, error.problem) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        line = node.start_mark.line + 1 if node is not None else None
        raise EnvFileError(path, line, "must be a mapping of variable names to values")
    pairs = node.value if node is not None else []
    lines = {str(key.value): key.start_mark.line + 1 for key, _ in pairs}
    for key, value in data.items():
        if isinstance(value, (dict, list)):
            kind = "mapping" if isinstance(value, dict) else "list"
            raise EnvFileError(
                path, lines.get(str(key)), f"{key} must be a single value, not a {kind}"
            )
    values = {str(k): None if v is None else _text(v) for k, v in data.items()}
    problem = log_level_problem(values.get("LOG_LEVEL"))
    if problem is not None:
        raise EnvFileError(path, lines.get("LOG_LEVEL"), problem)
    return values


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def merge_env(root: Path, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The variables env.yml should hold; ``TightTaskError`` listing keys with no value."""
    return merge_env_replacing(root, environ)[0]


def merge_env_replacing(
    root: Path, environ: dict[str, str] | None = None
) -> tuple[dict[str, str], list[str]]:
    """``merge_env``, and the keys whose value in env.yml the environment replaced."""
    environ = dict(os.environ) if environ is None else environ
    dist_path = root / DIST_FILE
    if not dist_path.is_file():
        raise TightTaskError(f"no {DIST_FILE} in {root}; list the app's variables there first")
    dist = read_env_file(dist_path)
    current = read_env_file(root / ENV_FILE) if (root / ENV_FILE).is_file() else {}
    merged: dict[str, str] = {}
    missing: list[str] = []
    replaced: list[str] = []
    for key, default in dist.items():
        if key in environ:
            merged[key] = environ[key]
            if current.get(key) not in (None, "", environ[key]):
                replaced.append(key)
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
    problem = log_level_problem(merged.get("LOG_LEVEL"))
    if problem is not None and "LOG_LEVEL" in environ:
        raise TightTaskError(f"{problem} (it is set in the environment)")
    for key, value in current.items():
        if key not in merged and value is not None:
            merged[key] = value
    return merged, replaced


def write_env(root: Path, environ: dict[str, str] | None = None) -> tuple[Path, list[str]]:
    """Write env.yml atomically; returns its path and the keys of env.yml whose value the
    environment replaced."""
    import yaml

    merged, replaced = merge_env_replacing(root, environ)
    header = f"# Written by `doit generate_env` from {DIST_FILE} and the environment.\n"
    text = header + yaml.safe_dump(merged, sort_keys=False, default_flow_style=False)
    return write_atomic(root / ENV_FILE, text), replaced


# Task creators: `doit list` shows each docstring; the work is the functions above.


def _generate_env() -> Any:
    from tight_tasks.config import find_app_root, load

    root = find_app_root()
    load(root)  # every task checks tight.yml
    existed = (root / ENV_FILE).is_file()
    target, replaced = write_env(root)
    if existed and replaced:
        names = ", ".join(replaced)
        print(
            f"merged {DIST_FILE} and the environment into {target.name}; the environment "
            f"replaced your value of {names} (your other values kept)"
        )
    elif existed:
        print(f"merged {DIST_FILE} and the environment into {target.name} (your values kept)")
    else:
        print(f"created {target.name} from {DIST_FILE} and the environment")


def task_generate_env() -> dict[str, Any]:
    """Write env.yml from env.dist.yml and the environment (environment wins)."""
    return {
        "actions": [(as_action(_generate_env),)],
        "uptodate": [False],
    }
