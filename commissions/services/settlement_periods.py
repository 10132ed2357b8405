"""Closing brands' settlement periods on schedule: each brand's finished periods, once.

A brand's period is `CommissionTerms.settlement_period_days` long (7, weekly, by default),
counted from a Monday (PERIOD_ANCHOR, 00:00 UTC) so every brand's weeks start on Monday.
`settlements_close_due` (beat, money queue) settles, for every brand with sales, refunds or
ledger lines, each period that has ended since its last settlement (at most
`SETTLEMENT_CATCH_UP_PERIODS` back), one settlement per currency with activity
(settlements.settlement_create: gross - refunds - commission - platform fee, line by line).
Idempotent: a period already settled is returned as it was, and the database allows one
settlement per brand, period and currency, so two runs at once write one.

A period that leaves the brand owing Tribe pays nothing: its debt is carried into the brand's
next settlement in that currency (`Settlement.carried_in`), netted per currency. The
positive ones are then paid through the payout provider (settlement_payouts).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from commissions.models import CommissionLine, CommissionTerms, Settlement
from commissions.selectors.order_lines import brands_active_since
from commissions.services.settlement_payouts import settlements_pay_due
from commissions.services.settlements import settlement_create
from shop.models import Brand

logger = logging.getLogger(__name__)

PERIOD_ANCHOR = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday
DEFAULT_PERIOD_DAYS = 7


def catch_up_periods() -> int:
    return int(getattr(settings, "SETTLEMENT_CATCH_UP_PERIODS", 8))


def grace() -> timedelta:
    """How long after its end a period is closed: payments recorded late still land in it."""
    return timedelta(seconds=int(getattr(settings, "SETTLEMENT_GRACE_SECONDS", 3600)))


def period_days(brand_id: int) -> int:
    terms = CommissionTerms.objects.filter(brand_id=brand_id).first()
    return terms.settlement_period_days if terms is not None else DEFAULT_PERIOD_DAYS


def period_containing(at: datetime, days: int) -> tuple[datetime, datetime]:
    """The period of `days` days (counted from the anchor Monday) that holds `at`."""
    length = timedelta(days=days)
    start = PERIOD_ANCHOR + length * ((at - PERIOD_ANCHOR) // length)
    return start, start + length


def periods_due(*, brand_id: int, now: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The brand's ended periods not settled yet, oldest first (at most the catch-up)."""
    days = period_days(brand_id)
    current_start, _ = period_containing(now, days)
    length = timedelta(days=days)
    last = Settlement.objects.filter(brand_id=brand_id).aggregate(end=Max("period_end"))["end"]
    start = current_start - length * catch_up_periods()
    if last is not None and last > start:
        start, _ = period_containing(last, days)
        if start < last:
            start += length
    while start + length <= now - grace():
        yield start, start + length
        start += length


@dataclass(frozen=True)
class CloseResult:
    settlements: list[int]
    payouts: list[int]


def _brands_with_activity(since: datetime) -> list[int]:
    ledger = CommissionLine.objects.filter(earned_at__gte=since).values_list("brand_id", flat=True)
    return sorted(set(ledger) | set(brands_active_since(since=since)))


def settlements_close_due(*, now: datetime | None = None) -> CloseResult:
    """Settle every brand's ended periods, then pay what is payable; safe to run twice."""
    now = now or timezone.now()
    written: list[int] = []
    longest = timedelta(days=92) * catch_up_periods()
    for brand_id in _brands_with_activity(now - longest):
        brand = Brand.objects.get(pk=brand_id)
        for start, end in periods_due(brand_id=brand_id, now=now):
            closed = settlement_create(brand=brand, period_start=start, period_end=end)
            written += [settlement.pk for settlement in closed]
    payouts = settlements_pay_due()
    if written:
        logger.info("settlements: closed %s, paying %s", written, payouts)
    return CloseResult(settlements=written, payouts=payouts)
