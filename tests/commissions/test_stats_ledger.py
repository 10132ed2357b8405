"""Creator stats read commission from the ledger for recorded lines, reversals included."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from commissions.models import CommissionLine
from commissions.selectors.stats import creator_stats, stats_window
from commissions.services import recording
from creators.models import Creator
from orders.models import Order
from tests.commissions.helpers import paid_order, variant_of
from tests.creators.factories import CreatorFactory

pytestmark = pytest.mark.django_db


def _stats(creator: Creator, group_by: str = "none"):
    now = timezone.now()
    window = stats_window(start=None, end=None, interval="day", now=now)
    return creator_stats(creator=creator, window=window, group_by=group_by)  # type: ignore[arg-type]


def _reverse(line: CommissionLine, amount: str, refunded: str) -> None:
    CommissionLine.objects.create(
        kind=CommissionLine.Kind.REVERSAL,
        creator=line.creator,
        link=line.link,
        brand=line.brand,
        order_id=line.order_id,
        order_line_id=line.order_line_id,
        refund_id=f"re_{amount}",
        currency=line.currency,
        base=-Decimal(refunded),
        rate=line.rate,
        amount=Decimal(amount),
        refunded_to_date=Decimal(refunded),
        earned_at=timezone.now(),
        payable_at=line.payable_at,
    )


def test_recorded_lines_count_at_their_ledger_sum_less_reversals():
    creator = CreatorFactory.create()
    order = paid_order((variant_of(), "100.00"), creator=creator, rate="10.00")
    recording.commission_record_for_orders(order_ids=[order.pk])
    _reverse(CommissionLine.objects.get(order_id=order.pk), "-2.50", "25.00")

    stats = _stats(creator)

    assert stats.totals.commission == {"USD": Decimal("7.50")}
    assert stats.commission_status == "ledger"
    assert sum(p.commission.get("USD", 0) for p in stats.series) == Decimal("7.50")


def test_lines_not_recorded_yet_are_estimated_and_the_status_says_partial():
    creator = CreatorFactory.create()
    recorded = paid_order((variant_of(), "100.00"), creator=creator, rate="10.00")
    recording.commission_record_for_orders(order_ids=[recorded.pk])
    paid_order((variant_of(), "30.00"), creator=creator, rate="10.00")

    stats = _stats(creator)

    assert stats.totals.commission == {"USD": Decimal("13.00")}
    assert stats.commission_status == "partial"


def test_fully_refunded_recorded_order_shows_no_commission():
    creator = CreatorFactory.create()
    order = paid_order((variant_of(), "40.00"), creator=creator, rate="10.00")
    recording.commission_record_for_orders(order_ids=[order.pk])
    _reverse(CommissionLine.objects.get(order_id=order.pk), "-4.00", "40.00")
    Order.objects.filter(pk=order.pk).update(status=Order.Status.REFUNDED)

    stats = _stats(creator, group_by="link")

    assert stats.totals.commission == {}
    assert stats.totals.orders == 0
    assert stats.series == []


def test_without_ledger_rows_commission_is_estimated():
    creator = CreatorFactory.create()
    paid_order(
        (variant_of(), "19.99"),
        creator=creator,
        rate="12.50",
        paid_at=timezone.now() - timedelta(hours=1),
    )

    stats = _stats(creator)

    assert stats.totals.commission == {"USD": Decimal("2.50")}
    assert stats.commission_status == "estimated"
