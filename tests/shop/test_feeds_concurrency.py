"""Feed syncs racing checkouts on the same SKUs (PostgreSQL, threads): no oversell, no lost hold."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable

import pytest
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from shop.feeds.services import feed_run_execute
from shop.models import StockMovement, StockSyncRun, Variant
from shop.services.stock import stock_reserve, stock_sell_reserved
from tests.shop.factories import InventoryFeedFactory
from tests.shop.feed_helpers import catalog, csv_body

pytestmark = pytest.mark.django_db(transaction=True)


def run_threads(targets: list[Callable[[], None]]) -> None:
    barrier = threading.Barrier(len(targets))
    errors: list[BaseException] = []

    def wrapped(target: Callable[[], None]) -> None:
        try:
            barrier.wait()
            target()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=wrapped, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung (deadlock?)"
    assert not errors, errors


def test_syncs_racing_checkouts_never_oversell_or_lose_a_reservation():
    stock = catalog(HOT=200, SCARCE=6)
    hot, scarce = stock["HOT"], stock["SCARCE"]
    feed = InventoryFeedFactory.create(brand=hot.product.brand)
    feed_levels = [(170, 4), (190, 2), (160, 5), (180, 1), (175, 3)]
    tally: Counter = Counter()
    overdrawn: list[tuple[int, int, int]] = []
    lock = threading.Lock()
    applied: list[tuple[StockSyncRun, int]] = []

    def shopper(seed: int) -> Callable[[], None]:
        rng = random.Random(seed)

        def shop() -> None:
            for _ in range(15):
                variant = hot if rng.random() < 0.7 else scarce
                with transaction.atomic():
                    if not stock_reserve(variant_id=variant.pk, quantity=1):
                        with lock:
                            tally[(variant.pk, "refused")] += 1
                        continue
                    on_hand, reserved = Variant.objects.values_list("on_hand", "reserved").get(
                        pk=variant.pk
                    )
                    if reserved > on_hand:
                        overdrawn.append((variant.pk, on_hand, reserved))
                    sold = rng.random() < 0.5
                    if sold:
                        stock_sell_reserved(variant_id=variant.pk, quantity=1, reference="t")
                with lock:
                    tally[(variant.pk, "held")] += 1
                    tally[(variant.pk, "sold")] += sold

        return shop

    def syncer() -> None:
        for hot_level, scarce_level in feed_levels:
            body = csv_body({"HOT": hot_level, "SCARCE": scarce_level}).encode()
            run = StockSyncRun.objects.create(feed=feed, origin="push", payload=body)
            assert feed_run_execute(run_id=run.pk).state == "succeeded"
            applied.append((run, hot_level))

    run_threads([shopper(seed) for seed in range(8)] + [syncer])

    hot.refresh_from_db()
    scarce.refresh_from_db()
    # Never oversold: no reservation ever succeeded beyond what was on hand.
    assert overdrawn == []
    # No reservation lost: every unit held and not sold is still reserved.
    for variant in (hot, scarce):
        held, sold = tally[(variant.pk, "held")], tally[(variant.pk, "sold")]
        assert variant.reserved == held - sold
        assert variant.on_hand >= 0
    # Sold units are never put back: the last feed's level less what sold after its as-of.
    last_run, last_level = applied[-1]
    last_run.refresh_from_db()
    sold_after = -(
        StockMovement.objects.filter(
            variant=hot, reason="sale", created_at__gt=last_run.as_of
        ).aggregate(total=Sum("delta"))["total"]
        or 0
    )
    assert hot.on_hand == last_level - sold_after
    # The ledger explains every unit.
    total = StockMovement.objects.filter(variant=hot).aggregate(total=Sum("delta"))["total"]
    assert hot.on_hand == 200 + total
    assert tally[(hot.pk, "held")] > 0
    assert last_run.as_of is not None
    assert last_run.as_of <= timezone.now()
