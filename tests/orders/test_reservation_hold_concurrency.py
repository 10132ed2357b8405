"""Threads racing for the same units on the real PostgreSQL, through reservation_hold itself."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import timedelta
from functools import partial

import pytest
from django.db import connection, transaction
from django.utils import timezone

from orders.models import Order, OrderLine, StockReservation
from orders.services.reservations import reservations_expire, reservations_reclaim_expired
from tests.orders.helpers import variant_in_stock
from tests.orders.hold_helpers import hold, live_units, order_lines

pytestmark = pytest.mark.django_db(transaction=True)


def run_threads(targets: Sequence[Callable[[], object]]) -> list[object]:
    """Start every target at once; return their results, re-raising the first error."""
    barrier = threading.Barrier(len(targets))
    results: list[object] = [None] * len(targets)
    errors: list[BaseException] = []

    def wrapped(index: int) -> None:
        try:
            barrier.wait()
            results[index] = targets[index]()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(len(targets))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung (deadlock?)"
    if errors:
        raise errors[0]
    return results


@pytest.mark.parametrize("in_outer_transaction", [False, True], ids=["autocommit", "atomic"])
def test_forty_holds_on_ten_units_take_exactly_ten(in_outer_transaction):
    variant = variant_in_stock(on_hand=10)
    lines = order_lines(variant, 40)

    def attempt(line: OrderLine) -> StockReservation | None:
        if not in_outer_transaction:
            return hold(line)
        with transaction.atomic():
            return hold(line)

    results = run_threads([partial(attempt, line) for line in lines])
    variant.refresh_from_db()
    held = [r for r in results if isinstance(r, StockReservation)]
    assert len(held) == 10
    assert (variant.on_hand, variant.reserved) == (10, 10)
    assert live_units(variant) == 10
    assert set(StockReservation.objects.values_list("order_line_id", flat=True)) == {
        r.order_line_id for r in held
    }


def test_holds_racing_with_expiry_and_reclaim_count_only_live_holds():
    variant = variant_in_stock(on_hand=20)
    past = timezone.now() - timedelta(minutes=1)
    abandoned = [line for _ in range(20) for line in order_lines(variant, 1)]
    for line in abandoned:
        assert hold(line, expires_at=past) is not None
    Order.objects.filter(lines__in=abandoned).update(reservation_expires_at=past)
    newcomers = order_lines(variant, 30)

    targets: list[Callable[[], object]] = [partial(hold, line) for line in newcomers]
    targets += [reservations_expire, reservations_expire]
    targets += [partial(reservations_reclaim_expired, variant_id=variant.pk)]
    results = run_threads(targets)

    variant.refresh_from_db()
    held = [r for r in results[: len(newcomers)] if isinstance(r, StockReservation)]
    # The statement's probe sees the snapshot its UPDATE started from, so a newcomer gives
    # up only when 20 live holds are there: the 20 units all go.
    assert len(held) == 20
    # Every lapsed hold was given back exactly once: `reserved` counts the live holds only.
    assert variant.reserved == live_units(variant) == len(held)
    statuses = StockReservation.objects.filter(order_line__in=abandoned).values_list(
        "status", flat=True
    )
    assert set(statuses) == {"released"}
    assert set(Order.objects.filter(lines__in=abandoned).values_list("status", flat=True)) == {
        "expired"
    }
