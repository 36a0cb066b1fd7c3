"""Removes credentials from anything a recording is about to write.

Recordings are committed and read in review, so before a byte is written: signed and
secret headers are replaced, AWS access key ids, secret keys and session tokens are masked
wherever they appear in bodies, and values under credential-like keys are masked.
"""

import re
from typing import Any

REDACTED = "REDACTED"

SECRET_HEADERS = frozenset(
    (
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-amz-security-token",
        "x-amz-date",
        "x-amz-content-sha256",
        "x-api-key",
        "x-amz-signature",
    )
)
SECRET_QUERY_PARAMETERS = (
    "X-Amz-Signature",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
    "X-Amz-Date",
    "Signature",
    "AWSAccessKeyId",
    "api_key",
    "access_token",
)
# Keys whose values are secrets wherever they appear in JSON or botocore's parsed responses.
SECRET_KEYS = re.compile(
    r"^(secret_?access_?key|aws_secret_access_key|session_?token|security_?token|"
    r"access_?key_?id|aws_access_key_id|password|client_?secret|refresh_?token|"
    r"id_?token|access_?token|authorization|cookie|set-cookie|x-amz-security-token)$",
    re.IGNORECASE,
)
# Access key ids (AKIA..., ASIA...), and the key/token values that follow their names in
# text bodies such as STS's XML or an INI-style credentials dump.
ACCESS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA|ANPA|AGPA)[A-Z0-9]{12,20}\b")
NAMED_SECRET = re.compile(
    r"(?P<name>SecretAccessKey|SessionToken|SecurityToken|aws_secret_access_key|"
    r"aws_session_token|secretAccessKey|sessionToken)"
    r"(?P<sep>\"?\s*[:=>]\s*\"?|</?\w*>)(?P<value>[A-Za-z0-9/+=]{16,})"
)


def scrub_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Mask key ids, named secrets and any of ``secrets`` (exact values) in ``text``."""
    for secret in secrets:
        if secret and len(secret) >= 8:
            text = text.replace(secret, REDACTED)
    text = ACCESS_KEY_ID.sub(REDACTED, text)
    return NAMED_SECRET.sub(lambda m: m.group("name") + m.group("sep") + REDACTED, text)


def scrub_data(value: Any, secrets: tuple[str, ...] = ()) -> Any:
    """A copy of ``value`` (dicts, lists, strings) with secrets masked."""
    if isinstance(value, dict):
        return {
            key: REDACTED
            if isinstance(key, str) and SECRET_KEYS.match(key) and value[key] not in (None, "")
            else scrub_data(value[key], secrets)
            for key in value
        }
    if isinstance(value, list):
        return [scrub_data(item, secrets) for item in value]
    if isinstance(value, str):
        return scrub_text(value, secrets)
    if isinstance(value, bytes):
        try:
            return scrub_text(value.decode("utf-8"), secrets).encode("utf-8")
        except UnicodeDecodeError:
            return value
    return value


def scrub_headers(headers: dict[str, Any], secrets: tuple[str, ...] = ()) -> dict[str, Any]:
    """Headers with secret ones replaced and the rest scrubbed as text."""
    clean: dict[str, Any] = {}
    for name, value in headers.items():
        if name.lower() in SECRET_HEADERS:
            clean[name] = [REDACTED] if isinstance(value, list) else REDACTED
        else:
            clean[name] = scrub_data(value, secrets)
    return clean
