"""The viral rate lock: while a link sells well above its own normal pace, its rate cannot drop.

A link is viral at `at` when its paid orders in the last 24 hours reach a minimum count and
exceed `COMMISSION_VIRAL_MULTIPLE` times its daily average over the 7 days before that. A
viral sale pays the higher of the link's locked rate (even after the lock ended) and the
current rate, and its receipt says so, with the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings

from creators.rates import RateDecision

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


def is_viral(*, orders_24h: int, orders_previous_7d: int, multiple: Decimal, minimum: int) -> bool:
    """The pure rule: at least `minimum` orders today, and more than `multiple` x the daily
    average of the 7 days before (compared exactly: 7 x today > multiple x the week)."""
    if orders_24h < minimum:
        return False
    return Decimal(orders_24h) * BASELINE_DAYS > multiple * orders_previous_7d


def link_pace(*, link_id: int, at: datetime) -> Pace:
    """How fast a link sells at `at`, against its own previous week. One query."""
    from orders.ledger_selectors import link_paid_orders_in_windows

    recent_start = at - RECENT
    recent, baseline = link_paid_orders_in_windows(
        link_id=link_id,
        recent_start=recent_start,
        baseline_start=recent_start - timedelta(days=BASELINE_DAYS),
        end=at,
    )
    return Pace(
        orders_24h=recent,
        orders_previous_7d=baseline,
        multiple=viral_multiple(),
        minimum=viral_minimum_orders(),
    )


def viral_rate(decision: RateDecision, *, viral: bool) -> RateDecision:
    """While viral, the rate is max(locked rate, even past its lock, current)."""
    if not viral or decision.locked_rate is None or decision.locked_rate <= decision.rate:
        return decision
    return replace(decision, rate=decision.locked_rate, source="viral_lock")
