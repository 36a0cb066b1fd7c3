"""The runtime's configuration, read in one place: CORS and default response headers.

Values come from, in order of precedence: ``configure(...)`` called in Python, then (for
the stage only) the ``TIGHT_STAGE`` environment variable, which the deployment template
sets so that one zip serves every stage, then the JSON file the toolkit writes from
``tight.yml`` when it vendors (``app/vendored/tight.json``, read lazily on the first
request), then the defaults here.
The runtime never reads YAML; ``tight_tasks`` turns ``tight.yml`` into that JSON.
"""

import json
import os

# From _collections_abc, which ``os`` has loaded: ``collections.abc`` is one module more.
from _collections_abc import Iterable, Mapping

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tight.errors import ConfigError as ConfigError
else:
    # Annotations are evaluated at import; loading typing for them would cost every
    # cold start more than this whole module does. Those that would build an object
    # (``str | None``, ``dict[str, Any]``) are quoted, so the cold start builds none.
    Any = object

# Where the toolkit writes the runtime's share of tight.yml, relative to the app root.
RUNTIME_CONFIG_PATH = ("app", "vendored", "tight.json")

DEFAULT_ALLOW_HEADERS = (
    "Content-Type",
    "Authorization",
    "X-Amz-Date",
    "X-Api-Key",
    "X-Amz-Security-Token",
)
DEFAULT_MAX_AGE = 600


# ConfigError lives in tight.errors, loaded only when something fails; the name stays
# importable from here.
if not TYPE_CHECKING:  # type checkers see the import under TYPE_CHECKING instead

    def __getattr__(name: str) -> Any:
        if name == "ConfigError":
            from tight.errors import ConfigError

            return ConfigError
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _config_error(message: str) -> Exception:
    """``tight.errors.ConfigError``, imported only when it is raised."""
    from tight.errors import ConfigError

    return ConfigError(message)


class Cors:
    """CORS settings: which origins may call, and what a preflight answers."""

    __slots__ = (
        "allow_credentials",
        "allow_headers",
        "allow_methods",
        "allow_origins",
        "expose_headers",
        "max_age",
        "static_headers",
    )

    def __init__(
        self,
        allow_origin: "str | Iterable[str]" = "*",
        allow_methods: "Iterable[str] | None" = None,
        allow_headers: "Iterable[str]" = DEFAULT_ALLOW_HEADERS,
        expose_headers: "Iterable[str]" = (),
        max_age: int = DEFAULT_MAX_AGE,
        allow_credentials: bool = False,
    ) -> None:
        origins = [allow_origin] if isinstance(allow_origin, str) else list(allow_origin)
        if not origins or not all(isinstance(o, str) and o for o in origins):
            raise _config_error("cors.allow_origin must be '*', an origin, or a list of origins")
        if allow_credentials and "*" in origins:
            raise _config_error(
                "cors.allow_credentials cannot be used with allow_origin '*'; "
                "list the origins that may send credentials"
            )
        if not isinstance(max_age, int) or max_age < 0:
            raise _config_error("cors.max_age must be a whole number of seconds >= 0")
        self.allow_origins = tuple(origins)
        self.allow_methods = (
            tuple(m.upper() for m in allow_methods) if allow_methods is not None else None
        )
        self.allow_headers = tuple(allow_headers)
        self.expose_headers = tuple(expose_headers)
        self.max_age = max_age
        self.allow_credentials = bool(allow_credentials)
        # Headers that do not depend on the request go on every response as defaults.
        static: dict[str, str] = {}
        if len(self.allow_origins) == 1:
            static["Access-Control-Allow-Origin"] = self.allow_origins[0]
        if self.allow_credentials:
            static["Access-Control-Allow-Credentials"] = "true"
        if self.expose_headers:
            static["Access-Control-Expose-Headers"] = ", ".join(self.expose_headers)
        self.static_headers = static

    @classmethod
    def from_value(cls, value: Any) -> "Cors | None":
        """Build from tight.yml's ``cors:`` value: an origin string, a mapping, or false."""
        if value is None or value is False:
            return None
        if value is True:
            return cls()
        if isinstance(value, (str, list)):
            return cls(allow_origin=value)
        if isinstance(value, dict):
            known = set(cls.__slots__) - {"allow_origins", "static_headers"} | {"allow_origin"}
            unknown = sorted(set(value) - known)
            if unknown:
                raise _config_error(
                    f"unknown cors setting(s) {', '.join(unknown)}; "
                    f"known: {', '.join(sorted(known))}"
                )
            return cls(**value)
        raise _config_error("cors must be an origin such as '*', a mapping of settings, or false")

    def origin_headers(self, request_origin: "str | None") -> "dict[str, str]":
        """The Allow-Origin headers for a request from ``request_origin``."""
        if len(self.allow_origins) == 1:
            return {}
        if request_origin and request_origin in self.allow_origins:
            return {"Access-Control-Allow-Origin": request_origin, "Vary": "Origin"}
        return {"Vary": "Origin"}


class Settings:
    """Everything the runtime needs to know about the app it serves."""

    __slots__ = ("app_name", "cors", "default_headers", "headers", "stage")

    def __init__(
        self,
        app_name: "str | None" = None,
        stage: "str | None" = None,
        cors: "Cors | None" = None,
        headers: "Mapping[str, str] | None" = None,
    ) -> None:
        self.app_name = app_name
        self.stage = stage
        self.cors = cors
        self.headers = dict(headers or {})
        merged = dict(cors.static_headers) if cors else {}
        merged.update(self.headers)
        # Merged once here, so a request pays nothing for defaults it does not override.
        self.default_headers = merged


_overrides: "dict[str, Any]" = {}
_app_root: "str | None" = None
_settings: "Settings | None" = None


def configure(**values: Any) -> Settings:
    """Set configuration in Python; wins over ``tight.yml``. Keys: app_name, stage, cors, headers.

    ``cors`` takes the same forms as in tight.yml ('*', a mapping, False) or a ``Cors``.
    """
    unknown = sorted(set(values) - {"app_name", "stage", "cors", "headers"})
    if unknown:
        raise _config_error(
            f"unknown setting(s) {', '.join(unknown)}; known: app_name, stage, cors, headers"
        )
    _overrides.update(values)
    return reload()


def set_app_root(path: str) -> None:
    """Called by ``app.run()``: the folder holding ``app_index.py`` and ``app/``."""
    global _app_root, _settings
    if path != _app_root:
        _app_root = path
        _settings = None


def reset() -> None:
    """Forget Python overrides and the loaded file (tests use this between apps)."""
    global _settings, _app_root
    _overrides.clear()
    _settings = None
    _app_root = None


def _read_runtime_file() -> "dict[str, Any]":
    if _app_root is None:
        return {}
    path = os.path.join(_app_root, *RUNTIME_CONFIG_PATH)
    try:
        # Bytes: json detects the UTF encoding itself, without a text layer to set up.
        with open(path, "rb") as handle:
            data = json.loads(handle.read())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise _config_error(f"cannot read {path}: {exc}; rebuild it with `doit vendor`") from exc
    if not isinstance(data, dict):
        raise _config_error(f"{path} must hold a JSON object; rebuild it with `doit vendor`")
    return data


def reload() -> Settings:
    """Recompute the settings from the file and the Python overrides."""
    global _settings
    values = _read_runtime_file()
    values.update(_overrides)
    cors = values.get("cors")
    headers = values.get("headers") or {}
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise _config_error("headers must map header names to string values")
    _settings = Settings(
        app_name=values.get("app_name"),
        stage=_overrides.get("stage") or os.environ.get("TIGHT_STAGE") or values.get("stage"),
        cors=cors if isinstance(cors, Cors) else Cors.from_value(cors),
        headers=headers,
    )
    return _settings


def settings() -> Settings:
    """The current settings, loaded on first use."""
    return _settings if _settings is not None else reload()
