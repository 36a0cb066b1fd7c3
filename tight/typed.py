"""Typed handlers: a handler's annotations, compiled once into checks run on each request.

``def post_handler(body: NewItem, **kwargs)`` gets the JSON body as a ``NewItem`` (a
dataclass or a TypedDict), ``query: ItemQuery`` the query string, and any other annotated
parameter (``id: int``) the path parameter of that name, converted from its text. A request
that does not fit is answered 422 with every problem at once, each with where it is (``in``:
body, query or path; ``path``: a JSON pointer) and what was expected; the handler is not
called. JSON values are never coerced (``"5"`` is not an int); query and path values are
text on the wire, converted by the declared type.

The return annotation describes a successful answer (``-> Item``, ``-> Annotated[Item,
Status(201)]``). With ``TIGHT_CHECK_ANSWERS=1`` (set by the test plugin and ``doit serve``,
never deployed) each answer is checked against it and what differs is logged and kept in
``answer_problems``, which the plugin turns into a failed test.

The lambda-proxy controller imports this module only for a handler with annotations, so an
untyped function never loads it. Each ``Shape`` is one node of a compiled type; ``doit
openapi`` reads the same nodes to write JSON Schema, so the document says what is checked.
"""

import json
import os
import sys
import typing

from tight.constraints import AllowExtra, Length, Pattern, Range, Status

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Problems = list[tuple[str, str, str]]
else:
    Any = Problems = object

# The keyword arguments every handler may take, never read from the request's parts.
PLAIN = ("event", "context", "principal_id", "request")
CHECK_ANSWERS = "TIGHT_CHECK_ANSWERS"
BAD: Any = object()  # what a check returns for a value it refused (the problem is recorded)

# What the test plugin and the log read: one line per answer that differed from its annotation.
answer_problems: "list[str]" = []


def pointer(at: str, key: object) -> str:
    """``at`` extended by one JSON-pointer token (``~`` and ``/`` escaped, RFC 6901)."""
    token = str(key)
    if "~" in token or "/" in token:
        token = token.replace("~", "~0").replace("/", "~1")
    return at + "/" + token


def got(value: Any) -> str:
    """What was sent, short: a scalar as JSON (cut at 40 characters), a container by kind."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    text = json.dumps(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


# -- shapes: one node per type ----------------------------------------------------------------


class Shape:
    """One compiled type. ``check`` takes a JSON value, ``parse`` a query or path string;
    both return the value the handler gets, or ``BAD`` with the problem appended."""

    __slots__ = ("expected",)
    expected: str

    def check(self, value: Any, at: str, problems: Problems) -> Any:
        raise NotImplementedError

    def parse(self, text: str, at: str, problems: Problems) -> Any:
        problems.append(
            (at, self.expected + " (which a query or path string cannot give)", got(text))
        )
        return BAD

    def wants_decimal(self) -> bool:
        return False


class AnyValue(Shape):
    __slots__ = ()

    def __init__(self) -> None:
        self.expected = "any value"

    def check(self, value: Any, at: str, problems: Problems) -> Any:
        return value

    def parse(self, text: str, at: str, problems: Problems) -> Any:
        return text


class Str(Shape):
    __slots__ = ()

    def __init__(self) -> None:
        self.expected = "a string"

    def check(self, value: Any, at: str, problems: Problems) -> Any:
        if type(value) is str:
            return value
        problems.append((at, "a string", got(value)))
        return BAD

    def parse(self, text: str, at: str, problems: Problems) -> Any:
        return text


def _numeric_text(text: str) -> bool:
    """Only the characters of a JSON number: Python's own parsers also take ``1_000``,
    ``nan``, ``inf``, spaces and other scripts' digits, which no client means as a number."""
    return bool(text) and text.isascii() and not text.strip("0123456789.-+eE")


class Int(Shape):
    __slots__ = ()

    def __init__(self) -> None:
        self.expected = "an integer"

    def check(self, value: Any, at: str, problems: Problems) -> Any:
        if type(value) is int:
            return value
        problems.append((at, "an integer", got(value)))
        return BAD

    def parse(self, text: str, at: str, problems: Problems) -> Any:
        digits = text[1:] if text[:1] == "-" else text
        if digits.isascii() and digits.isdigit():
            return int(text)
        problems.append((at, "an integer", got(text)))
        return BAD


class Float(Shape):
    __slots__ = ()

    def __init__(self) -> None:
        self.expected = "a number"

    def check(self, value: Any, at: str, problems: Problems) -> Any:
        kind = type(value)
        if kind is float or kind is int:
            return float(value)
        decimal = sys.modules.get("decimal")
        if decimal is not None and kind is decimal.Decimal and value.is_finite():
            return float(value)
        problems.append((at, "a number", got(value)))
        return BAD

    def parse(self, text: str, at: str, problems: Problems) -> Any:
        if _numeric_text(text):
            try:
                return float(text)
            except ValueError:
                pass
        problems.append((at, "a number", got(text)))
        return BAD


class DecimalNumber(Shape):
    """A number kept exact: the body is parsed with ``Decimal`` when a type asks for one."""

    __slots__ = ("decimal",)

    def __init__(self, decimal: Any) -> None:
        self.expected = "a number"
        self.decimal = decimal

    def check(self, value: Any, at: str, problems: Problems) -> Any:
        kind = type(value)
        if kind is self.decimal:
            if value.is_finite():
                return value
        elif kind is int:
            return self.decimal(value)
        elif kind is float:  # a body decoded elsewhere (a test's dict): its shortest repr
            return self.decimal(repr(value))
        problems.append((at, "a number", got(value)))
        return BAD

    def parse(self, text: str, at: str, problems: Problems) -> Any:
        if _numeric_text(text):
            try:
                value = self.decimal(text)
                if value.is_finite():
                    return value
            except ArithmeticError:
                pass
        problems.append((at, "a number", got(text)))
        return BAD

    def wants_decimal(self) -> bool:
        return True


class Bool(Shape):
    __slots__ = ()

    def __init__(self) -> None:
        self.expected = "true or false"

    def check(self, value: Any, at: str, problems: Problems) -> Any:
        if value is True or value is False:
            return value
        problems.append((at, "true or false", got(value)))
        return BAD

    def parse(self, text: str, at: str, problems: Problems) -> Any:
        if text == "true":
            return True
        if text == "false":
            return False
        problems.append((at, "true or false", got(text)))
        return BAD


class Null(Shape):
    __slots__ = ()

    def __init__(self) -> None:
        self.expected = "null"

    def check(self, value: Any, at: str, problems: Problems) -> Any:
        if value is None:
            return None
        problems.append((at, "null", got(value)))
        return BAD

    def parse(self, text: str, at: str, problems: Problems) -> Any:
        if text == "null":
            return None
        problems.append((at, "null", got(text)))
        return BAD


class Moment(Shape):
    """An ISO 8601 date-time or date, sent as a string."""

    __slots__ = ("format", "kind")

    def __init__(self, kind: Any, format: str) -> None:
        self.kind = kind
        self.format = format
        self.expected = (
            "an ISO 8601 date-time string" if format == "date-time" else "an ISO 8601 date string"
        )

    def check(self, value: Any, at: str, problems: Problems) -> Any:
        if type(value) is str:
            return self.parse(value, at, problems)
        problems.append((at, self.expected, got(value)))
        return BAD

    def parse(self, text: str, at: str, problems: Problems) -> Any:
        shown = text
        if self.format == "date-time":
            if text[-1:] in "Zz" and text:  # Python 3.10 reads no "Z"; RFC 3339 writes it
                text = text[:-1] + "+00:00"
            ok = len(text) >= 16 and text[10:11] in "Tt "
        else:
            ok = len(text) == 10
        if ok:
            try:
                return self.kind.fromisoformat(text)
            except ValueError:
                pass
        problems.append((at, self.expected, got(shown)))
        return BAD


class Choice(Shape):
    """One of fixed values: a ``Literal`` (values as given) or an ``Enum`` (its members)."""

    __slots__ = ("pairs",)

    def __init__(self, pairs: "list[tuple[Any, Any]]") -> None:
        # (the JSON value, what the handler gets)
        self.pairs = pairs
        self.expected = "one of " + ", ".join(json.dumps(v, default=str) for v, _ in pairs)

    @property
    def values(self) -> "list[Any]":
        return [v for v, _ in self.pairs]

    def check(self, value: Any, at: str, problems: Problems) -> Any:
        for wire, given in self.pairs:
            if value == wire and type(value) is type(wire):
                return given
        problems.append((at, self.expected, got(value)))
        return BAD

    def parse(self, text: str, at: str, problems: Problems) -> Any:
        for wire, given in self.pairs:
            if text == (wire if type(wire) is str else json.dumps(wire)):
                return given
        problems.append((at, self.expected, got(text)))
        return BAD


class Optional(Shape):
    """``T | None``: null, or a ``T`` whose own problems are reported as they are."""

    __slots__ = ("inner",)

    def __init__(self, inner: Shape) -> None:
        self.inner = inner
        self.expected = inner.expected + " or null"

    def check(self, value: Any, at: str, problems: Problems) -> Any:
        if value is None:
            return None
        return self.inner.check(value, at, problems)

    def parse(self, text: str, at: str, problems: Problems) -> Any:
        return self.inner.parse(text, at, problems)

    def wants_decimal(self) -> bool:
        return self.inner.wants_decimal()


class Union(Shape):
    """The first of several types the value fits, in the order written."""

    __slots__ = ("options",)

    def __init__(self, options: "list[Shape]") -> None:
        self.options = options
        self.expected = " or ".join(o.expected for o in options)

    def check(self, value: Any, at: str, problems: Problems) -> Any:
        for option in self.options:
            found: Problems = []
            result = option.check(value, at, found)
            if not found:
                return result
        problems.append((at, self.expected, got(value)))
        return BAD

    def parse(self, text: str, at: str, problems: Problems) -> Any:
        for option in self.options:
            found: Problems = []
            result = option.parse(text, at, found)
            if not found:
                return result
        problems.append((at, self.expected, got(text)))
        return BAD

    def wants_decimal(self) -> bool:
        return any(o.wants_decimal() for o in self.options)


class List(Shape):
    __slots__ = ("item",)

    def __init__(self, item: Shape) -> None:
        self.item = item
        self.expected = "a list"

    def check(self, value: Any, at: str, problems: Problems) -> Any:
        if type(value) is not list:
            problems.append((at, "a list", got(value)))
            return BAD
        item = self.item
        plain = _PLAIN_TYPES.get(type(item))
        if plain is not None:  # a list of plain strings, integers or booleans: one pass
            for v in value:
                if type(v) is not plain:
                    break
            else:
                return list(value)
        check = item.check
        return [check(v, f"{at}/{i}", problems) for i, v in enumerate(value)]

    def parse(self, text: str, at: str, problems: Problems) -> Any:
        """A path segment or one query value: comma-separated items."""
        return self.parse_all(text.split(",") if text else [], at, problems)

    def parse_all(self, texts: "list[str]", at: str, problems: Problems) -> Any:
        """A query parameter given several times (``?tag=a&tag=b``)."""
        parse = self.item.parse
        return [parse(t, f"{at}/{i}", problems) for i, t in enumerate(texts)]

    def wants_decimal(self) -> bool:
        return self.item.wants_decimal()


class Dict(Shape):
    __slots__ = ("value",)

    def __init__(self, value: Shape) -> None:
        self.value = value
        self.expected = "an object"

    def check(self, value: Any, at: str, problems: Problems) -> Any:
        if type(value) is not dict:
            problems.append((at, "an object", got(value)))
            return BAD
        check = self.value.check
        return {k: check(v, pointer(at, k), problems) for k, v in value.items()}

    def wants_decimal(self) -> bool:
        return self.value.wants_decimal()


class Field:
    __slots__ = ("name", "required", "shape")

    def __init__(self, name: str, shape: Shape, required: bool) -> None:
        self.name, self.shape, self.required = name, shape, required


class Object(Shape):
    """A dataclass (the handler gets an instance) or a TypedDict (a dict), by its fields."""

    __slots__ = ("build", "cls", "extra", "fields", "name", "plan")

    def __init__(self, cls: Any, build: "Callable[..., Any] | None") -> None:
        self.cls = cls
        self.name = cls.__name__
        self.build = build  # the dataclass itself; None for a TypedDict
        self.fields: dict[str, Field] = {}  # filled after creation: a type may refer to itself
        self.extra = False
        self.expected = f"an object ({self.name})"
        # (name, its pointer token, its check, required), made on the first check, once
        # every field is there.
        self.plan: list[tuple[str, str, Any, bool]] | None = None

    def _unknown(self, key: str, value: Any, at: str, problems: Problems) -> None:
        known = ", ".join(self.fields) or "none"
        problems.append((pointer(at, key), f"no such field ({self.name} has: {known})", got(value)))

    def _built(self, values: "dict[str, Any]", at: str, problems: Problems) -> Any:
        if self.build is None:
            return values
        try:
            return self.build(**values)
        except (TypeError, ValueError) as error:  # its __post_init__ refused the values
            problems.append((at, f"{self.expected}: {error}", "values it refused"))
            return BAD

    def check(self, value: Any, at: str, problems: Problems) -> Any:
        if type(value) is not dict:
            problems.append((at, self.expected, got(value)))
            return BAD
        before = len(problems)
        fields = self.fields
        plan = self.plan
        if plan is None:
            plan = self.plan = [
                (name, pointer("", name), field.shape.check, field.required)
                for name, field in fields.items()
            ]
        out: dict[str, Any] = {}
        for name, token, check, required in plan:
            item = value.get(name, BAD)
            if item is not BAD:
                out[name] = check(item, at + token, problems)
            elif required:
                problems.append((at + token, fields[name].shape.expected, "nothing"))
        if len(value) != len(out) or len(problems) != before:
            for key, item in value.items():
                if key not in fields:
                    if not self.extra:
                        self._unknown(key, item, at, problems)
                    elif self.build is None:
                        out[key] = item
        if len(problems) != before:
            return BAD
        return self._built(out, at, problems)

    def parse_query(self, multi: "dict[str, list[str]]", at: str, problems: Problems) -> Any:
        """The query string's parameters as this type's fields (a list field takes every
        value given for its name, any other field the last)."""
        before = len(problems)
        out: dict[str, Any] = {}
        for name, field in self.fields.items():
            texts = multi.get(name)
            if texts:
                shape = field.shape
                inner = shape.inner if type(shape) is Optional else shape
                if type(inner) is List:
                    out[name] = inner.parse_all(texts, pointer(at, name), problems)
                elif type(inner) is Constrained and type(inner.inner) is List:
                    value = inner.inner.parse_all(texts, pointer(at, name), problems)
                    out[name] = inner.narrow(value, pointer(at, name), problems)
                else:
                    out[name] = shape.parse(texts[-1], pointer(at, name), problems)
            elif field.required:
                problems.append((pointer(at, name), field.shape.expected, "nothing"))
        for key, texts in multi.items():
            if key not in self.fields:
                if not self.extra:
                    self._unknown(key, texts[-1] if texts else "", at, problems)
                elif self.build is None:
                    out[key] = texts[-1] if texts else ""
        if len(problems) != before:
            return BAD
        return self._built(out, at, problems)

    def wants_decimal(self) -> bool:
        return any(f.shape.wants_decimal() for f in self.fields.values() if f.shape is not self)


class Constrained(Shape):
    """A type narrowed by ``tight.constraints`` markers: bounds, length, pattern."""

    __slots__ = ("inner", "length", "pattern", "range", "regex")

    def __init__(
        self, inner: Shape, range: "Range | None", length: "Length | None", pattern: "str | None"
    ) -> None:
        self.inner, self.range, self.length, self.pattern = inner, range, length, pattern
        self.regex: Any = None
        if pattern is not None:
            import re

            self.regex = re.compile(pattern)
        words = []
        if range is not None:
            for key, sign in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
                bound = getattr(range, key)
                if bound is not None:
                    words.append(f"{sign} {bound}")
        if length is not None:
            unit = "characters" if _is_text(inner) else "items"
            if length.min is not None and length.max is not None:
                words.append(f"of {length.min} to {length.max} {unit}")
            elif length.min is not None:
                words.append(f"of at least {length.min} {unit}")
            else:
                words.append(f"of at most {length.max} {unit}")
        if pattern is not None:
            words.append(f"matching {pattern}")
        self.expected = inner.expected + " " + ", ".join(words)

    def check(self, value: Any, at: str, problems: Problems) -> Any:
        before = len(problems)
        result = self.inner.check(value, at, problems)
        if len(problems) != before:
            return self._refused(at, problems, before)
        return self.narrow(result, at, problems)

    def parse(self, text: str, at: str, problems: Problems) -> Any:
        before = len(problems)
        result = self.inner.parse(text, at, problems)
        if len(problems) != before:
            return self._refused(at, problems, before)
        return self.narrow(result, at, problems)

    def _refused(self, at: str, problems: Problems, before: int) -> Any:
        """The inner type's own problem at this place says the whole expectation."""
        for index in range(before, len(problems)):
            if problems[index][0] == at:
                problems[index] = (at, self.expected, problems[index][2])
        return BAD

    def narrow(self, value: Any, at: str, problems: Problems) -> Any:
        if value is None or value is BAD:
            return value
        bounds = self.range
        if bounds is not None and not (
            (bounds.ge is None or value >= bounds.ge)
            and (bounds.gt is None or value > bounds.gt)
            and (bounds.le is None or value <= bounds.le)
            and (bounds.lt is None or value < bounds.lt)
        ):
            problems.append((at, self.expected, got(value)))
            return BAD
        length = self.length
        if length is not None:
            size = len(value)
            if (length.min is not None and size < length.min) or (
                length.max is not None and size > length.max
            ):
                problems.append((at, self.expected, f"{got(value)} ({size})"))
                return BAD
        if self.regex is not None and not self.regex.search(value):
            problems.append((at, self.expected, got(value)))
            return BAD
        return value

    def wants_decimal(self) -> bool:
        return self.inner.wants_decimal()


def _is_text(shape: Shape) -> bool:
    while type(shape) is Optional:
        shape = shape.inner
    return type(shape) is Str


# -- compiling a type -------------------------------------------------------------------------


class Unsupported(TypeError):
    """An annotation Tight cannot check; the message names the type and what to use."""


SCALARS: "dict[Any, Shape]" = {
    str: Str(),
    int: Int(),
    float: Float(),
    bool: Bool(),
    type(None): Null(),
    None: Null(),
}
_ANY = AnyValue()
# The shapes whose values are one plain JSON type, checked by type alone in a list's fast path.
_PLAIN_TYPES: "dict[Any, type]" = {Str: str, Int: int, Bool: bool}
_NOT_REQUIRED_MARK = getattr(typing, "NotRequired", None)  # 3.11+
_REQUIRED_MARK = getattr(typing, "Required", None)
_NOT_REQUIRED = tuple(
    marker
    for marker in (getattr(typing, "NotRequired", None), getattr(typing, "Required", None))
    if marker is not None
)


def shape_of(tp: Any, seen: "dict[Any, Object] | None" = None) -> Shape:
    """The compiled check for a type; ``Unsupported`` for one Tight cannot check."""
    if seen is None:
        seen = {}
    found = SCALARS.get(tp) if tp.__hash__ is not None else None
    if found is not None:
        return found
    if tp is typing.Any or tp is object:
        return _ANY
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return _annotated(shape_of(args[0], seen), tp.__metadata__)
    if origin is typing.Literal:
        return Choice([(v.value if _is_enum(v) else v, v) for v in args])
    if origin is typing.Union or type(tp).__name__ == "UnionType":
        options = [a for a in args if a is not type(None)]
        inner = (
            shape_of(options[0], seen)
            if len(options) == 1
            else Union([shape_of(a, seen) for a in options])
        )
        return Optional(inner) if len(options) < len(args) else inner
    if tp is list or origin is list:
        return List(shape_of(args[0], seen) if args else _ANY)
    if tp is dict or origin is dict:
        if args and args[0] is not str:
            raise Unsupported(f"{_name(tp)}: JSON object keys are strings; use dict[str, ...]")
        return Dict(shape_of(args[1], seen) if args else _ANY)
    if origin in _NOT_REQUIRED:
        return shape_of(args[0], seen)
    if isinstance(tp, type):
        decimal = sys.modules.get("decimal")
        if decimal is not None and tp is decimal.Decimal:
            return DecimalNumber(tp)
        moments = sys.modules.get("datetime")
        if moments is not None and tp is moments.datetime:
            return Moment(tp, "date-time")
        if moments is not None and tp is moments.date:
            return Moment(tp, "date")
        if _is_enum_class(tp):
            return Choice([(member.value, member) for member in tp])  # type: ignore[attr-defined]
        if "__dataclass_fields__" in tp.__dict__ or typing.is_typeddict(tp):
            return _object(tp, seen)
    raise Unsupported(
        f"{_name(tp)} is not a type Tight can check; use str, int, float, bool, None, "
        "Decimal, datetime, date, Literal, an Enum, a union, list[...], dict[str, ...], "
        "a dataclass or a TypedDict"
    )


def _name(tp: Any) -> str:
    if typing.get_origin(tp) is not None:  # list[int] would name itself "list"
        return repr(tp).replace("typing.", "")
    return getattr(tp, "__qualname__", None) or repr(tp)


def _is_enum(value: Any) -> bool:
    enum = sys.modules.get("enum")
    return enum is not None and isinstance(value, enum.Enum)


def _is_enum_class(tp: Any) -> bool:
    enum = sys.modules.get("enum")
    return enum is not None and issubclass(tp, enum.Enum)


def _annotated(inner: Shape, markers: "tuple[Any, ...]") -> Shape:
    bounds = length = pattern = None
    for marker in markers:
        if isinstance(marker, Range):
            bounds = marker
        elif isinstance(marker, Length):
            length = marker
        elif isinstance(marker, Pattern):
            pattern = marker.regex
        elif isinstance(marker, AllowExtra):
            target = inner.inner if type(inner) is Optional else inner
            if type(target) is not Object:
                raise Unsupported("AllowExtra() goes on a dataclass or a TypedDict")
            opened = Object(target.cls, target.build)
            opened.fields, opened.extra = target.fields, True
            inner = Optional(opened) if type(inner) is Optional else opened
    if bounds is None and length is None and pattern is None:
        return inner
    return Constrained(inner, bounds, length, pattern)


def _object(tp: Any, seen: "dict[Any, Object]") -> Object:
    if tp in seen:
        return seen[tp]
    hints = typing.get_type_hints(tp, include_extras=True)
    dataclass = "__dataclass_fields__" in tp.__dict__
    shape = seen[tp] = Object(tp, tp if dataclass else None)
    if dataclass:
        dataclasses = sys.modules["dataclasses"]
        missing = dataclasses.MISSING
        for field in dataclasses.fields(tp):
            if not field.init:
                continue
            required = field.default is missing and field.default_factory is missing
            shape.fields[field.name] = Field(
                field.name, shape_of(hints[field.name], seen), required
            )
    else:
        required_keys = tp.__required_keys__
        for name, hint in hints.items():
            # Written as strings (``from __future__ import annotations``), NotRequired is not
            # seen by TypedDict itself on 3.11: the resolved hint says it.
            marker = typing.get_origin(hint)
            if marker is not None and marker is _NOT_REQUIRED_MARK:
                required = False
            elif marker is not None and marker is _REQUIRED_MARK:
                required = True
            else:
                required = name in required_keys
            shape.fields[name] = Field(name, shape_of(hint, seen), required)
    return shape


# -- a handler's parameters -------------------------------------------------------------------


class Parameter:
    """One typed parameter: where it comes from (``body``, ``query``, ``path``) and its type."""

    __slots__ = ("default", "name", "required", "shape", "where")

    def __init__(self, name: str, where: str, shape: Shape, required: bool, default: Any) -> None:
        self.name, self.where, self.shape = name, where, shape
        self.required, self.default = required, default


class Answer:
    """What the return annotation says a successful answer is: its status and body."""

    __slots__ = ("shape", "status")

    def __init__(self, shape: "Shape | None", status: int) -> None:
        self.shape, self.status = shape, status


_NO_DEFAULT: Any = object()
# Return annotations that describe nothing: an envelope dict, a Response, anything.
_UNDESCRIBED = ("dict", "Dict", "Response", "Any", "object", "Mapping")


def _answer(hint: Any) -> "Answer | None":
    status = None
    if typing.get_origin(hint) is typing.Annotated:
        for marker in hint.__metadata__:
            if isinstance(marker, Status):
                status = marker.code
    plain = typing.get_args(hint)[0] if status is not None else hint
    bare = typing.get_origin(plain) or plain
    name = getattr(bare, "__name__", None) or getattr(bare, "_name", None)
    if bare is dict and typing.get_args(plain)[1:] in ((), (typing.Any,), (object,)):
        return None if status is None else Answer(None, status)
    if name in _UNDESCRIBED and bare is not dict:
        return None if status is None else Answer(None, status)
    if plain is None or plain is type(None):
        return Answer(None, status or 204)
    return Answer(shape_of(hint), status or 200)


class Binder:
    """A handler's annotations, compiled: ``call`` checks the request's parts, then calls
    the handler with what it declared, or raises ``InvalidRequest`` with every problem."""

    __slots__ = (
        "answer_compiled",
        "body",
        "check_answers",
        "compiled_answer",
        "decimal",
        "handler",
        "params",
        "passes",
        "query",
        "returns",
    )

    def __init__(self, handler: Any) -> None:
        self.handler = handler
        where = f"{handler.__qualname__} in {handler.__module__}"
        try:
            hints = typing.get_type_hints(handler, include_extras=True)
        except Exception as error:  # noqa: BLE001 - a name the annotations cannot find
            raise Unsupported(f"{where}: its annotations cannot be read: {error}") from None
        code = handler.__code__
        count = code.co_argcount + code.co_kwonlyargcount
        names = code.co_varnames[:count]
        defaults = dict(handler.__kwdefaults__ or {})
        positional = handler.__defaults__ or ()
        if positional:
            first = code.co_argcount - len(positional)
            defaults.update(
                zip(code.co_varnames[first : code.co_argcount], positional, strict=True)
            )
        takes_all = bool(code.co_flags & 0x08)  # **kwargs
        self.passes = PLAIN if takes_all else tuple(n for n in PLAIN if n in names)
        self.body: Parameter | None = None
        self.query: Parameter | None = None
        self.params: list[Parameter] = []
        for name in names:
            if name in PLAIN:
                continue
            hint = hints.get(name, str)
            default = defaults.get(name, _NO_DEFAULT)
            try:
                shape = shape_of(hint)
            except Unsupported as error:
                raise Unsupported(f"{where}, parameter {name}: {error}") from None
            required = default is _NO_DEFAULT and type(shape) is not Optional
            default = None if default is _NO_DEFAULT else default
            if name == "body":
                self.body = Parameter(name, "body", shape, required, default)
            elif name == "query":
                target = shape.inner if type(shape) is Optional else shape
                if type(target) is not Object:
                    raise Unsupported(
                        f"{where}, parameter query: annotate it with a dataclass or a "
                        "TypedDict of the query's parameters"
                    )
                self.query = Parameter(name, "query", target, required, default)
            else:
                self.params.append(Parameter(name, "path", shape, required, default))
        self.decimal = self.body is not None and self.body.shape.wants_decimal()
        # The return annotation is compiled only where answers are checked (tests, doit
        # serve) or described (doit openapi): a deployed function never pays for it.
        self.returns = hints.get("return", _NO_DEFAULT)
        self.answer_compiled = False
        self.check_answers = self.returns is not _NO_DEFAULT and bool(os.environ.get(CHECK_ANSWERS))
        if self.check_answers:
            self.check_answers = self.answer is not None

    @property
    def answer(self) -> "Answer | None":
        """What the return annotation says a successful answer is (None: nothing)."""
        if not self.answer_compiled:
            returns = self.returns
            self.compiled_answer = None if returns is _NO_DEFAULT else _answer(returns)
            self.answer_compiled = True
        return self.compiled_answer

    def arguments(self, event: Any, request: Any, context: Any) -> "dict[str, Any]":
        """The handler's keyword arguments for this request; ``InvalidRequest`` when the
        request does not fit."""
        problems: list[dict[str, str]] = []
        kwargs: dict[str, Any] = {}
        handler_event = event
        body = self.body
        if body is not None:
            value = self._body(event, request)
            if value is not event.get("body"):
                handler_event = dict(event)
                handler_event["body"] = value
            found: Problems = []
            if value is None:
                if body.required:
                    found.append(("", body.shape.expected, "nothing"))
                else:
                    kwargs["body"] = body.default
            else:
                kwargs["body"] = body.shape.check(value, "", found)
            problems.extend(_located("body", found))
        else:
            from tight.request import decoded_event

            handler_event = decoded_event(event, request)
        query = self.query
        if query is not None:
            multi = request.query_multi
            found = []
            if multi or query.required:
                kwargs["query"] = query.shape.parse_query(multi, "", found)  # type: ignore[attr-defined]
            else:
                kwargs["query"] = query.default
            problems.extend(
                {"in": "query", "path": p, "expected": e, "got": g} for p, e, g in found
            )
        if self.params:
            given = request.path_params
            found = []
            for param in self.params:
                text = given.get(param.name)
                at = "/" + param.name
                if text is not None:
                    kwargs[param.name] = param.shape.parse(text, at, found)
                elif param.required:
                    found.append((at, param.shape.expected, "nothing"))
                else:
                    kwargs[param.name] = param.default
            problems.extend(_located("path", found))
        if problems:
            from tight.errors import InvalidRequest

            raise InvalidRequest(problems)
        plain = {
            "event": handler_event,
            "context": context,
            "principal_id": request.principal_id,
            "request": request,
        }
        for name in self.passes:
            kwargs[name] = plain[name]
        return kwargs

    def _body(self, event: Any, request: Any) -> Any:
        raw = event.get("body")
        if raw is None or raw == "" or raw == b"":
            return None
        if not isinstance(raw, (str, bytes)):
            return raw  # decoded already (a test's dict)
        content_type = request.content_type
        if content_type is not None:
            from tight.request import is_json_type

            if not is_json_type(content_type):
                from tight.errors import UnsupportedMediaType

                raise UnsupportedMediaType(
                    f"the body must be JSON (Content-Type: application/json), not {content_type}"
                )
        if not self.decimal:
            return request.json()
        text = request.text
        if not text.strip():
            return None
        try:
            return _decimal_decoder().decode(text)
        except (ValueError, RecursionError) as error:
            from tight.errors import BadRequest

            raise BadRequest(f"request body is not valid JSON: {error}") from None

    def answer_differences(self, answer: "dict[str, Any]") -> "list[str]":
        """How a built answer differs from the return annotation (nothing for errors)."""
        expected = self.answer
        status = answer.get("statusCode")
        if expected is None or type(status) is not int or not 200 <= status < 300:
            return []
        found: list[str] = []
        if status != expected.status:
            found.append(f"status {status}, the annotation says {expected.status}")
        if expected.shape is None or answer.get("isBase64Encoded"):
            return found
        text = answer.get("body") or ""
        try:
            value = _decimal_decoder().decode(text) if text else None
        except ValueError:
            return [*found, f"body is not JSON: {got(text)}"]
        problems: Problems = []
        expected.shape.check(value, "", problems)
        found.extend(f"body{p or ' '}: expected {e}, got {g}" for p, e, g in problems)
        return found

    def check_answer(self, answer: "dict[str, Any]") -> None:
        """Record and log how ``answer`` differs from the annotation (tests, ``doit serve``)."""
        differences = self.answer_differences(answer)
        if not differences:
            return
        handler = self.handler
        line = (
            f"{handler.__qualname__} in {handler.__module__} answered what its return "
            f"annotation does not describe: {'; '.join(differences)}"
        )
        answer_problems.append(line)
        from tight.core import logger

        logger.error(message=line)


def _located(where: str, found: Problems) -> "list[dict[str, str]]":
    return [{"in": where, "path": p, "expected": e, "got": g} for p, e, g in found]


_DECODER: Any = None


def _decimal_decoder() -> Any:
    """A JSON decoder that keeps every non-integer number exact, as a ``Decimal``."""
    global _DECODER
    if _DECODER is None:
        from decimal import Decimal

        from tight.request import _reject_constant

        _DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_reject_constant)
    return _DECODER
