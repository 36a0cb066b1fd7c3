"""The one scrubbing policy for everything the test plugin writes: placebo JSON, calls.json,
vcrpy cassettes and expectation files.

Recordings are committed and read in review, so before a byte is written every secret is
replaced by one fixed marker, ``REDACTED``:

- values under secret *names*: headers, query and fragment parameters, form fields, XML
  elements (CDATA too), ``name=value`` pairs inside any string (an error message) and JSON
  keys at any depth whose name is a known secret (Authorization, Cookie, ``access_token``,
  ``code``...) or is one by the shared list (token, secret, password, ``DB_PASS``,
  ``STRIPE_KEY``, ``DATABASE_URL``...). Beneath such a name every string is masked, whatever
  the shape; a name/value record naming a secret (``{"name": "DB_PASS", "value": ...}``,
  CloudFormation parameters) has its value masked;
- the parameters of signed URLs (S3 ``X-Amz-*``, GCS ``X-Goog-*``, Azure ``sig``,
  CloudFront ``Signature``/``Key-Pair-Id``/``Policy``);
- AWS responses: ``Credentials`` of any service, Secrets Manager secrets, SSM
  ``SecureString`` values, KMS ``Plaintext``, Cognito ``AuthenticationResult``;
- secret *values* wherever they stand, in keys too: JWTs (signed or encrypted), AWS access
  key ids, URL passwords, the recording's own credentials, the values of secret-named
  ``env.yml`` keys, and every secret masked by name so far (what the code sent included);
- the app's own rules from tight.yml (``testing: {scrub: {keys: [...], patterns: [...]}}``).

The policy is deterministic, so a request scrubbed for recording and the same request
scrubbed at playback are equal and cassettes still match.
"""

import json
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# The one list of secret names, shared with the template's NoEcho (tight.testing may import
# the toolkit: it never ships).
from tight_tasks.secret_names import is_secret_name

MARKER = "REDACTED"

# Names that are secrets whatever their words: headers (compared lowercased) ...
SECRET_NAMES = frozenset(
    (
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "x-auth-token",
        "x-amz-security-token",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-date",  # not secret, but a presigned URL's changes with every run
        "plaintext",  # KMS Decrypt / GenerateDataKey
    )
)
# Query parameters of signed URLs: Azure SAS's sig, CloudFront's Signature, Key-Pair-Id and
# Policy, and every X-Amz-* / X-Goog-* parameter but the three that only describe the
# signing (a policy, credential or token an app's URL carries is a secret; the date changes
# with every run).
SIGNED_URL_PARAMS = frozenset(("sig", "signature", "key-pair-id", "policy"))
SIGNING_PREFIXES = ("x-amz-", "x-goog-")
SIGNING_DESCRIPTION = frozenset(
    f"{prefix}{name}"
    for prefix in SIGNING_PREFIXES
    for name in ("algorithm", "expires", "signedheaders")
)
# ... and the OAuth 2.0 / OpenID Connect fields, exactly as those specs spell them (so an
# AWS error's "Code" stays readable while an authorization "code" is masked).
OAUTH_FIELDS = frozenset(
    ("access_token", "refresh_token", "id_token", "client_secret", "code", "password")
)
# Under these keys every string is a secret (STS/Cognito credentials, Cognito tokens).
SECRET_SUBTREES = frozenset(("credentials", "authenticationresult"))
# Under any other secret name every string is masked too, whatever the shape beneath it
# ({"password": {"current": ...}}, SQS MessageAttributes under AuthToken), except in these
# lists AWS names after a secret but fills with records of names, ids and dates: they are
# scrubbed field by field (Secrets Manager's ListSecrets, ECR's authorization data, IAM's
# access key metadata).
RECORD_LISTS = frozenset(
    ("secretlist", "secretversionstostages", "authorizationdata", "accesskeymetadata")
)
# The data type beside a value (SQS/SNS message attributes) says how to read it, not what
# it is: kept, so code branching on it does the same in playback.
DATA_TYPE = re.compile(r"(?:String|Number|Binary)(?:\.[\w.-]{0,64})?")
# A record naming a setting beside its value: ECS/Batch/CodeBuild environment entries,
# CloudFormation parameters and outputs, SSM parameters, tags, Cognito user attributes,
# Elastic Beanstalk option settings. When the name is secret, the value is.
NAME_VALUE_KEYS = (
    ("name", "value"),
    ("Name", "Value"),
    ("key", "value"),
    ("Key", "Value"),
    ("ParameterKey", "ParameterValue"),
    ("OutputKey", "OutputValue"),
    ("OptionName", "Value"),
)

JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{2,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*")
# An encrypted JWT (JWE compact form): a JSON header, then encrypted key (empty with "dir"),
# IV, ciphertext and tag.
JWE = re.compile(
    r"\beyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"
)
ACCESS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA|ANPA|AGPA)[A-Z0-9]{12,20}\b")
# <SessionToken>...</SessionToken> in XML bodies (STS, the query protocol services), its
# text plain or in a CDATA section.
XML_ELEMENT = re.compile(
    r"<(?P<name>[\w:.-]+)(?P<attrs>\s[^<>]*)?(?<!/)>"
    r"(?:<!\[CDATA\[(?P<cdata>[\s\S]*?)\]\]>|(?P<value>[^<]+))</(?P=name)>"
)
# The password of a URL's userinfo (postgres://user:password@host, https://u:p@host).
USERINFO = re.compile(
    r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/@:\"'<>]*:)(?P<value>[^\s/@\"'<>]+)@"
)
# A query or fragment parameter of a URL standing in text: a presigned URL in a response's
# data, an OAuth redirect's Location (...?code=...&state=..., #access_token=...).
QUERY_PARAM = re.compile(r"(?P<head>[?&#](?P<name>[^=&?#\s\"'<>]+)=)(?P<value>[^&#\s\"'<>]+)")
PRIVATE_KEY = re.compile(
    r"-----BEGIN (?P<kind>[A-Z0-9 ]*PRIVATE KEY)-----.*?-----END (?P=kind)-----", re.DOTALL
)
# name=value, name: value, "name": "value" or 'name': 'value' standing in text. Only the
# name and separator are matched, so a name inside a plain name's value is still found
# ("failed: password=x"); the value is read after a secret name. The name starts a word,
# so a long word is not tried at each of its letters.
_NAMED = r"(?<![\w.-])(?P<name>[\w.-]+)"
# In a body of no known format (plain text, NDJSON) any colon or equals sign separates ...
NAMED_VALUE = re.compile(_NAMED + r"[\"']?\s*[:=]\s*")
# ... while in any other string (an error message, an exception's text) a colon does only
# before a space or a quote, so that paths (/v1/sessions:batchCreate) and times stay.
NAMED_VALUE_IN_TEXT = re.compile(_NAMED + r"(?:[\"']\s*:\s*|\s*=\s*|\s*:(?=[\s\"'])\s*)")
# The value: quoted whole, or bare up to a space, a quote, a separator or a CDATA's end
# (after an auth scheme, "Authorization: Bearer <token>", the credential that follows).
SECRET_VALUE = re.compile(
    r"(?P<q>[\"'])(?P<quoted>(?:(?!(?P=q))[^\\\n]|\\.)+)(?P=q)"
    r"|(?P<value>(?:(?i:bearer|basic|digest|token|negotiate)[ \t]+(?=[^\s\"]))?"
    r"(?:[^\s\"&,;<>\]]|\](?!\]>))+)"
)
# A multipart/form-data field: its name, then its value up to the next boundary.
MULTIPART_FIELD = re.compile(
    r"(?P<head>Content-Disposition:[^\r\n]*;\s*name=\"(?P<name>[^\"]*)\"[^\r\n]*\r?\n"
    r"(?:[^\r\n]+\r?\n)*\r?\n)(?P<value>.*?)(?=\r?\n--)",
    re.DOTALL | re.IGNORECASE,
)

# A value hunted everywhere must be long and unusual enough not to mask ordinary data.
MIN_HUNTED_LENGTH = 8
ORDINARY = frozenset(("true", "false", "yes", "no", "none", "null", "localhost"))


def _huntable(value: str) -> bool:
    return len(value) >= MIN_HUNTED_LENGTH and value.lower() not in ORDINARY and MARKER not in value


class ScrubPolicy:
    """What to mask, and the functions that mask it in each shape a recording holds.

    ``keys``: extra secret names (case-insensitive); ``patterns``: regular expressions
    whose matches are masked in every string; ``values``: exact secret values masked
    wherever they appear (those shorter than 8 characters are ignored).
    """

    def __init__(
        self,
        keys: Iterable[str] = (),
        patterns: Iterable[str | re.Pattern[str]] = (),
        values: Iterable[str] = (),
        learned: set[str] | None = None,
    ) -> None:
        self.keys = frozenset(str(key).lower() for key in keys)
        self.patterns = tuple(re.compile(p) if isinstance(p, str) else p for p in patterns)
        self.values = tuple(v for v in (str(v) for v in values if v) if _huntable(v))
        # Secrets masked by name (a SecretString, an access_token) are hunted from then on,
        # by this policy and every one derived from it: the app may pass them on under an
        # innocent name, or echo them in a response.
        self.learned = learned if learned is not None else set()
        self._hunted: tuple[str, ...] = ()
        self._hunted_from = -1

    def with_values(self, values: Iterable[str]) -> "ScrubPolicy":
        """This policy, also hunting ``values`` (a recording's own credentials)."""
        return ScrubPolicy(self.keys, self.patterns, (*self.values, *values), self.learned)

    def learn(self, value: Any) -> None:
        """Hunt ``value`` (a secret just masked by name) wherever it appears from now on."""
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if not isinstance(value, str):
            return
        for candidate in (value, value.split(" ", 1)[-1]):  # "Bearer <token>"
            if _huntable(candidate):
                self.learned.add(candidate)

    def hunted(self) -> tuple[str, ...]:
        """The exact values masked wherever they appear, each also as it stands encoded
        (URL, base64, JSON, XML), longest first (so a secret that contains another is
        masked whole)."""
        if self._hunted_from != len(self.learned):
            values = {form for v in (*self.values, *self.learned) for form in encodings(v)}
            self._hunted = tuple(sorted(values, key=lambda v: (-len(v), v)))
            self._hunted_from = len(self.learned)
        return self._hunted

    def secret_values_of(self, env: dict[str, str]) -> "ScrubPolicy":
        """This policy, also hunting the values of the secret-named keys of ``env`` and
        the password of every URL in it (``DATABASE_URL: postgres://app:password@db/x``)."""
        passwords = (
            match.group("value")
            for value in env.values()
            if isinstance(value, str)
            for match in USERINFO.finditer(value)
        )
        from urllib.parse import unquote

        secrets = [v for k, v in env.items() if self.is_secret_name(k)]
        return self.with_values([*secrets, *(unquote(p) for p in passwords)])

    # -- names -------------------------------------------------------------------------
    def is_secret_name(self, name: Any) -> bool:
        if not isinstance(name, str) or not name:
            return False
        lowered = name.lower()
        if lowered in self.keys or lowered in SECRET_NAMES or name in OAUTH_FIELDS:
            return True
        return is_secret_name(name)

    def is_secret_in_text(self, name: str) -> bool:
        """A name whose value is masked where ``name=value`` stands in any string: the
        shared list, the app's keys and the secret headers, not OAuth's bare ``code`` (an
        error message's "code: 403" stays)."""
        lowered = name.lower()
        return lowered in self.keys or lowered in SECRET_NAMES or is_secret_name(name)

    def is_secret_param(self, name: Any) -> bool:
        """A query, form or fragment parameter holding a secret: a secret name, or one of
        a signed URL's (``sig``, ``Signature``, ``X-Amz-Credential``, ``X-Goog-Signature``)."""
        if not isinstance(name, str) or self.is_secret_name(name):
            return isinstance(name, str)
        lowered = name.lower()
        if lowered in SIGNED_URL_PARAMS:
            return True
        return lowered.startswith(SIGNING_PREFIXES) and lowered not in SIGNING_DESCRIPTION

    # -- values ------------------------------------------------------------------------
    def text(self, text: str, loose: bool = False) -> str:
        """``text`` with hunted values, patterns, JWTs, key ids, URL passwords, secret URL
        parameters, secret XML elements and ``name=value`` pairs masked; ``loose`` (a body
        of no known format) also takes ``name:value`` and multipart fields."""
        for value in self.hunted():
            if value in text:
                text = text.replace(value, MARKER)
        for pattern in self.patterns:
            text = pattern.sub(MARKER, text)
        if "eyJ" in text:
            text = JWE.sub(MARKER, JWT.sub(MARKER, text))
        text = ACCESS_KEY_ID.sub(MARKER, text)
        if "-----BEGIN" in text:
            text = PRIVATE_KEY.sub(MARKER, text)
        if "://" in text:
            text = USERINFO.sub(self._userinfo, text)
        if ("?" in text or "#" in text) and "=" in text:
            text = QUERY_PARAM.sub(self._query_param, text)
        if "<" in text:
            text = XML_ELEMENT.sub(self._xml_element, text)
        if loose:
            if "form-data" in text:
                text = MULTIPART_FIELD.sub(self._multipart_field, text)
            text = self._named_values(text, NAMED_VALUE, self.is_secret_name)
        elif "=" in text or ":" in text:
            text = self._named_values(text, NAMED_VALUE_IN_TEXT, self.is_secret_in_text)
        return text

    def _named_values(
        self, text: str, names: re.Pattern[str], is_secret: Callable[[str], bool]
    ) -> str:
        """``text`` with the value after each secret ``name=`` (as ``names`` finds them)
        masked, quoted values keeping their quotes."""
        kept: list[str] = []
        done = 0
        for found in names.finditer(text):
            if found.start() < done or not is_secret(found.group("name")):
                continue  # a plain name, or a name inside a value just masked
            value = SECRET_VALUE.match(text, found.end())
            if value is None:
                continue
            secret = (
                value.group("value") if value.group("quoted") is None else value.group("quoted")
            )
            if secret == MARKER:
                continue
            self.learn(secret)
            quote = value.group("q") or ""
            kept += (text[done : found.end()], quote, MARKER, quote)
            done = value.end()
        return "".join((*kept, text[done:])) if kept else text

    def _xml_element(self, match: re.Match[str]) -> str:
        cdata = match.group("cdata")
        value = match.group("value") if cdata is None else cdata
        if not self.is_secret_name(match.group("name")) or value in (MARKER, ""):
            return match.group(0)
        name = match.group("name")
        self.learn(value)
        masked = MARKER if cdata is None else f"<![CDATA[{MARKER}]]>"
        return f"<{name}{match.group('attrs') or ''}>{masked}</{name}>"

    def _query_param(self, match: re.Match[str]) -> str:
        value = match.group("value")
        if value == MARKER or not self.is_secret_param(match.group("name")):
            return match.group(0)
        from urllib.parse import unquote_plus

        self.learn(unquote_plus(value))
        return match.group("head") + MARKER

    def _userinfo(self, match: re.Match[str]) -> str:
        if match.group("value") == MARKER:
            return match.group(0)
        from urllib.parse import unquote

        self.learn(unquote(match.group("value")))
        return f"{match.group('head')}{MARKER}@"

    def _multipart_field(self, match: re.Match[str]) -> str:
        value = match.group("value")
        if not value or value == MARKER or not self.is_secret_param(match.group("name")):
            return match.group(0)
        self.learn(value)
        return match.group("head") + MARKER

    def data(self, value: Any, secret: bool = False) -> Any:
        """A copy of ``value`` (parsed JSON, a botocore response) with secrets masked;
        ``secret``: ``value`` stands under a secret name.

        Only strings are masked: numbers, booleans and the structure stay, so code reading
        a recorded response still finds the fields it expects. Under a secret name every
        string beneath is masked, whatever the shape (a DynamoDB attribute value, SQS
        message attributes, a list of keys); a record whose name field names a secret
        (``{"name": "DB_PASS", "value": ...}``) has its value masked."""
        if isinstance(value, dict):
            if "__class__" in value:  # placebo's encoding of a datetime or a stream
                return self._placebo_object(value, secret)
            if secret:
                return self._masked(value)
            secret_value = self._secret_value_key(value)
            clean: dict[Any, Any] = {}
            for key, item in value.items():
                lowered = key.lower() if isinstance(key, str) else ""
                if lowered in SECRET_SUBTREES or (secret_value is not None and key == secret_value):
                    item = self._masked(item)
                elif lowered in RECORD_LISTS:
                    item = self.data(item)
                else:
                    item = self.data(item, self.is_secret_name(key))
                clean[self._key(key, clean)] = item
            if value.get("Type") == "SecureString" and isinstance(value.get("Value"), str):
                clean["Value"] = self._masked(value["Value"])  # SSM, read WithDecryption
            return clean
        if isinstance(value, list):
            return [self.data(item, secret) for item in value]
        if secret:
            return self._masked(value)
        if isinstance(value, str):
            return self._string(value)
        if isinstance(value, bytes):
            try:
                return self._string(value.decode("utf-8")).encode("utf-8")
            except UnicodeDecodeError:
                return self._binary(value)
        return value

    def _secret_value_key(self, record: dict[Any, Any]) -> str | None:
        """The value field of a name/value record whose name is a secret, else None."""
        for name_key, value_key in NAME_VALUE_KEYS:
            if value_key in record and self.is_secret_name(record.get(name_key)):
                return value_key
        return None

    def _key(self, key: Any, taken: dict[Any, Any]) -> Any:
        """A mapping's key with secrets masked in it (a hunted value used as a key), made
        unique again if masking made two keys one, so the structure stays."""
        if not isinstance(key, str) or not key:
            return key
        clean = self.text(key)
        if clean == key:
            return key
        unique, number = clean, 1
        while unique in taken:
            number += 1
            unique = f"{clean}-{number}"
        return unique

    def _string(self, value: str) -> str:
        """A string scrubbed as text, or, when it holds a JSON document (an SQS message
        body, an SNS message, a config blob in a DynamoDB item), key by key inside it."""
        stripped = value.strip()
        if stripped[:1] in ("{", "[") and stripped[-1:] in ("}", "]"):
            try:
                parsed = json.loads(value)
                scrubbed = self.data(parsed)
            except RecursionError:  # a document too deep to walk: its text, loosely
                return self.text(value, loose=True)
            except ValueError:  # not JSON
                pass
            else:
                if scrubbed == parsed:
                    return value
                return json.dumps(scrubbed, ensure_ascii=False)
        return self.text(value)

    def _binary(self, value: bytes) -> bytes:
        """Bytes that are not UTF-8 text, with the hunted values masked where they stand."""
        for hunted in self.hunted():
            encoded = hunted.encode("utf-8")
            if encoded in value:
                value = value.replace(encoded, MARKER.encode())
        return value

    def _masked(self, value: Any) -> Any:
        """Every string in ``value`` masked, its shape kept."""
        if isinstance(value, dict):
            if "__class__" in value:
                return self._placebo_object(value, True)
            clean: dict[Any, Any] = {}
            for key, item in value.items():
                kept = key == "DataType" and isinstance(item, str) and DATA_TYPE.fullmatch(item)
                clean[self._key(key, clean)] = item if kept else self._masked(item)
            return clean
        if isinstance(value, list):
            return [self._masked(item) for item in value]
        if isinstance(value, (str, bytes)) and value:
            self.learn(value)
            return MARKER if isinstance(value, str) else MARKER.encode()
        return value

    def _placebo_object(self, value: dict[str, Any], secret: bool) -> dict[str, Any]:
        """placebo's tagged values: a datetime (numbers only) is kept; bytes and streams
        (base64 under "body") are scrubbed inside, or masked whole under a secret name."""
        if value.get("__class__") not in ("bytes", "StreamingBody"):
            return dict(value)
        encoded = value.get("body")
        if not isinstance(encoded, str):
            return dict(value)
        import base64

        raw = base64.b64decode(encoded)
        if secret:
            self.learn(raw)
            self.learn(encoded)  # the app may pass the bytes on base64-encoded
            clean = MARKER.encode()
        else:
            clean = self.body(raw, "")
        return {**value, "body": base64.b64encode(clean).decode()}

    # -- HTTP --------------------------------------------------------------------------
    def headers(self, headers: dict[str, Any]) -> dict[str, Any]:
        """Headers with secret-named ones masked and the rest scrubbed as text."""
        clean: dict[str, Any] = {}
        for name, value in headers.items():
            if self.is_secret_name(name):
                clean[name] = self._masked(value)
            elif isinstance(value, list):
                clean[name] = [self._header_value(v) for v in value]
            else:
                clean[name] = self._header_value(value)
        return clean

    def _header_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, bytes):  # requests sends bytes header values as given
            try:
                return self.text(value.decode("latin-1")).encode("latin-1")
            except UnicodeEncodeError:  # a hunted value wider than latin-1
                return self._binary(value)
        return value

    def pairs(self, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Query, fragment or form fields with secret-named ones masked (and secrets in
        the names themselves)."""
        return [
            (self.text(k), self._masked(v) if self.is_secret_param(k) else self.text(v))
            for k, v in pairs
        ]

    def url(self, url: str) -> str:
        """``url`` with its password, secret query and fragment parameters and hunted
        values masked."""
        parts = urlsplit(url)
        netloc = parts.netloc
        if parts.password and parts.password != MARKER:  # https://user:password@host
            from urllib.parse import unquote

            self.learn(unquote(parts.password))
            user, _, host = netloc.rpartition("@")
            netloc = f"{user.split(':', 1)[0]}:{MARKER}@{host}"
        path = self.text(parts.path)
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            clean = self.pairs(pairs)
            if clean != pairs:
                query = urlencode(clean)
        fragment = parts.fragment  # a redirect's #access_token=...&state=...
        if fragment:
            if "=" in fragment:
                pairs = parse_qsl(fragment, keep_blank_values=True)
                clean = self.pairs(pairs)
                if clean != pairs:
                    fragment = urlencode(clean)
            else:
                fragment = self.text(fragment)
        if (netloc, path, query, fragment) == parts[1:]:
            return url
        return urlunsplit((parts.scheme, netloc, path, query, fragment))

    def body(self, body: Any, content_type: str) -> Any:
        """A request or response body (str or bytes) scrubbed by its content type: JSON at
        any depth, form fields, or text. Unchanged bodies keep their exact bytes."""
        if not body or not isinstance(body, (str, bytes)):
            return body
        if isinstance(body, bytes):
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                clean_bytes = body
                if "multipart" in content_type.lower():  # fields beside a binary file
                    fields = MULTIPART_FIELD.sub(self._multipart_field, body.decode("latin-1"))
                    clean_bytes = fields.encode("latin-1")
                clean_bytes = self._binary(clean_bytes)
                return body if clean_bytes == body else clean_bytes
        else:
            text = body
        kind = content_type.lower()
        clean = None
        stripped = text.lstrip()
        if "json" in kind or stripped[:1] in ("{", "["):
            try:
                parsed = json.loads(text)
                scrubbed = self.data(parsed)
            except (ValueError, RecursionError):  # not JSON, or too deep: scrubbed as text
                pass
            else:
                clean = text if scrubbed == parsed else json.dumps(scrubbed)
        if clean is None and "x-www-form-urlencoded" in kind:
            pairs = parse_qsl(text, keep_blank_values=True)
            scrubbed_pairs = self.pairs(pairs)
            clean = text if scrubbed_pairs == pairs else urlencode(scrubbed_pairs)
        if clean is None:
            clean = self.text(text, loose=True)
        if clean == text:
            return body
        return clean.encode("utf-8") if isinstance(body, bytes) else clean


def encodings(value: str) -> set[str]:
    """``value`` and the forms it takes when sent on: URL-encoded (path or form), base64,
    escaped in a JSON string and in XML text."""
    import base64
    from html import escape
    from urllib.parse import quote, quote_plus

    raw = value.encode("utf-8")
    forms = {
        value,
        quote(value),
        quote(value, safe=""),
        quote_plus(value),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        escape(value, quote=False),
        escape(value),
    }
    return {form for form in forms if _huntable(form)}


def header_value(headers: dict[str, Any], name: str) -> str:
    """One header's value from a dict of headers (any case; a list gives its first)."""
    for key, value in headers.items():
        if str(key).lower() == name:
            if isinstance(value, list):
                value = value[0] if value else ""
            return value.decode("latin-1") if isinstance(value, bytes) else str(value)
    return ""
