"""Property: any value a model accepts is stored by DynamoDB (moto's server on 127.0.0.1)
and reads back equal; any other value is a ValidationError before anything is sent."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from test_models import dynamo  # noqa: F401 (fixture)

from tight.models import (
    Binary,
    Boolean,
    DateTime,
    List,
    Map,
    Model,
    Number,
    NumberSet,
    String,
    StringSet,
    ValidationError,
)
from tight.providers.aws.clients import dynamo_db


class Everything(Model):
    table = "values-everything"  # module-wide: the settings are reset for each test
    hash_key = "id"
    id = String()
    text = String()
    number = Number()
    flag = Boolean()
    blob = Binary()
    entries = List()
    document = Map()
    words = StringSet()
    numbers = NumberSet()
    when = DateTime()


@pytest.fixture(scope="module")
def table(dynamo):  # noqa: F811 (the fixture imported above)
    Everything.create_table()
    yield
    dynamo_db.connect().client.delete_table(TableName=Everything.table_name())


numbers = (
    st.integers(min_value=-(10**45), max_value=10**45)
    | st.floats()
    | st.decimals()
    | st.decimals(min_value=-(10**130), max_value=10**130)
)
scalars = st.none() | st.booleans() | st.text(max_size=20) | st.binary(max_size=20) | numbers
documents = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
offsets = st.timedeltas(
    min_value=datetime.timedelta(hours=-23, minutes=-59), max_value=datetime.timedelta(hours=23)
).map(datetime.timezone)
values = st.fixed_dictionaries(
    {"id": st.text(max_size=12)},
    optional={
        "text": st.text(max_size=40) | st.integers(),
        "number": numbers | st.text(max_size=3),
        "flag": st.booleans() | st.integers(0, 1),
        "blob": st.binary(max_size=40) | st.text(max_size=3),
        "entries": documents,
        "document": documents,
        "words": st.sets(st.text(max_size=10), max_size=5) | st.lists(st.integers(), max_size=2),
        "numbers": st.frozensets(
            st.integers(-(10**40), 10**40) | st.decimals(allow_nan=False), max_size=5
        ),
        "when": st.datetimes(timezones=st.none() | offsets),
    },
)


@pytest.mark.usefixtures("table")
@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(values)
def test_any_value_a_model_accepts_reads_back_equal(values):
    try:
        item = Everything(**values)
        item.to_item()
    except ValidationError:
        event("refused")
        return  # refused up front, naming the attribute: nothing reached DynamoDB
    event("stored")
    item.save()
    again = Everything.get(item.id, consistent=True)
    assert again.to_dict() == item.to_dict()
    assert again == item
