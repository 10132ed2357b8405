"""A code's use goes back when a checkout's payment fails for good, through Stripe's events."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from orders.models import Order
from shop.models import Discount, DiscountUse
from tests.orders.code_helpers import checkout_with_code, code_for
from tests.orders.helpers import (
    cart_with,
    intent_event,
    pay,
    post_event,
    stripe_test_client,
    variant_in_stock,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_emulator")]


def coded_order(max_uses: int = 1) -> tuple[Order, Discount]:
    variant = variant_in_stock(on_hand=5, price="20.00")
    code = code_for(variant.product.brand, "MAYA10", max_uses=max_uses)
    order = checkout_with_code(cart_with((variant, 1)), "MAYA10")
    return order, code.discount


def uses_of(discount: Discount) -> tuple[int, list[str]]:
    discount.refresh_from_db()
    return discount.uses, list(
        DiscountUse.objects.filter(discount=discount).values_list("status", flat=True)
    )


def test_a_stolen_card_decline_ends_the_checkout_and_gives_the_use_back(
    django_capture_on_commit_callbacks,
):
    api = APIClient()
    order, discount = coded_order()
    declined = pay(order.stripe_payment_intent_id, card="4000000000009979")
    assert getattr(declined, "code", None) == "card_declined"

    with django_capture_on_commit_callbacks(execute=True):
        post_event(api, intent_event("evt_stolen", "payment_intent.payment_failed", order))

    order.refresh_from_db()
    assert order.status == Order.Status.CANCELED
    assert uses_of(discount) == (0, ["released"])
    assert order.lines.get().variant.reserved == 0
    intent = stripe_test_client().v1.payment_intents.retrieve(str(order.stripe_payment_intent_id))
    assert intent.status == "canceled"  # no other card can pay the canceled order


def test_a_soft_decline_keeps_the_use_so_the_shopper_may_try_another_card():
    api = APIClient()
    order, discount = coded_order()
    pay(order.stripe_payment_intent_id, card="4000000000009995")  # insufficient funds

    post_event(api, intent_event("evt_soft", "payment_intent.payment_failed", order))

    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT
    assert uses_of(discount) == (1, ["held"])


def test_a_canceled_payment_intent_gives_the_use_back_once_however_often_it_is_told():
    api = APIClient()
    order, discount = coded_order()
    stripe_test_client().v1.payment_intents.cancel(str(order.stripe_payment_intent_id))

    for event_id in ("evt_cx1", "evt_cx2"):
        post_event(api, intent_event(event_id, "payment_intent.canceled", order))

    order.refresh_from_db()
    assert order.status == Order.Status.CANCELED
    assert uses_of(discount) == (0, ["released"])
