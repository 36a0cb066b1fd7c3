"""When schedules fire locally: EventBridge's rate and six-field cron expressions (the
examples of its "Schedule expressions" page, and its ``L``, ``W`` and ``#`` marks)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tight_tasks.aws_rules import schedule_problem
from tight_tasks.schedules import Schedules, next_fire


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


# Thursday 3 December 2026, 12:41:30 UTC
NOW = utc(2026, 12, 3, 12, 41, 30)


@pytest.mark.parametrize(
    ("expression", "after", "fires"),
    [
        ("cron(0 10 * * ? *)", NOW, utc(2026, 12, 4, 10, 0)),  # 10:00 every day
        ("cron(15 12 * * ? *)", NOW, utc(2026, 12, 4, 12, 15)),  # today's 12:15 is past
        ("cron(0/15 * * * ? *)", NOW, utc(2026, 12, 3, 12, 45)),  # every 15 minutes
        ("cron(0 18 ? * MON-FRI *)", NOW, utc(2026, 12, 3, 18, 0)),  # weekdays at 18:00
        ("cron(0 18 ? * MON-FRI *)", utc(2026, 12, 4, 18, 0), utc(2026, 12, 7, 18, 0)),
        ("cron(0 8 1 * ? *)", NOW, utc(2027, 1, 1, 8, 0)),  # the 1st of each month
        ("cron(0/10 * ? * MON-FRI *)", utc(2026, 12, 5, 9, 0), utc(2026, 12, 7, 0, 0)),
        ("cron(0/5 8-17 ? * MON-FRI *)", utc(2026, 12, 3, 17, 56), utc(2026, 12, 4, 8, 0)),
        ("cron(0 9 ? * 2#1 *)", NOW, utc(2026, 12, 7, 9, 0)),  # the first Monday
        ("cron(0 9 ? * 6L *)", NOW, utc(2026, 12, 25, 9, 0)),  # the last Friday
        ("cron(0 9 ? * L *)", NOW, utc(2026, 12, 5, 9, 0)),  # Saturday, the week's last
        ("cron(0 10 L * ? *)", NOW, utc(2026, 12, 31, 10, 0)),  # the month's last day
        ("cron(0 10 L * ? *)", utc(2027, 2, 1), utc(2027, 2, 28, 10, 0)),
        ("cron(0 10 LW * ? *)", utc(2027, 1, 1), utc(2027, 1, 29, 10, 0)),  # 31st: a Sunday
        ("cron(0 9 15W * ? *)", utc(2027, 5, 1), utc(2027, 5, 14, 9, 0)),  # 15th: Saturday
        ("cron(0 9 1W * ? *)", utc(2027, 4, 30), utc(2027, 5, 3, 9, 0)),  # 1st: Saturday
        ("cron(0 0 1 JAN,JUL ? 2027-2028)", NOW, utc(2027, 1, 1, 0, 0)),
        ("rate(5 minutes)", NOW, NOW + timedelta(minutes=5)),
        ("rate(1 day)", NOW, NOW + timedelta(days=1)),
    ],
)
def test_next_fire(expression, after, fires):
    assert schedule_problem(expression) is None  # an expression tight.yml accepts
    assert next_fire(expression, after) == fires


def test_a_rate_counts_from_when_its_rule_began():
    started = utc(2026, 12, 3, 12, 0)
    assert next_fire("rate(1 hour)", NOW, started) == utc(2026, 12, 3, 13, 0)
    assert next_fire("rate(1 hour)", utc(2026, 12, 3, 13, 0), started) == utc(2026, 12, 3, 14, 0)


def test_a_cron_whose_years_are_past_never_fires():
    with pytest.raises(ValueError, match="never fires"):
        next_fire("cron(0 0 1 1 ? 2020)", NOW)


def test_schedules_fire_each_due_function_once_per_firing():
    fired: list[tuple[str, datetime]] = []
    schedules = Schedules(
        {"report": "cron(0/15 * * * ? *)", "ping": "rate(1 minute)", "old": "cron(0 0 1 1 ? 2020)"},
        NOW,
        lambda function, when: fired.append((function, when)),
    )
    assert "old" not in schedules.upcoming
    assert schedules.tick(NOW) == NOW + timedelta(minutes=1)
    assert fired == []
    assert schedules.tick(utc(2026, 12, 3, 12, 45)) == utc(2026, 12, 3, 12, 45, 30)
    assert fired == [("ping", NOW + timedelta(minutes=1)), ("report", utc(2026, 12, 3, 12, 45))]
    # An hour asleep (a suspended laptop): one firing each, not sixty.
    fired.clear()
    schedules.tick(utc(2026, 12, 3, 13, 46))
    assert sorted(name for name, _ in fired) == ["ping", "report"]
