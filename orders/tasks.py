"""Thin, idempotent Celery tasks of the orders app."""

from celery import shared_task

from orders.services import notifications, payments, refund_events, reservations, webhooks


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


@shared_task(
    name="orders.tasks.notify_order_paid",
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=8,
)
def notify_order_paid(order_id: int) -> int:
    return notifications.notify_order_paid(order_id=order_id)


@shared_task(
    name="orders.tasks.notify_shipment",
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=8,
)
def notify_shipment(shipment_id: int) -> int:
    return notifications.notify_shipment(shipment_id=shipment_id)


@shared_task(
    name="orders.tasks.notify_refund",
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=8,
)
def notify_refund(refund_id: int) -> int:
    return notifications.notify_refund(refund_id=refund_id)


@shared_task(name="orders.tasks.webhook_deliver", acks_late=True)
def webhook_deliver(endpoint_id: int, order_id: int) -> str:
    """Send an endpoint's due deliveries of one order; retries are scheduled in the database."""
    return webhooks.webhook_deliver_due(endpoint_id=endpoint_id, order_id=order_id)


@shared_task(name="orders.tasks.webhooks_sweep")
def webhooks_sweep() -> int:
    return webhooks.webhooks_sweep()


@shared_task(name="orders.tasks.refunds_pending_sweep")
def refunds_pending_sweep() -> int:
    return refund_events.refunds_pending_sweep()
