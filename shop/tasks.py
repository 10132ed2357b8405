"""Thin, idempotent Celery tasks of the shop app: inventory feed runs."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from shop.feeds import services


@shared_task(name="shop.tasks.feeds_enqueue_due")
def feeds_enqueue_due() -> int:
    return services.feeds_enqueue_due()


@shared_task(
    bind=True,
    name="shop.tasks.feed_run_execute",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,  # the run counts its own attempts (FEED_MAX_RETRIES)
)
def feed_run_execute(self: Any, run_id: int) -> str:
    """Execute a queued run; a network failure comes back here after a jittered backoff."""
    outcome = services.feed_run_execute(run_id=run_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.state
