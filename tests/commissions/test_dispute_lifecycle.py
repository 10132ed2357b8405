"""Disputes end to end through the Stripe emulator and the webhook endpoint: the commission of
the disputed lines is held, then released (won) or reversed (lost), once, in any event order;
after each step the ledger holds rate x kept amount, and the reconciliation finds nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from commissions.errors import PayoutBelowMinimum
from commissions.models import CommissionHold, CommissionLine
from commissions.selectors.reconciliation import commission_ledger_differences
from commissions.services.approval import commissions_approve_due
from commissions.services.payouts import payout_create_for_creator
from commissions.services.recording import commission_record_for_orders
from common.money import quantize
from common.outbox.models import OutboxEvent
from creators.models import Creator
from orders.events import DISPUTE_CLOSED, DISPUTE_OPENED
from orders.models import Dispute, DisputeLine, OrderLine
from tests.commissions.test_clawbacks_every_source import RATE, bring_to, credited
from tests.creators.factories import CreatorFactory, PayoutAccountFactory
from tests.orders.aftersale_helpers import TwoBrands, two_brand_order
from tests.orders.dispute_helpers import deliver, dispute_close, dispute_open
from tests.outbox_helpers import announce

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_emulator")]
Status = CommissionLine.Status
LATER = timedelta(days=365)


@pytest.fixture(autouse=True)
def small_payouts(settings):
    settings.COMMISSION_PAYOUT_MINIMUM = "1.00"


@pytest.fixture
def t() -> TwoBrands:
    # A: 2 x 20.00 + 5.00 shipping, B: 1 x 15.00 + 4.00 shipping; 64.00 charged in all.
    return two_brand_order(qty_a=2, price_a="20.00")


def lost_share(line: OrderLine) -> Decimal:
    """What lost disputes took of the line."""
    rows = DisputeLine.objects.filter(order_line=line, dispute__status=Dispute.Status.LOST)
    return sum((r.amount for r in rows), Decimal(0))


def assert_ledger_invariant(line: OrderLine) -> None:
    """commission = rate x kept amount (paid - refunded - lost to disputes), to the cent."""
    line.refresh_from_db()
    kept = line.line_total - line.refunded_amount - lost_share(line)
    ledger = sum(
        CommissionLine.objects.filter(order_line_id=line.pk).values_list("amount", flat=True),
        Decimal(0),
    )
    assert ledger == quantize(kept * RATE / 100, line.currency)
    assert commission_ledger_differences(order_line_ids=[line.pk]) == []


def test_created_then_won_holds_then_releases_and_pays_once(t, django_capture_on_commit_callbacks):
    creator = credited(t)
    dispute_id = dispute_open(t.order)
    with django_capture_on_commit_callbacks(execute=True):
        deliver("charge.dispute.created", dispute_id)
        deliver("charge.dispute.funds_withdrawn", dispute_id)

    dispute = Dispute.objects.get()
    assert (dispute.amount, dispute.fee, dispute.status) == (
        Decimal("64.00"),
        Decimal("15.00"),
        "needs_response",
    )
    assert sum(p.amount for p in dispute.lines.all()) == dispute.amount
    assert sum(p.fee for p in dispute.lines.all()) == dispute.fee
    hold = CommissionHold.objects.get()
    assert (hold.reason, hold.amount, hold.resolved_at) == ("dispute", Decimal("40.000"), None)
    assert commissions_approve_due(now=timezone.now() + LATER).approved == 0
    assert_ledger_invariant(t.line_a)

    dispute_close(dispute_id, "won", fee_reinstated=True)
    with django_capture_on_commit_callbacks(execute=True):
        deliver("charge.dispute.funds_reinstated", dispute_id)
        deliver("charge.dispute.closed", dispute_id)

    dispute.refresh_from_db()
    assert (dispute.status, dispute.fee, dispute.reinstated) == ("won", 0, Decimal("64.00"))
    hold.refresh_from_db()
    assert hold.resolution == "released"
    assert commissions_approve_due(now=timezone.now() + LATER).approved == 1
    PayoutAccountFactory.create(creator=creator, provider="manual", stripe_account_id=None)
    payout = payout_create_for_creator(creator_id=creator.pk, currency="USD")
    assert payout.amount == Decimal("4.00")
    with pytest.raises(PayoutBelowMinimum):
        payout_create_for_creator(creator_id=creator.pk, currency="USD")
    assert_ledger_invariant(t.line_a)


def test_created_then_lost_reverses_the_disputed_commission(t, django_capture_on_commit_callbacks):
    credited(t)
    dispute_id = dispute_open(t.order)
    with django_capture_on_commit_callbacks(execute=True):
        deliver("charge.dispute.created", dispute_id)
    assert_ledger_invariant(t.line_a)

    dispute_close(dispute_id, "lost")
    with django_capture_on_commit_callbacks(execute=True):
        deliver("charge.dispute.closed", dispute_id)

    assert CommissionHold.objects.get().resolution == "reversed"
    rows = CommissionLine.objects.order_by("pk")
    assert [(r.kind, r.status, r.amount) for r in rows] == [
        ("commission", Status.VOIDED, Decimal("4.000")),
        ("reversal", Status.VOIDED, Decimal("-4.000")),
    ]
    assert commissions_approve_due(now=timezone.now() + LATER).approved == 0
    assert_ledger_invariant(t.line_a)


def test_a_partial_dispute_lost_reverses_only_the_lines_share(
    t, django_capture_on_commit_callbacks
):
    credited(t)
    dispute_id = dispute_open(t.order, amount_cents=3200)  # half of the 64.00 charge
    dispute_close(dispute_id, "lost")
    with django_capture_on_commit_callbacks(execute=True):
        deliver("charge.dispute.closed", dispute_id)

    share = DisputeLine.objects.get(order_line=t.line_a).amount
    assert share == Decimal("20.00")  # 40 / 64 of 32.00
    assert_ledger_invariant(t.line_a)
    assert commissions_approve_due(now=timezone.now() + LATER).approved == 2


def test_closed_before_created_and_duplicates_record_everything_once(
    t, django_capture_on_commit_callbacks
):
    credited(t)
    dispute_id = dispute_open(t.order)
    dispute_close(dispute_id, "lost")

    with django_capture_on_commit_callbacks(execute=True):
        first = deliver("charge.dispute.closed", dispute_id)
        deliver("charge.dispute.closed", dispute_id, event_id=first)  # Stripe's retry
        deliver("charge.dispute.created", dispute_id)
        deliver("charge.dispute.funds_withdrawn", dispute_id)
        deliver("charge.dispute.updated", dispute_id)
        deliver("charge.dispute.closed", dispute_id)  # the same fact, another event

    assert Dispute.objects.count() == 1
    assert DisputeLine.objects.count() == 4  # two lines, two shipping charges
    assert OutboxEvent.objects.filter(name=DISPUTE_OPENED).count() == 1
    assert OutboxEvent.objects.filter(name=DISPUTE_CLOSED).count() == 1
    assert CommissionHold.objects.count() == 1
    assert CommissionLine.objects.filter(kind="reversal").count() == 1
    assert_ledger_invariant(t.line_a)


def test_a_dispute_handled_before_the_payment_holds_the_commission_when_recorded(
    t, django_capture_on_commit_callbacks
):
    creator = CreatorFactory.create()
    OrderLine.objects.filter(pk=t.line_a.pk).update(
        attributed_creator_id=creator.pk, commission_rate=RATE, attribution={"credited": True}
    )
    dispute_id = dispute_open(t.order)
    with django_capture_on_commit_callbacks(execute=True):
        deliver("charge.dispute.created", dispute_id)
    assert not CommissionLine.objects.exists()  # the order_paid event not handled yet

    announce("orders.order_paid", {"order_id": t.order.pk})

    hold = CommissionHold.objects.get()
    assert (hold.line.creator_id, hold.amount) == (creator.pk, Decimal("40.000"))
    assert commissions_approve_due(now=timezone.now() + LATER).approved == 0


def test_a_dispute_lost_after_payout_goes_negative_and_nets_from_the_next_payout(
    t, django_capture_on_commit_callbacks
):
    creator = credited(t)
    bring_to(creator, Status.PAID)  # 4.00 paid out
    dispute_id = dispute_open(t.order)
    dispute_close(dispute_id, "lost")
    with django_capture_on_commit_callbacks(execute=True):
        deliver("charge.dispute.created", dispute_id)
        deliver("charge.dispute.closed", dispute_id)

    owed = CommissionLine.objects.filter(status=Status.APPROVED, payout__isnull=True)
    assert [r.amount for r in owed] == [Decimal("-4.000")]
    assert_ledger_invariant(t.line_a)
    t2 = two_brand_order(qty_a=5, price_a="20.00")  # 100.00: commission 10.00
    _credit(t2, creator)
    later = timezone.now() + timedelta(days=400)
    commissions_approve_due(now=later)
    payout = payout_create_for_creator(creator_id=creator.pk, currency="USD", now=later)
    assert payout.amount == Decimal("6.00")  # 10.00 less the 4.00 taken back
    assert_ledger_invariant(t.line_a)
    assert_ledger_invariant(t2.line_a)


def _credit(t: TwoBrands, creator: Creator) -> None:
    OrderLine.objects.filter(pk=t.line_a.pk).update(
        attributed_creator_id=creator.pk, commission_rate=RATE, attribution={"credited": True}
    )
    commission_record_for_orders(order_ids=[t.order.pk])


def test_settlements_show_disputes_and_their_fees_as_their_own_figures(
    t, django_capture_on_commit_callbacks
):
    from commissions.services.settlements import settlement_create

    credited(t)
    dispute_id = dispute_open(t.order)
    with django_capture_on_commit_callbacks(execute=True):
        deliver("charge.dispute.created", dispute_id)
    # Opened yesterday (the sale with it), closed today: two periods.
    now = timezone.now()
    Dispute.objects.update(opened_at=now - timedelta(days=1))
    t.order.__class__.objects.filter(pk=t.order.pk).update(paid_at=now - timedelta(days=1))
    start, end = now - timedelta(days=2), now - timedelta(hours=1)
    dispute_close(dispute_id, "won", fee_reinstated=True)
    with django_capture_on_commit_callbacks(execute=True):
        deliver("charge.dispute.closed", dispute_id)
    closed_end = timezone.now() + timedelta(days=1)

    (opened,) = settlement_create(brand=t.brand_a, period_start=start, period_end=end)
    (after,) = settlement_create(brand=t.brand_a, period_start=end, period_end=closed_end)

    # Brand A's share of the 64.00 dispute: 40.00 + 5.00 shipping; of the 15.00 fee: 10.55.
    shares = DisputeLine.objects.filter(brand=t.brand_a)
    fee_share = sum((p.fee + p.fee_returned for p in shares), Decimal(0))
    assert opened.disputes == Decimal("45.00")
    assert opened.dispute_fees == fee_share
    assert opened.amount_due == (
        opened.gross - opened.refunds - opened.commissions - opened.platform_fee
        - Decimal("45.00") - fee_share
    )  # fmt: skip
    assert after.disputes == Decimal("-45.00")  # won: reinstated
    assert after.dispute_fees == -fee_share  # and the fee returned
    kinds = set(opened.lines.values_list("kind", flat=True))
    assert {"dispute", "dispute_fee"} <= kinds
    assert sum(opened.lines.values_list("amount", flat=True)) == opened.amount_due
