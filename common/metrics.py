"""Scrape-time gauges of the shared infrastructure: the depth of each Celery queue."""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings

from common.observability.metrics import Sample, gauge_register


def _queue_depths() -> Iterator[Sample]:
    from config.celery_app import app

    with app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        channel = conn.default_channel
        for queue in settings.BROKER_QUEUES:
            # The Redis transport's size sums the queue's priority lists.
            yield (queue,), float(channel._size(queue))  # type: ignore[attr-defined]


def register() -> None:
    gauge_register(
        "tribe_celery_queue_length",
        "Messages waiting in each Celery queue on the broker.",
        _queue_depths,
        labels=("queue",),
    )
