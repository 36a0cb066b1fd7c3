"""Which names hold secrets: one list for the whole toolkit and the test plugin.

The template marks such env.dist.yml parameters ``NoEcho``; the recording scrubber
(``tight.testing.scrub``) masks the values under such names in every recording. A name is
secret when it contains one of the secret words (``API_TOKEN``, ``clientSecret``,
``X-Api-Key``), ends in a secret suffix (``DB_PASS``, ``SMTP_PWD``, ``SIGNING_SK``,
``STRIPE_KEY``) or is a connection URL that carries a password (``DATABASE_URL``,
``REDIS_DSN``). Pagination cursors (``NextToken``) and key-shaped names that are not
secrets (``SORT_KEY``, ``IDEMPOTENCY_KEY``) are not.
"""

import re

SECRET_WORDS = re.compile(
    r"token|secret|password|passwd|signature|credential|session|api[-_]?key|access[-_]?key|"
    r"private[-_]?key|auth(?!or(?:s|ed|ship)?(?![a-z]))",
    re.IGNORECASE,
)
# The last part of a NAME_LIKE_THIS (or name-like-this) name.
SECRET_SUFFIXES = re.compile(r"[-_](?:pass|pwd|sk|key)$", re.IGNORECASE)
# URLs and connection strings carry their password inside (postgres://app:pw@db/x).
CONNECTION_NAMES = re.compile(
    r"(?:^|[-_])(?:database|db)[-_]?url$|[-_]dsn$|^dsn$|connection[-_]?string$", re.IGNORECASE
)
NOT_SECRET = re.compile(
    # Pagination cursors carry "token", and botocore's paginators stop with an error when
    # two pages bring the same (masked) cursor; OAuth's token_type is "Bearer".
    r"^(?:(?:next|continuation|next_?continuation|pagination|next_?page|page|starting)[-_]?token|"
    r"token[-_]?type|"
    # Keys that name items, not secrets.
    r"(?:partition|sort|hash|range|primary|foreign|idempotency|cache|object|s3|routing|"
    r"dedup(?:lication)?|group|lookup)[-_]?key)$",
    re.IGNORECASE,
)


def is_secret_name(name: object) -> bool:
    """True when a value under ``name`` is a secret, to keep out of consoles and files."""
    if not isinstance(name, str) or not name or NOT_SECRET.match(name):
        return False
    return bool(
        SECRET_WORDS.search(name) or SECRET_SUFFIXES.search(name) or CONNECTION_NAMES.search(name)
    )
