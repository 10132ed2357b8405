"""A code's journey on a real worker: the creator says the code, a fan buys without a click,
pays, the creator is credited on what was paid, and a partial refund reverses pro rata.

Every step goes over HTTP to the live server (the brand issues the discount and the code,
the creator's storefront shows it, the fan's cart takes it, checkout charges the discounted
total); the emulator's webhooks reach the server, and the outbox events reach the ledger
through the broker and a real worker (as in test_money_journey_worker.py).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from commissions.models import CommissionLine
from orders.models import Order
from tests.commissions.test_money_journey_worker import (
    TIMEOUT,
    Http,
    brand,
    ledger_settles,
    live_stripe,
    webhook_log,
)
from tests.creators.test_storefront_page import make_creator, make_product
from tests.orders.conftest import LiveStripe, wait_until
from tests.orders.helpers import ADDRESS, pay, stripe_test_client

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.usefixtures("real_worker"),
]

__all__ = ["live_stripe", "webhook_log"]  # the fixtures this module's test uses
Status = CommissionLine.Status


def test_a_spoken_code_credits_its_creator_without_a_click_and_a_refund_reverses_pro_rata(
    live_stripe: LiveStripe,
):
    # Given: brand A (10%, ships for 5.00) issues its creator Maya the code MAYA20: 20% off.
    glow, owner = brand("Glow Labs", rate="10.00", shipping="5.00", period_days=7)
    serum = make_product("Vitamin C serum", brand=glow, price="32.00")
    creator = make_creator("maya.glows")
    site = live_stripe.site
    brand_api, creator_api = Http(site, owner), Http(site, creator.user)
    discount = brand_api.call(
        "POST",
        "/api/v1/brand/discounts/",
        expect=201,
        json={"brand": glow.slug, "name": "Maya's fans", "kind": "percentage", "value": "20"},
    )
    brand_api.call(
        "POST",
        "/api/v1/brand/codes/",
        expect=201,
        json={
            "brand": glow.slug,
            "code": "maya20",
            "discount": discount["id"],
            "creator": creator.pk,
        },
    )
    # The creator says it in her video; her storefront shows it too.
    shopper = Http(site)
    shown = shopper.call("GET", "/api/v1/storefronts/maya.glows/")["codes"]
    assert [(c["code"], c["offer"]) for c in shown] == [("MAYA20", "20% off")]

    # When: a fan who never tapped her link types the code: 3 x 32.00 = 96.00, 19.20 off.
    cart = shopper.call("POST", "/api/v1/carts/", expect=201)
    shopper.session.headers["X-Cart-Token"] = cart["token"]
    (variant,) = shopper.call("GET", f"/api/v1/products/{serum.pk}/")["variants"]
    shopper.call("PUT", f"/api/v1/carts/{cart['id']}/lines/{variant['sku']}", json={"quantity": 3})
    shopper.call("POST", f"/api/v1/carts/{cart['id']}/codes/", json={"code": "maya20"})
    checkout = shopper.call(
        "POST",
        "/api/v1/checkouts/",
        expect=201,
        json={"cart_id": cart["id"], "email": "fan@example.com", "shipping_address": ADDRESS},
        headers={"Idempotency-Key": "code-journey-1"},
    )
    order = Order.objects.get(pk=checkout["order_id"])
    assert (order.items_total, order.discount_total, order.grand_total) == (
        Decimal("96.00"),
        Decimal("19.20"),
        Decimal("81.80"),
    )
    intent = stripe_test_client().v1.payment_intents.retrieve(checkout["payment_intent_id"])
    assert intent.amount == 8180  # the discounted total: no coupon on the PaymentIntent
    assert pay(checkout["payment_intent_id"]).status == "succeeded"

    # Then: the webhook marks it paid; the worker credits Maya with no click, on what was
    # paid for the line: 10% of 76.80 = 7.68.
    wait_until(
        lambda: Order.objects.filter(pk=order.pk, status=Order.Status.PAID).exists(),
        what="the order to be paid",
        timeout=TIMEOUT,
    )
    line = order.lines.get()
    assert (line.attributed_creator_id, line.attribution["rule"]) == (creator.pk, "code")
    assert line.attribution.get("click_id") is None
    assert (line.list_total, line.discount_amount, line.line_total) == (
        Decimal("96.000"),
        Decimal("19.200"),
        Decimal("76.800"),
    )
    rate = line.commission_rate
    assert rate == Decimal("10.00")
    assert ledger_settles(order, 1) == [
        ("Vitamin C serum", "commission", Status.PENDING, Decimal("7.68"))
    ]
    receipt = CommissionLine.objects.get(order_line_id=line.pk).receipt
    assert (receipt["discount_code"], receipt["commission_basis"]) == ("MAYA20", "paid")

    # When: the brand refunds one of the three serums through its API.
    refund = brand_api.call(
        "POST",
        f"/api/v1/brand/orders/{order.pk}/refunds/",
        expect=201,
        json={"lines": [{"line_id": line.pk, "quantity": 1}], "reason": "requested_by_customer"},
    )
    # Then: a third of what was paid goes back (25.60, not a third of the list price) and the
    # worker reverses a third of the commission: round(7.68 x 25.60 / 76.80) = 2.56.
    assert refund["amount"] == {"amount": "25.60", "currency": "USD"}
    assert ledger_settles(order, 2)[1:] == [
        ("Vitamin C serum", "reversal", Status.PENDING, Decimal("-2.56"))
    ]
    # And the creator's figures for the code say the same.
    days = creator_api.call("GET", "/api/v1/creators/me/codes/stats/")["days"]
    assert [
        (d["code"], d["uses"], d["discount"]["amount"], d["commission"]["amount"]) for d in days
    ] == [("MAYA20", 1, "19.20", "5.12")]
