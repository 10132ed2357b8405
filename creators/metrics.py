"""Scrape-time gauges of the creators app: clicks waiting in Redis for the flush."""

from __future__ import annotations

from collections.abc import Iterator

from common.observability.metrics import Sample, gauge_register


def _pending() -> Iterator[Sample]:
    from creators.attribution.clicks import clicks_pending_count

    yield (), float(clicks_pending_count())


def register() -> None:
    gauge_register(
        "tribe_clicks_pending",
        "Clicks taken into Redis and not yet flushed to PostgreSQL.",
        _pending,
    )
