"""Transactions: writes to one or more tables that succeed or fail together.

``with Model.transaction() as t: t.put(a); t.update(b, set=...); t.delete(c)`` sends one
TransactWriteItems when the block ends; a cancelled transaction raises the error of its
first failing action (``ConditionFailed`` with its ``index``, ``TransactionConflict``,
``ValidationError`` or ``Throttled``), every action's reason in ``reasons``. This module is
loaded on the first ``Model.transaction()``.
"""

from decimal import Decimal

from tight.models.errors import _dynamo
from tight.providers.aws.clients import dynamo_db

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from tight.models.model import Model
else:
    Any = object


class Transaction:
    """Writes that succeed or fail together (TransactWriteItems), sent when the block ends.

    Sent through the resource's client, which takes plain values as a Table does.
    Versioned items get their version condition and the next version, as with ``save``."""

    def __init__(self) -> None:
        self.actions: list[dict[str, Any]] = []
        self.bumps: list[tuple[Model, int]] = []

    def __enter__(self) -> "Transaction":
        return self

    @staticmethod
    def _condition(options: dict[str, Any], condition: Any) -> dict[str, Any]:
        """Build the condition into the action (boto3 would put its names at the top)."""
        if condition is None:
            return options
        from boto3.dynamodb.conditions import ConditionExpressionBuilder

        built = ConditionExpressionBuilder().build_expression(condition)
        options["ConditionExpression"] = built.condition_expression
        options.setdefault("ExpressionAttributeNames", {}).update(built.attribute_name_placeholders)
        if built.attribute_value_placeholders:
            values = options.setdefault("ExpressionAttributeValues", {})
            values.update(built.attribute_value_placeholders)
        return options

    def put(self, item: "Model", condition: Any = None) -> None:
        stored = item.to_item()
        condition, version = item._version_guard(condition)
        if version is not None and item.version_field:
            stored[item.attributes[item.version_field].name] = Decimal(version)
            self.bumps.append((item, version))
        options = {"TableName": item.table_name(), "Item": stored}
        self.actions.append({"Put": self._condition(options, condition)})

    def delete(self, item: "Model", condition: Any = None) -> None:
        condition, _ = item._version_guard(condition)
        options = {"TableName": item.table_name(), "Key": item.own_key()}
        self.actions.append({"Delete": self._condition(options, condition)})

    def check(self, item: "Model", condition: Any) -> None:
        options = {"TableName": item.table_name(), "Key": item.own_key()}
        self.actions.append({"ConditionCheck": self._condition(options, condition)})

    def update(self, item: "Model", set: dict[str, Any] | None = None,
               add: dict[str, Any] | None = None, remove: "Iterable[str]" = (),
               condition: Any = None, create: bool = False) -> None:  # fmt: skip
        """As ``Model.update``: a missing item fails the transaction (``ConditionFailed``
        with this action's ``index``) unless ``create=True``. The instance is not refreshed
        (a transaction returns nothing)."""
        keep = item._required_for_create(set, add, remove) if create else None
        condition, _ = item._existence_guard(condition, create)
        condition, version = item._version_guard(condition)
        expression, names, values = item._changes(set, add, remove, version, keep)
        options: dict[str, Any] = {
            "TableName": item.table_name(),
            "Key": item.own_key(),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
        }
        if values:
            options["ExpressionAttributeValues"] = values
        self.actions.append({"Update": self._condition(options, condition)})
        if version is not None:
            self.bumps.append((item, version))

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        if kind is not None or not self.actions:
            return
        client = dynamo_db.connect().client
        _dynamo(
            f"a transaction of {len(self.actions)} actions",
            client.transact_write_items,
            TransactItems=self.actions,
        )
        for item, version in self.bumps:
            if item.version_field:
                item.__dict__[item.version_field] = version
