"""Run lifecycle: due feeds, abandoned runs, leases, and the retry backoff."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from shop.feeds import services
from shop.feeds.services import LeaseLost, backoff_seconds, feed_run_enqueue, feeds_enqueue_due
from shop.models import StockSyncRun
from tests.shop.factories import InventoryFeedFactory
from tests.shop.feed_helpers import catalog, csv_body, levels

pytestmark = pytest.mark.django_db


def test_only_due_active_feeds_with_a_url_are_fetched(
    feed_server, django_capture_on_commit_callbacks
):
    stock = catalog(A=5)
    brand = stock["A"].product.brand
    url = feed_server.serve("/stock.csv", csv_body({"A": 8}))
    due = InventoryFeedFactory.create(brand=brand, url=url, interval_minutes=30)
    later = InventoryFeedFactory.create(
        brand=brand, url=url, next_run_at=timezone.now() + timedelta(minutes=5)
    )
    inactive = InventoryFeedFactory.create(brand=brand, url=url, is_active=False)
    push_only = InventoryFeedFactory.create(brand=brand, url="")

    with django_capture_on_commit_callbacks(execute=True):
        queued = feeds_enqueue_due()

    assert queued == 1
    assert [run.feed_id for run in StockSyncRun.objects.all()] == [due.pk]
    assert not StockSyncRun.objects.filter(feed__in=[later, inactive, push_only]).exists()
    due.refresh_from_db()
    assert due.next_run_at is not None
    assert due.next_run_at > timezone.now() + timedelta(minutes=29)
    assert levels(stock["A"]) == [(8, 0)]

    with django_capture_on_commit_callbacks(execute=True):
        assert feeds_enqueue_due() == 0  # not due again until its interval has passed


def test_a_second_trigger_gets_the_active_run_back():
    feed = InventoryFeedFactory.create()
    active = StockSyncRun.objects.create(feed=feed, state="running", heartbeat_at=timezone.now())

    run, created = feed_run_enqueue(feed_id=feed.pk)

    assert (run.pk, created) == (active.pk, False)


def test_a_run_whose_worker_died_is_abandoned_and_the_feed_runs_again():
    feed = InventoryFeedFactory.create()
    long_ago = timezone.now() - services.stale_after() - timedelta(minutes=1)
    dead = StockSyncRun.objects.create(feed=feed, state="running", heartbeat_at=long_ago)
    StockSyncRun.objects.filter(pk=dead.pk).update(created_at=long_ago)

    run, created = feed_run_enqueue(feed_id=feed.pk)

    dead.refresh_from_db()
    assert created
    assert run.pk != dead.pk
    assert (dead.state, dead.message) == (
        "failed",
        "Abandoned: the worker stopped reporting progress.",
    )


def test_a_worker_that_lost_its_lease_writes_nothing_more():
    feed = InventoryFeedFactory.create()
    run = StockSyncRun.objects.create(feed=feed)
    assert services._claim(run.pk)
    run.refresh_from_db()
    StockSyncRun.objects.filter(pk=run.pk).update(attempts=run.attempts + 1)  # reclaimed

    with pytest.raises(LeaseLost):
        services._update(run, run.attempts, rows_done=10)

    run.refresh_from_db()
    assert run.rows_done == 0


def test_a_finished_run_is_not_executed_again():
    run = StockSyncRun.objects.create(feed=InventoryFeedFactory.create(), state="succeeded")

    assert services.feed_run_execute(run_id=run.pk).state == "skipped"


def test_backoff_grows_exponentially_with_jitter_and_a_cap(settings):
    settings.FEED_RETRY_BASE_SECONDS = 30
    settings.FEED_RETRY_MAX_SECONDS = 600
    rng = random.Random(1)

    delays = [backoff_seconds(attempt, rng=rng) for attempt in range(1, 8)]

    ceilings = [30, 60, 120, 240, 480, 600, 600]
    for delay, ceiling in zip(delays, ceilings, strict=True):
        assert ceiling / 2 <= delay <= ceiling
    assert len({round(d, 3) for d in delays}) == len(delays)  # jittered, not fixed
