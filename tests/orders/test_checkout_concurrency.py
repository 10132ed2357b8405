"""Viral demand on the real PostgreSQL: threads racing for the same units never oversell."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable

import pytest
from django.db import connection
from django.db.models import Sum

from common.errors import ApplicationError
from orders.models import Order, StockReservation
from orders.services.carts import OutOfStock
from orders.services.checkout import checkout_start
from tests.orders.helpers import ADDRESS, cart_with, variant_in_stock

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("stripe_emulator")]


def run_threads(n: int, target: Callable[[int], None]) -> None:
    barrier = threading.Barrier(n)

    def wrapped(i: int) -> None:
        try:
            barrier.wait()
            target(i)
        finally:
            connection.close()

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a checkout thread hung (deadlock?)"


def attempt(cart, outcomes: Counter, lock: threading.Lock, key: str) -> None:
    try:
        checkout_start(
            cart=cart,
            user=None,
            idempotency_key=key,
            email="fan@example.com",
            shipping_address=ADDRESS,
        )
        result = "ok"
    except OutOfStock:
        result = "out_of_stock"
    except ApplicationError as exc:
        result = exc.code
    with lock:
        outcomes[result] += 1


def test_second_buyer_of_last_unit_gets_out_of_stock_among_fifty():
    variant = variant_in_stock(on_hand=1)
    carts = [cart_with((variant, 1)) for _ in range(50)]
    outcomes: Counter = Counter()
    lock = threading.Lock()
    run_threads(50, lambda i: attempt(carts[i], outcomes, lock, f"k{i}"))
    variant.refresh_from_db()
    assert outcomes == Counter({"ok": 1, "out_of_stock": 49})
    assert (variant.on_hand, variant.reserved) == (1, 1)
    assert Order.objects.count() == 1
    assert StockReservation.objects.get().quantity == 1


def test_hot_product_never_reserves_more_than_its_stock():
    variant = variant_in_stock(on_hand=100)
    rng = random.Random(7)
    attempts = [cart_with((variant, rng.randint(1, 3))) for _ in range(500)]
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def worker(i: int) -> None:
        for index in range(i, len(attempts), 40):
            attempt(attempts[index], outcomes, lock, f"k{index}")

    run_threads(40, worker)
    variant.refresh_from_db()
    held = StockReservation.objects.filter(status="active").aggregate(s=Sum("quantity"))["s"] or 0
    ordered = Order.objects.aggregate(s=Sum("lines__quantity"))["s"] or 0
    assert sum(outcomes.values()) == 500
    assert set(outcomes) <= {"ok", "out_of_stock"}
    assert variant.reserved <= 100
    assert variant.reserved == held == ordered
    # Demand (about 1,000 units) far exceeds supply, so the shelf ends (nearly) empty.
    assert variant.available < 3


def test_multi_line_carts_locking_overlapping_skus_in_opposite_orders_finish():
    a = variant_in_stock(on_hand=1000)
    b = variant_in_stock(on_hand=1000)
    forward = [cart_with((a, 1), (b, 1)) for _ in range(20)]
    backward = [cart_with((b, 1), (a, 1)) for _ in range(20)]
    outcomes: Counter = Counter()
    lock = threading.Lock()
    carts = [c for pair in zip(forward, backward, strict=True) for c in pair]
    run_threads(40, lambda i: attempt(carts[i], outcomes, lock, f"k{i}"))
    assert outcomes == Counter({"ok": 40})
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.reserved == b.reserved == 40


def test_same_idempotency_key_racing_makes_one_order():
    variant = variant_in_stock(on_hand=10)
    cart = cart_with((variant, 2))
    outcomes: Counter = Counter()
    lock = threading.Lock()
    run_threads(8, lambda i: attempt(cart, outcomes, lock, "same-key"))
    assert outcomes == Counter({"ok": 8})
    assert Order.objects.count() == 1
    variant.refresh_from_db()
    assert variant.reserved == 2
