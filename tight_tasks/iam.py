"""IAM's rules, as far as Tight needs them: the shape of a policy statement (checked when
tight.yml's ``functions.<name>.permissions`` is read), whether a statement's action and
resource patterns match a call (actions case-insensitively; ``*`` and ``?`` in both, a
``*`` ending an ARN segment reaching past its colons), and the ARN patterns a role's
CloudFormation resources stand for (``Fn::GetAtt``, ``Fn::Sub``, ``Ref``, ``Fn::Join``).

``doit permissions`` (``tight_tasks.permissions``) evaluates a role with it; the template
(``tight_tasks.policies``) renders the statements.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

STATEMENT_KEYS = ("Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition")
ACTION = re.compile(r"\*|[a-z0-9-]+:[A-Za-z0-9*?]+")
INTRINSICS = ("Fn::Sub", "Fn::GetAtt", "Ref", "Fn::Join")
# What a resource string may say through ``Fn::Sub``: the stage and the stack's pseudo
# parameters (IAM's own policy variables, ``${aws:username}``, stay as they are).
SUBSTITUTED = re.compile(r"\$\{(Stage|AWS::[A-Za-z]+)\}")
ANY_SEGMENT = "*"  # what a role's region or account stands for: any, in that ARN segment


# -- statements in tight.yml -----------------------------------------------------------------
def _strings(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statement_problem(statement: Any, key: str) -> tuple[str, str] | None:
    """``(dotted key, problem)`` of the first thing wrong with one statement, or None."""
    if not isinstance(statement, dict):
        return key, (
            f"{key} must be an IAM statement: a mapping of Effect, Action and Resource "
            "(e.g. {Effect: Allow, Action: s3:GetObject, Resource: 'arn:aws:s3:::bucket/*'})"
        )
    for name in statement:
        if name not in STATEMENT_KEYS:
            import difflib

            close = difflib.get_close_matches(str(name), STATEMENT_KEYS, n=1, cutoff=0.5)
            hint = f"did you mean {close[0]}?" if close else "known: " + ", ".join(STATEMENT_KEYS)
            return f"{key}.{name}", f"{key}: unknown key {name}; {hint}"
    if statement.get("Effect") not in ("Allow", "Deny"):
        return f"{key}.Effect", f"{key}.Effect must be Allow or Deny"
    for field, other in (("Action", "NotAction"), ("Resource", "NotResource")):
        present = [name for name in (field, other) if name in statement]
        if len(present) != 1:
            return key, f"{key} needs {field} (or {other}), exactly one of the two"
        values = _strings(statement[present[0]])
        if not values:
            return f"{key}.{present[0]}", f"{key}.{present[0]} is empty"
        for index, value in enumerate(values):
            where = f"{key}.{present[0]}" + (
                f"[{index}]" if isinstance(statement[present[0]], list) else ""
            )
            if field == "Action":
                if not isinstance(value, str) or not ACTION.fullmatch(value):
                    return where, (
                        f"{where} must be an action such as dynamodb:GetItem or s3:Get*, "
                        f"not {value!r}"
                    )
            elif isinstance(value, dict):
                if len(value) != 1 or next(iter(value)) not in INTRINSICS:
                    return where, (
                        f"{where}: a mapping here must be one of {', '.join(INTRINSICS)}"
                    )
            elif not isinstance(value, str) or not (value == "*" or value.startswith("arn:")):
                return where, (
                    f"{where} must be an ARN (arn:aws:s3:::bucket/*; ${{Stage}}, "
                    f"${{AWS::Region}} and ${{AWS::AccountId}} are filled in) or *, not {value!r}"
                )
    if "Condition" in statement and not isinstance(statement["Condition"], dict):
        return f"{key}.Condition", f"{key}.Condition must be a mapping of IAM conditions"
    if "Sid" in statement and not re.fullmatch(r"[A-Za-z0-9]*", str(statement["Sid"])):
        return f"{key}.Sid", f"{key}.Sid may hold only letters and digits"
    return None


def permissions_problem(value: Any, key: str) -> tuple[str, str] | None:
    """The first problem of a ``permissions`` list, as ``statement_problem`` says it."""
    if not isinstance(value, list) or not value:
        return key, f"{key} must be a list of IAM statements (Effect, Action, Resource)"
    for index, statement in enumerate(value):
        problem = statement_problem(statement, f"{key}[{index}]")
        if problem is not None:
            return problem
    return None


def rendered_statement(statement: dict[str, Any]) -> dict[str, Any]:
    """A statement from tight.yml as the template writes it: a resource string naming
    ``${Stage}`` or ``${AWS::...}`` becomes an ``Fn::Sub``."""
    rendered = dict(statement)
    for field in ("Resource", "NotResource"):
        if field in rendered:
            values = [
                {"Fn::Sub": v} if isinstance(v, str) and SUBSTITUTED.search(v) else v
                for v in _strings(rendered[field])
            ]
            rendered[field] = values if isinstance(statement[field], list) else values[0]
    return rendered


# -- matching ---------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4096)
def _action_pattern(pattern: str) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.IGNORECASE | re.DOTALL)


def action_matches(pattern: str, action: str) -> bool:
    """IAM's action match: ``dynamodb:get*`` allows ``dynamodb:GetItem``."""
    return bool(_action_pattern(pattern).fullmatch(action))


@functools.lru_cache(maxsize=4096)
def _resource_pattern(pattern: str) -> re.Pattern[str]:
    parts = []
    for index, char in enumerate(pattern):
        if char == "*":
            # Ending a segment (before a colon, or at the end), it may reach past colons;
            # inside one, it stays there.
            ends_segment = index + 1 == len(pattern) or pattern[index + 1] == ":"
            parts.append(".*" if ends_segment else "[^:]*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL)


def resource_matches(pattern: str, arn: str | None, account_known: bool = True) -> bool:
    """IAM's resource match (case-sensitive). ``arn`` None is a call whose resource the
    recording cannot name: any resource pattern allows it. A call whose account the
    recording does not know is allowed by a pattern naming any account."""
    if arn is None:
        return True
    if not account_known and pattern.startswith("arn:"):
        parts = pattern.split(":", 5)
        if len(parts) == 6:
            parts[4] = ANY_SEGMENT
            pattern = ":".join(parts)
    return bool(_resource_pattern(pattern).fullmatch(arn))


@dataclass(frozen=True)
class Statement:
    """One statement of a role, its resources resolved to ARN patterns (None: a resource
    the check cannot resolve, which allows nothing)."""

    effect: str
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str | None, ...]
    not_resource: bool

    def covers_action(self, action: str) -> bool:
        found = any(action_matches(p, action) for p in self.actions)
        return found != self.not_action

    def covers_resource(self, arn: str | None, account_known: bool = True) -> bool:
        found = any(
            p is not None and resource_matches(p, arn, account_known) for p in self.resources
        )
        return found != self.not_resource

    def covers(self, action: str, arn: str | None, account_known: bool = True) -> bool:
        return self.covers_action(action) and self.covers_resource(arn, account_known)


def allows(statements: Iterable[Statement], action: str, arn: str | None, known: bool) -> bool:
    """IAM's evaluation within one policy: an explicit Deny wins, then any Allow; else denied."""
    allowed = False
    for statement in statements:
        if statement.covers(action, arn, known):
            if statement.effect == "Deny":
                return False
            allowed = True
    return allowed


# -- a template's resources as ARN patterns ---------------------------------------------------
class Resolver:
    """Turns the CloudFormation values of a rendered template into ARN patterns: the
    stage is ``stage``; the region and the account, unknown before deploy, are any."""

    PSEUDO = {
        "AWS::Region": ANY_SEGMENT,
        "AWS::AccountId": ANY_SEGMENT,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
    }

    def __init__(self, document: dict[str, Any], stage: str) -> None:
        self.resources = document.get("Resources") or {}
        self.parameters = document.get("Parameters") or {}
        self.stage = stage

    def resolve(self, value: Any) -> str | None:
        if isinstance(value, str):
            return value
        if not isinstance(value, dict) or len(value) != 1:
            return None
        ((kind, argument),) = value.items()
        if kind == "Ref":
            return self.ref(str(argument))
        if kind == "Fn::GetAtt":
            parts = argument.split(".", 1) if isinstance(argument, str) else argument
            return self.attribute(str(parts[0]), str(parts[1])) if len(parts) == 2 else None
        if kind == "Fn::Sub":
            text, names = (argument, {}) if isinstance(argument, str) else argument
            return self.substitute(str(text), names or {})
        if kind == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
            joined = [self.resolve(part) for part in argument[1]]
            return None if None in joined else str(argument[0]).join(joined)  # type: ignore[arg-type]
        return None

    def substitute(self, text: str, names: dict[str, Any]) -> str | None:
        unresolved = False

        def one(match: re.Match[str]) -> str:
            nonlocal unresolved
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in names:
                found = self.resolve(names[name])
            elif "." in name:
                found = self.attribute(*name.split(".", 1))
            else:
                found = self.ref(name)
            if found is None:
                unresolved = True
                return ""
            return found

        result = re.sub(r"\$\{([^}]+)\}", one, text)
        return None if unresolved else result

    def ref(self, name: str) -> str | None:
        if name in self.PSEUDO:
            return self.PSEUDO[name]
        if name == "Stage":
            return self.stage
        if name in self.parameters:
            default = self.parameters[name].get("Default")
            return None if default is None else str(default)
        resource = self.resources.get(name) or {}
        kind, properties = resource.get("Type"), resource.get("Properties") or {}
        if kind == "AWS::SNS::Topic":
            topic = self.resolve(properties.get("TopicName"))
            return f"arn:aws:sns:*:*:{topic}" if topic else None
        named = {
            "AWS::DynamoDB::Table": "TableName",
            "AWS::S3::Bucket": "BucketName",
            "AWS::Kinesis::Stream": "Name",
        }
        return self.resolve(properties.get(named[kind])) if kind in named else None

    def attribute(self, name: str, attribute: str) -> str | None:
        resource = self.resources.get(name) or {}
        kind, properties = resource.get("Type"), resource.get("Properties") or {}
        if kind == "AWS::DynamoDB::Table":
            table = self.resolve(properties.get("TableName"))
            if table is None:
                return None
            arn = f"arn:aws:dynamodb:*:*:table/{table}"
            return {"Arn": arn, "StreamArn": f"{arn}/stream/*"}.get(attribute)
        simple: dict[tuple[Any, str], tuple[str, str]] = {
            ("AWS::SQS::Queue", "Arn"): ("arn:aws:sqs:*:*:{}", "QueueName"),
            ("AWS::Kinesis::Stream", "Arn"): ("arn:aws:kinesis:*:*:stream/{}", "Name"),
            ("AWS::S3::Bucket", "Arn"): ("arn:aws:s3:::{}", "BucketName"),
            ("AWS::SNS::Topic", "TopicArn"): ("arn:aws:sns:*:*:{}", "TopicName"),
        }
        shape = simple.get((kind, attribute))
        if shape is None:
            return None
        value = self.resolve(properties.get(shape[1]))
        return shape[0].format(value) if value else None

    def statement(self, raw: dict[str, Any]) -> Statement:
        not_action = "NotAction" in raw
        not_resource = "NotResource" in raw
        actions = _strings(raw.get("NotAction" if not_action else "Action") or [])
        resources = _strings(raw.get("NotResource" if not_resource else "Resource") or [])
        return Statement(
            effect=str(raw.get("Effect", "Allow")),
            actions=tuple(str(a) for a in actions),
            not_action=not_action,
            resources=tuple(self.resolve(r) for r in resources),
            not_resource=not_resource,
        )
