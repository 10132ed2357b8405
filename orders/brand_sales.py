"""Selectors of a brand's trading figures: sales by day, refunds, and orders waiting to ship.

The brand console's dashboard reads these, and so would an API: each takes the brand ids
the reader may see (None: every brand, for platform staff; an empty set reads nothing) and
answers per currency, in a fixed number of queries whatever the number of orders.

Sales are the brand's order lines (shipping excluded) of orders paid in the window, at
their `paid_at`, refunded since or not: refunds count on their own, when they succeed.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, DecimalField, Min, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from common.money import quantize
from orders.models import Fulfilment, OrderLine, Refund, RefundLine
from orders.state import PAID_STATUSES, SOLD_STATUSES

MONEY: DecimalField = DecimalField(max_digits=20, decimal_places=3)
WAITING_TO_SHIP = (Fulfilment.Status.UNFULFILLED, Fulfilment.Status.PARTIALLY_SHIPPED)


def _brand_q(brand_ids: Collection[int] | None, field: str = "brand_id") -> Q:
    return Q() if brand_ids is None else Q(**{f"{field}__in": list(brand_ids)})


def day_start(moment: datetime) -> datetime:
    """Midnight of `moment`'s day in the current time zone."""
    local = timezone.localtime(moment)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass
class DaySales:
    day: date
    sales: Decimal
    orders: int


@dataclass
class SalesSummary:
    """One currency's sales: today, this week (from Monday), and every day of the window."""

    currency: str
    today: Decimal = Decimal(0)
    today_orders: int = 0
    week: Decimal = Decimal(0)
    week_orders: int = 0
    days: list[DaySales] = field(default_factory=list)


def brand_sales_by_day(
    *, brand_ids: Collection[int] | None, now: datetime, days: int = 30
) -> list[SalesSummary]:
    """Sales of the last `days` days (today included) per currency, ordered by code, each
    with every day of the window (zero when nothing sold) and today's and this week's
    totals. One query."""
    if brand_ids is not None and not brand_ids:
        return []
    today = day_start(now)
    start = today - timedelta(days=days - 1)
    week = today - timedelta(days=today.weekday())
    rows = (
        OrderLine.objects.filter(
            _brand_q(brand_ids),
            order__status__in=PAID_STATUSES,
            order__paid_at__gte=min(start, week),
            order__paid_at__lte=now,
        )
        .annotate(day=TruncDate("order__paid_at", tzinfo=timezone.get_current_timezone()))
        .values("currency", "day")
        .annotate(
            sales=Sum("line_total", output_field=MONEY), orders=Count("order_id", distinct=True)
        )
        .order_by("currency", "day")
    )
    by_currency: dict[str, dict[date, tuple[Decimal, int]]] = {}
    for row in rows:
        by_currency.setdefault(row["currency"], {})[row["day"]] = (row["sales"], row["orders"])
    summaries = []
    for code, sold in by_currency.items():
        summary = SalesSummary(currency=code)
        for offset in range(days):
            day = (start + timedelta(days=offset)).date()
            sales, orders = sold.get(day, (Decimal(0), 0))
            summary.days.append(DaySales(day=day, sales=quantize(sales, code), orders=orders))
        for day, (sales, orders) in sold.items():
            if day >= week.date():
                summary.week += sales
                summary.week_orders += orders
            if day == today.date():
                summary.today += sales
                summary.today_orders += orders
        summary.today = quantize(summary.today, code)
        summary.week = quantize(summary.week, code)
        summaries.append(summary)
    return summaries


@dataclass(frozen=True)
class RefundSummary:
    """One currency's succeeded refunds (the brand's shares) today and this week."""

    currency: str
    today: Decimal
    today_count: int
    week: Decimal
    week_count: int


def brand_refunds_summary(
    *, brand_ids: Collection[int] | None, now: datetime
) -> list[RefundSummary]:
    """The brand's shares of refunds that succeeded today and this week, by `completed_at`,
    per currency (ordered by code); a refund counts once however many lines it spans.
    One query."""
    if brand_ids is not None and not brand_ids:
        return []
    today = day_start(now)
    week = today - timedelta(days=today.weekday())
    is_today = Q(refund__completed_at__gte=today)
    rows = (
        RefundLine.objects.filter(
            _brand_q(brand_ids),
            refund__status=Refund.Status.SUCCEEDED,
            refund__completed_at__gte=week,
            refund__completed_at__lte=now,
        )
        .values("refund__currency")
        .annotate(
            week=Sum("amount", output_field=MONEY),
            week_count=Count("refund_id", distinct=True),
            today=Sum("amount", filter=is_today, output_field=MONEY),
            today_count=Count("refund_id", distinct=True, filter=is_today),
        )
        .order_by("refund__currency")
    )
    return [
        RefundSummary(
            currency=(code := row["refund__currency"]),
            today=quantize(row["today"] or 0, code),
            today_count=row["today_count"],
            week=quantize(row["week"] or 0, code),
            week_count=row["week_count"],
        )
        for row in rows
    ]


@dataclass(frozen=True)
class ToShip:
    """The brand orders (order desk rows) waiting to ship, and since when the oldest waits."""

    count: int
    oldest_paid_at: datetime | None


def brand_orders_to_ship(*, brand_ids: Collection[int] | None) -> ToShip:
    """Paid, not wholly refunded orders with a brand's part not shipped yet (or only partly).
    One query."""
    if brand_ids is not None and not brand_ids:
        return ToShip(count=0, oldest_paid_at=None)
    figures = Fulfilment.objects.filter(
        _brand_q(brand_ids), status__in=WAITING_TO_SHIP, order__status__in=SOLD_STATUSES
    ).aggregate(count=Count("pk"), oldest=Min("order__paid_at"))
    return ToShip(count=figures["count"], oldest_paid_at=figures["oldest"])
