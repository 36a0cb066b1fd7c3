"""Property test of typed bodies: over generated types (scalars, Literal, Enum, Optional, lists,
dicts, dataclasses, TypedDicts, constraints, nested) and generated JSON, every value the type
accepts reaches the handler as that value, and every value it refuses gets a 422 naming the
refused value's JSON pointer, the handler not called."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import itertools
import json
import types
from decimal import Decimal
from typing import Annotated, Any, Literal, Optional, TypedDict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tight.constraints import Length, Range
from tight.providers.aws.controllers.lambda_proxy_event import Controller

NAMES = itertools.count()
NOT_A_NUMBER = st.sampled_from(["1", "", True, False, None, [], {}])
NOT_A_STRING = st.sampled_from([1, 1.5, True, None, [], {}])


def escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


class Spec:
    """One generated type: the Python type, its valid JSON values, and invalid ones with the
    pointer (relative to the value) where the first refused part is."""

    tp: Any
    nullable = False

    def valid(self) -> st.SearchStrategy[Any]:
        raise NotImplementedError

    def invalid(self) -> st.SearchStrategy[tuple[Any, str]]:
        raise NotImplementedError

    def same(self, sent: Any, got: Any) -> bool:
        return sent == got and type(sent) is type(got)


class Scalar(Spec):
    def __init__(self, tp: Any, valid: Any, invalid: Any, same: Any = None) -> None:
        self.tp, self._valid, self._invalid, self._same = tp, valid, invalid, same

    def valid(self):
        return self._valid

    def invalid(self):
        return self._invalid.map(lambda v: (v, ""))

    def same(self, sent, got):
        return self._same(sent, got) if self._same else super().same(sent, got)


def scalars() -> st.SearchStrategy[Spec]:
    big = st.integers(min_value=-(10**30), max_value=10**30)
    return st.sampled_from(
        [
            Scalar(str, st.text(max_size=8), NOT_A_STRING),
            Scalar(int, big, st.sampled_from(["1", 1.0, 1.5, True, None, []])),
            Scalar(
                float,
                st.floats(allow_nan=False, allow_infinity=False) | big,
                NOT_A_NUMBER,
                lambda s, g: type(g) is float and g == float(s),
            ),
            Scalar(
                Decimal,
                st.decimals(allow_nan=False, allow_infinity=False, places=6) | big,
                NOT_A_NUMBER,
                lambda s, g: type(g) is Decimal and g == Decimal(s),
            ),
            Scalar(bool, st.booleans(), st.sampled_from([0, 1, "true", None])),
            Scalar(
                datetime.date,
                st.dates().map(datetime.date.isoformat),
                st.sampled_from(["2024-02-30", "2024-1-1", 20240101, None, "2024-01-01T00:00"]),
                lambda s, g: type(g) is datetime.date and g.isoformat() == s,
            ),
            Scalar(
                datetime.datetime,
                st.datetimes(timezones=st.none() | st.just(datetime.timezone.utc)).map(
                    datetime.datetime.isoformat
                ),
                st.sampled_from(["yesterday", "2024-01-01", 5, None]),
                lambda s, g: type(g) is datetime.datetime and g.isoformat() == s,
            ),
            Scalar(
                Literal["a", 3, True],
                st.sampled_from(["a", 3, True]),
                st.sampled_from(["b", 4, False, 1, "3", None]),
            ),
            Ranged(),
            Sized(),
            Choice(),
        ]
    )


class Ranged(Spec):
    def __init__(self) -> None:
        self.tp = Annotated[int, Range(ge=-5, le=5)]

    def valid(self):
        return st.integers(-5, 5)

    def invalid(self):
        return st.sampled_from([-6, 6, 10**20, "1"]).map(lambda v: (v, ""))


class Sized(Spec):
    def __init__(self) -> None:
        self.tp = Annotated[list[int], Length(min=1, max=3)]

    def valid(self):
        return st.lists(st.integers(), min_size=1, max_size=3)

    def invalid(self):
        return st.sampled_from([[], [1, 2, 3, 4], {}, [1, "2"]]).map(
            lambda v: (v, "/1" if v == [1, "2"] else "")
        )


class Choice(Spec):
    def __init__(self) -> None:
        self.tp = enum.Enum(f"Choice{next(NAMES)}", {"ONE": "one", "TWO": 2})

    def valid(self):
        return st.sampled_from(["one", 2])

    def invalid(self):
        return st.sampled_from(["ONE", "2", 3, None]).map(lambda v: (v, ""))

    def same(self, sent, got):
        return isinstance(got, self.tp) and got.value == sent


class Nullable(Spec):
    def __init__(self, inner: Spec) -> None:
        self.inner, self.tp = inner, Optional[inner.tp]  # noqa: UP045 - the typing form, too

    def valid(self):
        return st.none() | self.inner.valid()

    def invalid(self):
        return self.inner.invalid().filter(lambda pair: pair[0] is not None or pair[1])

    def same(self, sent, got):
        return got is None if sent is None else self.inner.same(sent, got)


class ListOf(Spec):
    def __init__(self, item: Spec) -> None:
        self.item, self.tp = item, list[item.tp]

    def valid(self):
        return st.lists(self.item.valid(), max_size=3)

    def invalid(self):
        def place(values, bad, at):
            index = at % (len(values) + 1)
            return [*values[:index], bad[0], *values[index:]], f"/{index}{bad[1]}"

        inside = st.builds(
            place, st.lists(self.item.valid(), max_size=2), self.item.invalid(), st.integers(0, 3)
        )
        return st.sampled_from(["x", 1, None, {}]).map(lambda v: (v, "")) | inside

    def same(self, sent, got):
        return type(got) is list and len(sent) == len(got) and all(map(self.item.same, sent, got))


class DictOf(Spec):
    def __init__(self, value: Spec) -> None:
        self.value, self.tp = value, dict[str, value.tp]

    def valid(self):
        return st.dictionaries(st.text(max_size=4), self.value.valid(), max_size=3)

    def invalid(self):
        def place(values, key, bad):
            return {**values, key: bad[0]}, f"/{escape(key)}{bad[1]}"

        keys = st.text(alphabet="a/~b", max_size=4)
        inside = st.builds(
            place,
            st.dictionaries(st.text(alphabet="xyz", max_size=3), self.value.valid(), max_size=2),
            keys,
            self.value.invalid(),
        )
        return st.sampled_from(["x", [], None]).map(lambda v: (v, "")) | inside

    def same(self, sent, got):
        return (
            type(got) is dict
            and sent.keys() == got.keys()
            and all(self.value.same(sent[k], got[k]) for k in sent)
        )


class Record(Spec):
    """A dataclass or a TypedDict: required fields first, then optional ones."""

    def __init__(self, fields: list[tuple[Spec, bool]], dataclass: bool) -> None:
        self.fields = {f"f{i}": (spec, required) for i, (spec, required) in enumerate(fields)}
        self.dataclass = dataclass
        name = f"Record{next(NAMES)}"
        if dataclass:
            ordered = sorted(self.fields.items(), key=lambda kv: not kv[1][1])
            self.tp = dataclasses.make_dataclass(
                name,
                [
                    (k, spec.tp) if required else (k, spec.tp, dataclasses.field(default=None))
                    for k, (spec, required) in ordered
                ],
            )
        else:
            required = {k: s.tp for k, (s, r) in self.fields.items() if r}
            optional = {k: s.tp for k, (s, r) in self.fields.items() if not r}
            self.tp = typed_dict(name, required, optional)

    def valid(self):
        required = {k: s.valid() for k, (s, r) in self.fields.items() if r}
        optional = {k: s.valid() for k, (s, r) in self.fields.items() if not r}
        return st.fixed_dictionaries(required, optional=optional)

    def invalid(self):
        options = [st.sampled_from(["x", [], 1, None]).map(lambda v: (v, ""))]
        base = self.valid()
        options.append(base.map(lambda v: ({**v, "zz": 1}, "/zz")))
        for key, (spec, required) in self.fields.items():
            options.append(
                st.builds(
                    lambda v, bad, k=key: ({**v, k: bad[0]}, f"/{k}{bad[1]}"), base, spec.invalid()
                )
            )
            if required:
                options.append(
                    base.map(lambda v, k=key: ({x: y for x, y in v.items() if x != k}, f"/{k}"))
                )
        return st.one_of(options)

    def same(self, sent, got):
        if self.dataclass:
            if not isinstance(got, self.tp):
                return False
            got = {k: getattr(got, k) for k in self.fields}
            sent = {k: sent.get(k) for k in self.fields}
            return all(
                (sent[k] is None and got[k] is None)
                or (sent[k] is not None and s.same(sent[k], got[k]))
                for k, (s, _) in self.fields.items()
            )
        return (
            type(got) is dict
            and sent.keys() == got.keys()
            and all(self.fields[k][0].same(sent[k], got[k]) for k in sent)
        )


def typed_dict(name: str, required: dict[str, Any], optional: dict[str, Any]) -> Any:
    """A TypedDict with required and optional keys, as Python 3.10 writes it: a total base
    and a ``total=False`` subclass."""
    if not optional:
        return TypedDict(name, required)  # type: ignore[operator]
    if not required:
        return TypedDict(name, optional, total=False)  # type: ignore[operator]
    base = TypedDict(name + "Base", required)  # type: ignore[operator]
    return types.new_class(
        name, (base,), {"total": False}, lambda ns: ns.update(__annotations__=optional)
    )


def specs() -> st.SearchStrategy[Spec]:
    def grow(children: st.SearchStrategy[Spec]) -> st.SearchStrategy[Spec]:
        fields = st.lists(st.tuples(children, st.booleans()), min_size=1, max_size=4)
        return (
            children.map(Nullable)
            | children.map(ListOf)
            | children.map(DictOf)
            | st.builds(Record, fields, st.booleans())
        )

    return st.recursive(scalars(), grow, max_leaves=6)


def dumps(value: Any) -> str:
    """JSON text, ``Decimal`` written exactly."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(dumps(v) for v in value) + "]"
    return json.dumps(value)


def post(controller: Controller, value: Any) -> tuple[int, Any]:
    event = {
        "httpMethod": "POST",
        "path": "/things",
        "headers": {"Content-Type": "application/json"},
        "requestContext": {"requestId": "r"},
        "body": dumps(value),
    }
    answer = controller.dispatch(event)
    return answer["statusCode"], json.loads(answer["body"]) if answer["body"] else None


def typed_controller(spec: Spec, received: list[Any]) -> Controller:
    def post_handler(body, **kwargs):
        received.append(body)

    post_handler.__annotations__ = {"body": spec.tp}
    controller = Controller(f"properties{next(NAMES)}")
    controller.register("POST", post_handler)
    return controller


SETTINGS = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@SETTINGS
@given(st.data())
def test_every_value_the_type_accepts_reaches_the_handler_as_sent(data):
    spec = data.draw(specs())
    value = data.draw(spec.valid())
    received: list[Any] = []
    status, reply = post(typed_controller(spec, received), value)
    if value is None:  # no body at all: a typed body that is not Optional is missing
        return
    assert status == 204, (spec.tp, value, reply)
    assert len(received) == 1 and spec.same(value, received[0]), (spec.tp, value, received)


@SETTINGS
@given(st.data())
def test_every_value_the_type_refuses_is_a_422_naming_its_path(data):
    spec = data.draw(specs())
    value, path = data.draw(spec.invalid())
    if value is None and path == "":
        return  # no body: covered by test_typed's missing body
    received: list[Any] = []
    status, reply = post(typed_controller(spec, received), value)
    assert status == 422, (spec.tp, value, reply)
    assert received == []
    paths = [p["path"] for p in reply["problems"]]
    assert path in paths, (spec.tp, value, path, reply["problems"])
    assert all(p["in"] == "body" and p["expected"] and p["got"] for p in reply["problems"])
