"""What each HTTP function's handlers declare, read by importing them in a process of their own.

``doit openapi`` runs ``python describe.py <root> <runtime config JSON> <function>...``: it
imports each ``app/functions/<name>/handler.py`` as ``doit serve``'s worker does (the app's
own modules, the installed Tight as ``app.vendored.tight`` until the app vendors one), and
prints one JSON line: per function and method, the handler's docstring and the JSON Schema
of its typed parameters, body and answer (``tight.typed``'s compiled shapes, so the
document says what the runtime checks), with the named types under ``components``. A
separate process, because the app's code runs on import and may be edited between two
documents that a long-running ``doit serve`` writes.
"""

from __future__ import annotations

import json
import os
import sys
from decimal import Decimal
from typing import Any

# What a 422 from tight.typed looks like (tight.errors.InvalidRequest).
INVALID_REQUEST = {
    "type": "object",
    "properties": {
        "error": {"type": "string"},
        "message": {"type": "string"},
        "problems": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "in": {"enum": ["body", "query", "path"]},
                    "path": {"type": "string", "description": "a JSON pointer into that part"},
                    "expected": {"type": "string"},
                    "got": {"type": "string"},
                },
                "required": ["in", "path", "expected", "got"],
            },
        },
    },
    "required": ["error", "message", "problems"],
}


def _number(value: Any) -> Any:
    """A bound as JSON: a Decimal as the int or float it equals."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


class Schemas:
    """JSON Schema for ``tight.typed`` shapes, with each dataclass or TypedDict written once
    under ``components.schemas`` and referred to by ``$ref``."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {}
        self.names: dict[Any, str] = {}  # (class, extra) -> its component's name

    def of(self, shape: Any) -> dict[str, Any]:
        from tight import typed

        kind = type(shape)
        if kind is typed.AnyValue:
            return {}
        simple = {
            typed.Str: "string",
            typed.Int: "integer",
            typed.Float: "number",
            typed.DecimalNumber: "number",
            typed.Bool: "boolean",
            typed.Null: "null",
        }.get(kind)
        if simple is not None:
            return {"type": simple}
        if kind is typed.Moment:
            return {"type": "string", "format": shape.format}
        if kind is typed.Choice:
            return {"enum": [_number(v) for v in shape.values]}
        if kind is typed.Optional:
            return {"anyOf": [self.of(shape.inner), {"type": "null"}]}
        if kind is typed.Union:
            return {"anyOf": [self.of(option) for option in shape.options]}
        if kind is typed.List:
            return {"type": "array", "items": self.of(shape.item)}
        if kind is typed.Dict:
            return {"type": "object", "additionalProperties": self.of(shape.value)}
        if kind is typed.Object:
            return {"$ref": f"#/components/schemas/{self.component(shape)}"}
        if kind is typed.Constrained:
            return self.constrained(shape)
        raise TypeError(f"no JSON Schema for {shape!r}")

    def component(self, shape: Any) -> str:
        key = (shape.cls, shape.extra)
        if key in self.names:
            return str(self.names[key])
        name: str = shape.name + ("Open" if shape.extra else "")
        taken = set(self.components)
        number = 2
        unique = name
        while unique in taken:
            unique, number = f"{name}{number}", number + 1
        self.names[key] = unique
        self.components[unique] = {}  # claimed before its fields: a type may refer to itself
        properties = {name: self.of(field.shape) for name, field in shape.fields.items()}
        schema: dict[str, Any] = {"type": "object", "title": shape.name, "properties": properties}
        required = [name for name, field in shape.fields.items() if field.required]
        if required:
            schema["required"] = required
        if not shape.extra:
            schema["additionalProperties"] = False
        doc = shape.cls.__doc__
        if doc and not doc.startswith(shape.name + "("):  # dataclasses make one up
            schema["description"] = doc.strip()
        self.components[unique] = schema
        return str(unique)

    def constrained(self, shape: Any) -> dict[str, Any]:
        from tight import typed

        inner = shape.inner
        if type(inner) is typed.Optional:  # the bounds narrow the value, null stays allowed
            narrowed = typed.Constrained(inner.inner, shape.range, shape.length, shape.pattern)
            return {"anyOf": [self.constrained(narrowed), {"type": "null"}]}
        schema = dict(self.of(inner))
        words: dict[str, Any] = {}
        bounds = shape.range
        if bounds is not None:
            for attribute, keyword in (
                ("ge", "minimum"),
                ("gt", "exclusiveMinimum"),
                ("le", "maximum"),
                ("lt", "exclusiveMaximum"),
            ):
                value = getattr(bounds, attribute)
                if value is not None:
                    words[keyword] = _number(value)
        length = shape.length
        if length is not None:
            units = {"string": "Length", "array": "Items", "object": "Properties"}
            unit = units.get(str(schema.get("type")), "Length")
            if length.min is not None:
                words[f"min{unit}"] = length.min
            if length.max is not None:
                words[f"max{unit}"] = length.max
        if shape.pattern is not None:
            words["pattern"] = shape.pattern
        if "$ref" in schema:
            return {"allOf": [schema], **words}
        return {**schema, **words}


def docstring(handler: Any) -> tuple[str | None, str | None]:
    """The summary (the docstring's first paragraph, on one line) and the rest."""
    import inspect

    doc = inspect.getdoc(handler)
    if not doc:
        return None, None
    first, _, rest = doc.partition("\n\n")
    return " ".join(first.split()), rest.strip() or None


def describe_handler(handler: Any, schemas: Schemas) -> dict[str, Any]:
    from tight import typed

    summary, description = docstring(handler)
    found: dict[str, Any] = {"handler": handler.__qualname__}
    if summary:
        found["summary"] = summary
    if description:
        found["description"] = description
    if not getattr(handler, "__annotations__", None):
        return found
    binder = typed.Binder(handler)
    params = []
    if binder.query is not None:
        query: Any = binder.query.shape
        for name, field in query.fields.items():
            params.append(
                {
                    "name": name,
                    "in": "query",
                    "required": field.required,
                    "schema": schemas.of(field.shape),
                }
            )
    for param in binder.params:
        # A path parameter is there whenever its route is: the null of `int | None` (for the
        # routes without it) is not a value it can have.
        shape = param.shape.inner if type(param.shape) is typed.Optional else param.shape
        params.append({"name": param.name, "in": "path", "schema": schemas.of(shape)})
    found["parameters"] = params
    typed_input = bool(params) or binder.body is not None
    if binder.body is not None:
        found["body"] = {"required": binder.body.required, "schema": schemas.of(binder.body.shape)}
    if binder.answer is not None:
        answer: dict[str, Any] = {"status": binder.answer.status}
        if binder.answer.shape is not None:
            answer["schema"] = schemas.of(binder.answer.shape)
        found["answer"] = answer
    found["typed"] = typed_input
    return found


def describe(root: str, config: dict[str, Any], functions: list[str]) -> dict[str, Any]:
    import importlib

    from tight.providers.aws.controllers.lambda_proxy_event import controller_for
    from tight_tasks.worker import _load

    _load(root, config)
    schemas = Schemas()
    found: dict[str, Any] = {}
    for function in functions:
        module = f"app.functions.{function}.handler"
        where = f"app/functions/{function}/handler.py"
        try:
            importlib.import_module(module)
        except Exception as error:  # noqa: BLE001 - the user's code: named, not a traceback
            raise DescribeError(
                f"{where} fails on import: {type(error).__name__}: {error}"
            ) from None
        controller = controller_for(module)
        methods: dict[str, Any] = {}
        for method, handler in (controller.handlers if controller else {}).items():
            try:
                methods[method] = describe_handler(handler, schemas)
            except TypeError as error:
                raise DescribeError(f"{where}: {error}") from None
        found[function] = methods
    return {"functions": found, "schemas": schemas.components, "invalid": INVALID_REQUEST}


class DescribeError(Exception):
    """The app's code cannot be described; the message names the file and the fix."""


def main(argv: list[str]) -> int:
    root, config, functions = argv[1], json.loads(argv[2]), argv[3:]
    # As in the worker: the app root first, never this folder (the toolkit's own modules).
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [root] + [p for p in sys.path if os.path.abspath(p or ".") != here]
    os.environ.pop("TIGHT_CHECK_ANSWERS", None)
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # what the app prints on import is not the answer
    try:
        result = describe(root, config, functions)
    except DescribeError as error:
        out.write(json.dumps({"error": str(error)}) + "\n")
        out.flush()
        return 1
    out.write(json.dumps(result) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
