"""Typed handlers: annotated body, query and path parameters checked before the handler runs,
every problem of a bad request in one 422, answers checked against the return annotation
when TIGHT_CHECK_ANSWERS is set, and none of it loaded by a function without annotations."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, TypedDict

import pytest
from test_python_versions import LAMBDA_PYTHONS, interpreter

from tight import typed
from tight.constraints import AllowExtra, Length, Pattern, Range, Status
from tight.providers.aws.controllers.lambda_proxy_event import Controller


class Color(Enum):
    RED = "red"
    BLUE = "blue"


@dataclass
class Size:
    width: Annotated[int, Range(ge=1, le=1000)]
    height: int


@dataclass
class NewItem:
    name: Annotated[str, Length(min=1, max=20), Pattern(r"^[a-z ]+$")]
    price: Decimal
    color: Color
    tags: list[str] = field(default_factory=list)
    size: Optional[Size] = None  # noqa: UP045 - the typing form is checked too
    made: datetime.date | None = None
    kind: Literal["tool", "toy"] = "tool"


class ItemQuery(TypedDict, total=False):
    limit: Annotated[int, Range(ge=1, le=100)]
    tag: list[str]
    since: datetime.datetime


if sys.version_info >= (3, 11):
    from typing import NotRequired

    class Note(TypedDict):
        text: str
        score: NotRequired[float]
        meta: NotRequired[dict[str, int]]

else:  # NotRequired is 3.11's; total=False is how 3.10 says it

    class _NoteText(TypedDict):
        text: str

    class Note(_NoteText, total=False):
        score: float
        meta: dict[str, int]


@dataclass
class Item:
    id: int
    name: str


def event(body: Any = None, *, query=None, path=None, content_type="application/json"):
    headers = {"Content-Type": content_type} if content_type else {}
    return {
        "httpMethod": "POST",
        "path": "/items",
        "resource": "/items/{id}",
        "headers": headers,
        "multiValueQueryStringParameters": query,
        "pathParameters": path,
        "requestContext": {"requestId": "r"},
        "body": body if body is None or isinstance(body, str) else json.dumps(body),
    }


def served(handler, method="POST"):
    controller = Controller(f"test_typed.{handler.__name__}")
    controller.register(method, handler)
    return controller


def answer(controller, ev):
    result = controller.dispatch(ev)
    return result["statusCode"], json.loads(result["body"]) if result["body"] else None


GOOD = {"name": "teapot", "price": 0.1000000000000000055511151231257827, "color": "red"}


def test_a_body_that_fits_reaches_the_handler_as_its_type_with_exact_numbers():
    seen = {}

    def post_handler(body: NewItem, id: int, query: ItemQuery, **kwargs):
        seen.update(body=body, id=id, query=query, event=kwargs["event"])
        return {"statusCode": 201, "body": {"ok": True}}

    text = (
        '{"name": "tea pot", "price": 0.1000000000000000055511151231257827, "color": "blue",'
        ' "size": {"width": 3, "height": 4}, "made": "2024-02-29", "tags": ["a"]}'
    )
    query = {"limit": ["5"], "tag": ["x", "y"], "since": ["2024-01-01T10:00:00Z"]}
    status, _ = answer(served(post_handler), event(text, query=query, path={"id": "-42"}))
    assert status == 201
    body = seen["body"]
    assert isinstance(body, NewItem) and isinstance(body.size, Size)
    assert body.price == Decimal("0.1000000000000000055511151231257827")  # not a float
    assert body.color is Color.BLUE and body.made == datetime.date(2024, 2, 29)
    assert body.kind == "tool" and body.tags == ["a"]
    assert seen["id"] == -42
    assert seen["query"] == {
        "limit": 5,
        "tag": ["x", "y"],
        "since": datetime.datetime(2024, 1, 1, 10, tzinfo=datetime.timezone.utc),
    }
    assert seen["event"]["body"]["price"] == Decimal("0.1000000000000000055511151231257827")


def test_a_bad_request_gets_every_problem_at_once_and_never_reaches_the_handler():
    calls = []

    def post_handler(body: NewItem, id: int, query: ItemQuery, **kwargs):
        calls.append(body)

    bad = {
        "name": "Tea",  # pattern
        "price": "12.50",  # a string is not a number
        "color": "green",
        "size": {"width": 0, "height": "4"},
        "made": "2024-02-30",
        "tags": ["a", 3],
        "owner": "me",
    }
    status, reply = answer(
        served(post_handler), event(bad, query={"limit": ["500"], "page": ["2"]}, path={"id": "x"})
    )
    assert status == 422 and calls == []
    found = {(p["in"], p["path"]): p for p in reply["problems"]}
    assert set(found) == {
        ("body", "/name"),
        ("body", "/price"),
        ("body", "/color"),
        ("body", "/size/width"),
        ("body", "/size/height"),
        ("body", "/made"),
        ("body", "/tags/1"),
        ("body", "/owner"),
        ("query", "/limit"),
        ("query", "/page"),
        ("path", "/id"),
    }
    assert found["body", "/price"] == {
        "in": "body",
        "path": "/price",
        "expected": "a number",
        "got": '"12.50"',
    }
    assert found["body", "/size/width"]["expected"] == "an integer >= 1, <= 1000"
    assert "matching" in found["body", "/name"]["expected"]
    assert "NewItem has: name, price" in found["body", "/owner"]["expected"]
    assert found["query", "/limit"]["got"] == "500"
    assert reply["message"].endswith("11 problems")


def test_missing_body_and_required_fields_are_named():
    def post_handler(body: NewItem, **kwargs):
        return None

    controller = served(post_handler)
    status, reply = answer(controller, event(None))
    assert status == 422
    assert reply["problems"] == [
        {"in": "body", "path": "", "expected": "an object (NewItem)", "got": "nothing"}
    ]
    status, reply = answer(controller, event({"name": "x"}))
    assert [p["path"] for p in reply["problems"]] == ["/price", "/color"]
    assert {p["got"] for p in reply["problems"]} == {"nothing"}


def test_typed_dict_with_not_required_and_pointer_escaping():
    got = []

    def post_handler(body: Note, **kwargs):
        got.append(body)

    controller = served(post_handler)
    assert answer(controller, event({"text": "hi"}))[0] == 204
    assert got == [{"text": "hi"}]
    status, reply = answer(controller, event({"text": "hi", "meta": {"a/b~c": "1"}}))
    assert status == 422
    assert reply["problems"][0]["path"] == "/meta/a~1b~0c"


def test_unknown_fields_are_kept_when_the_type_says_so():
    got = []

    def post_handler(body: Annotated[Note, AllowExtra()], **kwargs):
        got.append(body)

    assert answer(served(post_handler), event({"text": "hi", "more": [1]}))[0] == 204
    assert got == [{"text": "hi", "more": [1]}]


def test_a_body_that_is_not_json_is_415_or_400_and_the_plain_arguments_still_come():
    def post_handler(body: Note, request, **kwargs):
        return {"path": request.path, "text": body["text"]}

    controller = served(post_handler)
    assert answer(controller, event("text=hi", content_type="text/plain"))[0] == 415
    assert answer(controller, event('{"text": ', content_type=None))[0] == 400
    assert answer(controller, event({"text": "x"}))[1] == {"path": "/items", "text": "x"}


def test_a_handler_without_kwargs_gets_only_what_it_names():
    def get_handler(id: int, request):
        return {"id": id, "path": request.path}

    controller = served(get_handler, "GET")
    ev = {**event(None, path={"id": "7"}), "httpMethod": "GET"}
    assert answer(controller, ev) == (200, {"id": 7, "path": "/items"})
    ev["pathParameters"] = None
    status, reply = answer(controller, ev)
    assert status == 422 and reply["problems"][0]["path"] == "/id"


def test_an_optional_path_parameter_serves_both_routes():
    def get_handler(id: int | None = None, **kwargs):
        return {"id": id}

    controller = served(get_handler, "GET")
    ev = {**event(None), "httpMethod": "GET"}
    assert answer(controller, ev) == (200, {"id": None})
    assert answer(controller, {**ev, "pathParameters": {"id": "3"}}) == (200, {"id": 3})


def test_an_unsupported_annotation_is_a_500_whose_log_names_it(capsys):
    def post_handler(body: set[int], **kwargs):
        return None

    status, reply = answer(served(post_handler), event([1]))
    assert status == 500 and "set" not in json.dumps(reply)
    assert "set[int] is not a type Tight can check" in capsys.readouterr().out  # the log


def test_the_answer_is_checked_against_the_return_annotation_only_when_asked(monkeypatch):
    def post_handler(body: Note, **kwargs) -> Annotated[Item, Status(201)]:
        return {"statusCode": 200, "body": {"id": "1", "name": "x"}}

    typed.answer_problems.clear()
    assert answer(served(post_handler), event({"text": "a"}))[0] == 200
    assert typed.answer_problems == []  # deployed: not checked
    monkeypatch.setenv("TIGHT_CHECK_ANSWERS", "1")
    assert answer(served(post_handler), event({"text": "a"}))[0] == 200
    [line] = typed.answer_problems
    assert "post_handler in test_typed answered what its return annotation does not" in line
    assert line.endswith(
        'status 200, the annotation says 201; body/id: expected an integer, got "1"'
    )
    typed.answer_problems.clear()


def test_a_dataclass_answer_is_encoded_and_fits_its_annotation(monkeypatch):
    monkeypatch.setenv("TIGHT_CHECK_ANSWERS", "1")

    def get_handler(id: int, **kwargs) -> Item:
        return Item(id=id, name="teapot")

    typed.answer_problems.clear()
    ev = {**event(None, path={"id": "9"}), "httpMethod": "GET"}
    assert answer(served(get_handler, "GET"), ev) == (200, {"id": 9, "name": "teapot"})
    assert typed.answer_problems == []


COLD = """
import json, sys
sys.path.insert(0, {root!r})
before = set(sys.modules)
import app_index
event = {{"httpMethod": "GET", "path": "/", "pathParameters": {{"id": "4"}},
          "requestContext": {{"requestId": "r"}}}}
answer = getattr(app_index, {function!r})(event, None)
print(json.dumps([answer["statusCode"], sorted(set(sys.modules) - before)]))
"""


def test_an_untyped_function_loads_none_of_it_and_a_typed_one_does(tmp_path):
    from conftest import write_app

    untyped = (
        "import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy\n"
        "@lambda_proxy.get\n"
        "def get_handler(*args, **kwargs) -> dict:\n"
        "    return {'statusCode': 200}\n"
    )
    typed_source = (
        "import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy\n"
        "@lambda_proxy.get\n"
        "def get_handler(id: int, **kwargs):\n"
        "    return {'id': id}\n"
    )
    root = write_app(tmp_path / "app", {"plain": untyped, "typed_fn": typed_source})
    loaded = {}
    for function in ("plain", "typed_fn"):
        result = subprocess.run(
            [sys.executable, "-I", "-S", "-c", COLD.format(root=str(root), function=function)],
            capture_output=True,
            text=True,
            check=True,
        )
        status, loaded[function] = json.loads(result.stdout)
        assert status == 200
    assert not {"tight.typed", "tight.constraints", "typing"} & set(loaded["plain"])
    assert {"tight.typed", "tight.constraints"} <= set(loaded["typed_fn"])


@pytest.mark.parametrize(
    ("text", "value"),
    [("12", 12), ("-3", -3), ("1_000", None), ("٣", None), (" 4", None), ("4.0", None)],
)
def test_path_strings_convert_by_type_and_nothing_else(text, value):
    def get_handler(id: int, **kwargs):
        return {"id": id}

    ev = {**event(None, path={"id": text}), "httpMethod": "GET"}
    status, reply = answer(served(get_handler, "GET"), ev)
    assert (status, reply) == ((200, {"id": value}) if value is not None else (422, reply))


PROBE = """\
from __future__ import annotations

import datetime
import json
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import Annotated, Literal, Optional, TypedDict

from tight.constraints import Length, Range
from tight.providers.aws.controllers.lambda_proxy_event import Controller


class Color(Enum):
    RED = "red"


@dataclass
class Part:
    size: Annotated[int, Range(ge=1)]


@dataclass
class NewItem:
    name: Annotated[str, Length(min=1)]
    price: Decimal
    color: Color
    kind: Literal["a", "b"]
    made: datetime.date
    parts: list[Part] = field(default_factory=list)
    note: Optional[str] = None
    extra: int | None = None


class Query(TypedDict, total=False):
    limit: int


def post_handler(body: NewItem, id: int, query: Query, **kwargs) -> NewItem:
    return body


controller = Controller("probe")
controller.register("POST", post_handler)


def send(body, limit="5", id="3"):
    event = {"httpMethod": "POST", "path": "/", "headers": {"Content-Type": "application/json"},
             "queryStringParameters": {"limit": limit}, "pathParameters": {"id": id},
             "requestContext": {}, "body": body}
    answer = controller.dispatch(event)
    return answer["statusCode"], json.loads(answer["body"])


good = (
    '{"name": "x", "price": 0.10000000000000000001, "color": "red", "kind": "a",'
    ' "made": "2024-01-02", "parts": [{"size": 2}], "extra": null}'
)
status, body = send(good)
assert status == 200, body
bad = (
    '{"name": "", "price": "1", "color": "blue", "kind": "c", "made": "x",'
    ' "parts": [{"size": 0}], "zz": 1}'
)
status, body = send(bad, limit="x", id="y")
assert status == 422, body
print(json.dumps([sys.version_info[:2], sorted(p["in"] + p["path"] for p in body["problems"])]))
"""


@pytest.mark.parametrize("version", LAMBDA_PYTHONS)
def test_typed_handlers_on_every_lambda_python(version, tmp_path):
    """String annotations (``from __future__``), ``X | None``, ``total=False``: 3.10 to 3.13."""
    python = interpreter(version)
    if python is None:
        pytest.skip(f"no python{version} on this machine")
    script = tmp_path / "probe.py"
    root = str(Path(typed.__file__).parent.parent)
    # The future import first, then the runtime's folder on the path (-I ignores PYTHONPATH).
    head, _, rest = PROBE.partition("\n")
    script.write_text(f"{head}\nimport sys\nsys.path.insert(0, {root!r})\n{rest}")
    result = subprocess.run([python, "-I", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    ran, problems = json.loads(result.stdout)
    assert ran == [int(part) for part in version.split(".")]
    assert problems == [
        "body/color",
        "body/kind",
        "body/made",
        "body/name",
        "body/parts/0/size",
        "body/price",
        "body/zz",
        "path/id",
        "query/limit",
    ]
