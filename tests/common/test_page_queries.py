"""PageRows: a page query compiled once per key and steps, its rows always read afresh."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Min
from django.test.utils import CaptureQueriesContext

from common import page_queries
from common.page_queries import PageRows
from shop.models import Product
from tests.conftest import compiles
from tests.shop.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _nothing_remembered():
    page_queries.forget_all()
    yield
    page_queries.forget_all()


def values():
    return Product.objects.annotate(low=Min("variants__price")).values("id", "title", "low")


def test_rows_match_the_orm_and_a_second_read_compiles_nothing():
    for title, price in (("b", "3.50"), ("a", "1.25"), ("c", "2.00")):
        VariantFactory.create(product=ProductFactory.create(title=title), price=Decimal(price))
    rows = PageRows(values, key="k").order_by("low", "id").filter(low__gt=Decimal("1.5"))
    expected = list(values().order_by("low", "id").filter(low__gt=Decimal("1.5"))[0:5])
    first = compiles(lambda: rows[0:5])
    second = compiles(lambda: rows[0:5])
    assert first == (1, expected)
    assert second == (0, expected)
    assert [row["low"] for row in expected] == [Decimal("2.00"), Decimal("3.50")]


def test_rows_are_read_afresh_on_every_read():
    product = ProductFactory.create(title="a")
    rows = PageRows(values, key="k").order_by("id")
    assert [row["title"] for row in rows[0:5]] == ["a"]
    Product.objects.filter(pk=product.pk).update(title="changed")
    ProductFactory.create(title="new")
    assert [row["title"] for row in rows[0:5]] == ["changed", "new"]


def test_each_key_and_each_step_is_its_own_statement():
    for title in "abc":
        ProductFactory.create(title=title)
    built = []

    def build():
        built.append(1)
        return values()

    def titles(rows):
        return [row["title"] for row in rows]

    assert titles(PageRows(build, key="k").order_by("title")[0:2]) == ["a", "b"]
    assert titles(PageRows(build, key="k").order_by("-title")[0:2]) == ["c", "b"]
    assert titles(PageRows(build, key="k").order_by("title")[1:3]) == ["b", "c"]
    assert titles(PageRows(build, key="k").order_by("title").filter(title__gt="a")[0:9]) == [
        "b",
        "c",
    ]
    assert titles(PageRows(build, key="other").order_by("title")[0:2]) == ["a", "b"]
    assert len(built) == 5
    PageRows(build, key="k").order_by("title")[0:2]
    assert len(built) == 5  # remembered: the queryset was not built again


def test_a_build_that_raises_remembers_nothing():
    calls = []

    def build():
        calls.append(1)
        raise ValueError("bad filter")

    for _ in range(2):
        with pytest.raises(ValueError, match="bad filter"):
            PageRows(build, key="k").order_by("id")[0:1]
    assert len(calls) == 2


def test_at_most_max_statements_are_kept(monkeypatch):
    monkeypatch.setattr(page_queries, "MAX_STATEMENTS", 2)
    ProductFactory.create(title="a")
    for key in ("one", "two", "three"):
        PageRows(values, key=key).order_by("id")[0:1]
    assert len(page_queries._statements) == 2
    assert compiles(lambda: PageRows(values, key="one").order_by("id")[0:1])[0] == 1
    assert compiles(lambda: PageRows(values, key="three").order_by("id")[0:1])[0] == 0


def test_a_filter_no_row_can_match_reads_nothing_and_sends_no_query():
    ProductFactory.create(title="a")
    rows = PageRows(lambda: values().filter(id__in=[]), key="k").order_by("id")
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            assert rows[0:5] == []
        assert queries.captured_queries == []


def test_only_a_values_queryset_and_a_plain_slice_are_read():
    with pytest.raises(TypeError):
        PageRows(lambda: Product.objects.all(), key="k")[0:1]
    with pytest.raises(TypeError):
        PageRows(values, key="k")[0:4:2]
    with pytest.raises(TypeError):
        PageRows(values, key="k")[0]  # type: ignore[index]


def test_a_statement_run_often_is_prepared_by_psycopg():
    ProductFactory.create(title="a")
    rows = PageRows(values, key="k").order_by("id")
    for _ in range(6):  # past the prepare threshold (5)
        with CaptureQueriesContext(connection) as queries:
            assert len(rows[0:1]) == 1
        assert len(queries.captured_queries) == 1
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ['%FROM "shop_product"%ORDER BY%'],
        )
        assert cursor.fetchone()[0] >= 1
