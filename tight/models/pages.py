"""Reading many items: ``Results``, the lazy pages of a query or scan, and their cursors.

A cursor is an opaque, URL-safe string holding where the next page starts (DynamoDB's
LastEvaluatedKey), bound to its table, index and hash key: one that another query gave
out, or that was tampered with, is a ``ValidationError`` (a 400), never a read elsewhere.
``Model.query`` and ``Model.scan`` build them; this module is loaded on their first call.
"""

import re
from decimal import Decimal

from tight.models.attributes import _number, _stored_number, _text
from tight.models.errors import ValidationError, _dynamo

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from tight.models.model import Model
else:
    Any = object

MAX_CURSOR = 4096  # characters; a real cursor is a few hundred at most


def _positive(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"{name} must be a whole number of 1 or more, not {value!r:.40}")
    return value


class Results:
    """A lazy, paginating iterator over a query or scan; ``limit`` caps the items.

    Iterate for every item (up to ``limit``), or read one page: ``results.items`` (the
    first ``limit`` items) and ``results.cursor``, an opaque URL-safe string that resumes
    after them (``Model.query(..., cursor=...)``), None when nothing is left.
    """

    def __init__(
        self,
        model: "type[Model]",
        operation: str,
        options: dict[str, Any],
        index: str | None,
        filter: Any,
        limit: int | None,
        page_size: int | None,
        start: dict[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.operation = operation
        self.index = index
        self.options = dict(options)
        if index:
            self.options["IndexName"] = index
        if filter is not None:
            self.options["FilterExpression"] = filter
        if start:
            self.options["ExclusiveStartKey"] = start
        self.limit = _positive(limit, "limit")
        self.page_size = _positive(page_size, "page_size")
        self.pages = 0
        self._page: tuple[list[Model], str | None] | None = None

    def __iter__(self) -> "Iterator[Model]":
        return self._walk({})

    def _walk(self, stop: dict[str, Any]) -> "Iterator[Model]":
        """Yield the items; leave in ``stop["key"]`` the key to resume from (None at the end)."""
        table = self.model._table()
        call = getattr(table, self.operation)
        options = dict(self.options)
        returned = 0
        what = f"reading {self.model.__name__} items"
        stop["key"] = None
        while True:
            wanted = [n for n in (self.page_size, self.limit and self.limit - returned) if n]
            if wanted:
                options["Limit"] = min(wanted)
            response = _dynamo(what, call, **options)
            self.pages += 1
            last = response.get("LastEvaluatedKey")
            items = response.get("Items", [])
            for position, item in enumerate(items):
                returned += 1
                yield self.model.from_item(item)
                if self.limit is not None and returned >= self.limit:
                    if position < len(items) - 1:  # more than Limit came: resume after this
                        last = {n: item[n] for n in self.model._key_names(self.index)}
                    stop["key"] = last or None
                    return
            stop["key"] = last or None
            if not last:
                return
            options["ExclusiveStartKey"] = last

    def _fetch(self) -> "tuple[list[Model], str | None]":
        if self._page is None:
            stop: dict[str, Any] = {}
            items = list(self._walk(stop))
            cursor = _encode_cursor(self.model, self.index, stop["key"]) if stop["key"] else None
            self._page = (items, cursor)
        return self._page

    @property
    def items(self) -> "list[Model]":
        """This page's items: the first ``limit`` (every item when there is no limit)."""
        return self._fetch()[0]

    @property
    def cursor(self) -> str | None:
        """Where the next page starts, for ``cursor=``; None when this page is the last."""
        return self._fetch()[1]

    def all(self) -> "list[Model]":
        return list(self)

    def first(self) -> "Model | None":
        return next(iter(self), None)


def _encode_cursor(model: "type[Model]", index: str | None, key: dict[str, Any]) -> str:
    """An opaque, URL-safe cursor for a LastEvaluatedKey, bound to its table and index."""
    import base64
    import json

    values = {}
    for name, value in key.items():
        if isinstance(value, str):
            values[name] = ["S", value]
        elif isinstance(value, (int, Decimal)):
            values[name] = ["N", str(value)]
        else:  # boto3's Binary, or bytes
            raw = bytes(getattr(value, "value", value))
            values[name] = ["B", base64.b64encode(raw).decode("ascii")]
    text = json.dumps({"t": model.table_name(), "i": index, "k": values}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode("ascii").rstrip("=")


def _decode_cursor(model: "type[Model]", index: str | None, cursor: Any,
                   hash_key: tuple[str, Any] | None) -> dict[str, Any] | None:  # fmt: skip
    """The ExclusiveStartKey a cursor holds, or ValidationError (a 400) when it is not one
    this table and index gave out: garbage, tampered, or from another table or index."""
    if cursor is None or cursor == "":
        return None
    invalid = ValidationError(
        "cursor is not valid here; pass back the cursor of the previous page unchanged, "
        "or none for the first page"
    )
    if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR:
        raise invalid
    if not re.fullmatch(r"[A-Za-z0-9_-]+", cursor):
        raise invalid
    import base64
    import binascii
    import json

    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, RecursionError):  # bad base64, UTF-8 or JSON
        raise invalid from None
    if not isinstance(payload, dict) or set(payload) != {"t", "i", "k"}:
        raise invalid
    if payload["t"] != model.table_name() or payload["i"] != index:
        raise ValidationError(
            "cursor belongs to another table or index; use it only with the query that gave it"
        )
    values = payload["k"]
    names = model._key_names(index)
    if not isinstance(values, dict) or sorted(values) != sorted(names):
        raise invalid
    types = {a.name: a.dynamo_type for a in model.attributes.values()}
    key: dict[str, Any] = {}
    for name in names:
        entry = values[name]
        if not (isinstance(entry, list) and len(entry) == 2 and entry[0] == types[name]):
            raise invalid
        kind, text = entry
        if not isinstance(text, str) or not text:
            raise invalid
        try:
            if kind == "N":
                key[name] = _stored_number(_number(Decimal(text), "cursor"))
            elif kind == "B":
                key[name] = base64.b64decode(text, validate=True)
            else:
                key[name] = _text(text, "cursor")
        except (ArithmeticError, ValueError, ValidationError):
            raise invalid from None
    if hash_key is not None and key.get(hash_key[0]) != hash_key[1]:
        raise ValidationError(
            "cursor belongs to another query; use it only with the one it came from"
        )
    return key
