from celery import shared_task

from common.idempotency import idempotency_prune as _prune


@shared_task(name="common.tasks.idempotency_prune")
def idempotency_prune() -> int:
    return _prune()


# Nobody reads its result: storing it would cost two Redis writes per delivery.
@shared_task(name="common.tasks.outbox_deliver", bind=True, ignore_result=True)
def outbox_deliver(self, delivery_id: int) -> str:
    """Run one outbox delivery; a failure is tried again after its backoff."""
    from common.outbox.services import DELIVER_TASK, delivery_run
    from common.tasks_queue import task_send_logged

    status, wait = delivery_run(delivery_id=delivery_id)
    if status == "retry" and wait is not None and not self.request.is_eager:
        # If this publish is lost too, the sweep takes the row once it is due.
        task_send_logged(DELIVER_TASK, delivery_id, countdown=wait.total_seconds())
    return status


@shared_task(name="common.tasks.outbox_sweep")
def outbox_sweep() -> int:
    from common.outbox.services import outbox_sweep as sweep

    return len(sweep())


@shared_task(name="common.tasks.outbox_prune")
def outbox_prune() -> int:
    from common.outbox.services import outbox_prune as prune

    return prune()
