"""Writes of attribution bookkeeping."""

from __future__ import annotations

from datetime import timedelta

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from creators.models import AttributionCounter

COUNTED_KINDS = ("invalid_token", "expired_token", "self_referral")


def attribution_counters_flush() -> int:
    """Copy today's and yesterday's counters from the cache into AttributionCounter.

    The cache holds each day's running total, so copying is idempotent.
    """
    today = timezone.now().date()
    written = 0
    for day in (today - timedelta(days=1), today):
        for kind in COUNTED_KINDS:
            value = cache.get(f"attribution-count:{day.isoformat()}:{kind}")
            if value is None:
                continue
            with transaction.atomic():
                AttributionCounter.objects.update_or_create(
                    date=day, kind=kind, defaults={"count": int(value)}
                )
            written += 1
    return written
