"""The smaller money seams: receipts in the currency's decimals, a dashboard refund's reason,
and a paid payout leaving `in_payouts`."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from commissions.models import CommissionLine, Payout
from commissions.selectors.ledger import commission_balances
from commissions.services import recording
from orders.models import OrderEvent, Refund
from tests.commissions.helpers import paid_order, variant_of
from tests.conftest import client_for
from tests.creators.factories import CreatorFactory
from tests.orders.aftersale_helpers import intent_of, two_brand_order
from tests.orders.helpers import event_payload, post_event, stripe_test_client

pytestmark = pytest.mark.django_db

BALANCES = "/api/v1/creators/me/commissions/balances/"


@pytest.mark.parametrize(
    ("currency", "total", "refunded", "shown"),
    [
        ("USD", "40.00", "40.00", {"base": "40.00", "commission": "4.00", "refunded": "40.00"}),
        ("JPY", "4000", "1000", {"base": "4000", "commission": "400", "refunded": "1000"}),
        (
            "KWD",
            "40.000",
            "10.000",
            {"base": "40.000", "commission": "4.000", "refunded": "10.000"},
        ),
    ],
)
def test_receipts_show_amounts_with_the_currency_decimals(currency, total, refunded, shown):
    brand = variant_of(currency=currency).product.brand
    creator = CreatorFactory.create()
    order = paid_order((variant_of(brand), total), creator=creator, currency=currency)
    recording.commission_record_for_orders(order_ids=[order.pk])
    line = order.lines.get()

    recording.commission_reverse_for_refund(
        order_line_id=line.pk, refund_id="r1", refunded_to_date=Decimal(refunded)
    )

    commission = CommissionLine.objects.get(kind="commission")
    reversal = CommissionLine.objects.get(kind="reversal")
    assert commission.receipt["base"] == shown["base"]
    assert reversal.receipt["base"] == shown["base"]
    assert reversal.receipt["commission"] == shown["commission"]
    assert reversal.receipt["refunded_to_date"] == shown["refunded"]
    rows = client_for(creator.user).get("/api/v1/creators/me/commissions/").json()["results"]
    assert {row["receipt"]["base"] for row in rows} == {shown["base"]}


@pytest.mark.usefixtures("stripe_emulator")
def test_a_dashboard_refund_keeps_stripes_reason(django_capture_on_commit_callbacks):
    t = two_brand_order()
    stripe_test_client().v1.refunds.create(
        params={"payment_intent": intent_of(t.order), "amount": 500, "reason": "duplicate"}
    )
    intent = stripe_test_client().v1.payment_intents.retrieve(intent_of(t.order))
    charge = {"id": intent.latest_charge, "object": "charge", "payment_intent": intent.id}

    with django_capture_on_commit_callbacks(execute=True):
        response = post_event(APIClient(), event_payload("evt_reason", "charge.refunded", charge))

    assert response.status_code == 200
    refund = Refund.objects.get()
    assert (refund.source, refund.reason) == (Refund.Source.DASHBOARD, "duplicate")
    note = OrderEvent.objects.get(order=t.order, kind="refunded")
    assert note.data["amount"] == "5.00"


def test_a_paid_payout_leaves_in_payouts_and_shows_as_paid_out():
    creator = CreatorFactory.create()
    for total in ("100.00", "300.00"):
        order = paid_order((variant_of(), total), creator=creator)
        recording.commission_record_for_orders(order_ids=[order.pk])
    first, second = CommissionLine.objects.order_by("pk")
    sending = Payout.objects.create(
        creator=creator, currency="USD", amount=Decimal(10), provider="manual", status="processing"
    )
    paid = Payout.objects.create(
        creator=creator, currency="USD", amount=Decimal(30), provider="manual", status="paid"
    )
    CommissionLine.objects.filter(pk=first.pk).update(status="paid", payout=sending)
    CommissionLine.objects.filter(pk=second.pk).update(status="paid", payout=paid)

    (balance,) = commission_balances(creator=creator)

    assert (balance.in_payouts, balance.paid_out) == (Decimal("10.00"), Decimal("30.00"))
    body = client_for(creator.user).get(BALANCES).json()["balances"][0]
    assert body["in_payouts"] == {"amount": "10.00", "currency": "USD"}
    assert body["paid_out"] == {"amount": "30.00", "currency": "USD"}
