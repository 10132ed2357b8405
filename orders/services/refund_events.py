"""Refunds Stripe tells us about (`charge.refunded`, `refund.*`), ours or made in its dashboard.

Every such event is handled the same way: re-fetch the PaymentIntent's refunds from Stripe
(outside any transaction) and reconcile each one. A refund we made is matched by its id or
by the `refund_id` in its metadata; any other is a dashboard refund, spread over the order's
lines and shipping in proportion to what is left to refund on each, with largest-remainder
allocation so the parts add up to the refund exactly. Events may come in any order and any
number of times: a Stripe refund id is recorded once (unique), so the result is the same.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from common.db import in_transaction
from common.money import allocate, from_minor_units
from orders.models import Order, OrderLine, OrderShipping, Refund, RefundLine
from orders.services.refund_amounts import (
    RefundExceedsPaid,
    line_take,
    order_take,
    shipping_take,
)
from orders.services.refunds import refund_apply_succeeded, refund_complete, refund_release
from orders.state import SOLD_STATUSES, order_note
from payments.stripe.client import stripe_client

logger = logging.getLogger(__name__)

FAILED = ("failed", "canceled")


class RefundNotAllocatable(Exception):
    """More than is left to refund on our side: retried later (a reservation may be released)."""


def handle_refund_event(payload: dict[str, Any]) -> None:
    """The webhook handler for `charge.refunded`, `charge.refund.updated` and `refund.*`."""
    kind = payload.get("type", "")
    if not (kind.startswith("refund.") or kind.startswith("charge.refund")):
        return
    obj = payload["data"]["object"]
    intent_id = obj.get("payment_intent")
    if isinstance(intent_id, dict):
        intent_id = intent_id.get("id")
    if not isinstance(intent_id, str):
        intent_id = None
    if not intent_id and obj.get("object") == "refund":
        intent_id = stripe_client().v1.refunds.retrieve(obj["id"]).payment_intent
    order = Order.objects.filter(stripe_payment_intent_id=intent_id).first() if intent_id else None
    if order is None:
        logger.info("Refund event %s matches no order; ignored", payload.get("id"))
        return
    refunds_reconcile(order_id=order.pk)


def refunds_reconcile(*, order_id: int) -> None:
    """Bring our refunds of an order in line with the PaymentIntent's refunds at Stripe."""
    if in_transaction():
        raise RuntimeError("Stripe must not be called inside a transaction.")
    order = Order.objects.get(pk=order_id)
    if not order.stripe_payment_intent_id:
        return
    listed = stripe_client().v1.refunds.list(
        params={"payment_intent": order.stripe_payment_intent_id, "limit": 100}
    )
    for found in sorted(listed.auto_paging_iter(), key=lambda r: (r.created, r.id)):
        stripe_refund_reconcile(
            order_id=order.pk,
            stripe_refund_id=found.id,
            amount=found.amount,
            currency=found.currency,
            status=found.status or "",
            metadata=found.metadata.to_dict() if found.metadata else {},
            reason=getattr(found, "reason", None) or "",
        )


def stripe_refund_reconcile(
    *,
    order_id: int,
    stripe_refund_id: str,
    amount: int,
    currency: str,
    status: str,
    metadata: dict[str, str],
    reason: str = "",
) -> None:
    """Reconcile one Stripe refund (as just re-fetched) with our records."""
    ours = Refund.objects.filter(stripe_refund_id=stripe_refund_id).first()
    ref = metadata.get("refund_id", "")
    if ours is None and ref.isdigit():
        ours = Refund.objects.filter(pk=int(ref), order_id=order_id).first()
    if status in FAILED:
        if ours is not None and ours.status == Refund.Status.PENDING:
            refund_release(refund_id=ours.pk, error=f"stripe status {status}")
        elif ours is not None and ours.status == Refund.Status.SUCCEEDED:
            _note_once(order_id, "refund_reversed_at_stripe", stripe_refund_id)
        return
    if ours is not None and ours.status == Refund.Status.PENDING:
        refund_complete(refund_id=ours.pk, stripe_refund_id=stripe_refund_id, stripe_status=status)
        return
    if ours is not None and ours.status == Refund.Status.SUCCEEDED:
        return
    # Stripe made it: from the dashboard, or ours after its answer was lost and we released
    # it (`ours` is then failed and its lines say what was meant).
    refund_record_external(
        order_id=order_id,
        stripe_refund_id=stripe_refund_id,
        amount=amount,
        currency=currency,
        status=status,
        failed=ours,
        reason=reason,
    )


def _note_once(order_id: int, kind: str, stripe_refund_id: str) -> None:
    with transaction.atomic(durable=True):
        order = Order.objects.select_for_update(of=("self",)).get(pk=order_id)
        if not order.events.filter(kind=kind, data__stripe_refund_id=stripe_refund_id).exists():
            order_note(order=order, kind=kind, data={"stripe_refund_id": stripe_refund_id})


def _retake(failed: Refund) -> bool:
    """Reserve a released refund's lines again, exactly as meant; False if they no longer fit."""
    try:
        with transaction.atomic():
            for part in failed.lines.select_related("order_line", "shipping"):
                if part.order_line is not None:
                    line_take(line=part.order_line, amount=part.amount, quantity=part.quantity)
                elif part.shipping is not None:
                    shipping_take(
                        shipping=part.shipping, amount=part.amount, currency=failed.currency
                    )
            order_take(order=failed.order, amount=failed.amount)
    except RefundExceedsPaid:
        return False
    return True


def _reason_fields(reason: str, failed: Refund | None) -> dict[str, str]:
    """Stripe's reason as ours when we have it; any other kept in the note, not lost."""
    notes = [f"Recovers refund {failed.pk}."] if failed is not None else []
    if reason and reason not in Refund.Reason.values:
        notes.append(f"Stripe reason: {reason}.")
        reason = ""
    return {"reason": reason, "note": " ".join(notes)}


def _spread(order: Order, refund: Refund) -> None:
    """Share the refund over lines and shipping by what is left on each (largest remainder)."""
    lines = list(OrderLine.objects.filter(order=order).order_by("pk"))
    shipping = list(OrderShipping.objects.filter(order=order).order_by("pk"))
    targets: list[tuple[Model, Decimal]] = [
        *((line, line.line_total - line.refunded_amount) for line in lines),
        *((ship, ship.amount - ship.refunded_amount) for ship in shipping),
    ]
    room = sum((left for _, left in targets), Decimal(0))
    if refund.amount > room:
        raise RefundNotAllocatable(
            f"Stripe refund {refund.stripe_refund_id} of {refund.amount} exceeds the {room} "
            f"left to refund on order {order.pk}."
        )
    parts = allocate(refund.amount, [left for _, left in targets], order.currency)
    rows: list[RefundLine] = []
    for (target, _left), part in zip(targets, parts, strict=True):
        if part <= 0:
            continue
        if isinstance(target, OrderLine):
            counted = line_take(line=target, amount=part, quantity=0)
            rows.append(
                RefundLine(
                    refund=refund,
                    order_line=target,
                    brand_id=target.brand_id,
                    quantity=counted,
                    amount=part,
                )
            )
        else:
            assert isinstance(target, OrderShipping)
            shipping_take(shipping=target, amount=part, currency=order.currency)
            rows.append(
                RefundLine(refund=refund, shipping=target, brand_id=target.brand_id, amount=part)
            )
    RefundLine.objects.bulk_create(rows)
    order_take(order=order, amount=refund.amount)


def refund_record_external(
    *,
    order_id: int,
    stripe_refund_id: str,
    amount: int,
    currency: str,
    status: str,
    failed: Refund | None = None,
    reason: str = "",
) -> Refund | None:
    """Record a refund made at Stripe and not (or no longer) reserved by us, with its reason."""
    with transaction.atomic(durable=True):
        order = Order.objects.select_for_update(of=("self",)).get(pk=order_id)
        if Refund.objects.filter(stripe_refund_id=stripe_refund_id).exists():
            return None
        value = from_minor_units(amount, currency.upper())
        if order.status not in SOLD_STATUSES or currency.upper() != order.currency:
            # E.g. the automatic refund of a payment we could not honour: nothing was sold.
            if not order.events.filter(
                kind="refund_unmatched", data__stripe_refund_id=stripe_refund_id
            ).exists():
                order_note(
                    order=order,
                    kind="refund_unmatched",
                    data={"stripe_refund_id": stripe_refund_id, "amount": str(value)},
                )
            return None
        if failed is not None and failed.status == Refund.Status.FAILED and _retake(failed):
            Refund.objects.filter(pk=failed.pk).update(
                status=Refund.Status.SUCCEEDED,
                stripe_refund_id=stripe_refund_id,
                stripe_status=status,
                completed_at=timezone.now(),
                last_error="",
            )
            refund = Refund.objects.get(pk=failed.pk)
        else:
            refund = Refund.objects.create(
                order=order,
                amount=value,
                currency=order.currency,
                status=Refund.Status.SUCCEEDED,
                source=Refund.Source.DASHBOARD,
                stripe_refund_id=stripe_refund_id,
                stripe_status=status,
                **_reason_fields(reason, failed),
                completed_at=timezone.now(),
            )
            _spread(order, refund)
        refund_apply_succeeded(order=order, refund=refund)
    return refund


def refunds_pending_sweep(*, older_than: timedelta = timedelta(minutes=15)) -> int:
    """Settle refunds left pending by a request that died between reserving and recording.

    Each order is reconciled with Stripe first (a refund Stripe made completes ours through
    its metadata); one still pending after that never reached Stripe, whose create call
    ended long ago, so its reservation is released. Returns how many were released.
    """
    cutoff = timezone.now() - older_than
    stale = Refund.objects.filter(status=Refund.Status.PENDING, created_at__lt=cutoff)
    for order_id in sorted(set(stale.values_list("order_id", flat=True))):
        refunds_reconcile(order_id=order_id)
    released = 0
    for refund_id in stale.values_list("pk", flat=True).order_by("pk"):
        released += int(
            refund_release(refund_id=refund_id, error="never recorded; not found at Stripe")
        )
    return released
