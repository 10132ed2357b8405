"""Fetching feeds from a real HTTP server on 127.0.0.1 and applying them."""

from __future__ import annotations

import pytest

from shop.feeds.services import feed_run_execute
from shop.models import InventoryFeed, StockMovement, StockSyncRun
from tests.shop.factories import InventoryFeedFactory, VariantFactory
from tests.shop.feed_helpers import catalog, csv_body, levels, run_feed

pytestmark = pytest.mark.django_db


def feed_movements() -> list[tuple[str, int, int]]:
    movements = StockMovement.objects.filter(reason=StockMovement.Reason.FEED_SYNC)
    return sorted(movements.values_list("variant__sku", "delta", "on_hand_after"))


def test_csv_feed_sets_stock_through_audited_movements(
    feed_server, django_capture_on_commit_callbacks
):
    stock = catalog(A=5, B=7, C=0)
    url = feed_server.serve("/stock.csv", csv_body({"A": 12, "B": 7, "C": 3}))
    feed = InventoryFeedFactory.create(brand=stock["A"].product.brand, url=url)

    run = run_feed(feed, django_capture_on_commit_callbacks)

    assert run.state == StockSyncRun.State.SUCCEEDED
    assert (run.rows, run.changed, run.unchanged, run.unknown_sku, run.invalid) == (3, 2, 1, 0, 0)
    assert levels(stock["A"], stock["B"], stock["C"]) == [(12, 0), (7, 0), (3, 0)]
    assert feed_movements() == [("A", 7, 12), ("C", 3, 3)]
    assert StockMovement.objects.filter(reference=f"feed {feed.pk} run {run.pk}").count() == 2


def test_json_feed_with_items_and_custom_keys(feed_server, django_capture_on_commit_callbacks):
    stock = catalog(A=5, B=7)
    body = '{"data": [{"code": "A", "stock": 1}, {"code": "B", "stock": "2"}]}'
    url = feed_server.serve("/stock.json", body, content_type="application/json")
    feed = InventoryFeedFactory.create(
        brand=stock["A"].product.brand,
        url=url,
        format=InventoryFeed.Format.JSON,
        column_mapping={"sku": "code", "quantity": "stock", "items": "data"},
    )

    run = run_feed(feed, django_capture_on_commit_callbacks)

    assert (run.state, run.changed) == ("succeeded", 2)
    assert levels(stock["A"], stock["B"]) == [(1, 0), (2, 0)]


def test_unchanged_feed_answers_304_and_costs_one_request_and_no_writes(
    feed_server, django_capture_on_commit_callbacks
):
    stock = catalog(A=5)
    url = feed_server.serve("/stock.csv", csv_body({"A": 9}), etag='"v1"')
    feed = InventoryFeedFactory.create(brand=stock["A"].product.brand, url=url)
    run_feed(feed, django_capture_on_commit_callbacks)

    second = run_feed(feed, django_capture_on_commit_callbacks)

    assert (second.state, second.not_modified, second.rows) == ("succeeded", True, 0)
    assert feed_server.hits("/stock.csv") == 2
    assert feed_server.requests[-1].headers.get("If-None-Match") == '"v1"'
    assert feed_movements() == [("A", 4, 9)]


def test_if_modified_since_is_sent_when_the_server_gives_last_modified(
    feed_server, django_capture_on_commit_callbacks
):
    stock = catalog(A=5)
    stamp = "Wed, 21 Oct 2015 07:28:00 GMT"
    url = feed_server.serve("/stock.csv", csv_body({"A": 9}), last_modified=stamp)
    feed = InventoryFeedFactory.create(brand=stock["A"].product.brand, url=url)
    run_feed(feed, django_capture_on_commit_callbacks)

    second = run_feed(feed, django_capture_on_commit_callbacks)

    assert second.not_modified
    assert feed_server.requests[-1].headers.get("If-Modified-Since") == stamp


def test_same_body_without_validators_rewrites_nothing(
    feed_server, django_capture_on_commit_callbacks
):
    stock = catalog(A=5, B=3)
    url = feed_server.serve("/stock.csv", csv_body({"A": 9, "B": 3}))
    feed = InventoryFeedFactory.create(brand=stock["A"].product.brand, url=url)
    run_feed(feed, django_capture_on_commit_callbacks)

    second = run_feed(feed, django_capture_on_commit_callbacks)

    assert (second.state, second.changed, second.unchanged) == ("succeeded", 0, 2)
    assert feed_movements() == [("A", 4, 9)]


def test_malformed_rows_are_counted_and_named_while_valid_rows_apply(
    feed_server, django_capture_on_commit_callbacks
):
    stock = catalog(A=5, B=5, C=5, D=5)
    other_brand = VariantFactory.create(sku="THEIRS", on_hand=4)
    rows = [
        ("A", 8),  # line 2: valid
        ("B", -1),  # line 3: negative
        ("C", "many"),  # line 4: not a number
        ("D", 2),  # line 5: duplicate with line 6
        ("D", 3),
        ("NOPE", 1),  # line 7: unknown SKU
        ("THEIRS", 99),  # line 8: another brand's SKU is unknown here
        ("", 4),  # line 9: no SKU
        ("A2", "1.5"),  # line 10: not whole
    ]
    url = feed_server.serve("/stock.csv", csv_body(rows))
    feed = InventoryFeedFactory.create(brand=stock["A"].product.brand, url=url)

    run = run_feed(feed, django_capture_on_commit_callbacks)

    assert run.state == "succeeded"
    assert (run.rows, run.changed, run.invalid, run.unknown_sku) == (9, 1, 6, 2)
    assert levels(stock["A"], stock["B"], stock["C"], stock["D"], other_brand) == [
        (8, 0),
        (5, 0),
        (5, 0),
        (5, 0),
        (4, 0),
    ]
    assert [(e["row"], e["code"]) for e in run.errors] == [
        (3, "negative"),
        (4, "not_a_number"),
        (5, "duplicate_sku"),
        (6, "duplicate_sku"),
        (7, "unknown_sku"),
        (8, "unknown_sku"),
        (9, "missing_sku"),
        (10, "not_a_number"),
    ]


@pytest.mark.parametrize(
    ("body", "fmt", "message"),
    [
        ("{not json", "json", "Not valid JSON"),
        ('{"rows": []}', "json", "neither a list"),
        ("code,qty\nA,1\n", "csv", "no column sku, quantity"),
        ("", "csv", "empty"),
        (b"sku,quantity\n\xff\xfe,1\n", "csv", "not UTF-8"),
    ],
)
def test_an_unreadable_feed_fails_the_run_and_changes_nothing(
    feed_server, django_capture_on_commit_callbacks, body, fmt, message
):
    stock = catalog(A=5)
    url = feed_server.serve("/stock", body)
    feed = InventoryFeedFactory.create(brand=stock["A"].product.brand, url=url, format=fmt)

    run = run_feed(feed, django_capture_on_commit_callbacks)

    assert run.state == "failed"
    assert message in run.message
    assert levels(stock["A"]) == [(5, 0)]
    feed.refresh_from_db()
    assert feed.content_sha256 == ""  # the next fetch reads it again


def test_slow_server_hits_the_read_timeout(
    feed_server, django_capture_on_commit_callbacks, settings
):
    settings.FEED_READ_TIMEOUT = 0.3
    settings.FEED_MAX_RETRIES = 0
    stock = catalog(A=5)
    url = feed_server.serve("/slow.csv", csv_body({"A": 1}), delay=1.5)
    feed = InventoryFeedFactory.create(brand=stock["A"].product.brand, url=url)

    run = run_feed(feed, django_capture_on_commit_callbacks)

    assert run.state == "failed"
    assert run.errors[0]["code"] == "timeout"
    assert levels(stock["A"]) == [(5, 0)]


def test_server_trickling_bytes_hits_the_download_deadline(
    feed_server, django_capture_on_commit_callbacks, settings
):
    settings.FEED_FETCH_DEADLINE = 0.5
    settings.FEED_MAX_RETRIES = 0
    stock = catalog(A=5)
    url = feed_server.serve("/drip.csv", csv_body({"A": 1}) * 5, trickle=0.05)
    feed = InventoryFeedFactory.create(brand=stock["A"].product.brand, url=url)

    run = run_feed(feed, django_capture_on_commit_callbacks)

    assert (run.state, run.errors[0]["code"]) == ("failed", "timeout")


@pytest.mark.parametrize("chunked", [False, True])
def test_too_big_a_feed_is_refused(
    feed_server, django_capture_on_commit_callbacks, settings, chunked
):
    settings.FEED_MAX_BYTES = 1000
    stock = catalog(A=5)
    body = csv_body({f"S{i}": i for i in range(200)})
    url = feed_server.serve("/big.csv", body, chunked=chunked)
    feed = InventoryFeedFactory.create(brand=stock["A"].product.brand, url=url)

    run = run_feed(feed, django_capture_on_commit_callbacks)

    assert (run.state, run.errors[0]["code"]) == ("failed", "too_big")


def test_a_4xx_is_not_retried(feed_server, django_capture_on_commit_callbacks, settings):
    settings.FEED_MAX_RETRIES = 3
    stock = catalog(A=5)
    url = feed_server.serve("/gone.csv", "nope", status=403)
    feed = InventoryFeedFactory.create(brand=stock["A"].product.brand, url=url)

    run = run_feed(feed, django_capture_on_commit_callbacks)

    assert (run.state, run.attempts, run.errors[0]["code"]) == ("failed", 1, "http_403")
    assert feed_server.hits("/gone.csv") == 1


@pytest.fixture
def eager_retries():
    """Let eager tasks retry in place (the task's own `self.retry`), as a worker would."""
    from config.celery_app import app

    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = True


@pytest.mark.usefixtures("eager_retries")
def test_a_5xx_is_retried_until_the_feed_answers(
    feed_server, django_capture_on_commit_callbacks, settings
):
    settings.FEED_MAX_RETRIES = 3
    stock = catalog(A=5)
    url = feed_server.serve("/busy.csv", csv_body({"A": 6}), fail_first=2)
    feed = InventoryFeedFactory.create(brand=stock["A"].product.brand, url=url)

    run = run_feed(feed, django_capture_on_commit_callbacks)  # eager: retries run at once

    assert (run.state, run.attempts) == ("succeeded", 3)
    assert levels(stock["A"]) == [(6, 0)]


def test_retries_stop_after_the_limit(feed_server, settings):
    settings.FEED_MAX_RETRIES = 1
    stock = catalog(A=5)
    url = feed_server.serve("/busy.csv", csv_body({"A": 6}), fail_first=5)
    feed = InventoryFeedFactory.create(brand=stock["A"].product.brand, url=url)
    run = StockSyncRun.objects.create(feed=feed)

    first = feed_run_execute(run_id=run.pk)
    second = feed_run_execute(run_id=run.pk)

    assert first.state == "queued"
    assert first.retry_in is not None
    assert (second.state, second.retry_in) == ("failed", None)
    run.refresh_from_db()
    assert (run.state, run.attempts) == ("failed", 2)


def test_network_error_is_retried(settings):
    settings.FEED_MAX_RETRIES = 2
    stock = catalog(A=5)
    feed = InventoryFeedFactory.create(
        brand=stock["A"].product.brand, url="http://127.0.0.1:9/closed.csv"
    )
    run = StockSyncRun.objects.create(feed=feed)

    outcome = feed_run_execute(run_id=run.pk)

    run.refresh_from_db()
    assert outcome.retry_in is not None
    assert (run.state, run.attempts) == ("queued", 1)
    assert "Could not reach" in run.message
