"""Orders' side of Stripe events: a PaymentIntent's state becomes the order's state.

payments stores and dispatches the events (`payments.services`); orders registers its
handlers there (orders.handlers). Events arrive in any order and any number of times.
Every payment_intent.* event is handled the same way: re-fetch the PaymentIntent (outside
any transaction) and move the order to match it, so the final state depends on neither
order nor repetition. The one exception is `payment_intent.created` for an order that has
recorded its PaymentIntent already (checkout does, before it answers): it can tell nothing
new, since every later change of the intent comes with an event of its own, so it costs no
call to Stripe.
"""

from __future__ import annotations

import logging
from typing import Any

import stripe
from django.db import connection, transaction
from django.utils import timezone

from common.money import from_minor_units
from common.observability import context as log_context
from common.observability.metrics import CHECKOUTS_PAID
from common.outbox import event_record
from common.tasks_queue import enqueue_on_commit
from creators.services.attribution import attribution_review_payment
from orders.events import ORDER_PAID, ORDER_UNFULFILLABLE
from orders.models import Order, OrderLine, StockReservation
from orders.services.checkout import order_payment_intent_record
from orders.services.fulfilment import fulfilments_create
from orders.services.payment_attempts import payment_decline_count
from orders.services.reservations import order_holds_release
from orders.services.webhooks import webhooks_emit
from orders.state import PAID_STATUSES, order_note, order_transition
from payments.stripe.client import stripe_client
from shop.services.discounts import discount_uses_retake
from shop.services.stock import stock_reserve, stock_sell_reserved

logger = logging.getLogger(__name__)


def _order_for_intent(intent_id: str, metadata: dict[str, Any]) -> Order | None:
    order = Order.objects.filter(stripe_payment_intent_id=intent_id).first()
    if order is not None:
        return order
    order_id = metadata.get("order_id")
    if not order_id or not str(order_id).isdigit():
        return None
    # Created but not recorded yet: checkout is between its two steps, or died there.
    return Order.objects.filter(pk=int(order_id), stripe_payment_intent_id__isnull=True).first()


# The one question a `payment_intent.created` event for a recorded intent asks, in fixed
# text: every checkout brings one, and reading the whole order through the ORM to answer it
# was 4.6 % of a checkout's web CPU under load (py-spy).
_INTENT_RECORDED_SQL = """
SELECT 1 FROM orders_order WHERE stripe_payment_intent_id = %s AND stripe_client_secret <> ''
"""


def _intent_recorded(intent_id: str) -> bool:
    """Whether an order has recorded `intent_id` with its client secret."""
    with connection.cursor() as cursor:
        cursor.execute(_INTENT_RECORDED_SQL, [intent_id])
        return cursor.fetchone() is not None


def payment_intent_event_handle(payload: dict[str, Any]) -> None:
    obj = payload["data"]["object"]
    if payload.get("type") == "payment_intent.created" and _intent_recorded(obj["id"]):
        return
    metadata = obj.get("metadata")
    order = _order_for_intent(obj["id"], metadata if isinstance(metadata, dict) else {})
    if payload.get("type") == "payment_intent.payment_failed":
        _count_decline(obj, order, event_id=str(payload.get("id", "")))
    if order is None:
        logger.info("PaymentIntent %s matches no order; ignored", obj["id"])
        return
    if (
        payload.get("type") == "payment_intent.created"
        and order.stripe_payment_intent_id == obj["id"]
        and order.stripe_client_secret
    ):
        return
    intent = stripe_client().v1.payment_intents.retrieve(
        obj["id"], params={"expand": ["payment_method"]}
    )
    if not order.stripe_payment_intent_id or not order.stripe_client_secret:
        # Record the secret with the id, or the shopper's checkout could never pay it.
        order_payment_intent_record(
            order_id=order.pk, intent_id=intent.id, client_secret=intent.client_secret or ""
        )
        if not Order.objects.filter(pk=order.pk, stripe_payment_intent_id=intent.id).exists():
            logger.info("PaymentIntent %s lost to another for order %s", intent.id, order.pk)
            return
    payment_reconcile(
        order_id=order.pk,
        intent_status=intent.status,
        amount=intent.amount,
        currency=intent.currency,
        last_error=error_of(intent),
        event_id=payload.get("id", ""),
        payment_fingerprint=card_fingerprint_of(intent),
    )


def _count_decline(obj: dict[str, Any], order: Order | None, *, event_id: str) -> None:
    """Count a decline Stripe reported against its card, and against the order's client,
    device and cart: declines of payments confirmed in the app or the browser reach us only
    this way. Once per charge, so a repeated event, or the event of a decline the server's
    confirm already counted, counts nothing more."""
    error = obj.get("last_payment_error")
    if not isinstance(error, dict):
        return
    method = error.get("payment_method")
    card = method.get("card") if isinstance(method, dict) else None
    fingerprint = card.get("fingerprint") if isinstance(card, dict) else None
    subjects = [("card", str(fingerprint))] if isinstance(fingerprint, str) and fingerprint else []
    if order is not None:
        subjects += [
            ("client", order.client_ip_hash),
            ("device", order.device_hash),
            ("cart", str(order.cart_id or "")),
        ]
    charge = error.get("charge")
    payment_decline_count(subjects=subjects, once=str(charge) if charge else event_id)


def card_fingerprint_of(intent: Any) -> str:
    """The paying card's fingerprint (the same card has the same one, whoever's account)."""
    method = getattr(intent, "payment_method", None)
    card = None if method is None or isinstance(method, str) else getattr(method, "card", None)
    return str(getattr(card, "fingerprint", None) or "") if card is not None else ""


def error_of(intent: Any) -> dict[str, Any] | None:
    error = getattr(intent, "last_payment_error", None)
    if not error:
        return None
    method = getattr(error, "payment_method", None)
    return {
        "code": getattr(error, "code", None),
        "decline_code": getattr(error, "decline_code", None),
        "message": getattr(error, "message", None),
        "charge": getattr(error, "charge", None),
        "payment_method": getattr(method, "id", method),
    }


# Declines after which Stripe advises never to charge the card again and which mark the
# attempt as fraud (its decline codes reference): the checkout ends there, the order is
# canceled and its stock and code uses go back, rather than held until the hold lapses.
FINAL_DECLINE_CODES = frozenset(
    {"fraudulent", "lost_card", "stolen_card", "pickup_card", "merchant_blacklist"}
)


class _Unfulfillable(Exception):
    def __init__(self, shortages: dict[str, int]) -> None:
        self.shortages = shortages


def payment_reconcile(
    *,
    order_id: int,
    intent_status: str,
    amount: int,
    currency: str,
    last_error: dict[str, Any] | None,
    event_id: str,
    payment_fingerprint: str = "",
) -> None:
    """Move the order to match its PaymentIntent's current state."""
    if intent_status == "succeeded":
        order_mark_paid(
            order_id=order_id,
            amount=amount,
            currency=currency,
            payment_fingerprint=payment_fingerprint,
        )
    elif intent_status == "canceled":
        order_cancel_unpaid(order_id=order_id, reason="payment_intent_canceled")
    elif intent_status == "requires_payment_method" and last_error:
        if last_error.get("decline_code") in FINAL_DECLINE_CODES:
            order_cancel_unpaid(order_id=order_id, reason="payment_failed_final", error=last_error)
            return
        with transaction.atomic(durable=True):
            order = Order.objects.select_for_update().get(pk=order_id)
            already = order.events.filter(
                kind="payment_failed",
                data__charge=last_error.get("charge"),
                data__payment_method=last_error.get("payment_method"),
            ).exists()
            if order.status == Order.Status.PENDING_PAYMENT and not already:
                # One note per decline however many events report it; the hold stays so the
                # shopper may try another card until it lapses.
                order_note(
                    order=order, kind="payment_failed", data={**last_error, "event": event_id}
                )


def order_cancel_unpaid(*, order_id: int, reason: str, error: dict[str, Any] | None = None) -> None:
    """Cancel an order that will never be paid, once: its stock holds and code uses go back.

    After a final decline its PaymentIntent, still open to another card, is canceled too,
    so no later payment lands on the canceled order.
    """
    with transaction.atomic(durable=True):
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status != Order.Status.PENDING_PAYMENT:
            return
        order_holds_release(order=order)
        order_transition(
            order=order, to_status=Order.Status.CANCELED, kind=reason, data=error or {}
        )
        if reason == "payment_failed_final":
            enqueue_on_commit("orders.tasks.payment_intent_cancel", order.pk)


def _sell_lines(order: Order) -> None:
    """Turn each line's hold into a sale; re-hold lines whose hold was released."""
    shortages: dict[str, int] = {}
    lines = order.lines.select_related("reservation").order_by("variant_id", "pk")
    for line in lines:
        reservation = getattr(line, "reservation", None)
        held = reservation is not None and (
            StockReservation.objects.filter(
                pk=reservation.pk, status=StockReservation.Status.ACTIVE
            ).update(status=StockReservation.Status.CONVERTED, closed_at=timezone.now())
            == 1
        )
        if not held:
            if not stock_reserve(variant_id=line.variant_id, quantity=line.quantity):
                shortages[line.sku] = line.quantity
                continue
            if reservation is not None:
                StockReservation.objects.filter(pk=reservation.pk).update(
                    status=StockReservation.Status.CONVERTED, closed_at=timezone.now()
                )
        stock_sell_reserved(
            variant_id=line.variant_id, quantity=line.quantity, reference=f"order:{order.pk}"
        )
    if shortages:
        raise _Unfulfillable(shortages)


def _retake_code_uses(order: Order) -> None:
    """Paid after its hold lapsed: the code uses it gave back are its own again."""
    over_cap = discount_uses_retake(order_id=order.pk)
    if over_cap:
        order_note(order=order, kind="code_use_over_cap", data={"discounts": over_cap})


def _void_credit_paid_by_creator(order: Order, fingerprint: str) -> None:
    """No commission when the credited creator paid with their own card (docs/attribution.md)."""
    if not fingerprint:
        return
    credited = order.lines.filter(attributed_creator_id__isnull=False)
    refused = attribution_review_payment(
        buyer_user_id=order.user_id,
        fingerprint=fingerprint,
        lines=credited.values_list("pk", "attribution"),
        reference=f"order:{order.pk}",
    )
    voided = [
        OrderLine(
            pk=line_id,
            attributed_creator_id=None,
            attributed_link_id=None,
            commission_rate=None,
            attribution=receipt,
        )
        for line_id, receipt in refused.items()
    ]
    OrderLine.objects.bulk_update(  # one statement, each line with its own receipt
        voided, ["attributed_creator_id", "attributed_link_id", "commission_rate", "attribution"]
    )
    if refused:
        order_note(order=order, kind="self_referral_payment", data={"lines": sorted(refused)})


def order_mark_paid(
    *, order_id: int, amount: int, currency: str, payment_fingerprint: str = ""
) -> None:
    """Mark the order paid once and sell its stock; a late payment without stock is refunded."""
    late_refund = False
    log_context.order_bind(order_id)
    try:
        with transaction.atomic(durable=True):
            order = Order.objects.select_for_update().get(pk=order_id)
            if order.status in PAID_STATUSES:
                return
            paid = from_minor_units(amount, currency.upper())
            if paid != order.grand_total or currency.upper() != order.currency:
                order_note(
                    order=order,
                    kind="amount_mismatch",
                    data={
                        "paid": str(paid),
                        "currency": currency,
                        "expected": str(order.grand_total),
                    },
                )
                logger.error(
                    "Order %s paid %s %s, expected %s", order.pk, paid, currency, order.grand_total
                )
                return
            was = order.status
            if was != Order.Status.PENDING_PAYMENT and order.discount_total:
                _retake_code_uses(order)
            _void_credit_paid_by_creator(order, payment_fingerprint)
            order_transition(
                order=order,
                to_status=Order.Status.PAID,
                kind="paid" if was == Order.Status.PENDING_PAYMENT else "paid_after_hold_lapsed",
            )
            paid_at = timezone.now()
            fingerprint = {"card_fingerprint": payment_fingerprint} if payment_fingerprint else {}
            Order.objects.filter(pk=order.pk).update(paid_at=paid_at, **fingerprint)
            if order.cart_id:
                from orders.models import Cart

                Cart.objects.filter(pk=order.cart_id).update(status=Cart.Status.ORDERED)
            fulfilments = fulfilments_create(order=order)
            webhooks_emit(
                order=order, event_type="order.paid", brand_ids=[f.brand_id for f in fulfilments]
            )
            # The ledger (creators) and the emails react to this; it commits with the sale.
            event_record(name=ORDER_PAID, payload={"order_id": order_id})
            # Stock last, as checkout holds it: a viral SKU's variant row stays locked only
            # from here to the commit, not through the order's other writes, so the next
            # fans' holds on it do not wait for them. A shortage still rolls all of it back.
            # The lines take their order's paid_at just before: a link's pace counts them
            # (orders.selectors.link_pace), and writing them moves the link's count for this
            # hour (`LinkPaidHour`, by trigger), a row every payment through the link locks
            # until it commits, as the SKU's.
            OrderLine.objects.filter(order_id=order.pk).update(order_paid_at=paid_at)
            _sell_lines(order)
            transaction.on_commit(CHECKOUTS_PAID.inc)
    except _Unfulfillable as exc:
        late_refund = True
        shortages = exc.shortages
    if late_refund:
        _refund_unfulfillable(order_id=order_id, shortages=shortages)


def _refund_unfulfillable(*, order_id: int, shortages: dict[str, int]) -> None:
    with transaction.atomic(durable=True):
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status == Order.Status.PENDING_PAYMENT:
            order_holds_release(order=order)
            order_transition(
                order=order,
                to_status=Order.Status.CANCELED,
                kind="canceled_unfulfillable",
                data={"short": shortages},
            )
        if order.events.filter(kind="auto_refund_requested").exists():
            return
        order_note(order=order, kind="auto_refund_requested", data={"short": shortages})
        # Money owed back to a shopper must never be lost with a message: an outbox event.
        event_record(name=ORDER_UNFULFILLABLE, payload={"order_id": order.pk})


def order_auto_refund(*, order_id: int) -> None:
    """Refund a payment we could not honour; the idempotency key makes retries safe."""
    order = Order.objects.get(pk=order_id)
    if not order.stripe_payment_intent_id or order.events.filter(kind="auto_refunded").exists():
        return
    refund = stripe_client().v1.refunds.create(
        params={
            "payment_intent": order.stripe_payment_intent_id,
            "reason": "requested_by_customer",
            "metadata": {"order_id": str(order.pk), "why": "sold_out_after_hold_lapsed"},
        },
        options={"idempotency_key": f"tribe-order-{order.pk}-auto-refund"},
    )
    with transaction.atomic(durable=True):
        order_note(order=order, kind="auto_refunded", data={"refund": refund.id})


def payment_intent_cancel(*, order_id: int) -> None:
    """Cancel the PaymentIntent of an order that expired or was superseded."""
    order = Order.objects.get(pk=order_id)
    if not order.stripe_payment_intent_id or order.status in PAID_STATUSES:
        return
    try:
        stripe_client().v1.payment_intents.cancel(
            order.stripe_payment_intent_id,
            options={"idempotency_key": f"tribe-order-{order.pk}-cancel"},
        )
    except stripe.InvalidRequestError as exc:
        # Already succeeded or canceled: the webhook decides what happens next.
        logger.info("PaymentIntent of order %s not canceled: %s", order.pk, exc)
