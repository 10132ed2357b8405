"""Reads of the outbox: the backlog's age for /readyz and the admin."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Min
from django.utils import timezone

from common.outbox.models import OutboxDelivery


def outbox_oldest_undelivered_age(*, now: datetime | None = None) -> float | None:
    """Seconds since the oldest event with an undelivered handler was recorded; None if none."""
    oldest = OutboxDelivery.objects.filter(done_at__isnull=True).aggregate(m=Min("created_at"))["m"]
    if oldest is None:
        return None
    return max(0.0, ((now or timezone.now()) - oldest).total_seconds())
