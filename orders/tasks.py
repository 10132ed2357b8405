"""Thin, idempotent Celery tasks of the orders app."""

from celery import shared_task

from orders.alerts import services as alerts
from orders.services import notifications, payments, refund_events, reservations, webhooks
from orders.waitlist import services as waitlist


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
def webhook_deliver(
    endpoint_id: int, order_id: int | None = None, subject: str | None = None
) -> str:
    """Send an endpoint's due deliveries of one subject; retries are scheduled in the database.

    `order_id` is still taken for messages queued before events had subjects.
    """
    return webhooks.webhook_deliver_due(endpoint_id=endpoint_id, subject=subject, order_id=order_id)


@shared_task(name="orders.tasks.webhooks_sweep")
def webhooks_sweep() -> int:
    return webhooks.webhooks_sweep()


@shared_task(name="orders.tasks.refunds_pending_sweep")
def refunds_pending_sweep() -> int:
    return refund_events.refunds_pending_sweep()


@shared_task(name="orders.tasks.waitlist_scan")
def waitlist_scan() -> int:
    return len(waitlist.waitlist_scan())


@shared_task(name="orders.tasks.waitlist_notify_variant", acks_late=True)
def waitlist_notify_variant(variant_id: int) -> int:
    return len(waitlist.waitlist_notify_variant(variant_id=variant_id))


@shared_task(
    name="orders.tasks.waitlist_notification_send",
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=8,
)
def waitlist_notification_send(notification_id: int) -> bool:
    return waitlist.waitlist_notification_send(notification_id=notification_id)


@shared_task(name="orders.tasks.sellout_scan")
def sellout_scan() -> int:
    return len(alerts.sellout_scan().opened)


@shared_task(
    name="orders.tasks.sellout_alert_notify",
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=8,
)
def sellout_alert_notify(alert_id: int) -> int:
    return alerts.sellout_alert_notify(alert_id=alert_id)
