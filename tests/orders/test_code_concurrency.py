"""A code's total-use cap on the real PostgreSQL: 50 checkouts racing for 10 uses."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from orders.models import CartCode, Order
from shop.models import Discount, DiscountUse
from tests.orders.code_helpers import code_for
from tests.orders.helpers import cart_with, variant_in_stock
from tests.orders.test_checkout_concurrency import attempt, run_threads

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("stripe_emulator")]


def test_a_cap_of_ten_is_used_by_exactly_ten_of_fifty_concurrent_checkouts():
    variant = variant_in_stock(on_hand=500)
    code = code_for(variant.product.brand, "MAYA10", max_uses=10)
    carts = [cart_with((variant, 1)) for _ in range(50)]
    for cart in carts:  # applied while uses were left; the race is at checkout
        CartCode.objects.create(cart=cart, brand=variant.product.brand, code="MAYA10")
        cart.has_codes = True
        cart.save(update_fields=["has_codes"])
    outcomes: Counter = Counter()
    lock = threading.Lock()

    run_threads(50, lambda i: attempt(carts[i], outcomes, lock, f"k{i}"))

    assert outcomes == Counter({"ok": 10, "code_exhausted": 40})
    discount = Discount.objects.get(pk=code.discount_id)
    assert discount.uses == 10
    assert DiscountUse.objects.filter(status=DiscountUse.Status.HELD).count() == 10
    assert Order.objects.filter(discount_total__gt=0).count() == 10
    assert Order.objects.count() == 10  # the refused checkouts left nothing behind
    variant.refresh_from_db()
    assert variant.reserved == 10
