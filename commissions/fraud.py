"""Fraud basics: a creator whose sales for a brand are refunded too often is flagged for it.

Flagged when at least `COMMISSION_FRAUD_MIN_ORDERS` (default 20) paid orders were credited
to the creator for the brand and more than `COMMISSION_FRAUD_REFUND_RATE` percent (default
30) of them had a refund. Self-purchases earn nothing already (attribution).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import F, QuerySet, Value
from django.db.models.lookups import GreaterThan, GreaterThanOrEqual


def refund_rate_threshold() -> Decimal:
    return Decimal(str(getattr(settings, "COMMISSION_FRAUD_REFUND_RATE", "30")))


def minimum_orders() -> int:
    return int(getattr(settings, "COMMISSION_FRAUD_MIN_ORDERS", 20))


def is_flagged(*, orders: int, refunded: int) -> bool:
    """The pure rule, compared exactly: refunded / orders > threshold %, over enough orders."""
    return orders >= minimum_orders() and refunded * 100 > refund_rate_threshold() * orders


def refund_rate(*, orders: int, refunded: int) -> Decimal | None:
    """The percentage of orders refunded, to one place; None without orders."""
    if not orders:
        return None
    return (Decimal(refunded) * 100 / orders).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class RefundStats:
    creator_id: int
    orders: int
    refunded: int

    @property
    def rate(self) -> Decimal | None:
        return refund_rate(orders=self.orders, refunded=self.refunded)

    @property
    def flagged(self) -> bool:
        return is_flagged(orders=self.orders, refunded=self.refunded)


def creators_flagged_for_brand(*, brand_id: int) -> list[RefundStats]:
    """The brand's flagged creators, worst first. One query."""
    from commissions.selectors.order_lines import creator_refund_counts

    stats = [
        RefundStats(creator_id=creator_id, orders=orders, refunded=refunded)
        for creator_id, (orders, refunded) in creator_refund_counts(brand_ids=[brand_id]).items()
    ]
    flagged = [s for s in stats if s.flagged]
    return sorted(flagged, key=lambda s: (-(s.rate or 0), s.creator_id))


def filter_flagged(
    queryset: QuerySet[Any], *, orders: str = "sales_orders", refunded: str = "refunded_orders"
) -> QuerySet[Any]:
    """Rows of a queryset annotated with order counts whose counts are flagged (in SQL)."""
    return queryset.filter(GreaterThanOrEqual(F(orders), Value(minimum_orders()))).filter(
        GreaterThan(F(refunded) * 100, F(orders) * Value(refund_rate_threshold()))
    )
