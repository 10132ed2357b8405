"""Refunds Stripe tells us about: ours are matched, dashboard refunds are spread exactly."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Sum

from orders.models import Order, OrderEvent, OrderLine, OrderShipping, Refund, RefundLine
from orders.services.refund_events import refunds_reconcile
from orders.services.refunds import (
    RefundLineRequest,
    _reserve,
    _stripe_refund,
    refund_complete,
    refund_release,
)
from tests.orders.aftersale_helpers import TwoBrands, intent_of, two_brand_order
from tests.orders.helpers import event_payload, post_event, stripe_test_client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_emulator")]


def dashboard_refund(order: Order, amount: int) -> Any:
    """A refund made by hand in Stripe's dashboard: no metadata of ours."""
    return stripe_test_client().v1.refunds.create(
        params={"payment_intent": intent_of(order), "amount": amount}
    )


def refund_event(event_id: str, refund: Any) -> bytes:
    return event_payload(event_id, "refund.created", refund.to_dict())


def charge_refunded_event(event_id: str, order: Order) -> bytes:
    intent = stripe_test_client().v1.payment_intents.retrieve(intent_of(order))
    charge = {"id": intent.latest_charge, "object": "charge", "payment_intent": intent.id}
    return event_payload(event_id, "charge.refunded", charge)


def assert_within_paid(order: Order) -> None:
    for line in OrderLine.objects.filter(order=order):
        assert 0 <= line.refunded_amount <= line.line_total
    for ship in OrderShipping.objects.filter(order=order):
        assert 0 <= ship.refunded_amount <= ship.amount


def test_dashboard_refund_is_spread_over_lines_and_shipping_to_the_cent(
    api_client, django_capture_on_commit_callbacks
):
    t = two_brand_order(qty_a=3, price_a="9.99", qty_b=1, price_b="15.00")
    # 29.97 + 5.00 shipping for A, 15.00 + 4.00 for B: 53.97 in all.
    refund = dashboard_refund(t.order, 1000)
    with django_capture_on_commit_callbacks(execute=True):
        assert post_event(api_client, refund_event("evt_r1", refund)).status_code == 200
    ours = Refund.objects.get()
    assert (ours.source, ours.status, ours.amount) == ("dashboard", "succeeded", Decimal("10.00"))
    assert ours.stripe_refund_id == refund.id
    assert ours.brand_id is None
    parts = {(p.order_line_id, p.shipping_id): p.amount for p in ours.lines.all()}
    assert sum(parts.values()) == Decimal("10.00")
    # In proportion to 29.97 : 5.00 : 15.00 : 4.00 of 53.97, largest remainder.
    ship_a = OrderShipping.objects.get(order=t.order, brand=t.brand_a)
    ship_b = OrderShipping.objects.get(order=t.order, brand=t.brand_b)
    assert parts == {
        (t.line_a.pk, None): Decimal("5.55"),
        (None, ship_a.pk): Decimal("0.93"),
        (t.line_b.pk, None): Decimal("2.78"),
        (None, ship_b.pk): Decimal("0.74"),
    }
    assert_within_paid(t.order)
    t.order.refresh_from_db()
    assert t.order.status == Order.Status.PARTIALLY_REFUNDED
    assert t.order.refunded_total == Decimal("10.00")


def test_the_same_refund_told_many_ways_is_recorded_once(api_client):
    t = two_brand_order()
    refund = dashboard_refund(t.order, 700)
    for payload in (
        refund_event("evt_a", refund),
        refund_event("evt_a", refund),
        charge_refunded_event("evt_b", t.order),
        refund_event("evt_c", refund),
    ):
        assert post_event(api_client, payload).status_code == 200
    assert Refund.objects.count() == 1
    assert RefundLine.objects.aggregate(s=Sum("amount"))["s"] == Decimal("7.00")
    assert OrderEvent.objects.filter(order=t.order, kind="refunded").count() == 1


def test_a_full_dashboard_refund_refunds_every_unit_so_nothing_ships(api_client):
    t = two_brand_order()
    refund = dashboard_refund(t.order, int(t.order.grand_total * 100))
    assert post_event(api_client, refund_event("evt_full", refund)).status_code == 200
    t.order.refresh_from_db()
    assert t.order.status == Order.Status.REFUNDED
    for line in OrderLine.objects.filter(order=t.order):
        assert line.refunded_amount == line.line_total
        assert line.refunded_quantity == line.quantity
    assert set(t.order.fulfilments.values_list("status", flat=True)) == {"canceled"}


def test_events_of_our_own_api_refund_add_nothing(api_client):
    t = two_brand_order()
    response = t.client_a().post(
        f"/api/v1/brand/orders/{t.order.pk}/refunds/",
        {"lines": [{"line_id": t.line_a.pk, "quantity": 1}]},
        format="json",
    )
    assert response.status_code == 201
    stripe_id = Refund.objects.get().stripe_refund_id
    found = stripe_test_client().v1.refunds.retrieve(stripe_id or "")
    post_event(api_client, refund_event("evt_own", found))
    post_event(api_client, charge_refunded_event("evt_own_charge", t.order))
    assert Refund.objects.count() == 1
    assert OrderEvent.objects.filter(order=t.order, kind="refunded").count() == 1


def reserve_and_ask_stripe(t: TwoBrands) -> tuple[Refund, Any]:
    refund = _reserve(
        order_id=t.order.pk,
        user=t.owner_a,
        lines=[RefundLineRequest(line_id=t.line_a.pk, quantity=1)],
        shipping=False,
        restock=False,
        reason="",
        note="",
        brand_slug=None,
    )
    return refund, _stripe_refund(refund, t.order.stripe_payment_intent_id or "")


def test_a_webhook_that_beats_the_api_completes_the_pending_refund_once(api_client):
    t = two_brand_order()
    refund, answer = reserve_and_ask_stripe(t)
    assert post_event(api_client, refund_event("evt_fast", answer)).status_code == 200
    refund.refresh_from_db()
    assert (refund.status, refund.stripe_refund_id) == ("succeeded", answer.id)
    # The API's own record step arrives second and changes nothing.
    refund_complete(refund_id=refund.pk, stripe_refund_id=answer.id, stripe_status="succeeded")
    assert OrderEvent.objects.filter(order=t.order, kind="refunded").count() == 1
    t.line_a.refresh_from_db()
    assert t.line_a.refunded_amount == Decimal("20.00")


def test_a_refund_whose_answer_was_lost_is_restored_on_its_own_lines(api_client):
    t = two_brand_order()
    refund, answer = reserve_and_ask_stripe(t)
    refund_release(refund_id=refund.pk, error="APIConnectionError: timed out")
    t.line_a.refresh_from_db()
    assert t.line_a.refunded_amount == 0
    assert post_event(api_client, refund_event("evt_lost", answer)).status_code == 200
    refund.refresh_from_db()
    assert (refund.status, refund.stripe_refund_id) == ("succeeded", answer.id)
    t.line_a.refresh_from_db()
    assert (t.line_a.refunded_amount, t.line_a.refunded_quantity) == (Decimal("20.00"), 1)
    assert Refund.objects.count() == 1


def test_reconciling_twice_changes_nothing_more():
    t = two_brand_order()
    dashboard_refund(t.order, 300)
    dashboard_refund(t.order, 450)
    refunds_reconcile(order_id=t.order.pk)
    refunds_reconcile(order_id=t.order.pk)
    assert sorted(Refund.objects.values_list("amount", flat=True)) == [
        Decimal("3.00"),
        Decimal("4.50"),
    ]
    t.order.refresh_from_db()
    assert t.order.refunded_total == Decimal("7.50")
    assert_within_paid(t.order)


def test_a_refund_event_of_an_unknown_payment_is_ignored(api_client):
    payload = event_payload(
        "evt_unknown",
        "refund.created",
        {"id": "re_x", "object": "refund", "payment_intent": "pi_unknown", "amount": 100},
    )
    assert post_event(api_client, payload).status_code == 200
    assert not Refund.objects.exists()


def test_other_charge_events_are_ignored(api_client):
    t = two_brand_order()
    intent = stripe_test_client().v1.payment_intents.retrieve(intent_of(t.order))
    payload = event_payload(
        "evt_charge_ok",
        "charge.succeeded",
        {"id": intent.latest_charge, "object": "charge", "payment_intent": intent.id},
    )
    assert post_event(api_client, payload).status_code == 200
    assert not Refund.objects.exists()


def test_the_sweep_settles_refunds_a_dead_request_left_pending():
    from datetime import timedelta

    from django.utils import timezone

    from orders.services.refund_events import refunds_pending_sweep

    t = two_brand_order(qty_a=2)
    reached, answer = reserve_and_ask_stripe(t)  # Stripe made it; we never recorded it
    lost = _reserve(
        order_id=t.order.pk,
        user=t.owner_a,
        lines=[RefundLineRequest(line_id=t.line_a.pk, quantity=1)],
        shipping=False,
        restock=False,
        reason="",
        note="",
        brand_slug=None,
    )  # died before calling Stripe
    old = timezone.now() - timedelta(minutes=20)
    Refund.objects.filter(pk__in=[reached.pk, lost.pk]).update(created_at=old)
    assert refunds_pending_sweep() == 1
    reached.refresh_from_db()
    lost.refresh_from_db()
    assert (reached.status, reached.stripe_refund_id) == ("succeeded", answer.id)
    assert lost.status == "failed"
    t.line_a.refresh_from_db()
    assert (t.line_a.refunded_amount, t.line_a.refunded_quantity) == (Decimal("20.00"), 1)
