"""Reads an app's ``tight.yml``, checks it against one schema, and writes the runtime's
share of it as JSON.

Every task, and the test plugin, reads tight.yml through ``load()``, so every reader sees
the same checks: an unknown key is an error with a suggestion (``runtme``: did you mean
``runtime``?), a wrong type or value is one line naming the key and what it accepts. To
add a setting, add a line to ``SCHEMA`` (or to a nested ``Table``).

The runtime never parses YAML (PyYAML is not in Lambda's Python runtime), so the toolkit
writes what the runtime needs (app name, stage, CORS, default headers) to
``app/vendored/tight.json``, validated here with the runtime's own rules.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tight.config
import tight_tasks.triggers
from tight.config import RUNTIME_CONFIG_PATH, ConfigError, Cors
from tight_tasks.files import write_atomic
from tight_tasks.triggers import TRIGGERS  # each trigger's inner shape is checked there

CONFIG_FILE = "tight.yml"
RUNTIME_KEYS = ("app_name", "stage", "cors", "headers")

# The values tight.yml accepts, one home each; the modules that act on them import them.
LAMBDA_PYTHONS = ("3.10", "3.11", "3.12", "3.13")
LAMBDA_RUNTIMES = tuple(f"python{version}" for version in LAMBDA_PYTHONS)
SUPPORTED_RUNTIMES = f"{LAMBDA_RUNTIMES[0]}\N{EN DASH}{LAMBDA_RUNTIMES[-1]}"
ARCHITECTURES = ("x86_64", "arm64")
RESOLVERS = ("pip-tools", "uv")
DYNAMO_BACKENDS = ("moto", "dynalite", "command")

# An app's name goes into zip, stack, bucket, function and table names: the characters
# all of those accept, short enough that `<app>-<stage>-<function>` fits Lambda's 64.
APP_NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
APP_NAME_MAX = 40
# A function's or a model's name is a Python module name that Lambda's handler setting
# (app_index.<name>) and resource names also carry: lowercase, so it reads the same everywhere.
MODULE_NAME = re.compile(r"[a-z_][a-z0-9_]*")


def _kind(value: Any) -> str:
    """``5 (int)``: a value as an error message shows it."""
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{text} ({type(value).__name__})"


# -- the schema's vocabulary ----------------------------------------------------------------
class SettingError(ConfigError):
    """A setting tight.yml gets wrong: ``key`` is its dotted path (``dynamo.port``,
    ``functions.items.routes[0]``), ``problem`` the message without the file's name."""

    def __init__(self, key: str, problem: str, line: int | None = None) -> None:
        self.key, self.problem, self.line = key, problem, line
        where = f"{CONFIG_FILE}:{line}" if line else CONFIG_FILE
        super().__init__(f"{where}: {problem}")

    @property
    def path(self) -> list[str | int]:
        """``functions.items.routes[0]`` -> ``["functions", "items", "routes", 0]``."""
        parts: list[str | int] = []
        for part in re.findall(r"[^.\[\]]+|\[\d+\]", self.key):
            parts.append(int(part[1:-1]) if part.startswith("[") else part)
        return parts


class Spec:
    """What one key accepts. ``words`` completes "must be ..."; ``check`` raises a
    ``ConfigError`` naming ``key`` (a dotted path such as ``dynamo.port``)."""

    words = "a value"
    empty_is_default = True  # `key:` with nothing after it means "the default"

    def check(self, value: Any, key: str) -> None:
        raise NotImplementedError

    def fail(self, value: Any, key: str) -> ConfigError:
        return SettingError(key, f"{key} must be {self.words}, not {_kind(value)}")


class Type(Spec):
    """A value of one Python type (``bool`` is not an ``int`` here, though Python says so)."""

    def __init__(self, kind: type | tuple[type, ...], words: str) -> None:
        self.kind = kind
        self.words = words

    def check(self, value: Any, key: str) -> None:
        if not isinstance(value, self.kind) or (self.kind is int and isinstance(value, bool)):
            raise self.fail(value, key)


class Number(Type):
    """A whole number within limits."""

    def __init__(self, low: int, high: int, words: str) -> None:
        super().__init__(int, f"{words} from {low} to {high}")
        self.low, self.high = low, high

    def check(self, value: Any, key: str) -> None:
        super().check(value, key)
        if not self.low <= value <= self.high:
            raise self.fail(value, key)


class OneOf(Spec):
    """One of a fixed list of values."""

    def __init__(self, *values: str) -> None:
        self.values = values
        self.words = "one of " + ", ".join(values)

    def check(self, value: Any, key: str) -> None:
        if value not in self.values:
            import difflib  # imports cost every doit command; this is for a wrong value only

            lowered = {known.lower(): known for known in self.values}
            close = [lowered[str(value).lower()]] if str(value).lower() in lowered else []
            close = close or difflib.get_close_matches(str(value), self.values, n=1, cutoff=0.8)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise SettingError(
                key, f"{key} {value} is unknown; use one of {', '.join(self.values)}{hint}"
            )


class Runtime(OneOf):
    """A Lambda Python runtime: another Python version is told the range Tight supports
    rather than the nearest name (python3.9 is not a typo of python3.13)."""

    def check(self, value: Any, key: str) -> None:
        if value not in self.values and re.fullmatch(r"python\d+(\.\d+)*", str(value)):
            raise SettingError(
                key, f"{key} {value} is not supported; supported: {SUPPORTED_RUNTIMES}"
            )
        super().check(value, key)


class Matches(Spec):
    """A string matching ``pattern`` in full; ``suggest`` turns a wrong one into a right one."""

    def __init__(
        self,
        pattern: re.Pattern[str],
        words: str,
        longest: int = 0,
        suggest: Callable[[str], str] | None = None,
    ) -> None:
        self.pattern, self.words, self.longest, self.suggest = pattern, words, longest, suggest

    def check(self, value: Any, key: str) -> None:
        too_long = self.longest and isinstance(value, str) and len(value) > self.longest
        if not isinstance(value, str) or not self.pattern.fullmatch(value) or too_long:
            raise self.fail(value, key)

    def fail(self, value: Any, key: str) -> ConfigError:
        problem = f"{key} must be {self.words}, not {_kind(value)}"
        if self.suggest is not None and isinstance(value, str):
            problem += f"; did you mean {self.suggest(value)}?"
        return SettingError(key, problem)


class ListOf(Spec):
    """A list whose every item is ``item``; ``single`` also accepts one item alone."""

    def __init__(self, item: Spec, words: str, single: bool = False) -> None:
        self.item, self.words, self.single = item, words, single

    def check(self, value: Any, key: str) -> None:
        if self.single and not isinstance(value, list):
            self.item.check(value, key)
            return
        if not isinstance(value, list):
            raise self.fail(value, key)
        for index, item in enumerate(value):
            self.item.check(item, f"{key}[{index}]")


class Trigger(Spec):
    """One trigger of a function (``functions.<name>.sqs``, ...), checked by
    ``tight_tasks.triggers``, which knows each event source's keys."""

    words = "the trigger's settings"
    empty_is_default = False  # `sqs:` alone names no queue: refused here, not in a task

    def __init__(self, trigger: str) -> None:
        self.trigger = trigger

    def check(self, value: Any, key: str) -> None:
        from tight_tasks.triggers import check_trigger

        try:
            check_trigger(key.split(".")[1], self.trigger, value)
        except SettingError:
            raise
        except ConfigError as error:  # the same words, with the trigger's line
            raise SettingError(key, str(error)) from None


class Permissions(Spec):
    """``functions.<name>.permissions``: IAM statements added to the function's role, each
    checked by ``tight_tasks.iam`` (the key and line of the first problem)."""

    words = "a list of IAM statements (Effect, Action, Resource)"
    empty_is_default = False

    def check(self, value: Any, key: str) -> None:
        from tight_tasks.iam import permissions_problem

        problem = permissions_problem(value, key)
        if problem is not None:
            raise SettingError(problem[0], problem[1])


class Checked(Spec):
    """A value of ``types`` that ``function`` accepts (it raises ``ConfigError`` with its
    own message)."""

    def __init__(
        self,
        function: Callable[[Any], Any],
        words: str,
        types: tuple[type, ...] = (object,),
        mapping: Table | None = None,
    ) -> None:
        self.function, self.words, self.types, self.mapping = function, words, types, mapping

    def check(self, value: Any, key: str) -> None:
        if not isinstance(value, self.types):
            raise self.fail(value, key)
        if self.mapping is not None and isinstance(value, dict):
            self.mapping.check(value, key)  # each key's type, and suggestions for typos
        try:
            self.function(value)
        except ConfigError as error:
            raise SettingError(key, str(error)) from None
        except (TypeError, ValueError):
            raise self.fail(value, key) from None


class Table(Spec):
    """A mapping with known keys, each with its own spec; any other key is an error that
    suggests the closest known one. ``None`` (a key written with nothing after it) is an
    empty table."""

    def __init__(self, schema: dict[str, Spec], words: str = "") -> None:
        self.schema = schema
        self.words = words or "a mapping of " + ", ".join(schema)

    def check(self, value: Any, key: str) -> None:
        if value is None:
            return
        if not isinstance(value, dict):
            raise self.fail(value, key)
        prefix = f"{key}." if key else ""
        for name, item in value.items():
            spec = self.schema.get(name) if isinstance(name, str) else None
            if spec is None:
                raise unknown_key(name, self.schema, prefix)
            if item is not None or not spec.empty_is_default:
                spec.check(item, prefix + name)


class MapOf(Spec):
    """A mapping whose keys the user chooses (function names, header names)."""

    def __init__(self, key: Spec, value: Spec, words: str) -> None:
        self.key, self.value, self.words = key, value, words

    def check(self, value: Any, key: str) -> None:
        if not isinstance(value, dict):
            raise self.fail(value, key)
        for name, item in value.items():
            try:
                self.key.check(name, f"{key}.{name}")
            except ConfigError as error:
                hint = str(error).rpartition(";")[2] if "did you mean" in str(error) else ""
                raise SettingError(
                    f"{key}.{name}",
                    f"{key}.{name}: {name!r} is not {self.key.words}"
                    + (f";{hint}" if hint else ""),
                ) from None
            if item is not None:
                self.value.check(item, f"{key}.{name}")


def unknown_key(name: Any, schema: dict[str, Spec], prefix: str = "") -> SettingError:
    """The error for a key the schema does not know, with the closest known key."""
    import difflib

    close = difflib.get_close_matches(str(name), list(schema), n=1, cutoff=0.6)
    if close:
        hint = f"did you mean {prefix}{close[0]}?"
    else:
        hint = "known keys: " + ", ".join(f"{prefix}{known}" for known in schema)
    return SettingError(f"{prefix}{name}", f"unknown key {prefix}{name}; {hint}")


# -- names ----------------------------------------------------------------------------------
APP_NAME_WORDS = (
    f"an app name: lowercase letters, digits and single hyphens, starting with a letter, "
    f"at most {APP_NAME_MAX} characters (e.g. my-app)"
)
MODULE_NAME_WORDS = "lowercase letters, digits and underscores, not starting with a digit"


def suggest_app_name(name: str) -> str:
    """The valid app name closest to ``name``: ``My_Shop`` -> ``my-shop``."""
    words = re.split(r"[^a-z0-9]+", name.strip().lower())
    suggestion = "-".join(word for word in words if word).lstrip("0123456789-")
    return suggestion[:APP_NAME_MAX].rstrip("-") or "my-app"


def suggest_module_name(name: str) -> str:
    """The valid function or model name closest to ``name``: ``Line-Item`` -> ``line_item``."""
    words = re.split(r"[^a-z0-9]+", name.strip().lower())
    suggestion = "_".join(word for word in words if word)
    return suggestion if suggestion and not suggestion[0].isdigit() else f"n_{suggestion}"


def is_app_name(name: str) -> bool:
    return bool(APP_NAME.fullmatch(name)) and len(name) <= APP_NAME_MAX


def is_module_name(name: str) -> bool:
    return bool(MODULE_NAME.fullmatch(name))


# -- the schema -----------------------------------------------------------------------------
STRING = Type(str, "a string")
BOOLEAN = Type(bool, "true or false")
STRINGS = ListOf(STRING, "a list of strings")
STRING_OR_STRINGS = ListOf(STRING, "a string or a list of strings", single=True)
SCALAR = Type((str, int, float), "a string or a number")


def _media_types(value: Any) -> None:
    from tight_tasks.routes import MEDIA_TYPE

    if not isinstance(value, list) or not all(
        isinstance(t, str) and MEDIA_TYPE.match(t) for t in value
    ):
        raise ConfigError(
            "binary_media_types must be a list of media types such as image/png or image/*"
        )


def _vendor_dir(value: Any) -> None:
    if not isinstance(value, str) or value.strip("/") != "app/vendored":
        raise ConfigError(
            f"vendor_dir must be app/vendored (app_index.py imports app.vendored.tight), "
            f"not {_kind(value)}"
        )


class Auth(Spec):
    """Who may call a route, read by ``tight_tasks.auth`` (imported only when tight.yml is
    parsed), which names the key at fault: ``auth.jwt.issuer``."""

    words = "none, iam, {jwt: {issuer, audience}}, {cognito: {user_pool}} or {function: ...}"
    empty_is_default = False  # `auth:` alone opens nothing and closes nothing: refused

    def check(self, value: Any, key: str) -> None:
        from tight_tasks.auth import AuthError, parse_auth

        try:
            parse_auth(value, key)
        except AuthError as error:
            raise SettingError(error.key, str(error)) from None


# Who may call a route (tight_tasks.auth): the app's default, or one function's own.
AUTH = Auth()

# What every function has (tight.yml ``function:``) and each may set for itself
# (``functions.<name>:``).
FUNCTION_SETTINGS: dict[str, Spec] = {
    "timeout": Number(1, 900, "a whole number of seconds"),
    "memory_size": Number(128, 10240, "a whole number of MB"),
}

FUNCTION = Table(
    {
        "routes": ListOf(STRING, "a list of paths such as /items/{id}"),
        "auth": AUTH,
        "permissions": Permissions(),
        **FUNCTION_SETTINGS,
        # Lambda's ReservedConcurrentExecutions: at most this many instances at once.
        "reserved_concurrency": Number(1, 1000, "a whole number of instances"),
        **{trigger: Trigger(trigger) for trigger in TRIGGERS},
    },
    "a mapping of routes, auth, permissions, timeout, memory_size, reserved_concurrency and "
    "at most one trigger (" + ", ".join(TRIGGERS) + ")",
)

SCHEMA: dict[str, Spec] = {
    "name": Matches(APP_NAME, APP_NAME_WORDS, APP_NAME_MAX, suggest_app_name),
    "provider": OneOf("aws"),
    "runtime": Runtime(*LAMBDA_RUNTIMES),
    "architecture": OneOf(*ARCHITECTURES),
    "stage": Matches(
        APP_NAME,
        "a stage name: lowercase letters, digits and hyphens (e.g. dev)",
        20,
        suggest_app_name,
    ),
    "cors": Checked(
        Cors.from_value,
        "an origin such as '*', a list of origins, a mapping of CORS settings, or true/false",
        (str, list, dict, bool),
        Table(
            {
                "allow_origin": STRING_OR_STRINGS,
                "allow_methods": STRINGS,
                "allow_headers": STRINGS,
                "expose_headers": STRINGS,
                "max_age": Number(0, 2**31 - 1, "a whole number of seconds"),
                "allow_credentials": BOOLEAN,
            }
        ),
    ),
    "headers": MapOf(STRING, SCALAR, "a mapping of header names to values"),
    "vendor_dir": Checked(_vendor_dir, "app/vendored"),
    "resolver": OneOf(*RESOLVERS),
    "index_url": STRING,
    "extra_index_url": STRING_OR_STRINGS,
    "find_links": STRING_OR_STRINGS,
    "no_index": BOOLEAN,
    "keep_provided": STRING_OR_STRINGS,
    "layer": BOOLEAN,
    "dynamo": Table(
        {
            "backend": OneOf(*DYNAMO_BACKENDS),
            "port": Number(1, 65535, "a TCP port number"),
            "command": STRING,
            "persist": BOOLEAN,
        }
    ),
    "testing": Table({"scrub": Table({"keys": STRINGS, "patterns": STRINGS})}),
    "functions": MapOf(
        Matches(MODULE_NAME, f"a function name ({MODULE_NAME_WORDS})", suggest=suggest_module_name),
        FUNCTION,
        "a mapping of function names to their routes and triggers",
    ),
    "function": Table(FUNCTION_SETTINGS),
    "api": OneOf("rest", "http"),
    # The OpenAPI document (doit openapi) as the REST API's definition (doit template).
    "api_definition": BOOLEAN,
    "auth": AUTH,
    "binary_media_types": Checked(
        lambda value: _media_types(value),
        "a list of media types such as image/png or image/*",
        (list,),
    ),
    "deploy": Table({"bucket": STRING}),
    # Where failed messages land (tight_tasks.failures): the defaults of every trigger,
    # each overridden per trigger (functions.<name>.sqs.max_receive_count, ...).
    "failures": Table(
        {
            "max_receive_count": Number(1, 1000, "a whole number of receives"),
            "retries": Number(0, 2, "a whole number of retries"),
            "stream_retries": Number(0, 10000, "a whole number of retries"),
            "bisect": BOOLEAN,
        }
    ),
}
SETTINGS = Table(SCHEMA, "a mapping of settings")


def validate(settings: Any) -> dict[str, Any]:
    """``settings`` (tight.yml's parsed content) when it is valid, else a ``ConfigError``
    naming the first key that is not."""
    if settings is None:
        return {}
    if not isinstance(settings, dict):
        raise SettingError("", f"must be a mapping of settings, not {_kind(settings)}")
    SETTINGS.check(settings, "")
    return settings


# -- reading tight.yml ----------------------------------------------------------------------
_cache: dict[Path, tuple[int, int, dict[str, Any]]] = {}


def user_cache(kind: str) -> Path:
    """The toolkit's state outside any app's tree (doit's dep files, checked settings): a
    task that fails on bad input leaves the app's tree exactly as it was."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "tight" / kind


# Every doit command creates every task, and each task reads tight.yml. Importing PyYAML
# alone costs a no-op build about a tenth of its time, so a tight.yml that passed the
# checks is also kept as JSON in the user's cache, under a digest of its bytes and of the
# code that checked it: the same bytes checked by the same code are read back without
# PyYAML. Only what JSON gives back unchanged is kept (not dates or non-string keys).
def _checked_copy(path: Path) -> Path:
    key = hashlib.sha256(os.path.abspath(path).encode()).hexdigest()[:20]
    return user_cache("settings") / f"{key}.json"


def _checked_digest(raw: bytes) -> str:
    digest = hashlib.sha256(raw)
    here = Path(tight_tasks.triggers.__file__)
    rules = [str(here.with_name(name)) for name in ("aws_rules.py", "auth.py", "iam.py")]
    modules = (__file__, tight.config.__file__, str(here), *rules)  # the checks' rules
    for module in modules:
        stat = os.stat(module)
        digest.update(f"\0{module}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def _read_checked(path: Path, digest: str) -> dict[str, Any] | None:
    try:
        stored = json.loads(_checked_copy(path).read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict) or stored.get("digest") != digest:
        return None
    settings = stored.get("settings")
    return settings if isinstance(settings, dict) else None


def _keep_checked(path: Path, digest: str, settings: dict[str, Any]) -> None:
    try:
        text = json.dumps({"digest": digest, "settings": settings}, allow_nan=False)
        if json.loads(text)["settings"] != settings:
            return  # JSON would not give these settings back as they are
        write_atomic(_checked_copy(path), text)
    except (OSError, TypeError, ValueError):
        pass  # no cache (an unwritable home, values JSON cannot hold): parsed next time


def find_app_root(start: str | os.PathLike[str] | None = None) -> Path:
    """The app root: ``start`` (the current folder by default) or the nearest folder above
    it that holds tight.yml, as git finds a repository."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise ConfigError(
        f"no {CONFIG_FILE} in {here} or above it: run this inside an app, or create one "
        "with `tight generate_app name=<name>`"
    )


class YamlFileError(ConfigError):
    """A YAML file that cannot be read: ``line`` is where (1-based, or None), ``problem``
    what. Shown as ``<file>:<line>: <problem>``; being a ``ConfigError``, a task that meets
    one fails with that line."""

    def __init__(self, path: Path, line: int | None, problem: str) -> None:
        self.path, self.line, self.problem = path, line, problem
        super().__init__(f"{path.name}{f':{line}' if line else ''}: {problem}")


def yaml_error(path: Path, error: Exception) -> YamlFileError:
    """The one wording of a YAML file that does not parse, for every task and the test
    plugin: ``tight.yml:21: not valid YAML: <problem>``."""
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    problem = getattr(error, "problem", None) or getattr(error, "context", None) or str(error)
    return YamlFileError(path, mark.line + 1 if mark else None, f"not valid YAML: {problem}")


def _loader_class() -> Any:
    """libyaml's safe loader when PyYAML has it (several times faster), refusing a mapping
    that repeats a key: YAML says keys are unique, PyYAML silently keeps the last one."""
    global _LOADER
    if _LOADER is None:
        import yaml

        class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
            def construct_mapping(self, node: Any, deep: bool = False) -> Any:
                if isinstance(node, yaml.MappingNode):
                    first: dict[Any, int] = {}
                    for key_node, _ in node.value:
                        if key_node.tag == "tag:yaml.org,2002:merge":
                            continue  # `<<: *defaults` merges, it is not a key
                        key = self.construct_object(key_node, deep=True)
                        line = key_node.start_mark.line + 1
                        try:
                            seen = first.setdefault(key, line)
                        except TypeError:
                            continue  # an unhashable key: PyYAML's own error says so
                        if seen != line:
                            raise DuplicateKey(key, line, seen)
                return super().construct_mapping(node, deep=deep)

        _LOADER = Loader
    return _LOADER


_LOADER: Any = None


class DuplicateKey(Exception):
    def __init__(self, key: Any, line: int, first: int) -> None:
        self.key, self.line, self.first = key, line, first


def parse_yaml(path: Path, text: str | None = None) -> tuple[Any, Any]:
    """A YAML file's data and its node tree (for ``line_of``); ``YamlFileError`` naming the
    line when it is not UTF-8, not valid YAML or repeats a key. The one reader of
    tight.yml, the env files and the template overlay, for every task and the test plugin."""
    import yaml

    try:
        if text is None:
            text = path.read_text(encoding="utf-8")
        loader = _loader_class()(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except UnicodeDecodeError as error:
        raise YamlFileError(path, None, f"is not UTF-8 text ({error.reason})") from None
    except DuplicateKey as error:
        raise YamlFileError(
            path, error.line, f"duplicate key {error.key!r} (first at line {error.first})"
        ) from None
    except yaml.YAMLError as error:
        shown: Exception = error
        if _loader_class().__bases__[0] is not yaml.SafeLoader:
            # PyYAML's own parser says what it found where libyaml's only says what it
            # expected: its words, whichever parser this machine has.
            try:
                yaml.load(text or "", Loader=yaml.SafeLoader)
            except yaml.YAMLError as python_error:
                shown = python_error
        raise yaml_error(path, shown) from None
    return data, node


def read_yaml(path: Path) -> tuple[Any, Any]:
    """``parse_yaml`` of the file at ``path`` (the name the test plugin imports)."""
    return parse_yaml(path)


def load(app_root: str | os.PathLike[str], keep: bool = False) -> dict[str, Any]:
    """``tight.yml`` of the app at ``app_root`` as a dict, checked against ``SCHEMA``;
    a ``ConfigError`` naming the key and the fix when it is not valid.

    Parsed once per process while the file is unchanged: every task reads it. A checked
    copy in the user's cache is read back without parsing; ``keep`` writes one (doit's
    task creation does, the test plugin does not).
    """
    path = Path(app_root) / CONFIG_FILE
    try:
        stat = path.stat()
        cached = _cache.get(path)
        if cached is not None and cached[:2] == (stat.st_size, stat.st_mtime_ns):
            return dict(cached[2])
        raw = path.read_bytes()  # decoded only to parse: PyYAML reads \r\n as \n itself
    except FileNotFoundError:
        raise ConfigError(
            f"no {CONFIG_FILE} in {Path(app_root).resolve()}; run this from an app's root "
            "or create one with `tight generate_app name=<name>`"
        ) from None
    digest = _checked_digest(raw)
    data = _read_checked(path, digest)
    if data is None:
        data = _parse(path, raw)
        if keep:
            _keep_checked(path, digest, data)
    _cache[path] = (stat.st_size, stat.st_mtime_ns, data)
    return dict(data)


def _parse(path: Path, raw: bytes) -> dict[str, Any]:
    """tight.yml's bytes parsed and checked: a ``ConfigError`` naming the key's line."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise YamlFileError(path, None, f"is not UTF-8 text ({error.reason})") from None
    data, node = parse_yaml(path, text)
    try:
        return validate(data)
    except SettingError as error:  # the same words, with the line of the key at fault
        raise SettingError(error.key, error.problem, line_of(node, *error.path)) from None


def line_of(node: Any, *keys: Any) -> int | None:
    """The line of ``keys`` (mapping keys, sequence indexes) in a YAML node tree, or of the
    deepest of them that is there."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in keys:
        found = None
        if isinstance(getattr(node, "value", None), list):
            for index, entry in enumerate(node.value):
                if isinstance(entry, tuple) and str(entry[0].value) == str(key):
                    found, line = entry[1], entry[0].start_mark.line + 1
                    break
                if not isinstance(entry, tuple) and index == key:
                    found, line = entry, entry.start_mark.line + 1
                    break
        if found is None:
            return line
        node = found
    return line


def app_name(root: Path, settings: dict[str, Any]) -> str:
    """The app's name: ``name`` in tight.yml, else the folder's name made valid."""
    return str(settings.get("name") or suggest_app_name(root.name))


def runtime_config(settings: dict[str, Any]) -> dict[str, Any]:
    """The part of tight.yml the runtime reads, checked with the runtime's own rules."""
    result = {
        "app_name": settings.get("name"),
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
    return write_atomic(target, json.dumps(data, indent=2, sort_keys=True) + "\n")
