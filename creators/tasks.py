"""Thin, idempotent Celery tasks of the creators app."""

from celery import shared_task

from creators.attribution import clicks
from creators.services.attribution import attribution_counters_flush


@shared_task(name="creators.tasks.clicks_flush")
def clicks_flush() -> int:
    taken = clicks.clicks_flush()
    attribution_counters_flush()
    return taken


@shared_task(name="creators.tasks.clicks_prune")
def clicks_prune() -> int:
    return clicks.clicks_prune()


@shared_task(name="creators.tasks.clicks_partitions_ensure")
def clicks_partitions_ensure() -> int:
    from creators.attribution.partitions import click_partitions_ensure

    return len(click_partitions_ensure())
