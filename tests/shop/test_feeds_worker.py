"""A real Celery worker on the real broker: one run per feed, however often it is triggered."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from shop import tasks
from shop.feeds.services import feed_run_enqueue
from shop.models import StockMovement, StockSyncRun
from tests.shop.factories import InventoryFeedFactory
from tests.shop.feed_helpers import catalog, csv_body, levels

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def wait_for_finished_runs(feed, timeout: float = 60) -> list[StockSyncRun]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = list(StockSyncRun.objects.filter(feed=feed))
        if runs and all(run.state not in StockSyncRun.ACTIVE_STATES for run in runs):
            return runs
        time.sleep(0.2)
    raise AssertionError(f"runs still active: {list(StockSyncRun.objects.values('state'))}")


def test_the_same_feed_triggered_twice_at_once_produces_one_run(real_worker, feed_server):
    stock = catalog(A=5, B=5)
    # A slow answer keeps the first run busy while the duplicates arrive.
    url = feed_server.serve("/stock.csv", csv_body({"A": 9, "B": 1}), delay=1.0)
    feed = InventoryFeedFactory.create(brand=stock["A"].product.brand, url=url)
    barrier = threading.Barrier(2)
    results: list[tuple[int, bool]] = []

    def trigger() -> None:
        try:
            barrier.wait()
            run, created = feed_run_enqueue(feed_id=feed.pk)
            results.append((run.pk, created))
        finally:
            connection.close()

    threads = [threading.Thread(target=trigger) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # The same message delivered again (a redelivery after a lost ack) must not run twice.
    tasks.feed_run_execute.delay(results[0][0])

    runs = wait_for_finished_runs(feed)

    assert sorted(created for _, created in results) == [False, True]
    assert len({pk for pk, _ in results}) == 1
    assert [(run.state, run.changed) for run in runs] == [("succeeded", 2)]
    assert feed_server.hits("/stock.csv") == 1
    assert levels(stock["A"], stock["B"]) == [(9, 0), (1, 0)]
    assert StockMovement.objects.filter(reason="feed_sync").count() == 2


def test_two_beats_at_once_queue_one_run_of_a_due_feed(real_worker, feed_server):
    stock = catalog(A=5)
    url = feed_server.serve("/stock.csv", csv_body({"A": 7}), delay=0.5)
    feed = InventoryFeedFactory.create(brand=stock["A"].product.brand, url=url)

    first, second = tasks.feeds_enqueue_due.delay(), tasks.feeds_enqueue_due.delay()
    queued = first.get(timeout=60) + second.get(timeout=60)
    runs = wait_for_finished_runs(feed)

    assert queued == 1
    assert [run.state for run in runs] == ["succeeded"]
    assert levels(stock["A"]) == [(7, 0)]
    feed.refresh_from_db()
    assert feed.next_run_at is not None
