"""Orders' own outbox handlers: the emails and the refund of a payment we cannot honour.

Disputes' emails too; the Stripe `charge` family goes to refunds or disputes by type.

None of the outbox handlers is atomic: each leaves the process (email, Stripe), so it runs
with no transaction open and makes a second run a no-op itself (a claimed `Notification`
key, a claimed `sent_at`, a Stripe idempotency key). Registered in OrdersConfig.ready(),
with the handlers of the Stripe event families orders owns.
"""

from __future__ import annotations

from typing import Any

from common.outbox import handler_register
from common.outbox.models import OutboxEvent
from orders import events
from orders.alerts import services as alerts
from orders.services import disputes, notifications, payments, refund_events
from orders.waitlist import services as waitlist
from payments.services import stripe_event_handler_register


def on_order_paid(event: OutboxEvent) -> int:
    return notifications.notify_order_paid(order_id=int(event.payload["order_id"]))


def on_order_unfulfillable(event: OutboxEvent) -> None:
    payments.order_auto_refund(order_id=int(event.payload["order_id"]))


def on_refund_succeeded(event: OutboxEvent) -> int:
    return notifications.notify_refund(refund_id=int(event.payload["refund_id"]))


def on_dispute_opened(event: OutboxEvent) -> int:
    return notifications.notify_dispute_opened(dispute_id=int(event.payload["dispute_id"]))


def charge_event_handle(payload: dict[str, Any]) -> None:
    """`charge.dispute.*` to the disputes, `charge.refunded` and `charge.refund.*` to refunds."""
    if str(payload.get("type", "")).startswith("charge.dispute."):
        disputes.handle_dispute_event(payload)
    else:
        refund_events.handle_refund_event(payload)


def on_shipment_created(event: OutboxEvent) -> int:
    return notifications.notify_shipment(shipment_id=int(event.payload["shipment_id"]))


def on_sellout_alert_opened(event: OutboxEvent) -> int:
    return alerts.sellout_alert_notify(alert_id=int(event.payload["alert_id"]))


def on_waitlist_notified(event: OutboxEvent) -> bool:
    return waitlist.waitlist_notification_send(
        notification_id=int(event.payload["notification_id"])
    )


HANDLERS = (
    (events.ORDER_PAID, "orders.notify_order_paid", on_order_paid),
    (events.ORDER_UNFULFILLABLE, "orders.order_auto_refund", on_order_unfulfillable),
    (events.REFUND_SUCCEEDED, "orders.notify_refund", on_refund_succeeded),
    (events.SHIPMENT_CREATED, "orders.notify_shipment", on_shipment_created),
    (events.DISPUTE_OPENED, "orders.notify_dispute_opened", on_dispute_opened),
    (events.SELLOUT_ALERT_OPENED, "orders.sellout_alert_notify", on_sellout_alert_opened),
    (events.WAITLIST_NOTIFIED, "orders.waitlist_notification_send", on_waitlist_notified),
)


# Stripe event families orders handles, dispatched by payments.services.stripe_event_process.
STRIPE_HANDLERS = (
    ("payment_intent", payments.payment_intent_event_handle),
    ("charge", charge_event_handle),  # charge.refunded, charge.refund.updated, charge.dispute.*
    ("refund", refund_events.handle_refund_event),
)


def register() -> None:
    """Register the handlers; their names are stored on deliveries and never change."""
    for event, name, fn in HANDLERS:
        handler_register(event=event, name=name, fn=fn, atomic=False)
    for family, stripe_handler in STRIPE_HANDLERS:
        stripe_event_handler_register(family, stripe_handler)
