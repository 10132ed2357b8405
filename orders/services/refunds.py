"""Refunds a brand makes: reserve the amounts (short transaction), ask Stripe (no transaction
open, idempotency key from our Refund id), record the answer (short transaction).

The reservation is the refund: `OrderLine.refunded_amount`, `OrderShipping.refunded_amount`
and `Order.refunded_total` move with conditional UPDATEs under the order's row lock, and the
database's CHECK constraints refuse anything above what was paid. If Stripe refuses, the
reservation is released and the caller gets a retryable 502/503.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import stripe
from django.db import transaction
from django.utils import timezone
from stripe.params import RefundCreateParams

from accounts.audit import Action as AuditAction
from accounts.audit import audit_record
from accounts.models import User
from common.db import in_transaction
from common.errors import ApplicationError, Conflict, ValidationFailed
from common.money import MoneyError, quantize, to_minor_units
from common.outbox import event_record
from orders.brand_access import (
    brand_access_for,
    brand_for_action,
    order_lines_for,
    order_lock_for,
)
from orders.events import REFUND_SUCCEEDED
from orders.models import (
    Dispute,
    Fulfilment,
    Order,
    OrderLine,
    OrderShipping,
    Refund,
    RefundLine,
)
from orders.services.dispute_errors import ChargeDisputed
from orders.services.order_status import fulfilment_sync, order_status_sync
from orders.services.refund_amounts import (
    line_take,
    order_take,
    refund_lines_give_back,
    shipping_take,
)
from orders.services.webhooks import webhooks_emit
from orders.state import SOLD_STATUSES, order_note
from payments.stripe.client import stripe_amount, stripe_client, upstream_error
from shop.models import StockMovement
from shop.services.stock import stock_adjust

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RefundLineRequest:
    line_id: int
    quantity: int = 0  # units refunded (and restocked, with `restock`)
    amount: Decimal | None = None  # None: the units' share of what was paid


# --- step 1: reserve -------------------------------------------------------------------


def _line_amount(line: OrderLine, wanted: RefundLineRequest) -> Decimal:
    if wanted.quantity < 0:
        raise ValidationFailed("Quantities cannot be negative.", code="invalid_quantity")
    if wanted.amount is not None:
        if wanted.amount == 0 and wanted.quantity == 0:
            raise ValidationFailed(
                "Give a quantity, an amount, or both for each line.",
                code="refund_line_empty",
                details={"line_id": line.pk},
            )
        if wanted.amount < 0 or quantize(wanted.amount, line.currency) != wanted.amount:
            raise ValidationFailed(
                f"Give an amount of 0 or more with at most the precision of {line.currency}.",
                code="invalid_amount",
                details={"line_id": line.pk},
            )
        return wanted.amount
    if wanted.quantity == 0:
        raise ValidationFailed(
            "Give a quantity, an amount, or both for each line.",
            code="refund_line_empty",
            details={"line_id": line.pk},
        )
    remaining = line.line_total - line.refunded_amount
    if line.refunded_quantity + wanted.quantity >= line.quantity:
        return remaining
    if line.discount_amount:  # a discounted line refunds its units at what was paid for them
        return min(
            quantize(line.line_total * wanted.quantity / line.quantity, line.currency), remaining
        )
    return min(quantize(line.unit_price * wanted.quantity, line.currency), remaining)


def _reserve(
    *,
    order_id: int,
    user: User,
    lines: Sequence[RefundLineRequest],
    shipping: bool,
    restock: bool,
    reason: str,
    note: str,
    brand_slug: str | None,
) -> Refund:
    access = brand_access_for(user)
    with transaction.atomic(durable=True):
        order = order_lock_for(access=access, order_id=order_id)
        found = order_lines_for(access=access, order=order, line_ids=[r.line_id for r in lines])
        brand_id = brand_for_action(
            access=access, order=order, lines=found.values(), brand_slug=brand_slug
        )
        if order.status not in SOLD_STATUSES or not order.stripe_payment_intent_id:
            raise Conflict("This order has nothing left to refund.", code="order_not_refundable")
        if Dispute.objects.filter(order=order).exclude(status__in=Dispute.WON).exists():
            # The bank holds the money, or gave it back to the card holder: Stripe refuses it
            # too, and the shopper would be paid twice.
            raise ChargeDisputed()
        parts: list[RefundLine] = []
        for wanted in sorted(lines, key=lambda r: r.line_id):
            line = found[wanted.line_id]
            amount = _line_amount(line, wanted)
            counted = line_take(line=line, amount=amount, quantity=wanted.quantity)
            if amount == 0 and counted == 0:
                continue
            parts.append(
                RefundLine(
                    order_line=line,
                    brand_id=brand_id,
                    quantity=counted,
                    restocked=wanted.quantity if restock else 0,
                    amount=amount,
                )
            )
        if shipping:
            charged = OrderShipping.objects.filter(order=order, brand_id=brand_id).first()
            left = charged.amount - charged.refunded_amount if charged else Decimal(0)
            if charged is None or left <= 0:
                raise Conflict(
                    "There is no shipping left to refund for this brand.",
                    code="shipping_not_refundable",
                )
            shipping_take(shipping=charged, amount=left, currency=order.currency)
            parts.append(RefundLine(shipping=charged, brand_id=brand_id, amount=left))
        total = sum((part.amount for part in parts), Decimal(0))
        if total <= 0:
            raise ValidationFailed("A refund must give back some money.", code="refund_zero_amount")
        try:
            to_minor_units(total, order.currency)
        except MoneyError as exc:
            raise ValidationFailed(str(exc), code="invalid_amount") from exc
        order_take(order=order, amount=total)
        refund = Refund.objects.create(
            order=order,
            brand_id=brand_id,
            amount=total,
            currency=order.currency,
            source=Refund.Source.BRAND,
            reason=reason,
            note=note,
            restock=restock,
            created_by=user,
        )
        for part in parts:
            part.refund = refund
        RefundLine.objects.bulk_create(parts)
        audit_record(
            brand_id=brand_id,
            actor=user,
            action=AuditAction.REFUND,
            subject=refund,
            amount=total,
            currency=order.currency,
            detail={
                "order_id": order.pk,
                "reason": reason,
                "restock": restock,
                "shipping": shipping,
                "lines": {
                    str(part.order_line_id): str(part.amount)
                    for part in parts
                    if part.order_line_id
                },
            },
        )
        order_note(
            order=order,
            kind="refund_requested",
            data={"refund_id": refund.pk, "brand_id": brand_id, "amount": str(total)},
        )
    return refund


# --- step 3: record the answer -----------------------------------------------------------


def refund_apply_succeeded(*, order: Order, refund: Refund) -> None:
    """What follows a refund Stripe accepted: restock, statuses, webhooks, an outbox event.

    Composes inside the caller's transaction, which holds the order's row lock.
    """
    parts = list(refund.lines.select_related("order_line").order_by("pk"))
    restocks = sorted(
        (p for p in parts if p.restocked and p.order_line is not None),
        key=lambda p: (p.order_line.variant_id, p.pk),  # type: ignore[union-attr]
    )
    for part in restocks:
        stock_adjust(
            variant_id=part.order_line.variant_id,  # type: ignore[union-attr]
            delta=part.restocked,
            reason=StockMovement.Reason.REFUND_RESTOCK,
            actor_id=refund.created_by_id,
            reference=f"refund:{refund.pk}",
        )
    brand_ids = sorted({p.brand_id for p in parts})
    moved = [
        f.brand_id
        for f in Fulfilment.objects.filter(order=order, brand_id__in=brand_ids)
        if fulfilment_sync(fulfilment=f)
    ]
    order_note(
        order=order,
        kind="refunded",
        data={
            "refund_id": refund.pk,
            "amount": format(quantize(refund.amount, refund.currency), "f"),
            "source": refund.source,
            "stripe_refund_id": refund.stripe_refund_id,
        },
    )
    order_status_sync(order=order, cause="refund", data={"refund_id": refund.pk})
    webhooks_emit(order=order, event_type="order.refunded", brand_ids=brand_ids, refund=refund)
    webhooks_emit(order=order, event_type="fulfilment.updated", brand_ids=moved)
    # The ledger reverses the lines' commission and the shopper is emailed: both react to
    # this event, which commits with the refund.
    event_record(
        name=REFUND_SUCCEEDED,
        payload={
            "refund_id": refund.pk,
            "order_id": order.pk,
            "order_line_ids": sorted(
                {p.order_line_id for p in parts if p.order_line_id is not None}
            ),
        },
    )


def refund_complete(*, refund_id: int, stripe_refund_id: str, stripe_status: str) -> Refund:
    """Mark a pending refund done (once, whoever gets here first: the API or a webhook)."""
    order_id = Refund.objects.values_list("order_id", flat=True).get(pk=refund_id)
    with transaction.atomic(durable=True):
        order = Order.objects.select_for_update(of=("self",)).get(pk=order_id)
        done = Refund.objects.filter(pk=refund_id, status=Refund.Status.PENDING).update(
            status=Refund.Status.SUCCEEDED,
            stripe_refund_id=stripe_refund_id,
            stripe_status=stripe_status,
            completed_at=timezone.now(),
        )
        refund = Refund.objects.get(pk=refund_id)
        if done:
            refund_apply_succeeded(order=order, refund=refund)
    return refund


def refund_release(*, refund_id: int, error: str) -> bool:
    """Give a pending refund's reservation back after Stripe refused it; once only."""
    order_id = Refund.objects.values_list("order_id", flat=True).get(pk=refund_id)
    with transaction.atomic(durable=True):
        order = Order.objects.select_for_update(of=("self",)).get(pk=order_id)
        released = Refund.objects.filter(pk=refund_id, status=Refund.Status.PENDING).update(
            status=Refund.Status.FAILED, last_error=error[:2000], completed_at=timezone.now()
        )
        if not released:
            return False
        refund = Refund.objects.get(pk=refund_id)
        refund_lines_give_back(refund=refund)
        brands = {part.brand_id for part in refund.lines.all()}
        moved = [
            f.brand_id
            for f in Fulfilment.objects.filter(order=order, brand_id__in=brands)
            if fulfilment_sync(fulfilment=f)
        ]
        webhooks_emit(order=order, event_type="fulfilment.updated", brand_ids=moved)
        order_note(order=order, kind="refund_failed", data={"refund_id": refund_id, "error": error})
    return True


# --- the entry point -----------------------------------------------------------------------


def _stripe_refund(refund: Refund, payment_intent_id: str) -> Any:
    if in_transaction():
        raise RuntimeError("Stripe must not be called inside a transaction.")
    params: RefundCreateParams = {
        "payment_intent": payment_intent_id,
        "amount": stripe_amount(refund.amount, refund.currency),
        "metadata": {
            "order_id": str(refund.order_id),
            "refund_id": str(refund.pk),
            "brand_id": str(refund.brand_id or ""),
        },
    }
    if refund.reason:
        params["reason"] = refund.reason
    return stripe_client().v1.refunds.create(
        params=params, options={"idempotency_key": f"tribe-refund-{refund.pk}"}
    )


def refund_create(
    *,
    order_id: int,
    user: User,
    lines: Sequence[RefundLineRequest] = (),
    shipping: bool = False,
    restock: bool = False,
    reason: str = "",
    note: str = "",
    brand_slug: str | None = None,
) -> Refund:
    """Refund some of a brand's lines (whole or partly) and optionally its shipping."""
    refund = _reserve(
        order_id=order_id,
        user=user,
        lines=lines,
        shipping=shipping,
        restock=restock,
        reason=reason,
        note=note,
        brand_slug=brand_slug,
    )
    payment_intent_id = Order.objects.values_list("stripe_payment_intent_id", flat=True).get(
        pk=order_id
    )
    try:
        answer = _stripe_refund(refund, payment_intent_id or "")
    except stripe.StripeError as exc:
        logger.warning("Refund %s failed at Stripe: %s", refund.pk, exc)
        # A refund Stripe made after all (a lost answer) still arrives by webhook and is
        # matched to this refund by its metadata.
        refund_release(refund_id=refund.pk, error=f"{exc.__class__.__name__}: {exc}")
        raise upstream_error(exc) from exc
    if answer.status in ("failed", "canceled"):
        refund_release(refund_id=refund.pk, error=f"stripe status {answer.status}")
        raise ApplicationError(
            "The payment provider could not refund this payment.",
            code="refund_declined",
            status_code=502,
            retryable=False,
            details={"stripe_status": answer.status},
        )
    return refund_complete(
        refund_id=refund.pk, stripe_refund_id=answer.id, stripe_status=answer.status or ""
    )
