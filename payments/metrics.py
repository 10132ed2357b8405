"""Scrape-time gauges of the payments app: Stripe events stored but not processed."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count, Min
from django.utils import timezone

from common.observability.metrics import Sample, gauge_register


def _unprocessed() -> dict:
    from payments.models import StripeEvent

    return StripeEvent.objects.filter(processed_at__isnull=True).aggregate(
        count=Count("pk"), oldest=Min("received_at")
    )


def _backlog() -> Iterator[Sample]:
    yield (), float(_unprocessed()["count"])


def _oldest_age() -> Iterator[Sample]:
    oldest = _unprocessed()["oldest"]
    yield (), (timezone.now() - oldest).total_seconds() if oldest else 0.0


def register() -> None:
    gauge_register(
        "tribe_stripe_webhooks_unprocessed",
        "Stripe events stored whose handler has not succeeded yet.",
        _backlog,
    )
    gauge_register(
        "tribe_stripe_webhook_backlog_age_seconds",
        "Age of the oldest stored Stripe event not processed yet (0 when none).",
        _oldest_age,
    )
