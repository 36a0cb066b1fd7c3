"""One list of secret names: the template's NoEcho and the recording scrubber agree on it."""

from __future__ import annotations

import pytest

from tight.testing.scrub import ScrubPolicy
from tight_tasks.policies import is_secret
from tight_tasks.secret_names import is_secret_name

SECRET = [
    "API_PASSWORD",
    "DB_PASS",
    "SMTP_PWD",
    "DATABASE_URL",
    "READER_DATABASE_URL",
    "REDIS_DSN",
    "SIGNING_SK",
    "STRIPE_KEY",
    "STRIPE_API_KEY",
    "GITHUB_TOKEN",
    "CLIENT_SECRET",
    "clientSecret",
    "X-Api-Key",
    "AWS_SECRET_ACCESS_KEY",
    "PRIVATE_KEY_PEM",
    "AuthToken",
]
ORDINARY = [
    "LOG_LEVEL",
    "TABLE_NAME",
    "NextToken",
    "next_token",
    "token_type",
    "SORT_KEY",
    "IDEMPOTENCY_KEY",
    "PASSENGER_COUNT",
    "PWD",
    "author",
    "KEYBOARD",
    "SERVICE_URL",
]


@pytest.mark.parametrize("name", SECRET)
def test_secret_names_are_secret_everywhere(name):
    assert is_secret_name(name)
    assert is_secret(name), "the template marks it NoEcho"
    assert ScrubPolicy().is_secret_name(name), "the scrubber masks it"


@pytest.mark.parametrize("name", ORDINARY)
def test_ordinary_names_are_ordinary_everywhere(name):
    assert not is_secret_name(name)
    assert not is_secret(name)
    assert not ScrubPolicy().is_secret_name(name)
