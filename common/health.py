"""Liveness and readiness probes."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from common.errors import error_body
from common.replica import replica_configured, replica_status

logger = logging.getLogger(__name__)


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and serving requests."""
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_cache() -> None:
    cache.set("readyz", "1", timeout=5)
    if cache.get("readyz") != "1":
        raise RuntimeError("cache did not return what was written")


def _check_broker() -> None:
    from config.celery_app import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


CHECKS = {"database": _check_database, "cache": _check_cache, "broker": _check_broker}


# Degraded-but-serving notes, registered by the apps that own them (AppConfig.ready), so
# common never imports an app above it: name -> a callable returning a reason, or None.
_NOTES: dict[str, Callable[[], str | None]] = {}


def readiness_note_register(name: str, degraded_reason: Callable[[], str | None]) -> None:
    """Report `name` in /readyz as "ok" or "degraded: <reason>" (never a 503)."""
    _NOTES[name] = degraded_reason


def _notes() -> dict[str, str]:
    """Degraded but serving: reported, never a 503."""
    notes = {}
    for name, degraded_reason in _NOTES.items():
        reason = degraded_reason()
        notes[name] = f"degraded: {reason}" if reason else "ok"
    return notes


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Database, cache and broker are reachable; 503 names the part that is not."""
    results: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as exc:
            logger.warning("readiness check %s failed: %s", name, exc)
            results[name] = f"error: {exc.__class__.__name__}"
        else:
            results[name] = "ok"
    failing = [name for name, result in results.items() if result != "ok"]
    if failing:
        body = error_body(
            code="not_ready",
            message=f"Not ready: {', '.join(failing)} unreachable.",
            details={"checks": results, "failing": failing},
            retryable=True,
        )
        return JsonResponse(body, status=503)
    body = {"status": "ready", "checks": {**results, **_notes()}, "outbox": _outbox()}
    if replica_configured():
        body["replica"] = replica_status()
    return JsonResponse(body)


def _outbox() -> dict[str, float | None]:
    """How far behind event delivery is: reported for monitoring, never a 503."""
    from common.outbox.selectors import outbox_oldest_undelivered_age

    age = outbox_oldest_undelivered_age()
    return {"oldest_undelivered_seconds": None if age is None else round(age, 1)}
