"""Declarative DynamoDB models with a fluent API.

    class Item(Model):
        hash_key = "id"
        id = String()
        name = String(required=True)
        count = Number(default=0)
        version = Version()
        indexes = (GlobalIndex("by_name", hash_key="name"),)

    Item(id="1", name="teapot").save()
    Item.get("1").update(add={"count": 1})
    for item in Item.query("1"): ...
    page = Item.query("1", limit=20, cursor=token)  # page.items, page.cursor

The table is ``<app>-<stage>-<model>`` (app and stage from tight.yml or ``TIGHT_APP`` /
``TIGHT_STAGE``) unless ``table`` names it. Numbers come back as ``int`` or ``Decimal``,
never ``float``. ``Model.get`` raises ``ItemNotFound`` (an HTTP 404), a failed condition
``ConditionFailed`` (409), bad values ``ValidationError`` (400) naming the attribute,
throttling ``Throttled`` (503). No write stores NULL: an empty set is removed, ``None`` is
absent from a saved item and refused by ``update(set=...)``. ``Model.from_item`` builds an
instance from a plain item dict (boto3's, or a stream record's after ``TypeDeserializer``).

One module per concept: ``attributes`` (the value types), ``model`` (a table, its items and
their CRUD), ``pages`` (query and scan results, cursors), ``batches`` (many items with
retries), ``transactions``, ``errors`` (the models' errors, DynamoDB's translated to them).
Everything is importable from here; ``Results`` and ``Transaction`` (and their modules)
load on first use, as ``Model.query`` and ``Model.transaction()`` load them.
"""

from tight.models.attributes import (
    MAX_DEPTH,
    MISSING,
    TTL,
    Attribute,
    Binary,
    Boolean,
    DateTime,
    List,
    Map,
    Number,
    NumberSet,
    String,
    StringSet,
    Version,
)
from tight.models.errors import (
    THROTTLED,
    ConditionFailed,
    ItemNotFound,
    Throttled,
    TransactionConflict,
    ValidationError,
)
from tight.models.model import GlobalIndex, LocalIndex, Model

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tight.models.pages import MAX_CURSOR as MAX_CURSOR
    from tight.models.pages import Results as Results
    from tight.models.transactions import Transaction as Transaction
else:
    Any = object

__all__ = [
    "MAX_CURSOR",
    "MAX_DEPTH",
    "MISSING",
    "THROTTLED",
    "TTL",
    "Attribute",
    "Binary",
    "Boolean",
    "ConditionFailed",
    "DateTime",
    "GlobalIndex",
    "ItemNotFound",
    "List",
    "LocalIndex",
    "Map",
    "Model",
    "Number",
    "NumberSet",
    "Results",
    "String",
    "StringSet",
    "Throttled",
    "Transaction",
    "TransactionConflict",
    "ValidationError",
    "Version",
]

# Results and Transaction live in modules loaded on first use; the names stay importable here.
if not TYPE_CHECKING:  # type checkers see the imports under TYPE_CHECKING instead

    def __getattr__(name: str) -> Any:
        if name == "Results":
            from tight.models.pages import Results as value
        elif name == "MAX_CURSOR":
            from tight.models.pages import MAX_CURSOR as value
        elif name == "Transaction":
            from tight.models.transactions import Transaction as value
        else:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        return value
