"""Prepared statements: prepared once per session, executed after, bounded, and never wrong."""

from __future__ import annotations

import datetime
import decimal
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from common import prepared
from common.prepared import numbered, parameter_type, prepared_selects
from shop.models import Product
from tests.shop.factories import ProductFactory

pytestmark = pytest.mark.django_db


def session_statements() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, statement FROM pg_prepared_statements")
        return dict(cursor.fetchall())


def titles(**filters) -> list[str]:
    return list(Product.objects.filter(**filters).order_by("title").values_list("title", flat=True))


def test_a_select_is_prepared_on_its_first_run_and_executed_after():
    ProductFactory.create(title="Alpha", category="beauty")
    ProductFactory.create(title="Beta", category="home")
    with CaptureQueriesContext(connection) as queries, prepared_selects():
        first = titles(category="beauty")
        second = titles(category="home")
    assert (first, second) == (["Alpha"], ["Beta"])
    sent = [query["sql"] for query in queries.captured_queries]
    assert len(sent) == 2
    name = sent[0].split()[1]
    # One round trip prepares and runs it; the next only runs it.
    assert sent[0].startswith(f"PREPARE {name} (text) AS SELECT ")
    assert sent[0].endswith(f";EXECUTE {name} ('beauty')")
    assert sent[1] == f"EXECUTE {name} ('home')"
    assert name in session_statements()


def test_outside_the_block_nothing_is_prepared():
    ProductFactory.create(title="Alpha")
    with CaptureQueriesContext(connection) as queries:
        assert titles(title="Alpha") == ["Alpha"]
    assert queries.captured_queries[0]["sql"].startswith("SELECT ")


def test_a_value_of_unknown_type_runs_the_query_as_sent():
    ProductFactory.create(title="Alpha", tags=["x"])
    with CaptureQueriesContext(connection) as queries, prepared_selects():
        assert titles(tags__contains=["x"]) == ["Alpha"]  # a Jsonb adapter: no declared type
    assert queries.captured_queries[0]["sql"].startswith("SELECT ")


def test_writes_are_not_prepared():
    product = ProductFactory.create(title="Alpha")
    with CaptureQueriesContext(connection) as queries, prepared_selects():
        Product.objects.filter(pk=product.pk).update(title="Beta")
    assert queries.captured_queries[0]["sql"].startswith("UPDATE ")


def test_a_literal_percent_sign_survives_preparing():
    ProductFactory.create(title="100% cotton")
    ProductFactory.create(title="100 cotton")
    with prepared_selects():
        for _ in range(2):
            assert titles(title__contains="0% c") == ["100% cotton"]


@pytest.mark.django_db(transaction=True)
def test_a_session_keeps_at_most_its_limit_and_deallocates_the_oldest(monkeypatch):
    monkeypatch.setattr(prepared, "MAX_PER_SESSION", 2)
    ProductFactory.create(title="Alpha")
    connection.close()  # a new session: nothing prepared yet
    with CaptureQueriesContext(connection) as queries, prepared_selects():
        titles(title="Alpha")
        titles(category="home")
        titles(slug="alpha")
    sent = [query["sql"] for query in queries.captured_queries]
    oldest = sent[0].split()[1]
    assert sent[2].startswith(f"DEALLOCATE {oldest};PREPARE ")
    assert set(session_statements()) == {sent[1].split()[1], sent[2].split()[2]}


@pytest.mark.parametrize(
    ("value", "sql_type"),
    [
        (True, "boolean"),
        (3, "bigint"),
        (decimal.Decimal("1.50"), "numeric"),
        (1.5, "double precision"),
        ("x", "text"),
        (datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC), "timestamptz"),
        (datetime.datetime(2026, 1, 1), "timestamp"),
        (datetime.date(2026, 1, 1), "date"),
        (uuid.uuid4(), "uuid"),
        (None, None),
        ([1], None),
    ],
)
def test_parameters_are_declared_by_their_python_type(value, sql_type):
    assert parameter_type(value) == sql_type


def test_django_placeholders_are_numbered_and_literal_percent_signs_kept():
    assert numbered("a = %s AND b LIKE '%%s' AND c = %s") == "a = $1 AND b LIKE '%%s' AND c = $2"
