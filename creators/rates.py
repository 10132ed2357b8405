"""The rate rule: a link locks the best rate at creation; a sale pays the higher of the locked
rate (while the lock holds) and the best rate that applies at the time of the sale.

So a brand's cut never touches links already shared, and a raise reaches them at once.

The viral rate lock: a link is viral at `at` when its paid orders in the last 24 hours reach
a minimum count and exceed `COMMISSION_VIRAL_MULTIPLE` times its daily average over the 7
days before that. A viral sale pays the higher of the link's locked rate (even after the lock
ended) and the current rate, and its receipt says so, with the numbers. The rule lives here;
counting a link's paid orders is a read of orders, which hands it in as a `PaceReader`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from django.conf import settings
from django.db.models import Q

from creators.models import AffiliateLink, Collaboration, Creator
from shop.models import Product


@dataclass(frozen=True)
class RateDecision:
    rate: Decimal
    source: str  # "locked", "current", "open", "collaboration"
    locked_rate: Decimal | None
    lock_ends_at: datetime | None
    current_rate: Decimal
    current_source: str

    def as_dict(self) -> dict[str, str | None]:
        return {
            "rate": str(self.rate),
            "source": self.source,
            "locked_rate": None if self.locked_rate is None else str(self.locked_rate),
            "lock_ends_at": None if self.lock_ends_at is None else self.lock_ends_at.isoformat(),
            "current_rate": str(self.current_rate),
            "current_source": self.current_source,
        }


def effective_rate(
    *, locked_rate: Decimal, lock_ends_at: datetime, current_rate: Decimal, at: datetime
) -> tuple[Decimal, str]:
    """The pure rule: max(locked while the lock holds, current). Ties go to 'locked'."""
    if at < lock_ends_at and locked_rate >= current_rate:
        return locked_rate, "locked"
    return current_rate, "current"


def best_rate(*, creator: Creator, product: Product, at: datetime) -> tuple[Decimal, str]:
    """The best rate that applies now: the product's open rate or an accepted collaboration."""
    best, source = product.open_rate, "open"
    offers = Collaboration.objects.filter(
        creator=creator,
        brand_id=product.brand_id,
        status=Collaboration.Status.ACCEPTED,
        valid_from__lte=at,
    ).filter(Q(valid_until__isnull=True) | Q(valid_until__gt=at))
    offers = offers.filter(Q(product__isnull=True) | Q(product=product))
    for rate in offers.values_list("rate", flat=True):
        if rate > best:
            best, source = rate, "collaboration"
    return best, source


def rate_for_sale(*, link: AffiliateLink, product: Product, at: datetime) -> RateDecision:
    """The rate a sale through `link` pays at `at`, with the reason."""
    current, current_source = best_rate(creator=link.creator, product=product, at=at)
    rate, source = effective_rate(
        locked_rate=link.locked_rate, lock_ends_at=link.lock_ends_at, current_rate=current, at=at
    )
    return RateDecision(
        rate=rate,
        source=source,
        locked_rate=link.locked_rate,
        lock_ends_at=link.lock_ends_at,
        current_rate=current,
        current_source=current_source,
    )


# --- The viral rate lock ---------------------------------------------------------------------

RECENT = timedelta(hours=24)
BASELINE_DAYS = 7


def viral_multiple() -> Decimal:
    return Decimal(str(getattr(settings, "COMMISSION_VIRAL_MULTIPLE", "3")))


def viral_minimum_orders() -> int:
    """Below this many orders in 24 hours a link is never viral: a few sales are noise."""
    return int(getattr(settings, "COMMISSION_VIRAL_MIN_ORDERS", 5))


@dataclass(frozen=True)
class Pace:
    orders_24h: int
    orders_previous_7d: int
    multiple: Decimal
    minimum: int

    @property
    def daily_average_7d(self) -> Decimal:
        return (Decimal(self.orders_previous_7d) / BASELINE_DAYS).quantize(Decimal("0.01"))

    @property
    def viral(self) -> bool:
        return is_viral(
            orders_24h=self.orders_24h,
            orders_previous_7d=self.orders_previous_7d,
            multiple=self.multiple,
            minimum=self.minimum,
        )

    def receipt(self) -> dict[str, Any]:
        return {
            "orders_24h": self.orders_24h,
            "daily_average_7d": str(self.daily_average_7d),
            "multiple": str(self.multiple),
            "minimum_orders": self.minimum,
        }


class PaceReader(Protocol):
    """How fast a link sells at `at`, against its own previous week (a read of orders)."""

    def __call__(self, *, link_id: int, at: datetime) -> Pace: ...


def pace_windows(at: datetime) -> tuple[datetime, datetime]:
    """The starts of the recent (24 hours) and the baseline (7 days before it) windows."""
    recent_start = at - RECENT
    return recent_start, recent_start - timedelta(days=BASELINE_DAYS)


def pace_of(*, orders_24h: int, orders_previous_7d: int) -> Pace:
    """A link's pace from its counted orders, with the thresholds read from settings now."""
    return Pace(
        orders_24h=orders_24h,
        orders_previous_7d=orders_previous_7d,
        multiple=viral_multiple(),
        minimum=viral_minimum_orders(),
    )


def is_viral(*, orders_24h: int, orders_previous_7d: int, multiple: Decimal, minimum: int) -> bool:
    """The pure rule: at least `minimum` orders today, and more than `multiple` x the daily
    average of the 7 days before (compared exactly: 7 x today > multiple x the week)."""
    if orders_24h < minimum:
        return False
    return Decimal(orders_24h) * BASELINE_DAYS > multiple * orders_previous_7d


def viral_rate(decision: RateDecision, *, viral: bool) -> RateDecision:
    """While viral, the rate is max(locked rate, even past its lock, current)."""
    if not viral or decision.locked_rate is None or decision.locked_rate <= decision.rate:
        return decision
    return replace(decision, rate=decision.locked_rate, source="viral_lock")
