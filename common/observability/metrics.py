"""Prometheus metrics of our own, next to django-prometheus's request metrics.

Counters and histograms are incremented where the thing happens (checkout, holds, click
buffer, webhook receipt). Under gunicorn they live in prometheus_client's multiprocess mode:
each process writes its values to files in `PROMETHEUS_MULTIPROC_DIR`, and `/metrics`
adds them up across processes, dead ones included (`common.observability.views`).

Gauges that describe shared state (queue depths, the oldest unprocessed webhook, the
outbox backlog, clicks waiting in Redis) are not kept by any process: each is a function
an app registers with `gauge_register`, called at scrape time, so every web node answers
the same figure. A source that fails is skipped for that scrape and counted in
`tribe_metrics_source_errors_total`, so one unreachable store never hides the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

CHECKOUTS_STARTED = Counter(
    "tribe_checkouts_started_total", "Checkouts that created an order and held its stock."
)
CHECKOUTS_PAID = Counter("tribe_checkouts_paid_total", "Orders marked paid.")
HOLDS = Counter(
    "tribe_stock_holds_total",
    "Stock holds asked for by checkouts, by result (made or refused for lack of stock).",
    ["result"],
)
CLICK_BUFFER_FLUSHES = Counter(
    "tribe_click_buffer_flushes_total",
    "Pushes of a process's click buffer to Redis, by outcome (redis, or direct while degraded).",
    ["outcome"],
)
CLICKS_FLUSHED = Counter(
    "tribe_clicks_flushed_total", "Clicks moved from Redis into PostgreSQL by the flush task."
)
WEBHOOK_LAG = Histogram(
    "tribe_stripe_webhook_lag_seconds",
    "Seconds from Stripe creating an event to our first receipt of it.",
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 24 * 3600),
)
SOURCE_ERRORS = Counter(
    "tribe_metrics_source_errors_total", "Scrape-time gauge sources that failed.", ["source"]
)

# One sample of a gauge: its label values (in the order of the gauge's labels) and its value.
Sample = tuple[tuple[str, ...], float]


@dataclass(frozen=True)
class ScrapeGauge:
    name: str
    documentation: str
    labels: tuple[str, ...]
    read: Callable[[], Iterable[Sample]]


_gauges: dict[str, ScrapeGauge] = {}


def gauge_register(
    name: str,
    documentation: str,
    read: Callable[[], Iterable[Sample]],
    *,
    labels: tuple[str, ...] = (),
) -> None:
    """Register a gauge read at scrape time; registering a name again replaces it."""
    _gauges[name] = ScrapeGauge(name, documentation, labels, read)


def gauge_names() -> list[str]:
    """The registered scrape-time gauges, for tests and docs."""
    return sorted(_gauges)


class ScrapeCollector(Collector):
    """Calls every registered gauge source at scrape time."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for gauge in list(_gauges.values()):
            try:
                samples = list(gauge.read())
            except Exception as exc:
                logger.warning("metrics source %s failed: %s", gauge.name, exc)
                SOURCE_ERRORS.labels(gauge.name).inc()
                continue
            family = GaugeMetricFamily(gauge.name, gauge.documentation, labels=list(gauge.labels))
            for label_values, value in samples:
                family.add_metric(list(label_values), value)
            yield family

    def describe(self) -> list[GaugeMetricFamily]:
        # Nothing up front: collecting would query the stores at registration.
        return []


SCRAPE_COLLECTOR = ScrapeCollector()
_registered = False


def scrape_collector_register() -> None:
    """Serve the scrape-time gauges from this process's default registry (once)."""
    global _registered
    if not _registered:
        REGISTRY.register(SCRAPE_COLLECTOR)
        _registered = True
