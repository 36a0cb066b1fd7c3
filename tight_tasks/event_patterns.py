"""EventBridge's event patterns, matched locally: which functions an event put on a bus
reaches under ``doit serve``. ``matches(pattern, event)`` follows EventBridge's rules;
``pattern_problem(pattern)`` says why a pattern EventBridge would refuse is wrong.

A pattern mirrors the event's structure. Every field it names must match (and), a list of
values matches when any one does (or), and a field of the event that is an array matches
when any of its elements does. A value in the list is a literal (string, number, boolean,
null) or a filter: ``prefix``, ``suffix``, ``equals-ignore-case``, ``wildcard``,
``anything-but`` (a value, a list, or a ``prefix``/``suffix``/``equals-ignore-case``/
``wildcard`` inside it), ``numeric`` (``[">", 0, "<=", 5]``), ``exists`` (true or false)
and ``cidr``. ``{"$or": [pattern, ...]}`` matches when any of its patterns does.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

MISSING = object()  # a field the event does not have
NUMERIC_OPS = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "=": lambda a, b: a == b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
FILTERS = (
    "prefix",
    "suffix",
    "equals-ignore-case",
    "wildcard",
    "anything-but",
    "numeric",
    "exists",
    "cidr",
)


def matches(pattern: dict[str, Any], event: Any) -> bool:
    """True when ``event`` (a dict, as EventBridge delivers it) matches ``pattern``."""
    return _object_matches(pattern, event)


def _object_matches(pattern: dict[str, Any], value: Any) -> bool:
    if isinstance(value, list):  # an array of objects: any element may match
        return any(_object_matches(pattern, element) for element in value)
    for key, wanted in pattern.items():
        if key == "$or":
            if not any(_object_matches(branch, value) for branch in wanted):
                return False
            continue
        field = value.get(key, MISSING) if isinstance(value, dict) else MISSING
        if isinstance(wanted, dict):
            # A missing object matches as its leaves do: all missing (exists: false).
            if not _object_matches(wanted, field):
                return False
            continue
        if not _leaf_matches(wanted, field):
            return False
    return True


def _leaf_matches(matchers: list[Any], field: Any) -> bool:
    """A field's list of matchers against its value: any matcher, any array element."""
    if isinstance(field, dict):
        # Filters apply to leaves only: an object field matches nothing but exists: false
        # (EventBridge does not count an object as an existing leaf).
        return any(isinstance(m, dict) and m.get("exists") is False for m in matchers)
    values = field if isinstance(field, list) else [field]
    if field is not MISSING and isinstance(field, list) and not field:
        values = [MISSING]  # an empty array has no values: like a missing leaf
    for matcher in matchers:
        if isinstance(matcher, dict):
            name, argument = next(iter(matcher.items()))
            if name == "exists":
                present = field is not MISSING and values != [MISSING]
                if present == bool(argument):
                    return True
                continue
            if any(v is not MISSING and _filter_matches(name, argument, v) for v in values):
                return True
        elif any(v is not MISSING and _equal(matcher, v) for v in values):
            return True
    return False


def _equal(literal: Any, value: Any) -> bool:
    if _is_number(literal) and _is_number(value):
        return float(literal) == float(value)
    if isinstance(literal, bool) or isinstance(value, bool) or literal is None or value is None:
        return literal is value
    return type(literal) is type(value) and bool(literal == value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _filter_matches(name: str, argument: Any, value: Any) -> bool:
    if name == "numeric":
        if not _is_number(value):
            return False
        pairs = zip(argument[::2], argument[1::2], strict=True)
        return all(NUMERIC_OPS[op](value, bound) for op, bound in pairs)
    if name == "anything-but":
        return not _anything_but_excludes(argument, value)
    if name == "cidr":
        return _in_network(argument, value)
    if not isinstance(value, str):
        return False
    if name == "equals-ignore-case":
        return value.casefold() == str(argument).casefold()
    if name == "wildcard":
        return _wildcard(argument).fullmatch(value) is not None
    if name in ("prefix", "suffix"):
        fold = isinstance(argument, dict)  # {"prefix": {"equals-ignore-case": "x"}}
        text = str(argument["equals-ignore-case"]) if fold else str(argument)
        subject = value.casefold() if fold else value
        text = text.casefold() if fold else text
        return subject.startswith(text) if name == "prefix" else subject.endswith(text)
    return False


def _anything_but_excludes(argument: Any, value: Any) -> bool:
    """True when ``value`` is among what ``anything-but`` excludes."""
    if isinstance(argument, dict):
        name, inner = next(iter(argument.items()))
        if name == "equals-ignore-case":
            words = inner if isinstance(inner, list) else [inner]
            return isinstance(value, str) and value.casefold() in {str(w).casefold() for w in words}
        if name in ("prefix", "suffix", "wildcard"):
            options = inner if isinstance(inner, list) else [inner]
            return any(_filter_matches(name, option, value) for option in options)
        return False
    excluded = argument if isinstance(argument, list) else [argument]
    return any(_equal(item, value) for item in excluded)


@lru_cache(maxsize=256)
def _wildcard(text: str) -> re.Pattern[str]:
    """``*`` matches any run of characters; ``\\*`` is a literal star."""
    parts = re.split(r"(\\\*|\*)", text)
    regex = "".join(".*" if p == "*" else re.escape("*" if p == "\\*" else p) for p in parts)
    return re.compile(regex, re.DOTALL)


def _in_network(network: Any, value: Any) -> bool:
    import ipaddress

    if not isinstance(value, str):
        return False
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(str(network), strict=False)
    except ValueError:
        return False


# -- checking a pattern --------------------------------------------------------------------
def pattern_problem(pattern: Any, where: str = "pattern") -> str | None:
    """Why EventBridge would refuse ``pattern`` (``None`` when it is fine), naming the
    field: a leaf must be a list of values or filters; each filter has its own argument."""
    if not isinstance(pattern, dict) or not pattern:
        return f"{where} must be a non-empty mapping of fields, such as {{source: [my.app]}}"
    for key, wanted in pattern.items():
        here = f"{where}.{key}"
        if key == "$or":
            if not isinstance(wanted, list) or len(wanted) < 2:
                return f"{here} must be a list of two or more patterns"
            for i, branch in enumerate(wanted):
                problem = pattern_problem(branch, f"{here}[{i}]")
                if problem:
                    return problem
        elif isinstance(wanted, dict):
            problem = pattern_problem(wanted, here)
            if problem:
                return problem
        elif isinstance(wanted, list):
            if not wanted:
                return f"{here} is an empty list; it would match nothing"
            for matcher in wanted:
                problem = _matcher_problem(matcher, here)
                if problem:
                    return problem
        else:
            return (
                f"{here} must be a list of values (such as [{_shown(wanted)}]) or a "
                "mapping of nested fields"
            )
    return None


def _shown(value: Any) -> str:
    import json

    return json.dumps(value)


def _matcher_problem(matcher: Any, here: str) -> str | None:
    if matcher is None or isinstance(matcher, (str, int, float, bool)):
        return None
    if not isinstance(matcher, dict) or len(matcher) != 1:
        return f"{here}: {_shown(matcher)} is neither a value nor one filter such as {{prefix: x}}"
    name, argument = next(iter(matcher.items()))
    if name not in FILTERS:
        return f"{here}: unknown filter {name!r}; EventBridge has {', '.join(FILTERS)}"
    if name == "exists" and not isinstance(argument, bool):
        return f"{here}: exists takes true or false"
    if name == "numeric":
        return _numeric_problem(argument, here)
    if name in ("prefix", "suffix"):
        if isinstance(argument, dict) and list(argument) == ["equals-ignore-case"]:
            argument = argument["equals-ignore-case"]
        if not isinstance(argument, str):
            return f"{here}: {name} takes a string (or {{equals-ignore-case: string}})"
    if name in ("equals-ignore-case", "wildcard", "cidr") and not isinstance(argument, str):
        return f"{here}: {name} takes a string"
    if name == "cidr":
        import ipaddress

        try:
            ipaddress.ip_network(argument, strict=False)
        except ValueError:
            return f"{here}: cidr {argument!r} is not a network such as 10.0.0.0/24"
    if name == "anything-but":
        return _anything_but_problem(argument, here)
    return None


def _numeric_problem(argument: Any, here: str) -> str | None:
    wanted = f'{here}: numeric takes operators and numbers, such as [">", 0, "<=", 5]'
    if not isinstance(argument, list) or not argument or len(argument) % 2 or len(argument) > 4:
        return wanted
    for op, bound in zip(argument[::2], argument[1::2], strict=True):
        if op not in NUMERIC_OPS or not _is_number(bound):
            return wanted
    if len(argument) == 4:
        low, high = argument[0], argument[2]
        if low not in (">", ">=") or high not in ("<", "<=") or argument[1] >= argument[3]:
            return f"{here}: a numeric range is a lower bound (> or >=) then a higher one"
    return None


def _anything_but_problem(argument: Any, here: str) -> str | None:
    if isinstance(argument, dict):
        if len(argument) != 1 or next(iter(argument)) not in (
            "prefix",
            "suffix",
            "equals-ignore-case",
            "wildcard",
        ):
            return (
                f"{here}: anything-but takes values, or one of prefix, suffix, "
                "equals-ignore-case, wildcard"
            )
        inner = next(iter(argument.values()))
        items = inner if isinstance(inner, list) else [inner]
        if not items or not all(isinstance(i, str) for i in items):
            return f"{here}: anything-but's {next(iter(argument))} takes strings"
        return None
    items = argument if isinstance(argument, list) else [argument]
    if not items or not all(isinstance(i, (str, int, float)) for i in items):
        return f"{here}: anything-but takes a value or a list of strings or numbers"
    return None
