"""Racing writers of one cart's line on the real PostgreSQL: each ends as one line."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from common.errors import ApplicationError
from orders.models import Cart, CartLine
from orders.services.carts import CartOwner, cart_line_set
from tests.orders.helpers import variant_in_stock
from tests.orders.test_checkout_concurrency import run_threads

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_first_adds_of_one_sku_to_one_cart_all_succeed_as_one_line():
    variant = variant_in_stock(on_hand=50)
    cart = Cart.objects.create()
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def add(i: int) -> None:
        try:
            cart_line_set(
                cart_id=cart.pk,
                owner=CartOwner(None, cart.token),
                sku=variant.sku,
                quantity=1 + i % 3,
            )
            result = "ok"
        except ApplicationError as exc:
            result = exc.code
        except Exception as exc:  # any other failure is what this test is about
            result = type(exc).__name__
        with lock:
            outcomes[result] += 1

    run_threads(12, add)

    assert outcomes == Counter(ok=12)
    line = CartLine.objects.get(cart=cart)
    assert 1 <= line.quantity <= 3
