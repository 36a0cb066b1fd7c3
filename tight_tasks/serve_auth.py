"""``doit serve``'s gate: each route's auth (``tight_tasks.auth``) enforced as API Gateway
enforces it when deployed, before the route's function runs.

- ``jwt`` and ``cognito``: the bearer token's signature is checked against the issuer's
  keys (``jwks_file`` when given, so no network is needed; else the issuer's published
  JWKS), then ``iss``, ``exp``, ``nbf`` and the audience (``aud`` or ``client_id``), with
  PyJWT; a route with scopes needs one of them in the token's ``scope`` (or ``scp``) claim.
  The claims reach the function where the API puts them (``claims`` on REST,
  ``jwt.claims`` on an HTTP API), as strings, as API Gateway passes them.
- ``function``: the Lambda authorizer runs first, in its own warm worker, with the event
  the API sends it; its answer is kept per identity for the auth's ``ttl``, and a REST
  policy is evaluated against each request's method ARN, as the cached one is deployed.
- ``iam``: a SigV4 ``Authorization`` header is required, its shape and date checked; signed
  with the credentials this machine has (botocore's), its signature is checked too.

A refusal is the API's own answer: the same status, body and ``x-amzn-ErrorType`` a REST
or HTTP API sends, so a client's error handling can be tried locally. The console says why.
"""

from __future__ import annotations

import calendar
import json
import re
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tight_tasks.auth import Auth
    from tight_tasks.routes import Route
    from tight_tasks.serve import Answer, HttpRequest, LocalApi

ALGORITHMS = ["RS256", "RS384", "RS512"]  # API Gateway's JWT authorizers take RSA keys
SIGV4 = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<key>[^/\s,]+)/(?P<date>\d{8})/(?P<region>[^/\s,]+)/"
    r"(?P<service>[^/\s,]+)/aws4_request,\s*SignedHeaders=(?P<signed>[a-z0-9;-]+),\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})\s*$"
)
SIGNATURE_SKEW = 300  # seconds a SigV4 request's X-Amz-Date may be off
MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check "
    "your AWS Secret Access Key and signing method. Consult the service documentation for "
    "details."
)


class Refusal(Exception):
    """The API answers ``status`` with its own ``message``; ``why`` is for the console."""

    def __init__(self, status: int, message: str | None, error_type: str, why: str) -> None:
        super().__init__(why)
        self.status, self.message, self.error_type, self.why = status, message, error_type, why


def unauthorized(why: str) -> Refusal:
    return Refusal(401, "Unauthorized", "UnauthorizedException", why)


def forbidden(api: str, message: str, why: str) -> Refusal:
    return Refusal(403, "Forbidden" if api == "http" else message, "AccessDeniedException", why)


def failed(api: str, why: str) -> Refusal:
    """An authorizer that failed: a 500 whose body says nothing (REST's is a null message)."""
    message = "Internal Server Error" if api == "http" else None
    return Refusal(500, message, "AuthorizerConfigurationException", why)


class Gate:
    """The auth of a ``LocalApi``'s routes, with the keys and the authorizers' answers it
    keeps between requests."""

    def __init__(self, api: LocalApi) -> None:
        self.api = api
        self.stamp = api.routes_stamp  # the routes and settings it was made for
        self.lock = threading.Lock()
        self.keys: dict[str, tuple[Any, Any]] = {}  # source -> (stamp, PyJWKSet)
        self.answers: dict[tuple[Any, ...], tuple[float, Any]] = {}  # cache key -> (until, answer)
        self.credentials: Any = None

    def check(self, route: Route, request: HttpRequest, event: dict[str, Any]) -> Answer | None:
        """None when the caller may go on (``event`` then carries what the API found);
        otherwise the API's refusal."""
        from tight_tasks.serve import json_answer

        auth = route.auth
        if auth is None:
            return None
        try:
            if auth.is_token:
                self.token(auth, route, request, event)
            elif auth.kind == "iam":
                self.iam(route, request, event)
            elif auth.kind == "function":
                self.authorizer(auth, route, request, event)
        except Refusal as refusal:
            self.api.say(f"  {route.method} {route.path} refused ({auth.kind}): {refusal.why}")
            headers = [] if route.api == "http" else [("x-amzn-ErrorType", refusal.error_type)]
            if refusal.status == 401 and auth.is_token and route.api == "http":
                description = refusal.why.replace('"', "'")
                challenge = f'Bearer error="invalid_token" error_description="{description}"'
                headers.append(("www-authenticate", challenge))
            return json_answer(refusal.status, {"message": refusal.message}, headers)
        return None

    # -- tokens: jwt, cognito ---------------------------------------------------------------
    def token(self, auth: Auth, route: Route, request: HttpRequest, event: dict[str, Any]) -> None:
        import jwt

        header = (request.header("authorization") or "").strip()
        if not header:
            raise unauthorized("no Authorization header")
        token = header[7:].strip() if header[:7].lower() == "bearer " else header
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.InvalidTokenError as error:
            raise unauthorized(f"the token is not a JWT ({error})") from None
        key = self.signing_key(auth, kid, route.api)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                issuer=auth.issuer,
                options={"verify_aud": False, "require": ["exp", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise unauthorized("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise unauthorized("the token is not valid yet (nbf)") from None
        except jwt.InvalidIssuerError:
            raise unauthorized(f"the token's issuer is not {auth.issuer}") from None
        except jwt.InvalidTokenError as error:
            raise unauthorized(f"the token is not valid: {error}") from None
        if auth.audience:
            audiences = claims.get("aud")
            given = [audiences] if isinstance(audiences, str) else list(audiences or [])
            given.append(claims.get("client_id"))
            if not set(auth.audience) & {str(a) for a in given if a is not None}:
                raise unauthorized(
                    f"the token's audience ({', '.join(map(str, filter(None, given))) or 'none'}) "
                    f"is not {' or '.join(auth.audience)}"
                )
        if auth.kind == "cognito" and route.api == "rest":
            # A method with scopes takes access tokens, one without takes ID tokens.
            wanted = "access" if auth.scopes else "id"
            if claims.get("token_use") not in (None, wanted):
                why = "as the method has scopes" if auth.scopes else "as the method has no scopes"
                raise unauthorized(
                    f"a REST API's Cognito authorizer takes {'access' if auth.scopes else 'ID'} "
                    f"tokens (token_use {wanted}) {why}"
                )
        carried = token_scopes(claims)
        if auth.scopes and not set(auth.scopes) & set(carried):
            why = (
                f"the token's scopes ({' '.join(carried) or 'none'}) hold none of the "
                f"route's ({' '.join(auth.scopes)})"
            )
            # An HTTP API's JWT authorizer: a valid token without the scope is a 403; a REST
            # API's Cognito authorizer answers every refusal with its 401.
            raise forbidden("http", "Forbidden", why) if route.api == "http" else unauthorized(why)
        context = event["requestContext"]
        if route.api == "http":
            # The token's scopes, all of them, on a route that has scopes; null on one without.
            scopes = carried if auth.scopes else None
            context["authorizer"] = {"jwt": {"claims": http_claims(claims), "scopes": scopes}}
        else:
            context["authorizer"] = {"claims": rest_claims(claims)}

    def signing_key(self, auth: Auth, kid: Any, api: str) -> Any:
        """The issuer's key ``kid``: from ``jwks_file`` (read again when it changes), else
        from the issuer's published JWKS (OpenID discovery), fetched once."""
        import jwt

        source = auth.jwks_file or auth.issuer
        with self.lock:
            if auth.jwks_file:
                path = Path(auth.jwks_file)
                path = path if path.is_absolute() else self.api.root / path
                try:
                    stamp: Any = path.stat().st_mtime_ns
                    if self.keys.get(source, (None,))[0] != stamp:
                        self.keys[source] = (stamp, jwt.PyJWKSet.from_json(path.read_text()))
                except (OSError, jwt.PyJWTError) as error:
                    raise failed(
                        api, f"cannot read the keys in {auth.jwks_file}: {error}"
                    ) from None
            elif source not in self.keys:
                self.keys[source] = (None, published_keys(auth.issuer, api))
            keys = self.keys[source][1]
        try:
            return keys[kid]
        except KeyError:
            raise unauthorized(f"no key {kid!r} among the issuer's keys") from None

    # -- iam --------------------------------------------------------------------------------
    def iam(self, route: Route, request: HttpRequest, event: dict[str, Any]) -> None:
        header = request.header("authorization")
        if not header:
            raise forbidden(route.api, "Missing Authentication Token", "the request is not signed")
        signed = SIGV4.match(header.strip())
        if signed is None:
            raise forbidden(
                route.api,
                "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' "
                "parameters (AWS Signature Version 4).",
                "the Authorization header is not SigV4's",
            )
        stamp = request.header("x-amz-date") or ""
        try:
            when = calendar.timegm(time.strptime(stamp, "%Y%m%dT%H%M%SZ"))
        except ValueError:
            raise forbidden(route.api, "Missing or invalid X-Amz-Date", "no X-Amz-Date") from None
        if abs(time.time() - when) > SIGNATURE_SKEW or not stamp.startswith(signed["date"]):
            raise forbidden(route.api, "Signature expired", f"X-Amz-Date {stamp} is stale")
        if signed["service"] != "execute-api":
            raise forbidden(route.api, MISMATCH, f"signed for {signed['service']}, not execute-api")
        secret = self.secret_for(signed["key"])
        if secret is not None:
            expected = sigv4_signature(request, signed, stamp, secret)
            import hmac

            if not hmac.compare_digest(expected, signed["signature"]):
                raise forbidden(route.api, MISMATCH, "the signature does not match")
        identity = local_identity(signed["key"])
        context = event["requestContext"]
        if route.api == "http":
            context["authorizer"] = {
                "iam": {
                    "accessKey": identity["accessKey"],
                    "accountId": identity["accountId"],
                    "callerId": identity["caller"],
                    "cognitoIdentity": None,
                    "principalOrgId": None,
                    "userArn": identity["userArn"],
                    "userId": identity["user"],
                }
            }
        else:
            context["identity"].update(identity)

    def secret_for(self, access_key: str) -> str | None:
        """The secret of ``access_key`` when it is this machine's own (botocore's credential
        chain), so its signatures can be checked; None for another key."""
        with self.lock:
            if self.credentials is None:
                import botocore.session

                found = botocore.session.Session().get_credentials()
                self.credentials = found.get_frozen_credentials() if found else False
        credentials = self.credentials
        if credentials and credentials.access_key == access_key:
            return str(credentials.secret_key)
        return None

    # -- Lambda authorizers -----------------------------------------------------------------
    def authorizer(
        self, auth: Auth, route: Route, request: HttpRequest, event: dict[str, Any]
    ) -> None:
        request_event = authorizer_event(auth, request, event)
        values = tuple(request.header(name) for name in auth.headers)
        key = (auth.function, route.api, auth.headers, values)
        now = time.monotonic()
        with self.lock:
            cached = self.answers.get(key)
        started = time.monotonic()
        if cached is not None and cached[0] > now:
            answer = cached[1]
        else:
            answer = self.run_authorizer(auth.function, request_event, route.api)
            if auth.ttl:
                with self.lock:
                    self.answers[key] = (now + auth.ttl, answer)
        latency = int((time.monotonic() - started) * 1000)
        event["requestContext"]["authorizer"] = authorizer_context(
            auth.function, route.api, answer, request_event, latency
        )

    def run_authorizer(self, function: str, request_event: dict[str, Any], api: str) -> Any:
        from tight_tasks.serve import INTEGRATION_LIMIT

        reply = self.api.call(function, request_event, limit=INTEGRATION_LIMIT)
        return authorizer_answer(function, api, reply)


# -- Lambda authorizers, for doit serve and doit invoke --------------------------------------------
def authorizer_event(auth: Auth, request: HttpRequest, event: dict[str, Any]) -> dict[str, Any]:
    """The event API Gateway sends ``auth``'s Lambda authorizer for ``request``, whose own
    event is ``event``; a ``Refusal`` (401) when an identity source is missing, as the API
    then answers at once, without calling the authorizer."""
    from tight.testing.events import as_authorizer_event

    if any(not request.header(name) for name in auth.headers):
        raise unauthorized(f"no {' or '.join(auth.headers)} header (the identity source)")
    return as_authorizer_event(event, auth.headers)


def authorizer_answer(function: str, api: str, reply: dict[str, Any]) -> Any:
    """The answer in a worker's ``reply`` from authorizer ``function``; a ``Refusal`` when it
    ran out of time or raised (a REST API reads the error text ``Unauthorized`` as a 401)."""
    if "timeout" in reply:
        raise failed(api, f"{function} ran past its {reply['timeout']} s timeout")
    if "error" in reply:
        if api == "rest" and reply["error"] == "Exception: Unauthorized":
            raise unauthorized(f"{function} raised Unauthorized")
        raise failed(api, f"{function} raised {reply['error']}")
    return reply.get("result")


def authorizer_context(
    function: str, api: str, answer: Any, request_event: dict[str, Any], latency: int = 0
) -> dict[str, Any]:
    """What the API makes of authorizer ``function``'s ``answer`` to ``request_event``: the
    ``requestContext.authorizer`` the route's function gets; a ``Refusal`` when the answer
    turns the caller away (403), or is no answer at all (500)."""
    if api == "http":
        if not isinstance(answer, dict) or not isinstance(answer.get("isAuthorized"), bool):
            raise failed("http", f"{function} answered {answer!r}, not a simple response")
        if not answer["isAuthorized"]:
            raise forbidden("http", "Forbidden", f"{function} denied the request")
        given = answer.get("context")
        return {"lambda": dict(given) if isinstance(given, dict) else {}}
    effect = policy_effect(answer, request_event["methodArn"])
    if effect is None:
        raise failed("rest", f"{function} answered {answer!r}, not a policy")
    if effect == "Deny":
        raise forbidden(
            "rest",
            "User is not authorized to access this resource with an explicit deny",
            f"{function} denied the request",
        )
    if effect != "Allow":
        raise forbidden(
            "rest",
            "User is not authorized to access this resource",
            f"{function}'s policy does not allow {request_event['methodArn']}",
        )
    given = answer.get("context") if isinstance(answer.get("context"), dict) else {}
    return {
        "principalId": str(answer["principalId"]),
        **{str(k): rest_text(v) for k, v in given.items()},
        "integrationLatency": latency,
    }


# -- what API Gateway passes on ------------------------------------------------------------------
def token_scopes(claims: dict[str, Any]) -> list[str]:
    """The OAuth scopes a token carries, as API Gateway reads them: its ``scope`` claim (a
    space-separated string, as Cognito's access tokens and most issuers write it) and its
    ``scp`` claim (a list, or a string likewise), in that order, each once."""
    found: list[str] = []
    for name in ("scope", "scp"):
        value = claims.get(name)
        words = value.split() if isinstance(value, str) else value
        if isinstance(words, list):
            found += [str(word) for word in words if isinstance(word, str) and word]
    return list(dict.fromkeys(found))


def http_claims(claims: dict[str, Any]) -> dict[str, str]:
    """An HTTP API's ``jwt.claims``: each value a string, a list as ``[a b]``."""
    return {key: http_text(value) for key, value in claims.items()}


def http_text(value: Any) -> str:
    if isinstance(value, list):
        return "[" + " ".join(http_text(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


DATE_CLAIMS = ("exp", "iat")


def rest_claims(claims: dict[str, Any]) -> dict[str, str]:
    """A REST API's Cognito ``claims``: strings, ``exp`` and ``iat`` written as dates."""
    shown = {}
    for key, value in claims.items():
        if key in DATE_CLAIMS and isinstance(value, (int, float)):
            shown[key] = time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime(value))
        else:
            shown[key] = rest_text(value)
    return shown


def rest_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(rest_text(v) for v in value)
    return value if isinstance(value, str) else json.dumps(value)


def policy_effect(answer: Any, method_arn: str) -> str | None:
    """``Deny`` when a statement denies ``method_arn``, else ``Allow`` when one allows it,
    else ``""`` (an implicit deny); None when ``answer`` is no authorizer policy."""
    import fnmatch

    if not isinstance(answer, dict) or not answer.get("principalId"):
        return None
    document = answer.get("policyDocument")
    statements = document.get("Statement") if isinstance(document, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        return None
    effects = set()
    for statement in statements:
        if not isinstance(statement, dict):
            return None
        actions = statement.get("Action")
        resources = statement.get("Resource")
        actions = [actions] if isinstance(actions, str) else actions or []
        resources = [resources] if isinstance(resources, str) else resources or []
        acts = any(fnmatch.fnmatchcase("execute-api:Invoke", str(a)) for a in actions)
        if acts and any(fnmatch.fnmatchcase(method_arn, str(r)) for r in resources):
            effects.add(statement.get("Effect"))
    return "Deny" if "Deny" in effects else "Allow" if "Allow" in effects else ""


def local_identity(access_key: str) -> dict[str, Any]:
    """The signer as a REST API's ``identity`` shows it; locally the account is serve's."""
    from tight_tasks.serve import ACCOUNT

    return {
        "accessKey": access_key,
        "accountId": ACCOUNT,
        "caller": access_key,
        "user": access_key,
        "userArn": f"arn:aws:iam::{ACCOUNT}:user/local",
    }


def sigv4_signature(request: HttpRequest, signed: Any, stamp: str, secret: str) -> str:
    """The SigV4 signature of ``request`` over the headers it says it signed, with botocore."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    names = set(signed["signed"].split(";"))
    headers = {k: v for k, v in request.headers if k.lower() in names}
    host = request.header("host") or "127.0.0.1"
    aws = AWSRequest(
        method=request.method,
        url=f"http://{host}{request.target}",
        headers=headers,
        data=request.body,
    )
    aws.context["timestamp"] = stamp
    signer = SigV4Auth(Credentials(signed["key"], secret), signed["service"], signed["region"])
    return str(signer.signature(signer.string_to_sign(aws, signer.canonical_request(aws)), aws))


def published_keys(issuer: str, api: str) -> Any:
    """The issuer's JWKS, found by OpenID discovery as API Gateway finds it."""
    import jwt
    import requests

    try:
        found = requests.get(issuer.rstrip("/") + "/.well-known/openid-configuration", timeout=10)
        found.raise_for_status()
        keys = requests.get(found.json()["jwks_uri"], timeout=10)
        keys.raise_for_status()
        return jwt.PyJWKSet.from_dict(keys.json())
    except (requests.RequestException, ValueError, KeyError, jwt.PyJWTError) as error:
        raise failed(
            api,
            f"cannot fetch {issuer}'s keys ({error}); give them in a file: jwks_file: keys.json",
        ) from None


def gate(api: LocalApi) -> Gate:
    """The API's gate, made on first use; made again when the routes or settings changed,
    so no authorizer's cached answer outlives an edit of it."""
    if api.gate is None or api.gate.stamp != api.routes_stamp:
        api.gate = Gate(api)
    return api.gate  # type: ignore[no-any-return]
