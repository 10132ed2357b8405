from celery import shared_task

from common.idempotency import idempotency_prune as _prune


@shared_task(name="common.tasks.idempotency_prune")
def idempotency_prune() -> int:
    return _prune()
