"""Checkout to paid order through the Stripe emulator, with its webhooks delivered over HTTP.

The shopper's calls go to the live server; the PaymentIntent is confirmed on the emulator
as a mobile SDK would; the order moves only when the emulator's webhook reaches the server.
"""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from orders.models import Order, OrderEvent, StockReservation
from payments.models import StripeEvent
from shop.models import StockMovement, Variant
from tests.orders.conftest import wait_until
from tests.orders.helpers import pay, variant_in_stock

pytestmark = pytest.mark.django_db(transaction=True)

ON_HAND = 10
QUANTITY = 2
DECLINED = "4000000000000002"
THREE_D_SECURE = "4000002500003155"


def _levels(variant: Variant) -> tuple[int, int]:
    variant.refresh_from_db()
    return variant.on_hand, variant.reserved


def _wait_for_status(order_id: int, status: str) -> Order:
    return wait_until(
        lambda: Order.objects.filter(pk=order_id, status=status).first(),
        what=f"order {order_id} to be {status}",
    )


def _sales(variant: Variant) -> list[tuple[int, str]]:
    sales = StockMovement.objects.filter(variant=variant, reason=StockMovement.Reason.SALE)
    return list(sales.values_list("delta", "reference"))


def _kinds(order_id: int) -> list[str]:
    return list(OrderEvent.objects.filter(order_id=order_id).values_list("kind", flat=True))


def _succeeded_event(intent_id: str) -> StripeEvent:
    return StripeEvent.objects.get(
        type="payment_intent.succeeded", payload__data__object__id=intent_id
    )


def _start(shopper: Any, variant: Variant, key: str) -> dict[str, Any]:
    checkout = shopper.buy(variant.sku, QUANTITY, key=key)
    assert checkout["status"] == "pending_payment"
    assert _levels(variant) == (ON_HAND, QUANTITY)
    return checkout


def test_card_payment_webhook_marks_the_order_paid_and_sells_the_stock_once(shopper, live_stripe):
    variant = variant_in_stock(on_hand=ON_HAND, price="20.00")
    checkout = _start(shopper, variant, "e2e-card")

    intent = pay(checkout["payment_intent_id"])
    assert intent.status == "succeeded"

    order = _wait_for_status(checkout["order_id"], Order.Status.PAID)
    live_stripe.wait_delivered()
    assert order.paid_at is not None
    assert _levels(variant) == (ON_HAND - QUANTITY, 0)
    assert _sales(variant) == [(-QUANTITY, f"order:{order.pk}")]
    assert _kinds(order.pk).count("paid") == 1
    event = _succeeded_event(checkout["payment_intent_id"])
    assert event.processed_at is not None
    assert event.last_error == ""
    assert StockReservation.objects.get(order_line__order=order).status == "converted"


def _decline(shopper: Any, variant: Variant, key: str) -> dict[str, Any]:
    checkout = _start(shopper, variant, key)
    declined = pay(checkout["payment_intent_id"], DECLINED)
    assert isinstance(declined, stripe.CardError)
    assert declined.code == "card_declined"
    wait_until(
        lambda: "payment_failed" in _kinds(checkout["order_id"]),
        what="the payment_failed event",
    )
    return checkout


def test_declined_card_keeps_the_order_pending_with_its_hold(shopper, live_stripe):
    variant = variant_in_stock(on_hand=ON_HAND)

    checkout = _decline(shopper, variant, "e2e-decline")

    live_stripe.wait_delivered()
    order = Order.objects.get(pk=checkout["order_id"])
    assert order.status == Order.Status.PENDING_PAYMENT
    assert _levels(variant) == (ON_HAND, QUANTITY)
    assert StockReservation.objects.get(order_line__order=order).status == "active"
    failure = OrderEvent.objects.filter(order=order, kind="payment_failed").first()
    assert failure is not None
    assert (failure.data["code"], failure.data["decline_code"]) == (
        "card_declined",
        "generic_decline",
    )
    assert _sales(variant) == []


def test_one_decline_is_recorded_once_however_many_events_report_it(shopper, live_stripe):
    variant = variant_in_stock(on_hand=ON_HAND)

    checkout = _decline(shopper, variant, "e2e-decline-once")

    # payment_intent.created arrives after the decline too (0.5 s delivery delay), and its
    # re-fetched PaymentIntent shows the same failed attempt.
    live_stripe.wait_delivered()
    assert _kinds(checkout["order_id"]).count("payment_failed") == 1


def test_a_second_card_after_a_decline_pays_the_order_from_the_same_hold(shopper, live_stripe):
    variant = variant_in_stock(on_hand=ON_HAND)
    checkout = _decline(shopper, variant, "e2e-decline-then-pay")

    intent = pay(checkout["payment_intent_id"])
    assert intent.status == "succeeded"

    order = _wait_for_status(checkout["order_id"], Order.Status.PAID)
    live_stripe.wait_delivered()
    # "paid", not "paid_after_hold_lapsed": the hold survived the decline.
    assert _kinds(order.pk).count("paid") == 1
    assert "paid_after_hold_lapsed" not in _kinds(order.pk)
    assert _levels(variant) == (ON_HAND - QUANTITY, 0)
    assert _sales(variant) == [(-QUANTITY, f"order:{order.pk}")]
    assert _succeeded_event(checkout["payment_intent_id"]).processed_at is not None


def test_three_d_secure_payment_is_paid_only_after_the_shopper_authenticates(shopper, live_stripe):
    variant = variant_in_stock(on_hand=ON_HAND)
    checkout = _start(shopper, variant, "e2e-3ds")

    intent = pay(checkout["payment_intent_id"], THREE_D_SECURE)
    assert intent.status == "requires_action"
    wait_until(
        lambda: StripeEvent.objects.filter(
            type="payment_intent.requires_action",
            payload__data__object__id=checkout["payment_intent_id"],
            processed_at__isnull=False,
        ).exists(),
        what="the requires_action event",
    )
    live_stripe.wait_delivered()
    assert Order.objects.get(pk=checkout["order_id"]).status == Order.Status.PENDING_PAYMENT
    assert _levels(variant) == (ON_HAND, QUANTITY)

    authenticated = live_stripe.authenticate(
        checkout["payment_intent_id"], checkout["client_secret"]
    )
    assert authenticated["status"] == "succeeded"

    order = _wait_for_status(checkout["order_id"], Order.Status.PAID)
    live_stripe.wait_delivered()
    assert _kinds(order.pk).count("paid") == 1
    assert _levels(variant) == (ON_HAND - QUANTITY, 0)
    assert _sales(variant) == [(-QUANTITY, f"order:{order.pk}")]


def test_redelivered_succeeded_event_leaves_one_paid_order_and_one_sale(shopper, live_stripe):
    variant = variant_in_stock(on_hand=ON_HAND)
    checkout = _start(shopper, variant, "e2e-resend")
    pay(checkout["payment_intent_id"])
    order = _wait_for_status(checkout["order_id"], Order.Status.PAID)
    live_stripe.wait_delivered()
    event = _succeeded_event(checkout["payment_intent_id"])

    live_stripe.resend(event.event_id)

    wait_until(
        lambda: live_stripe.log.count(event.event_id) == 2,
        what=f"the second delivery of {event.event_id}",
    )
    assert StripeEvent.objects.filter(event_id=event.event_id).count() == 1
    assert StripeEvent.objects.get(event_id=event.event_id).attempts == 1
    orders = Order.objects.filter(stripe_payment_intent_id=checkout["payment_intent_id"])
    assert list(orders.values_list("status", flat=True)) == [Order.Status.PAID]
    assert _kinds(order.pk).count("paid") == 1
    assert _levels(variant) == (ON_HAND - QUANTITY, 0)
    assert _sales(variant) == [(-QUANTITY, f"order:{order.pk}")]
