"""Applying feeds: sold units never come back, reservations stay, and a mass zeroing waits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shop.feeds.services import feed_run_confirm, feed_run_execute
from shop.models import InventoryFeed, StockMovement, StockSyncRun
from shop.services.stock import stock_reserve, stock_sell_reserved
from tests.shop.factories import BrandFactory, InventoryFeedFactory
from tests.shop.feed_helpers import catalog, csv_body, json_body, levels, run_feed

pytestmark = pytest.mark.django_db


def sell(variant, quantity: int, *, at=None) -> None:
    with transaction.atomic():
        assert stock_reserve(variant_id=variant.pk, quantity=quantity)
        stock_sell_reserved(variant_id=variant.pk, quantity=quantity, reference="order 1")
    if at is not None:
        StockMovement.objects.filter(variant=variant, reason="sale").update(created_at=at)


def json_feed(feed_server, stock, rows, *, as_of=None, **feed_fields) -> InventoryFeed:
    url = feed_server.serve("/stock.json", json_body(rows, as_of=as_of))
    return InventoryFeedFactory.create(
        brand=next(iter(stock.values())).product.brand,
        url=url,
        format=InventoryFeed.Format.JSON,
        **feed_fields,
    )


def test_units_sold_after_the_feeds_as_of_time_are_not_put_back(
    feed_server, django_capture_on_commit_callbacks
):
    stock = catalog(A=10, B=10)
    now = timezone.now()
    sell(stock["A"], 3, at=now - timedelta(minutes=10))  # after the feed's as-of time
    sell(stock["B"], 2, at=now - timedelta(hours=2))  # before it: the brand counted it
    feed = json_feed(feed_server, stock, {"A": 10, "B": 8}, as_of=now - timedelta(hours=1))

    run = run_feed(feed, django_capture_on_commit_callbacks)

    assert run.as_of == now - timedelta(hours=1)
    assert (run.changed, run.unchanged) == (0, 2)
    assert levels(stock["A"], stock["B"]) == [(7, 0), (8, 0)]


def test_as_of_from_a_response_header(feed_server, django_capture_on_commit_callbacks):
    stock = catalog(A=10)
    sell(stock["A"], 4)
    as_of = timezone.now() - timedelta(minutes=5)
    url = feed_server.serve(
        "/stock.csv", csv_body({"A": 20}), headers={"X-Inventory-As-Of": as_of.isoformat()}
    )
    feed = InventoryFeedFactory.create(brand=stock["A"].product.brand, url=url)

    run = run_feed(feed, django_capture_on_commit_callbacks)

    assert run.as_of == as_of
    assert levels(stock["A"]) == [(16, 0)]


def test_as_of_in_the_future_counts_as_the_fetch_time(
    feed_server, django_capture_on_commit_callbacks
):
    stock = catalog(A=10)
    sell(stock["A"], 4)
    feed = json_feed(feed_server, stock, {"A": 20}, as_of=timezone.now() + timedelta(days=1))

    run = run_feed(feed, django_capture_on_commit_callbacks)

    assert run.as_of is not None
    assert run.as_of <= timezone.now()
    assert levels(stock["A"]) == [(20, 0)]


def test_identical_body_keeps_its_first_as_of_so_later_sales_are_not_undone(
    feed_server, django_capture_on_commit_callbacks
):
    stock = catalog(A=10)
    url = feed_server.serve("/stock.csv", csv_body({"A": 12}))  # no ETag, no as-of
    feed = InventoryFeedFactory.create(brand=stock["A"].product.brand, url=url)
    first = run_feed(feed, django_capture_on_commit_callbacks)
    sell(stock["A"], 5)

    second = run_feed(feed, django_capture_on_commit_callbacks)

    assert second.as_of == first.as_of
    assert (second.changed, levels(stock["A"])) == (0, [(7, 0)])


def test_a_sync_never_releases_reserved_units_and_records_the_conflict(
    feed_server, django_capture_on_commit_callbacks
):
    stock = catalog(A=5, B=5)
    with transaction.atomic():
        assert stock_reserve(variant_id=stock["A"].pk, quantity=4)
    feed = json_feed(feed_server, stock, {"A": 2, "B": 5})

    run = run_feed(feed, django_capture_on_commit_callbacks)

    assert levels(stock["A"]) == [(2, 4)]
    assert stock["A"].available == 0
    assert run.below_reserved == 1
    assert run.conflicts == [{"sku": "A", "on_hand": 2, "reserved": 4}]


def test_a_feed_zeroing_most_of_the_catalog_is_held_until_confirmed(
    feed_server, django_capture_on_commit_callbacks
):
    stock = catalog(A=5, B=5, C=5, D=5)
    feed = json_feed(feed_server, stock, {"A": 0, "B": 0, "C": 0, "D": 5})

    run = run_feed(feed, django_capture_on_commit_callbacks)

    assert (run.state, run.zeroed, run.changed) == ("held", 3, 0)
    assert "3 of the brand's 4 variants" in run.message
    assert levels(stock["A"], stock["B"]) == [(5, 0), (5, 0)]
    assert StockMovement.objects.filter(reason="feed_sync").count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        feed_run_confirm(run_id=run.pk, actor_id=None)

    run.refresh_from_db()
    assert (run.state, run.changed, run.confirmed, run.payload) == ("succeeded", 3, True, None)
    assert levels(stock["A"], stock["D"]) == [(0, 0), (5, 0)]
    assert feed_server.hits("/stock.json") == 1  # the held body was kept, not fetched again


def test_zeroing_exactly_the_limit_is_applied(feed_server, django_capture_on_commit_callbacks):
    stock = catalog(A=5, B=5, C=5, D=5)
    feed = json_feed(feed_server, stock, {"A": 0, "B": 0})

    run = run_feed(feed, django_capture_on_commit_callbacks)

    assert (run.state, run.changed) == ("succeeded", 2)


def test_a_feed_older_than_the_one_applied_is_refused(
    feed_server, django_capture_on_commit_callbacks
):
    stock = catalog(A=5)
    feed = json_feed(feed_server, stock, {"A": 3}, as_of=timezone.now() - timedelta(hours=3))
    feed.applied_as_of = timezone.now() - timedelta(hours=1)
    feed.save()

    run = run_feed(feed, django_capture_on_commit_callbacks)

    assert run.state == "failed"
    assert "older than what was applied" in run.message
    assert levels(stock["A"]) == [(5, 0)]


def test_only_a_held_run_can_be_confirmed():
    run = StockSyncRun.objects.create(feed=InventoryFeedFactory.create(), state="succeeded")
    with pytest.raises(Exception, match="Only a held run"):
        feed_run_confirm(run_id=run.pk, actor_id=None)


def _statements(queries) -> list[str]:
    return [q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]


def _writes(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].split()[0] in ("INSERT", "UPDATE", "DELETE")]


def test_a_large_feed_reads_at_most_one_query_per_500_rows_and_an_unchanged_rerun_writes_no_stock(
    feed_server,
):
    brand = BrandFactory.create()
    stock = catalog(brand, **{f"S{i:05d}": 10 for i in range(3000)})
    rows = {sku: (11 if i % 10 == 0 else 10) for i, sku in enumerate(stock)}
    url = feed_server.serve("/big.csv", csv_body(rows))
    feed = InventoryFeedFactory.create(brand=brand, url=url)

    run = StockSyncRun.objects.create(feed=feed)
    with CaptureQueriesContext(connection) as first:
        feed_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert (run.state, run.changed, run.unchanged) == ("succeeded", 300, 2700)
    stock_reads = [
        q
        for q in first.captured_queries
        if q["sql"].startswith("SELECT") and "shop_variant" in q["sql"]
    ]
    assert len(stock_reads) <= 3000 / 500
    # run bookkeeping (claim, phases, finish, feed markers) + 3 plan reads + 1 batch of 3
    assert len(_statements(first.captured_queries)) <= 20

    again = StockSyncRun.objects.create(feed=feed)
    with CaptureQueriesContext(connection) as second:
        feed_run_execute(run_id=again.pk)
    again.refresh_from_db()
    assert (again.changed, again.unchanged) == (0, 3000)
    stock_writes = [
        sql
        for sql in _writes(second.captured_queries)
        if "shop_variant" in sql or "shop_stockmovement" in sql
    ]
    assert stock_writes == []
    assert len(_statements(second.captured_queries)) <= 14
