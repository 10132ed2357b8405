"""Settlements on schedule: each brand's ended periods closed once, traceable line by line,
paid through the provider path; a negative period pays nothing and its debt is carried."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from commissions.models import (
    BrandPayoutAccount,
    CommissionTerms,
    Settlement,
    SettlementLine,
    SettlementPayout,
)
from commissions.services import recording
from commissions.services.settlement_periods import (
    period_containing,
    settlements_close_due,
)
from orders.models import Order, OrderLine, Refund
from shop.models import Brand
from tests.commissions.helpers import paid_order, variant_of
from tests.creators.factories import CreatorFactory
from tests.orders.helpers import refund_succeeded
from tests.shop.factories import BrandFactory

pytestmark = pytest.mark.django_db

WEEK1, _ = period_containing(datetime.fromisoformat("2026-11-04T12:00:00+00:00"), 7)
WEEK = timedelta(days=7)


@pytest.fixture(autouse=True)
def five_percent(settings):
    settings.COMMISSION_PLATFORM_FEE_PERCENT = "5.00"


def sell(brand: Brand, total: str, at: datetime, currency: str = "USD") -> OrderLine:
    order = paid_order(
        (variant_of(brand), total),
        creator=CreatorFactory.create(),
        currency=currency,
        paid_at=at,
        shipping="0",
    )
    recording.commission_record_for_orders(order_ids=[order.pk])
    return order.lines.get()


def refund(line: OrderLine, amount: str, at: datetime) -> Refund:
    made = refund_succeeded(line, Decimal(amount))
    Refund.objects.filter(pk=made.pk).update(completed_at=at)
    recording.commission_reverse_for_refund(
        order_line_id=line.pk, refund_id=str(made.pk), refunded_to_date=Decimal(amount), now=at
    )
    return made


def ready_to_be_paid(brand: Brand) -> None:
    BrandPayoutAccount.objects.create(
        brand=brand, provider="manual", status=BrandPayoutAccount.Status.READY
    )


def settled(brand: Brand, start: datetime, currency: str = "USD") -> Settlement:
    return Settlement.objects.get(brand=brand, period_start=start, currency=currency)


def test_periods_are_weeks_from_monday_by_default():
    start, end = period_containing(datetime.fromisoformat("2026-11-04T12:00:00+00:00"), 7)
    assert (start.weekday(), start.hour, end - start) == (0, 0, WEEK)


def test_an_ended_week_is_settled_line_by_line_and_paid():
    brand = BrandFactory.create()
    ready_to_be_paid(brand)
    first = sell(brand, "100.00", WEEK1 + timedelta(days=1))
    sell(brand, "40.00", WEEK1 + timedelta(days=2))
    refund(first, "20.00", WEEK1 + timedelta(days=3))
    sell(brand, "999.00", WEEK1 + WEEK + timedelta(hours=1))  # next week: still open

    result = settlements_close_due(now=WEEK1 + WEEK + timedelta(hours=2))

    settlement = settled(brand, WEEK1)
    assert result.settlements == [settlement.pk]
    # gross 140 - refunds 20 - commission (14 - 2) - fee 5% of 120 = 102
    assert (settlement.gross, settlement.refunds, settlement.commissions) == (
        Decimal("140.00"),
        Decimal("20.00"),
        Decimal("12.00"),
    )
    assert (settlement.platform_fee, settlement.amount_due) == (Decimal("6.00"), Decimal("102"))
    lines = list(settlement.lines.all())
    assert sum((line.amount for line in lines), Decimal(0)) == settlement.amount_due
    kinds = sorted(line.kind for line in lines)
    assert kinds == sorted(["sale", "sale", "refund", "commission", "commission", "reversal",
                            "platform_fee"])  # fmt: skip
    traced = [line for line in lines if line.kind != SettlementLine.Kind.PLATFORM_FEE]
    assert all(line.order_line_id for line in traced)
    (payout,) = SettlementPayout.objects.all()
    assert (payout.settlement_id, payout.amount) == (settlement.pk, Decimal("102"))
    assert result.payouts == [payout.pk]


def test_running_the_job_twice_settles_each_period_once():
    brand = BrandFactory.create()
    sell(brand, "100.00", WEEK1 + timedelta(days=1))
    now = WEEK1 + WEEK + timedelta(hours=2)

    first = settlements_close_due(now=now)
    again = settlements_close_due(now=now)
    later = settlements_close_due(now=now + timedelta(days=1))

    assert len(first.settlements) == 1
    assert again.settlements == later.settlements == []
    assert Settlement.objects.count() == 1


def test_a_negative_week_pays_nothing_and_its_debt_is_netted_next_week_per_currency():
    brand = BrandFactory.create()
    ready_to_be_paid(brand)
    sold = sell(brand, "100.00", WEEK1 + timedelta(days=1))
    settlements_close_due(now=WEEK1 + WEEK + timedelta(hours=2))  # week 1: 85.00, paid
    refund(sold, "100.00", WEEK1 + WEEK + timedelta(days=1))  # week 2: only the refund
    settlements_close_due(now=WEEK1 + 2 * WEEK + timedelta(hours=2))
    week2 = settled(brand, WEEK1 + WEEK)
    # refunds 100 - commission reversed 10 - fee 5% of -100 (-5): the brand owes 85
    assert (week2.amount_due, week2.carried_in, week2.payable) == (
        Decimal("-85"),
        Decimal("0"),
        Decimal("-85"),
    )
    assert not SettlementPayout.objects.filter(settlement=week2).exists()

    sell(brand, "200.00", WEEK1 + 2 * WEEK + timedelta(days=1))  # week 3: 170 in USD
    sell(brand, "50.00", WEEK1 + 2 * WEEK + timedelta(days=1), currency="EUR")  # 42.50
    settlements_close_due(now=WEEK1 + 3 * WEEK + timedelta(hours=2))

    usd, eur = settled(brand, WEEK1 + 2 * WEEK), settled(brand, WEEK1 + 2 * WEEK, "EUR")
    assert (usd.amount_due, usd.carried_in, usd.payable) == (
        Decimal("170"),
        Decimal("-85"),
        Decimal("85"),
    )
    assert (eur.amount_due, eur.carried_in) == (Decimal("42.50"), Decimal("0"))
    paid = dict(SettlementPayout.objects.values_list("settlement_id", "amount"))
    assert paid[usd.pk] == Decimal("85")
    assert paid[eur.pk] == Decimal("42.50")
    assert sorted(paid.values()) == [Decimal("42.50"), Decimal("85"), Decimal("85")]


def test_a_debt_larger_than_the_next_week_keeps_rolling_forward():
    brand = BrandFactory.create()
    sold = sell(brand, "100.00", WEEK1 + timedelta(days=1))
    settlements_close_due(now=WEEK1 + WEEK + timedelta(hours=2))
    refund(sold, "100.00", WEEK1 + WEEK + timedelta(days=1))  # -85
    sell(brand, "20.00", WEEK1 + 2 * WEEK + timedelta(days=1))  # +17

    settlements_close_due(now=WEEK1 + 3 * WEEK + timedelta(hours=2))

    week3 = settled(brand, WEEK1 + 2 * WEEK)
    assert (week3.carried_in, week3.payable) == (Decimal("-85"), Decimal("-68"))
    assert not SettlementPayout.objects.exists()


def test_a_brand_can_settle_daily():
    brand = BrandFactory.create()
    CommissionTerms.objects.create(brand=brand, settlement_period_days=1)
    sell(brand, "10.00", WEEK1 + timedelta(hours=5))
    sell(brand, "10.00", WEEK1 + timedelta(days=1, hours=5))

    settlements_close_due(now=WEEK1 + timedelta(days=2, hours=2))

    periods = list(
        Settlement.objects.filter(brand=brand)
        .order_by("period_start")
        .values_list("period_start", "period_end")
    )
    day = timedelta(days=1)
    assert periods == [(WEEK1, WEEK1 + day), (WEEK1 + day, WEEK1 + 2 * day)]


def test_orders_never_paid_are_not_settled():
    brand = BrandFactory.create()
    paid_order(
        (variant_of(brand), "80.00"),
        creator=None,
        paid_at=WEEK1 + timedelta(days=1),
        status=Order.Status.PENDING_PAYMENT,
    )

    assert settlements_close_due(now=WEEK1 + WEEK + timedelta(hours=2)).settlements == []
