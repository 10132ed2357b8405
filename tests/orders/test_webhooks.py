"""Stripe webhooks through the real endpoint, with events signed as Stripe signs them."""

from __future__ import annotations

import json
import re
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from common.outbox.models import OutboxEvent
from orders.models import Order, OrderEvent, StockReservation
from orders.services.checkout import checkout_start
from orders.services.payments import order_mark_paid
from orders.services.reservations import order_expire
from payments.models import StripeEvent
from tests.orders.helpers import (
    ADDRESS,
    cart_with,
    event_payload,
    intent_event,
    pay,
    post_event,
    sign,
    stripe_test_client,
    variant_in_stock,
)
from tests.outbox_helpers import recorded

pytestmark = pytest.mark.usefixtures("stripe_emulator")


def start_order(on_hand: int = 5, quantity: int = 2) -> Order:
    variant = variant_in_stock(on_hand=on_hand, price="15.00")
    cart = cart_with((variant, quantity))
    return checkout_start(
        cart=cart,
        user=None,
        idempotency_key=f"k-{cart.pk}",
        email="a@b.co",
        shipping_address=ADDRESS,
    )


def paid_events() -> list[int]:
    """Orders whose `orders.order_paid` event was recorded, in order."""
    return [p["order_id"] for p in recorded("orders.order_paid")]


def stock_of(order: Order) -> tuple[int, int]:
    variant = order.lines.get().variant
    variant.refresh_from_db()
    return variant.on_hand, variant.reserved


@pytest.mark.django_db
def test_bad_signature_is_400_and_nothing_is_stored(api_client):
    order = start_order()
    payload = intent_event("evt_bad", "payment_intent.succeeded", order)
    response = post_event(api_client, payload, signature=sign(payload, secret="whsec_wrong"))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"
    assert not StripeEvent.objects.exists()


@pytest.mark.django_db
def test_stale_timestamp_is_400_and_nothing_is_stored(api_client):
    order = start_order()
    payload = intent_event("evt_old", "payment_intent.succeeded", order)
    stale = sign(payload, timestamp=int(time.time()) - 301)
    assert post_event(api_client, payload, signature=stale).status_code == 400
    assert not StripeEvent.objects.exists()


@pytest.mark.django_db
def test_tampered_payload_is_400(api_client):
    order = start_order()
    payload = intent_event("evt_t", "payment_intent.succeeded", order)
    signature = sign(payload)
    assert post_event(api_client, payload + b" ", signature=signature).status_code == 400


@pytest.mark.django_db
def test_succeeded_delivered_three_times_makes_one_paid_order_and_sells_once(
    api_client, django_capture_on_commit_callbacks
):
    order = start_order(on_hand=5, quantity=2)
    pay(order.stripe_payment_intent_id)
    payload = intent_event("evt_paid_1", "payment_intent.succeeded", order)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            assert post_event(api_client, payload).status_code == 200
    order.refresh_from_db()
    assert order.status == "paid"
    assert order.paid_at is not None
    assert stock_of(order) == (3, 0)
    assert StripeEvent.objects.count() == 1
    assert OrderEvent.objects.filter(order=order, kind="paid").count() == 1
    assert paid_events() == [order.pk]
    assert StockReservation.objects.get(order_line__order=order).status == "converted"


@pytest.mark.django_db
def test_a_payment_locks_the_variant_rows_only_after_the_orders_other_writes():
    order = start_order(on_hand=5, quantity=2)
    intent = pay(order.stripe_payment_intent_id)

    with CaptureQueriesContext(connection) as captured:
        order_mark_paid(order_id=order.pk, amount=intent.amount, currency=intent.currency)

    statements = [query["sql"] for query in captured.captured_queries]
    first_stock = next(i for i, sql in enumerate(statements) if re.search(r"\bshop_variant\b", sql))
    outbox = next(i for i, sql in enumerate(statements) if OutboxEvent._meta.db_table in sql)
    # The order's writes and its outbox event come first; from the variant's lock to the
    # commit only the sale itself: the holds converted, the stock and the movement.
    assert outbox < first_stock
    sale_tables = ("shop_variant", "shop_product", "shop_stockmovement", "orders_stockreservation")
    for sql in statements[first_stock:]:
        assert sql.startswith(("SAVEPOINT", "RELEASE")) or any(t in sql for t in sale_tables), sql
    order.refresh_from_db()
    assert order.status == "paid"
    assert stock_of(order) == (3, 0)


@pytest.mark.django_db
def test_distinct_events_for_the_same_payment_still_pay_once(api_client):
    order = start_order(on_hand=5, quantity=1)
    pay(order.stripe_payment_intent_id)
    for event_id in ("evt_a", "evt_b"):
        post_event(api_client, intent_event(event_id, "payment_intent.succeeded", order))
    assert stock_of(order) == (4, 0)
    assert OrderEvent.objects.filter(order=order, kind="paid").count() == 1
    assert paid_events() == [order.pk]


@pytest.mark.django_db
def test_late_failure_event_after_success_leaves_the_order_paid(api_client):
    order = start_order()
    pay(order.stripe_payment_intent_id)
    post_event(api_client, intent_event("evt_ok", "payment_intent.succeeded", order))
    post_event(api_client, intent_event("evt_fail", "payment_intent.payment_failed", order))
    order.refresh_from_db()
    assert order.status == "paid"


@pytest.mark.django_db
def test_failure_first_then_success_ends_paid(api_client):
    order = start_order()
    pay(order.stripe_payment_intent_id)
    post_event(api_client, intent_event("evt_fail2", "payment_intent.payment_failed", order))
    post_event(api_client, intent_event("evt_ok2", "payment_intent.succeeded", order))
    order.refresh_from_db()
    assert order.status == "paid"


@pytest.mark.django_db
def test_declined_card_keeps_the_order_and_its_hold(api_client):
    order = start_order(on_hand=5, quantity=2)
    declined = pay(order.stripe_payment_intent_id, card="4000000000000002")
    assert getattr(declined, "code", None) == "card_declined"
    post_event(api_client, intent_event("evt_decl", "payment_intent.payment_failed", order))
    order.refresh_from_db()
    assert order.status == "pending_payment"
    assert stock_of(order) == (5, 2)
    failed = OrderEvent.objects.get(order=order, kind="payment_failed")
    assert failed.data["code"] == "card_declined"
    # Another card, same PaymentIntent, same hold.
    pay(order.stripe_payment_intent_id)
    post_event(api_client, intent_event("evt_ok3", "payment_intent.succeeded", order))
    order.refresh_from_db()
    assert order.status == "paid"
    assert stock_of(order) == (3, 0)


@pytest.mark.django_db
def test_canceled_payment_intent_cancels_the_order_and_frees_the_hold(api_client):
    order = start_order(on_hand=5, quantity=2)
    stripe_test_client().v1.payment_intents.cancel(str(order.stripe_payment_intent_id))
    post_event(api_client, intent_event("evt_cx", "payment_intent.canceled", order))
    order.refresh_from_db()
    assert order.status == "canceled"
    assert stock_of(order) == (5, 0)


@pytest.mark.django_db
def test_payment_after_the_hold_lapsed_is_honoured_when_stock_allows(api_client):
    order = start_order(on_hand=5, quantity=2)
    assert order_expire(order_id=order.pk, now=timezone.now() + timedelta(hours=1))
    assert stock_of(order) == (5, 0)
    pay(order.stripe_payment_intent_id)
    post_event(api_client, intent_event("evt_late", "payment_intent.succeeded", order))
    order.refresh_from_db()
    assert order.status == "paid"
    assert OrderEvent.objects.filter(order=order, kind="paid_after_hold_lapsed").exists()
    assert stock_of(order) == (3, 0)


@pytest.mark.django_db
def test_payment_after_the_hold_lapsed_without_stock_is_refunded_automatically(
    api_client, django_capture_on_commit_callbacks
):
    order = start_order(on_hand=2, quantity=2)
    order_expire(order_id=order.pk, now=timezone.now() + timedelta(hours=1))
    variant = order.lines.get().variant
    cart = cart_with((variant, 2))
    checkout_start(
        cart=cart, user=None, idempotency_key="rival", email="b@c.co", shipping_address=ADDRESS
    )
    pay(order.stripe_payment_intent_id)
    with django_capture_on_commit_callbacks(execute=True):
        post_event(api_client, intent_event("evt_late2", "payment_intent.succeeded", order))
    order.refresh_from_db()
    assert order.status == "expired"
    refunded = OrderEvent.objects.get(order=order, kind="auto_refunded")
    refund = stripe_test_client().v1.refunds.retrieve(refunded.data["refund"])
    assert refund.amount == 3000
    assert stock_of(order) == (2, 2)  # the rival's hold is untouched


@pytest.mark.django_db
def test_unknown_event_types_are_stored_and_acknowledged(api_client):
    payload = event_payload("evt_other", "customer.created", {"id": "cus_1", "object": "customer"})
    response = post_event(api_client, payload)
    assert response.status_code == 200
    assert StripeEvent.objects.get(event_id="evt_other").processed_at is not None


@pytest.mark.django_db
def test_an_event_type_without_a_handler_needs_no_object_id(api_client):
    payload = event_payload("evt_balance", "balance.available", {"object": "balance"})
    assert post_event(api_client, payload).status_code == 200
    assert StripeEvent.objects.filter(event_id="evt_balance").exists()


def signed_event(**fields: Any) -> bytes:
    event = json.loads(event_payload("evt_x", "payment_intent.succeeded", {"id": "pi_1"}))
    return json.dumps({**event, **fields}).encode()


MALFORMED = {
    "no-id": json.dumps(
        {"object": "event", "type": "payment_intent.succeeded", "data": {"object": {"id": "pi"}}}
    ).encode(),
    "top-level-array": b'[{"id": "evt_x"}]',
    "top-level-string": b'"evt_x"',
    "no-data": json.dumps({"id": "evt_x", "object": "event", "type": "charge.refunded"}).encode(),
    "data-not-an-object": signed_event(data=[1, 2]),
    "object-not-an-object": signed_event(data={"object": "pi_1"}),
    "handled-object-without-id": signed_event(data={"object": {"object": "payment_intent"}}),
    "id-not-a-string": signed_event(id=42),
    "empty-type": signed_event(type=""),
    "nul-in-a-value": signed_event(data={"object": {"id": "pi_1", "description": "a\x00b"}}),
}


@pytest.mark.django_db
@pytest.mark.parametrize("payload", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_signed_but_malformed_event_is_400_and_nothing_is_stored(api_client, payload):
    for _ in range(2):  # Stripe's retry gets the same answer, not a 500 from a stored row
        response = post_event(api_client, payload)
        assert response.status_code == 400, response.content
        assert response.json()["error"]["code"] == "invalid_event"
    assert not StripeEvent.objects.exists()


@pytest.mark.django_db
def test_a_timestamp_beyond_the_tolerance_in_the_future_is_400_and_nothing_is_stored(
    api_client, settings
):
    order = start_order()
    payload = intent_event("evt_future", "payment_intent.succeeded", order)
    ahead = sign(payload, timestamp=int(time.time()) + settings.STRIPE_WEBHOOK_TOLERANCE + 60)
    response = post_event(api_client, payload, signature=ahead)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"
    assert not StripeEvent.objects.exists()


@pytest.mark.django_db
def test_a_timestamp_slightly_ahead_of_our_clock_is_accepted(api_client):
    payload = event_payload("evt_skew", "customer.created", {"id": "cus_1"})
    assert (
        post_event(
            api_client, payload, signature=sign(payload, timestamp=int(time.time()) + 30)
        ).status_code
        == 200
    )


@pytest.mark.django_db(transaction=True)
def test_same_event_delivered_concurrently_on_two_workers_pays_once():
    order = start_order(on_hand=5, quantity=2)
    pay(order.stripe_payment_intent_id)
    payload = intent_event("evt_race", "payment_intent.succeeded", order)
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def deliver() -> None:
        client = APIClient()
        barrier.wait()
        statuses.append(post_event(client, payload).status_code)
        connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200, 200]
    order.refresh_from_db()
    assert order.status == "paid"
    assert stock_of(order) == (3, 0)
    assert OrderEvent.objects.filter(order=order, kind="paid").count() == 1
    assert paid_events() == [order.pk]
