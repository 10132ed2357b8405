"""`/metrics`: Prometheus text, behind `Authorization: Bearer <METRICS_TOKEN>`.

No token configured means no endpoint (404), so a forgotten variable never publishes
metrics. A missing or wrong token is a 401. Under gunicorn the figures are added up across
the worker processes through prometheus_client's multiprocess files
(`PROMETHEUS_MULTIPROC_DIR`); without that variable this process's own registry is served.
"""

from __future__ import annotations

import hmac
import os

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)

from common.observability.metrics import SCRAPE_COLLECTOR


def multiprocess_dir() -> str | None:
    """The directory prometheus_client shares between processes, if this one was started with it."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def _registry() -> CollectorRegistry:
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(SCRAPE_COLLECTOR)
        return registry
    return REGISTRY


def _authorized(request: HttpRequest, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics for a scraper holding the bearer token."""
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404("metrics are disabled")
    if not _authorized(request, token):
        response = HttpResponse("unauthorized\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
