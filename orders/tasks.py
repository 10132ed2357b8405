"""Thin, idempotent Celery tasks of the orders app."""

from celery import shared_task

from orders.services import payments, reservations


@shared_task(name="orders.tasks.reservations_expire")
def reservations_expire() -> int:
    return reservations.reservations_expire()


@shared_task(
    name="orders.tasks.payment_intent_cancel",
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=8,
)
def payment_intent_cancel(order_id: int) -> None:
    payments.payment_intent_cancel(order_id=order_id)


@shared_task(
    name="orders.tasks.order_auto_refund",
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=12,
)
def order_auto_refund(order_id: int) -> None:
    payments.order_auto_refund(order_id=order_id)
