"""Property: whatever the sales, refunds, approvals and payouts, the ledger is right to the
minor unit and no line is ever paid twice (0-, 2- and 3-decimal currencies)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from commissions.models import CommissionLine, Payout
from commissions.services import approval, payouts, recording
from common.money import quantize, quantum
from tests.commissions.helpers import paid_order, variant_of
from tests.creators.factories import CommissionTermsFactory, PayoutAccountFactory
from tests.shop.factories import BrandFactory

pytestmark = pytest.mark.django_db
Status = CommissionLine.Status

sale = st.tuples(st.just("sell"), st.integers(1, 400_000), st.integers(0, 3000))
operation = st.one_of(
    sale,
    st.tuples(st.just("refund"), st.integers(0, 20), st.integers(1, 100)),
    st.tuples(st.just("refund"), st.integers(0, 20), st.just(100)),
    st.tuples(st.just("approve"), st.integers(0, 40)),
    st.tuples(st.just("pay_out"), st.booleans()),
)


@given(
    currency=st.sampled_from(["JPY", "USD", "KWD"]),
    hold_days=st.sampled_from([0, 30]),
    sales=st.lists(sale, min_size=1, max_size=4),
    operations=st.lists(operation, min_size=1, max_size=12),
)
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
def test_ledger_is_exact_and_nothing_is_paid_twice(
    currency, hold_days, sales, operations, settings
):
    settings.COMMISSION_PAYOUT_MINIMUMS = {"JPY": "2500", "USD": "25.00", "KWD": "25.000"}
    account = PayoutAccountFactory.create(provider="manual", stripe_account_id=None)
    creator = account.creator
    brand = CommissionTermsFactory.create(
        brand=BrandFactory.create(currency=currency), hold_days=hold_days
    ).brand
    step = quantum(currency)
    start = timezone.now() - timedelta(days=100)
    clock = start
    refunded: dict[int, Decimal] = {}
    lines: list[int] = []

    for op in sales + operations:
        if op[0] == "sell":
            _, units, rate_bp = op
            order = paid_order(
                (variant_of(brand), str(units * step)), creator=creator, currency=currency,
                rate=str(Decimal(rate_bp) / 100), paid_at=clock,
            )  # fmt: skip
            recording.commission_record_for_orders(order_ids=[order.pk])
            lines.append(order.lines.get().pk)
        elif op[0] == "refund" and lines:
            _, which, percent = op
            line_id = lines[which % len(lines)]
            base = CommissionLine.objects.get(order_line_id=line_id, kind="commission").base
            total = min(
                base, refunded.get(line_id, Decimal(0)) + quantize(base * percent / 100, currency)
            )
            refunded[line_id] = total
            recording.commission_reverse_for_refund(
                order_line_id=line_id, refund_id=f"re_{len(refunded)}_{total}",
                refunded_to_date=total, now=clock,
            )  # fmt: skip
        elif op[0] == "approve":
            clock += timedelta(days=op[1])
            approval.commissions_approve_due(now=clock)
        elif op[0] == "pay_out":
            for payout_id in payouts.payouts_create_due(now=clock):
                payouts.payout_send(payout_id=payout_id, now=clock)
                if op[1]:
                    payouts.payout_mark_paid_manually(payout_id=payout_id, now=clock)
                    event("a payout was paid")
                else:
                    payouts.payout_mark_failed_manually(payout_id=payout_id, message="x")

    ledger = CommissionLine.objects.filter(creator=creator)
    for status in Status:
        if ledger.filter(status=status).exists():
            event(f"some lines {status}")
    if Payout.objects.filter(creator=creator, status=Payout.Status.FAILED).exists():
        event("a payout failed")
    for line_id in lines:
        commission = ledger.get(order_line_id=line_id, kind="commission")
        got = ledger.filter(order_line_id=line_id).aggregate(s=Sum("amount"))["s"]
        gone = refunded.get(line_id, Decimal(0))
        reversed_total = (
            quantize(commission.amount * gone / commission.base, currency)
            if commission.base
            else Decimal(0)
        )
        assert got == commission.amount - reversed_total
    # No line is paid twice: each paid line is in exactly one live payout, whose amount is
    # exactly its lines; failed payouts hold no lines.
    for payout in Payout.objects.filter(creator=creator):
        held = ledger.filter(payout=payout).aggregate(s=Sum("amount"))["s"] or Decimal(0)
        if payout.status == Payout.Status.FAILED:
            assert held == 0
            assert not ledger.filter(payout=payout).exists()
        else:
            assert held == payout.amount
            assert payout.amount >= Decimal(settings.COMMISSION_PAYOUT_MINIMUMS[currency])
    assert not ledger.filter(status=Status.PAID, payout__isnull=True).exists()
    # Balances add up to the ledger: pending + approved + paid (voided lines net to zero).
    kept = ledger.exclude(status=Status.VOIDED).aggregate(s=Sum("amount"))["s"] or Decimal(0)
    assert kept == (ledger.aggregate(s=Sum("amount"))["s"] or Decimal(0))
    assert ledger.filter(status=Status.VOIDED).aggregate(s=Sum("amount"))["s"] in (None, 0)
