"""Who may call a route: tight.yml's ``auth`` settings read into one ``Auth`` value per route.

    auth: {jwt: {issuer: https://login.example.com/, audience: my-api}}   # the default
    functions:
      health: {auth: none}                                 # open, said explicitly
      admin: {auth: iam}                                   # SigV4-signed calls only
      orders: {auth: {function: authorize, ttl: 300}}      # a Lambda authorizer
      me: {auth: {cognito: {user_pool: us-east-1_AbC123}}}
      items: {auth: {scopes: [items/read]}}               # the default's authorizer, and a scope
      reports: {auth: {jwt: {issuer: ..., audience: reports}, scopes: [reports/read]}}

The top-level ``auth`` is every route's default, ``functions.<name>.auth`` overrides it. The
``scopes`` beside a token authorizer (jwt, cognito) are the OAuth scopes a route needs (the
token carries at least one of them); they belong to the route, not to the authorizer, so
routes with other scopes share one authorizer. A function's ``{scopes: [...]}`` alone keeps
the app's token authorizer and replaces its scopes, as SAM's per-event scopes do. The
shapes are checked when tight.yml is read (``check_auth``, called by ``tight_tasks.config``);
what needs the app (which API, which functions) is checked when the route table is built
(``route_auth``), so ``doit template``, ``doit serve`` and ``doit openapi`` all see one value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from tight.config import ConfigError

KINDS = ("none", "iam", "jwt", "cognito", "function")
DEFAULT_TTL = 300  # seconds API Gateway keeps a Lambda authorizer's answer (its default)
MAX_TTL = 3600
DEFAULT_IDENTITY = ("Authorization",)
# us-east-1_AbC123: a user pool's id starts with its region.
USER_POOL_ID = re.compile(r"(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)_[0-9A-Za-z]+")
USER_POOL_ARN = re.compile(
    r"arn:aws[a-z-]*:cognito-idp:(?P<region>[a-z0-9-]+):\d{12}:userpool/(?P<id>[\w-]+_[0-9A-Za-z]+)"
)
HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")
# An OAuth scope (RFC 6749 3.3): printable ASCII but space, '"' and '\\'.
SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
INHERIT = "inherit"  # a function's {scopes: [...]} alone: the app's authorizer, these scopes


@dataclass(frozen=True)
class Auth:
    """One route's auth. ``kind`` is one of ``KINDS``; the other fields belong to one kind."""

    kind: str = "none"
    issuer: str = ""  # jwt and cognito: the tokens' iss
    audience: tuple[str, ...] = ()  # jwt and cognito: accepted aud (or client_id) values
    jwks_file: str = ""  # jwt and cognito: the issuer's keys, read by doit serve
    user_pool: str = ""  # cognito: the pool's id
    user_pool_arn: str = ""  # cognito: given as an ARN (else built from the id)
    function: str = ""  # function: the authorizer's folder name
    ttl: int = DEFAULT_TTL  # function: seconds its answer is cached (0: not cached)
    headers: tuple[str, ...] = DEFAULT_IDENTITY  # function: the identity sources
    scopes: tuple[str, ...] = ()  # jwt and cognito: the route needs one of these in the token

    @property
    def authorizer(self) -> Auth:
        """The authorizer alone, without the route's scopes: what the API names and wires
        once however many routes, with whatever scopes, it guards."""
        return replace(self, scopes=()) if self.scopes else self

    @property
    def is_open(self) -> bool:
        return self.kind == "none"

    @property
    def is_token(self) -> bool:
        """A bearer token checked by API Gateway itself (jwt, cognito)."""
        return self.kind in ("jwt", "cognito")


NONE = Auth()


class AuthError(ConfigError):
    """A wrong ``auth`` value: ``key`` is the dotted path at fault (``auth.jwt.issuer``)."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        super().__init__(f"{key}: {problem}")


def _words(key: str, problem: str) -> AuthError:
    return AuthError(key, problem)


def _strings(value: Any) -> tuple[str, ...] | None:
    """A string or a list of strings as a tuple; None when it is neither."""
    if isinstance(value, str) and value.strip():
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return tuple(value)
    return None


def parse_auth(value: Any, key: str = "auth") -> Auth:
    """tight.yml's ``auth`` value as an ``Auth``; a ``ConfigError`` naming ``key`` and the
    fix when it is not one of the shapes above."""
    example = (
        "none, iam, {jwt: {issuer, audience}}, {cognito: {user_pool}} or "
        "{function: <authorizer>, ttl: <seconds>}"
    )
    if isinstance(value, str):
        if value in ("none", "iam"):
            return Auth(kind=value)
        if value in ("jwt", "cognito", "function"):
            raise _words(key, f"{value} needs its settings: {key}: {{{value}: ...}} ({example})")
        raise _words(key, f"{value!r} is not an auth; use {example}")
    if not isinstance(value, dict):
        raise _words(key, f"must be {example}, not {value!r}")
    scopes: tuple[str, ...] = ()
    if "scopes" in value:
        scopes = _scopes(value["scopes"], f"{key}.scopes")
        value = {k: v for k, v in value.items() if k != "scopes"}
        if not value and key.startswith("functions."):
            return Auth(kind=INHERIT, scopes=scopes)
        if not value:
            raise _words(
                key,
                "scopes alone need a token authorizer to check them: "
                f"{key}: {{jwt: {{issuer, audience}}, scopes: [...]}} (or cognito)",
            )
        if "jwt" not in value and "cognito" not in value:
            raise _words(f"{key}.scopes", SCOPES_ONLY_FOR_TOKENS)
    kinds = [k for k in ("jwt", "cognito", "function") if k in value]
    if len(kinds) != 1:
        found = f"both {' and '.join(kinds)}" if kinds else "none of jwt, cognito, function"
        raise _words(key, f"has {found}; give exactly one ({example})")
    kind = kinds[0]
    extra = sorted(str(k) for k in value if k not in (kind, "ttl", "headers"))
    if kind != "function" and (extra or "ttl" in value or "headers" in value):
        extra = sorted(str(k) for k in value if k != kind)
    if extra:
        raise _words(key, f"{kind} takes no {', '.join(extra)} beside it")
    if kind == "function":
        return _function_auth(value, key)
    return replace(_token_auth(kind, value[kind], f"{key}.{kind}"), scopes=scopes)


SCOPES_ONLY_FOR_TOKENS = (
    "API Gateway checks scopes only in jwt and cognito tokens; remove scopes, or check them "
    "in a Lambda authorizer's own code (iam and none carry no scopes)"
)


def _scopes(value: Any, key: str) -> tuple[str, ...]:
    """tight.yml's ``scopes``: one scope or a list of them, each a word without spaces."""
    found = [value] if isinstance(value, str) else value
    if not isinstance(found, list) or not all(isinstance(s, str) for s in found):
        raise _words(key, f"must be a list of OAuth scopes such as [items/read], not {value!r}")
    if not found:
        raise _words(key, "must list at least one scope; leave scopes out to require none")
    for scope in found:
        if not SCOPE.fullmatch(scope):
            words = scope.split()
            fix = f"; list each one: [{', '.join(words)}]" if len(words) > 1 else ""
            raise _words(key, f"{scope!r} is not one OAuth scope (no spaces or quotes){fix}")
    return tuple(dict.fromkeys(found))


def _function_auth(value: dict[str, Any], key: str) -> Auth:
    name = value["function"]
    if not isinstance(name, str) or not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise _words(
            f"{key}.function",
            f"must name an authorizer function in app/functions (e.g. authorize), not {name!r}",
        )
    ttl = value.get("ttl", DEFAULT_TTL)
    if type(ttl) is not int or not 0 <= ttl <= MAX_TTL:
        raise _words(
            f"{key}.ttl",
            f"must be the seconds API Gateway caches the answer, 0 to {MAX_TTL}, not {ttl!r}",
        )
    headers = _strings(value.get("headers", list(DEFAULT_IDENTITY)))
    if headers is None or not all(HEADER_NAME.fullmatch(h) for h in headers):
        raise _words(
            f"{key}.headers",
            "must be a header name or a list of them (the identity sources, e.g. Authorization)",
        )
    return Auth(kind="function", function=name, ttl=ttl, headers=headers)


def _token_auth(kind: str, spec: Any, key: str) -> Auth:
    known = (
        ("issuer", "audience", "jwks_file")
        if kind == "jwt"
        else ("user_pool", "audience", "jwks_file")
    )
    needed = "issuer" if kind == "jwt" else "user_pool"
    if not isinstance(spec, dict) or needed not in spec:
        raise _words(key, f"needs {needed}: {key.rsplit('.', 1)[-1]}: {{{', '.join(known)}}}")
    unknown = sorted(str(k) for k in spec if k not in known)
    if unknown:
        raise _words(key, f"has unknown key(s) {', '.join(unknown)}; it takes {', '.join(known)}")
    audience: tuple[str, ...] = ()
    if "audience" in spec:
        found = _strings(spec["audience"])
        if found is None:
            raise _words(f"{key}.audience", "must be a string or a list of strings")
        audience = found
    jwks_file = spec.get("jwks_file", "")
    if not isinstance(jwks_file, str):
        raise _words(f"{key}.jwks_file", "must be a path to a JWKS (JSON) file")
    if kind == "jwt":
        issuer = spec["issuer"]
        if not isinstance(issuer, str) or not issuer.startswith("https://"):
            raise _words(
                f"{key}.issuer", f"must be the tokens' issuer, an https:// URL, not {issuer!r}"
            )
        if not audience:
            raise _words(
                key,
                "needs audience: the aud (or client_id) values the API accepts; an HTTP "
                "API's JWT authorizer requires at least one",
            )
        return Auth(kind="jwt", issuer=issuer, audience=audience, jwks_file=jwks_file)
    pool = spec["user_pool"]
    arn = USER_POOL_ARN.fullmatch(pool) if isinstance(pool, str) else None
    plain = USER_POOL_ID.fullmatch(pool) if isinstance(pool, str) else None
    if arn is None and plain is None:
        raise _words(
            f"{key}.user_pool",
            f"must be a user pool's id (us-east-1_AbC123) or its ARN, not {pool!r}",
        )
    pool_id = arn["id"] if arn else str(pool)
    region = (arn or plain)["region"]  # type: ignore[index]
    return Auth(
        kind="cognito",
        issuer=f"https://cognito-idp.{region}.amazonaws.com/{pool_id}",
        audience=audience,
        jwks_file=jwks_file,
        user_pool=pool_id,
        user_pool_arn=str(pool) if arn else "",
    )


# -- the route table's view ---------------------------------------------------------------------


def route_auth(settings: dict[str, Any], function: str, api: str, authorizers: set[str]) -> Auth:
    """The auth of ``function``'s routes: its own ``auth``, else the app's, else none.

    ``authorizers`` are the app's Lambda authorizer functions. A kind the API cannot
    deploy, or a function that is no authorizer, is a ``ConfigError`` naming the fix.
    """
    entry = (settings.get("functions") or {}).get(function) or {}
    key = f"functions.{function}.auth" if "auth" in entry else "auth"
    value = entry["auth"] if "auth" in entry else settings.get("auth")
    if value is None:
        return NONE
    auth = parse_auth(value, key)
    where = f"{key} in tight.yml"
    if auth.kind == INHERIT:
        default = settings.get("auth")
        base = NONE if default is None else parse_auth(default, "auth")
        if not base.is_token:
            has = "no auth" if default is None else f"auth: {base.kind}"
            raise ConfigError(
                f"{where}: scopes alone keep the app's token authorizer, but tight.yml has "
                f"{has}; give the authorizer beside them: {{jwt: {{issuer, audience}}, "
                "scopes: [...]} (or cognito)"
            )
        auth = replace(base, scopes=auth.scopes)
    if auth.kind == "jwt" and api == "rest":
        raise ConfigError(
            f"{where}: jwt authorizers belong to HTTP APIs; set api: http, or on this REST API "
            "use cognito: {user_pool: ...} for Cognito tokens or function: <authorizer>"
        )
    if auth.kind == "cognito" and api == "rest" and auth.audience:
        raise ConfigError(
            f"{where}: a REST API's Cognito authorizer accepts tokens of every app client of "
            "the pool and checks no audience; remove audience (or set api: http, whose JWT "
            "authorizer checks it)"
        )
    if auth.kind == "cognito" and api == "http" and not auth.audience:
        raise ConfigError(
            f"{where}: on an HTTP API a Cognito pool is checked by a JWT authorizer, which "
            "needs the app client ids: add audience: [<app client id>] to cognito"
        )
    if auth.kind == "function" and auth.function not in authorizers:
        raise ConfigError(
            f"{where}: {auth.function} is not a Lambda authorizer in app/functions; create "
            f"one with `doit generate_function name={auth.function} trigger=authorizer`"
        )
    return auth


def authorizer_names(auths: list[Auth]) -> dict[Auth, str]:
    """The API's name for each authorizer among ``auths``, keyed by ``Auth.authorizer``
    (the auth without its route's scopes; none and iam have no name):
    ``JwtAuthorizer``, ``CognitoAuthorizer``, ``<Function>Authorizer``; a kind used with
    several settings numbers the later ones (``JwtAuthorizer2``) in the order given."""
    from tight_tasks.functions import camel

    names: dict[Auth, str] = {}
    for auth in (auth.authorizer for auth in auths):
        if auth in names or auth.kind in ("none", "iam"):
            continue
        if auth.kind == "function":
            base = camel(auth.function) + "Authorizer"
        else:
            base = camel(auth.kind) + "Authorizer"
        taken = set(names.values())
        name, count = base, 1
        while name in taken:
            count += 1
            name = f"{base}{count}"
        names[auth] = name
    return names
