"""When a schedule fires, as EventBridge reads its expression: ``rate(5 minutes)`` from the
moment the rule exists (``doit serve``'s start), ``cron(minutes hours day-of-month month
day-of-week year)`` in UTC. ``next_fire(expression, after)`` is the first firing strictly
after ``after``; ``Schedules`` fires the due functions of a set of schedules, one tick at a
time, so a clock can drive it in a thread and a test can drive it with given times.

Cron fields take ``*``, numbers, ranges (``1-5``), steps (``0/15``, ``*/10``, ``1-31/2``),
lists (``1,15``), month names (``JAN``) and day names (``MON``); day-of-week counts 1
(SUN) to 7 (SAT). ``?`` means any (one of day-of-month and day-of-week must be ``?``).
Day-of-month also takes ``L`` (its last day), ``LW`` (its last weekday) and ``15W`` (the
weekday nearest the 15th, within the month); day-of-week takes ``L`` (Saturday), ``5L``
(the month's last Thursday) and ``2#1`` (its first Monday). Expressions are checked when
tight.yml is read (``tight_tasks.aws_rules.schedule_problem``); no other syntax exists in
EventBridge, so none is left out.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
RATE_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
SEARCH_YEARS = 8  # a cron that fires on no day in this many years never fires


def _number(text: str, names: list[str], base: int) -> int:
    upper = text.upper()
    if upper in names:
        return names.index(upper) + base
    return int(text)


def _values(field_text: str, low: int, high: int, names: list[str] | None = None) -> set[int]:
    """The numbers one plain cron field (no ``L``, ``W``, ``#``, ``?``) names."""
    base = 1 if names else 0
    found: set[int] = set()
    for item in field_text.split(","):
        span, _, step_text = item.partition("/")
        step = int(step_text) if step_text else 1
        if span == "*":
            start, end = low, high
        elif "-" in span:
            first, last = span.split("-", 1)
            start, end = _number(first, names or [], base), _number(last, names or [], base)
        else:
            start = _number(span, names or [], base)
            end = high if step_text else start
        found.update(range(start, end + 1, step))
    return {n for n in found if low <= n <= high}


@dataclass(frozen=True)
class Cron:
    """A parsed cron expression; ``day_matches`` reads the day fields for one date."""

    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int]
    day_of_month: str
    day_of_week: str

    @classmethod
    def parse(cls, text: str) -> Cron:
        minutes, hours, dom, month, dow, year = text.split()
        return cls(
            frozenset(_values(minutes, 0, 59)),
            frozenset(_values(hours, 0, 23)),
            frozenset(_values(month, 1, 12, MONTHS)),
            frozenset(_values(year, 1970, 2199)),
            dom.upper(),
            dow.upper(),
        )

    def day_matches(self, day: datetime) -> bool:
        if self.day_of_month != "?":
            return _day_of_month_matches(self.day_of_month, day)
        return _day_of_week_matches(self.day_of_week, day)


def _weekday(day: datetime) -> int:
    """Cron's day of the week: 1 (Sunday) to 7 (Saturday)."""
    return (day.weekday() + 1) % 7 + 1


def _day_of_month_matches(text: str, day: datetime) -> bool:
    last = calendar.monthrange(day.year, day.month)[1]
    if text == "L":
        return day.day == last
    if text == "LW":
        target = last
        while _weekday(day.replace(day=target)) in (1, 7):
            target -= 1
        return day.day == target
    nearest = re.fullmatch(r"(\d+)W", text)
    if nearest:
        return day.day == _nearest_weekday(day, min(int(nearest.group(1)), last), last)
    return day.day in _values(text, 1, 31)


def _nearest_weekday(day: datetime, target: int, last: int) -> int:
    """The weekday nearest the ``target``th, never crossing into another month."""
    weekday = _weekday(day.replace(day=target))
    if weekday == 7:  # Saturday: the Friday before, or the Monday after on the 1st
        return target - 1 if target > 1 else target + 2
    if weekday == 1:  # Sunday: the Monday after, or the Friday before on the last day
        return target + 1 if target < last else target - 2
    return target


def _day_of_week_matches(text: str, day: datetime) -> bool:
    weekday = _weekday(day)
    if text == "L":
        return weekday == 7
    last_of = re.fullmatch(r"([1-7])L", text)
    if last_of:
        last = calendar.monthrange(day.year, day.month)[1]
        return weekday == int(last_of.group(1)) and day.day + 7 > last
    nth = re.fullmatch(r"(\w+)#([1-5])", text)
    if nth:
        wanted = _number(nth.group(1), DAYS, 1)
        return weekday == wanted and (day.day - 1) // 7 + 1 == int(nth.group(2))
    return weekday in _values(text, 1, 7, DAYS)


def rate_seconds(expression: str) -> int | None:
    """The period of ``rate(n unit)`` in seconds; None for a cron expression."""
    found = re.fullmatch(r"rate\(\s*(\d+)\s+([a-z]+?)s?\s*\)", expression.strip())
    if not found:
        return None
    return int(found.group(1)) * RATE_SECONDS[found.group(2)]


def next_fire(expression: str, after: datetime, started: datetime | None = None) -> datetime:
    """The first time strictly after ``after`` that the schedule fires (UTC). A rate fires
    every period counted from ``started`` (default: ``after``), as a rule's rate counts
    from the rule's creation."""
    after = after.astimezone(timezone.utc)
    period = rate_seconds(expression)
    if period is not None:
        origin = (started or after).astimezone(timezone.utc)
        periods = int((after - origin).total_seconds() // period) + 1
        return origin + timedelta(seconds=periods * period)
    found = re.fullmatch(r"cron\((.*)\)", expression.strip())
    if not found:
        raise ValueError(f"{expression!r} is neither rate(...) nor cron(...)")
    cron = Cron.parse(found.group(1))
    start = (after + timedelta(minutes=1)).replace(second=0, microsecond=0)
    day = start.replace(hour=0, minute=0)
    for _ in range(SEARCH_YEARS * 366):
        if day.year > max(cron.years, default=0):
            break
        if day.year in cron.years and day.month in cron.months and cron.day_matches(day):
            for hour in sorted(cron.hours):
                for minute in sorted(cron.minutes):
                    moment = day.replace(hour=hour, minute=minute)
                    if moment >= start:
                        return moment
        day += timedelta(days=1)
    raise ValueError(f"{expression!r} never fires after {after:%Y-%m-%d %H:%M} UTC")


@dataclass
class Schedules:
    """The scheduled functions of an app: ``tick(now)`` calls ``fire(function, time)`` for
    each one whose next firing is due, once per firing, and returns when the next one is."""

    expressions: dict[str, str]
    started: datetime
    fire: Callable[[str, datetime], Any]
    upcoming: dict[str, datetime] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for function, expression in self.expressions.items():
            try:
                self.upcoming[function] = next_fire(expression, self.started, self.started)
            except ValueError:
                continue  # a cron that never fires again (its years are past)

    def tick(self, now: datetime) -> datetime | None:
        for function, due in sorted(self.upcoming.items(), key=lambda item: item[1]):
            if due > now:
                continue
            self.fire(function, due)
            try:  # one firing per tick even when several were missed (a suspended laptop)
                self.upcoming[function] = next_fire(self.expressions[function], now, self.started)
            except ValueError:
                del self.upcoming[function]
        return min(self.upcoming.values(), default=None)


def scheduled_event(rule_name: str, when: datetime, region: str, account: str) -> dict[str, Any]:
    """The event a schedule rule sends when it fires at ``when``."""
    import uuid

    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{account}:rule/{rule_name}"],
        "detail": {},
    }
