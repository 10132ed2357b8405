"""A code's caps on the real PostgreSQL: 50 checkouts racing for 10 uses, one shopper's
checkouts racing past their per-shopper cap."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from common.errors import ApplicationError
from orders.models import CartCode, Order
from orders.services.checkout import checkout_start
from shop.models import Discount, DiscountUse
from tests.factories import UserFactory
from tests.orders.code_helpers import code_for
from tests.orders.helpers import ADDRESS, cart_with, variant_in_stock
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


def _shopper_attempt(cart, outcomes: Counter, lock: threading.Lock, key: str, **who) -> None:
    try:
        checkout_start(cart=cart, idempotency_key=key, shipping_address=ADDRESS, **who)
        result = "ok"
    except ApplicationError as exc:
        result = exc.code
    with lock:
        outcomes[result] += 1


def test_one_shopper_checking_out_twenty_carts_at_once_stays_under_the_per_shopper_cap():
    variant = variant_in_stock(on_hand=500)
    code = code_for(variant.product.brand, "MAYA10", max_uses_per_shopper=2)
    carts = [cart_with((variant, 1)) for _ in range(20)]
    for cart in carts:
        CartCode.objects.create(cart=cart, brand=variant.product.brand, code="MAYA10")
        cart.has_codes = True
        cart.save(update_fields=["has_codes"])
    outcomes: Counter = Counter()
    lock = threading.Lock()
    # The same shopper, spelled differently: the cap is on the normalised email.
    emails = ["fan@example.com", " FAN@example.com", "Fan@Example.COM "]

    run_threads(
        20,
        lambda i: _shopper_attempt(
            carts[i], outcomes, lock, f"s{i}", user=None, email=emails[i % 3]
        ),
    )

    assert outcomes == Counter({"ok": 2, "code_limit_per_shopper": 18})
    assert DiscountUse.objects.filter(discount_id=code.discount_id, status="held").count() == 2
    assert Discount.objects.get(pk=code.discount_id).uses == 2
    assert Order.objects.count() == 2


def test_one_account_checking_out_at_once_under_many_emails_stays_under_the_cap():
    variant = variant_in_stock(on_hand=500)
    code = code_for(variant.product.brand, "MAYA10", max_uses_per_shopper=1)
    user = UserFactory.create()
    carts = [cart_with((variant, 1)) for _ in range(12)]
    for cart in carts:
        CartCode.objects.create(cart=cart, brand=variant.product.brand, code="MAYA10")
        cart.has_codes = True
        cart.user = user
        cart.save(update_fields=["has_codes", "user"])
    outcomes: Counter = Counter()
    lock = threading.Lock()

    run_threads(
        12,
        lambda i: _shopper_attempt(
            carts[i], outcomes, lock, f"u{i}", user=user, email=f"alias{i}@example.com"
        ),
    )

    assert outcomes == Counter({"ok": 1, "code_limit_per_shopper": 11})
    assert DiscountUse.objects.filter(discount_id=code.discount_id, status="held").count() == 1
