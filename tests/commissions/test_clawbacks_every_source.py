"""Clawbacks from every refund source: the brand API, the admin desk and Stripe's dashboard.

Each refund reverses the commission of what it refunded, pro rata, through the outbox
event the refund commits with, whether the commission is pending, approved or already paid
out (then the reversal is payable at once and the balance goes negative), once per refund.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from commissions.models import CommissionLine
from commissions.services.approval import commissions_approve_due
from commissions.services.payouts import payout_create_for_creator
from commissions.services.recording import commission_record_for_orders
from common.money import quantize
from creators.models import Creator
from orders.models import Fulfilment, OrderLine, Refund, RefundLine
from tests.creators.factories import CreatorFactory, PayoutAccountFactory
from tests.orders.aftersale_helpers import TwoBrands, intent_of, two_brand_order
from tests.orders.helpers import event_payload, post_event, stripe_test_client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_emulator")]
Status = CommissionLine.Status
RATE = Decimal("10.00")


@pytest.fixture(autouse=True)
def small_payouts(settings):
    settings.COMMISSION_PAYOUT_MINIMUM = "1.00"


def credited(t: TwoBrands) -> Creator:
    """Credit brand A's line (2 x 20.00) to a creator at 10% and record its commission."""
    creator = CreatorFactory.create()
    OrderLine.objects.filter(pk=t.line_a.pk).update(
        attributed_creator_id=creator.pk,
        commission_rate=RATE,
        attribution={"credited": True, "rule": "last_click", "rate": str(RATE)},
    )
    assert commission_record_for_orders(order_ids=[t.order.pk]) == 1
    return creator


def bring_to(creator: Creator, status: str) -> None:
    """Move the commission through approval (and a payout) to `status`."""
    if status == Status.PENDING:
        return
    later = timezone.now() + timedelta(days=365)
    assert commissions_approve_due(now=later).approved == 1
    if status == Status.PAID:
        PayoutAccountFactory.create(creator=creator, provider="manual", stripe_account_id=None)
        payout = payout_create_for_creator(creator_id=creator.pk, currency="USD", now=later)
        assert payout.amount == Decimal("4.00")
    assert CommissionLine.objects.get(kind="commission").status == status


def refund_by_api(t: TwoBrands) -> None:
    response = t.client_a().post(
        f"/api/v1/brand/orders/{t.order.pk}/refunds/",
        {"lines": [{"line_id": t.line_a.pk, "quantity": 1}], "reason": "requested_by_customer"},
        format="json",
    )
    assert response.status_code == 201, response.content


def refund_by_admin(t: TwoBrands) -> None:
    desk = Client()
    desk.force_login(t.owner_a)
    fulfilment = Fulfilment.objects.get(order=t.order, brand=t.brand_a)
    response = desk.post(
        f"/admin/orders/fulfilment/{fulfilment.pk}/refund/",
        {f"qty_{t.line_a.pk}": "1", "reason": "requested_by_customer"},
    )
    assert response.status_code == 302


def dashboard_refund(t: TwoBrands, cents: int, event_id: str) -> str:
    """Refund in Stripe's dashboard, then deliver `charge.refunded` through the webhook."""
    refund = stripe_test_client().v1.refunds.create(
        params={"payment_intent": intent_of(t.order), "amount": cents}
    )
    charge_refunded(t, event_id)
    return refund.id


def charge_refunded(t: TwoBrands, event_id: str) -> None:
    intent = stripe_test_client().v1.payment_intents.retrieve(intent_of(t.order))
    charge = {"id": intent.latest_charge, "object": "charge", "payment_intent": intent.id}
    response = post_event(APIClient(), event_payload(event_id, "charge.refunded", charge))
    assert response.status_code == 200


def refund_by_dashboard(t: TwoBrands) -> None:
    dashboard_refund(t, 2000, "evt_dash_1")


def line_a_refunded(t: TwoBrands) -> Decimal:
    return sum(
        (
            p.amount
            for p in RefundLine.objects.filter(
                order_line=t.line_a, refund__status=Refund.Status.SUCCEEDED
            )
        ),
        Decimal(0),
    )


def reversals() -> list[CommissionLine]:
    return list(CommissionLine.objects.filter(kind="reversal").order_by("pk"))


SOURCES = {"api": refund_by_api, "admin": refund_by_admin, "dashboard": refund_by_dashboard}


@pytest.mark.parametrize("status", [Status.PENDING, Status.APPROVED, Status.PAID])
@pytest.mark.parametrize("source", sorted(SOURCES))
def test_a_refund_from_any_source_reverses_its_share_of_the_commission(
    source, status, django_capture_on_commit_callbacks
):
    t = two_brand_order(qty_a=2, price_a="20.00")  # line A 40.00, commission 4.00
    creator = credited(t)
    bring_to(creator, status)

    with django_capture_on_commit_callbacks(execute=True):
        SOURCES[source](t)

    refunded = line_a_refunded(t)
    assert refunded > 0
    (reversal,) = reversals()
    # Pro rata: 10% of what was refunded of the line, to the cent.
    assert reversal.amount == -quantize(Decimal("4.00") * refunded / Decimal("40.00"), "USD")
    refund = Refund.objects.get()
    assert reversal.refund_id == str(refund.pk)
    if status == Status.PENDING:
        assert reversal.status == Status.PENDING
    else:
        # Past the hold: payable at once, deducted from what the creator is owed.
        assert (reversal.status, reversal.payout_id) == (Status.APPROVED, None)
    ledger = sum((c.amount for c in CommissionLine.objects.all()), Decimal(0))
    assert ledger == Decimal("4.00") + reversal.amount


def test_a_dashboard_refund_after_payout_leaves_a_negative_balance_netted_next_time(
    django_capture_on_commit_callbacks,
):
    t = two_brand_order(qty_a=2, price_a="20.00")
    creator = credited(t)
    bring_to(creator, Status.PAID)

    with django_capture_on_commit_callbacks(execute=True):
        dashboard_refund(t, 5000, "evt_dash_full")  # 40 + 5 shipping of A, part of B

    owed = CommissionLine.objects.filter(status=Status.APPROVED, payout__isnull=True)
    negative = sum((c.amount for c in owed), Decimal(0))
    assert negative < 0
    # The next sale's commission is netted against the debt in the next payout.
    t2 = two_brand_order(qty_a=5, price_a="20.00")  # 100.00, commission 10.00
    OrderLine.objects.filter(pk=t2.line_a.pk).update(
        attributed_creator_id=creator.pk, commission_rate=RATE, attribution={"credited": True}
    )
    commission_record_for_orders(order_ids=[t2.order.pk])
    later = timezone.now() + timedelta(days=400)
    commissions_approve_due(now=later)
    payout = payout_create_for_creator(creator_id=creator.pk, currency="USD", now=later)
    assert payout.amount == Decimal("10.00") + negative


def test_the_same_dashboard_refund_told_twice_reverses_once(django_capture_on_commit_callbacks):
    t = two_brand_order(qty_a=2, price_a="20.00")
    credited(t)

    with django_capture_on_commit_callbacks(execute=True):
        dashboard_refund(t, 2000, "evt_dash_a")
    with django_capture_on_commit_callbacks(execute=True):
        charge_refunded(t, "evt_dash_b")  # the same refund, told again under a new event

    assert Refund.objects.count() == 1
    (reversal,) = reversals()
    assert reversal.amount == -quantize(Decimal("4.00") * line_a_refunded(t) / 40, "USD")


def test_refunds_from_two_sources_handled_out_of_order_reverse_each_once(
    django_capture_on_commit_callbacks,
):
    """The API refund's event is held back and delivered after the dashboard refund's."""
    from tests.outbox_helpers import deliver_pending

    t = two_brand_order(qty_a=2, price_a="20.00")
    credited(t)

    refund_by_api(t)  # on-commit callbacks not run: its delivery waits in the outbox
    with django_capture_on_commit_callbacks(execute=True):
        dashboard_refund(t, 1000, "evt_dash_late")
    deliver_pending()
    deliver_pending()  # a second delivery attempt changes nothing

    assert Refund.objects.count() == 2
    lines = reversals()
    assert {line.refund_id for line in lines} == {str(r.pk) for r in Refund.objects.all()}
    total = sum((line.amount for line in lines), Decimal(0))
    assert total == -quantize(Decimal("4.00") * line_a_refunded(t) / 40, "USD")
