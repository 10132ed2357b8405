"""Scrape-time gauges of the shared infrastructure: Celery queue depths, the outbox backlog."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db.models import Count, Min
from django.utils import timezone

from common.observability.metrics import Sample, gauge_register


def _queue_depths() -> Iterator[Sample]:
    from config.celery_app import app

    with app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        channel = conn.default_channel
        for queue in settings.BROKER_QUEUES:
            # The Redis transport's size sums the queue's priority lists.
            yield (queue,), float(channel._size(queue))  # type: ignore[attr-defined]


def _outbox_deliveries() -> Any:
    """The outbox's delivery model, or None while no outbox is installed."""
    try:
        return apps.get_model("common", "OutboxDelivery")
    except LookupError:
        return None


def _outbox_backlog() -> dict[str, Any] | None:
    deliveries = _outbox_deliveries()
    if deliveries is None:
        return None
    return deliveries.objects.filter(done_at__isnull=True).aggregate(
        count=Count("pk"), oldest=Min("created_at")
    )


def _outbox_undelivered() -> Iterator[Sample]:
    backlog = _outbox_backlog()
    if backlog is not None:
        yield (), float(backlog["count"])


def _outbox_lag() -> Iterator[Sample]:
    backlog = _outbox_backlog()
    if backlog is not None:
        oldest = backlog["oldest"]
        yield (), (timezone.now() - oldest).total_seconds() if oldest else 0.0


def register() -> None:
    gauge_register(
        "tribe_celery_queue_length",
        "Messages waiting in each Celery queue on the broker.",
        _queue_depths,
        labels=("queue",),
    )
    # The outbox's backlog, read from its tables (common.OutboxDelivery); empty families
    # until the outbox is installed.
    gauge_register(
        "tribe_outbox_undelivered",
        "Outbox deliveries (event x handler) not done yet.",
        _outbox_undelivered,
    )
    gauge_register(
        "tribe_outbox_lag_seconds",
        "Age of the oldest outbox delivery not done yet (0 when none).",
        _outbox_lag,
    )
