"""POST /api/v1/brand/orders/{id}/refunds/: a brand refunds its own lines through Stripe."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import Order, OrderEvent, OrderLine, Refund
from shop.models import BrandMember, StockMovement
from tests.conftest import client_for
from tests.orders.aftersale_helpers import TwoBrands, intent_of, member, two_brand_order
from tests.orders.helpers import stripe_test_client
from tests.outbox_helpers import recorded
from tests.shop.factories import BrandFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_emulator")]


def url(order: Order) -> str:
    return f"/api/v1/brand/orders/{order.pk}/refunds/"


def stripe_refunded(order: Order) -> list[int]:
    listed = stripe_test_client().v1.refunds.list(params={"payment_intent": intent_of(order)})
    return sorted(r.amount for r in listed.data)


def unchanged(t: TwoBrands) -> None:
    """Nothing was refunded anywhere: rows, totals and Stripe."""
    assert not Refund.objects.exists()
    for line in (t.line_a, t.line_b):
        line.refresh_from_db()
        assert (line.refunded_amount, line.refunded_quantity) == (0, 0)
    t.order.refresh_from_db()
    assert t.order.refunded_total == 0
    assert t.order.status == Order.Status.PAID
    assert stripe_refunded(t.order) == []


def refunded_lines() -> list[tuple[int, int]]:
    """(order line, refund) of every recorded `orders.refund_succeeded` event."""
    return [
        (line_id, p["refund_id"])
        for p in recorded("orders.refund_succeeded")
        for line_id in p["order_line_ids"]
    ]


def test_owner_refunds_one_unit_and_stripe_refunds_exactly_that(django_capture_on_commit_callbacks):
    t = two_brand_order(qty_a=2, price_a="20.00")
    with django_capture_on_commit_callbacks(execute=True):
        response = t.client_a().post(
            url(t.order), {"lines": [{"line_id": t.line_a.pk, "quantity": 1}]}, format="json"
        )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "succeeded"
    assert body["amount"] == {"amount": "20.00", "currency": "USD"}
    assert body["lines"] == [
        {
            "line_id": t.line_a.pk,
            "quantity": 1,
            "restocked": 0,
            "amount": {"amount": "20.00", "currency": "USD"},
        }
    ]
    t.line_a.refresh_from_db()
    assert (t.line_a.refunded_amount, t.line_a.refunded_quantity) == (Decimal("20.00"), 1)
    assert stripe_refunded(t.order) == [2000]
    t.order.refresh_from_db()
    assert t.order.status == Order.Status.PARTIALLY_REFUNDED
    assert OrderEvent.objects.filter(order=t.order, to_status="partially_refunded").exists()
    refund = Refund.objects.get()
    assert refund.stripe_refund_id
    assert refund.brand_id == t.brand_a.pk
    assert refunded_lines() == [(t.line_a.pk, refund.pk)]


def test_refund_with_restock_puts_the_units_back_through_the_stock_service():
    t = two_brand_order(qty_a=2)
    on_hand = t.line_a.variant.on_hand
    response = t.client_a().post(
        url(t.order),
        {"lines": [{"line_id": t.line_a.pk, "quantity": 2}], "restock": True},
        format="json",
    )
    assert response.status_code == 201, response.json()
    t.line_a.variant.refresh_from_db()
    assert t.line_a.variant.on_hand == on_hand + 2
    movement = StockMovement.objects.get(variant=t.line_a.variant, reason="refund_restock")
    assert (movement.delta, movement.actor_id) == (2, t.owner_a.pk)


def test_last_units_refund_what_is_left_of_the_line_after_a_partial_amount():
    t = two_brand_order(qty_a=2, price_a="20.00")
    client = t.client_a()
    first = client.post(
        url(t.order), {"lines": [{"line_id": t.line_a.pk, "amount": "5.00"}]}, format="json"
    )
    assert first.status_code == 201
    second = client.post(
        url(t.order), {"lines": [{"line_id": t.line_a.pk, "quantity": 2}]}, format="json"
    )
    assert second.status_code == 201, second.json()
    assert second.json()["amount"]["amount"] == "35.00"
    t.line_a.refresh_from_db()
    assert t.line_a.refunded_amount == t.line_a.line_total
    assert stripe_refunded(t.order) == [500, 3500]


def test_refunding_more_than_was_paid_is_409_and_changes_nothing():
    t = two_brand_order(qty_a=2, price_a="20.00")
    response = t.client_a().post(
        url(t.order), {"lines": [{"line_id": t.line_a.pk, "amount": "40.01"}]}, format="json"
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "refund_exceeds_paid"
    assert error["details"]["refundable"] == {"amount": "40.00", "currency": "USD"}
    unchanged(t)


def test_refunding_more_units_than_bought_is_409():
    t = two_brand_order(qty_a=2)
    response = t.client_a().post(
        url(t.order), {"lines": [{"line_id": t.line_a.pk, "quantity": 3}]}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "refund_exceeds_quantity"
    unchanged(t)


def test_refunding_another_brands_line_of_the_same_order_is_404():
    t = two_brand_order()
    response = t.client_a().post(
        url(t.order), {"lines": [{"line_id": t.line_b.pk, "quantity": 1}]}, format="json"
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "order_line_not_found"
    unchanged(t)


def test_a_brand_without_lines_in_the_order_gets_404():
    t = two_brand_order()
    outsider = client_for(member(BrandFactory.create()))
    response = outsider.post(
        url(t.order), {"lines": [{"line_id": t.line_a.pk, "quantity": 1}]}, format="json"
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "order_not_found"
    unchanged(t)


def test_a_viewer_may_not_refund():
    t = two_brand_order()
    viewer = client_for(member(t.brand_a, BrandMember.Role.VIEWER))
    response = viewer.post(
        url(t.order), {"lines": [{"line_id": t.line_a.pk, "quantity": 1}]}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "brand_write_required"
    unchanged(t)


def test_an_anonymous_caller_gets_401():
    from rest_framework.test import APIClient

    t = two_brand_order()
    response = APIClient().post(url(t.order), {"shipping": True}, format="json")
    assert response.status_code == 401
    unchanged(t)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"lines": [{"quantity": 1}]}, "invalid"),
        ({"lines": [{"line_id": "x", "quantity": 1}]}, "invalid"),
        ({"lines": "all"}, "invalid"),
        ({"reason": "because"}, "invalid"),
        ({"lines": [{"quantity": -1, "line_id": 0}]}, "invalid"),
        ({}, "refund_zero_amount"),
    ],
)
def test_bad_input_is_400_with_a_stable_code_and_changes_nothing(body, code):
    t = two_brand_order()
    response = t.client_a().post(url(t.order), body, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["code"] == code
    unchanged(t)


def test_a_line_without_quantity_or_amount_is_400():
    t = two_brand_order()
    response = t.client_a().post(url(t.order), {"lines": [{"line_id": t.line_a.pk}]}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "refund_line_empty"
    unchanged(t)


def test_an_amount_finer_than_the_currency_is_400():
    t = two_brand_order()
    response = t.client_a().post(
        url(t.order), {"lines": [{"line_id": t.line_a.pk, "amount": "1.005"}]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_amount"
    unchanged(t)


def test_shipping_is_refunded_once():
    t = two_brand_order()
    client = t.client_a()
    first = client.post(url(t.order), {"shipping": True}, format="json")
    assert first.status_code == 201, first.json()
    assert first.json()["shipping"] == {"amount": "5.00", "currency": "USD"}
    again = client.post(url(t.order), {"shipping": True}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "shipping_not_refundable"
    assert stripe_refunded(t.order) == [500]


def test_both_brands_refunding_everything_makes_the_order_refunded():
    t = two_brand_order()
    for client, line in ((t.client_a(), t.line_a), (t.client_b(), t.line_b)):
        response = client.post(
            url(t.order),
            {"lines": [{"line_id": line.pk, "quantity": line.quantity}], "shipping": True},
            format="json",
        )
        assert response.status_code == 201, response.json()
    t.order.refresh_from_db()
    assert t.order.status == Order.Status.REFUNDED
    assert t.order.refunded_total == t.order.grand_total
    assert sum(stripe_refunded(t.order)) == int(t.order.grand_total * 100)
    again = t.client_a().post(url(t.order), {"shipping": True}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "order_not_refundable"


def test_stripe_unreachable_releases_the_reservation_and_answers_503(settings):
    t = two_brand_order()
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens on the discard port
    response = t.client_a().post(
        url(t.order), {"lines": [{"line_id": t.line_a.pk, "quantity": 1}]}, format="json"
    )
    assert response.status_code == 503
    error = response.json()["error"]
    assert (error["code"], error["retryable"]) == ("payment_provider_unavailable", True)
    refund = Refund.objects.get()
    assert refund.status == Refund.Status.FAILED
    assert refund.last_error
    t.line_a.refresh_from_db()
    assert (t.line_a.refunded_amount, t.line_a.refunded_quantity) == (0, 0)
    t.order.refresh_from_db()
    assert (t.order.refunded_total, t.order.status) == (0, Order.Status.PAID)
    assert OrderEvent.objects.filter(order=t.order, kind="refund_failed").exists()


def test_a_repeated_idempotency_key_refunds_once():
    t = two_brand_order()
    client = t.client_a()
    body = {"lines": [{"line_id": t.line_a.pk, "quantity": 1}]}
    first = client.post(url(t.order), body, format="json", HTTP_IDEMPOTENCY_KEY="r-1")
    again = client.post(url(t.order), body, format="json", HTTP_IDEMPOTENCY_KEY="r-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert first.json() == again.json()
    assert Refund.objects.count() == 1
    assert stripe_refunded(t.order) == [2000]


def test_a_pending_order_cannot_be_refunded_and_is_invisible():
    from orders.services.checkout import checkout_start
    from tests.orders.aftersale_helpers import variant_of
    from tests.orders.helpers import ADDRESS, cart_with

    brand = BrandFactory.create()
    cart = cart_with((variant_of(brand), 1))
    order = checkout_start(
        cart=cart, user=None, idempotency_key="p-1", email="a@b.co", shipping_address=ADDRESS
    )
    response = client_for(member(brand)).post(url(order), {"shipping": True}, format="json")
    assert response.status_code == 404
    assert OrderLine.objects.get(order=order).refunded_amount == 0


def test_selectors_for_commissions_count_only_succeeded_refunds():
    from orders.order_selectors import order_line_refund_amount, order_lines_refunded_succeeded

    t = two_brand_order(qty_a=2)
    response = t.client_a().post(
        url(t.order), {"lines": [{"line_id": t.line_a.pk, "amount": "7.50"}]}, format="json"
    )
    refund_id = response.json()["id"]
    assert order_line_refund_amount(order_line_id=t.line_a.pk, refund_id=refund_id) == Decimal(
        "7.50"
    )
    assert order_lines_refunded_succeeded(order_line_ids=[t.line_a.pk, t.line_b.pk]) == {
        t.line_a.pk: Decimal("7.50"),
        t.line_b.pk: Decimal(0),
    }
