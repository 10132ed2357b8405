"""The ledger's reversals: one negative line per refund (or reversed hold) of an order line.

Computed cumulatively (amounts.py), under a lock on the line's commission, so concurrent
refunds of one line never reverse the same money twice. Its own module so that holds can
reverse commission and recording can hold it without a cycle between them.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Max, Sum
from django.utils import timezone

from commissions.amounts import reversal_amount
from commissions.errors import CurrencyMismatch, NegativeAmount
from commissions.models import CommissionLine
from common.errors import ValidationFailed
from common.money import MoneyError, normalize_currency, quantize

Kind = CommissionLine.Kind
Status = CommissionLine.Status
REVERSAL_FORMULA = (
    "reversed in all = round_half_up(commission x refunded_to_date / base); "
    "amount = -(reversed in all - reversed_before)"
)


def _refund_amount(value: Decimal, currency: str) -> Decimal:
    if value < 0:
        raise NegativeAmount(fields={"refunded_to_date": ["Must not be negative."]})
    try:
        exact = quantize(value, currency)
    except MoneyError as exc:
        raise ValidationFailed(str(exc), code="invalid_amount") from exc
    if exact != value:
        raise ValidationFailed(
            f"{value} has more precision than {currency} allows.", code="invalid_amount"
        )
    return exact


def commission_reverse_for_refund(
    *,
    order_line_id: int,
    refund_id: str,
    refunded_to_date: Decimal,
    currency: str | None = None,
    now: datetime | None = None,
) -> CommissionLine | None:
    """Append the reversal answering one refund of an order line; None if it earned nothing."""
    with transaction.atomic(durable=True):
        return commission_reverse_joined(
            order_line_id=order_line_id,
            refund_id=refund_id,
            refunded_to_date=refunded_to_date,
            currency=currency,
            now=now,
        )


def commission_reverse_joined(
    *,
    order_line_id: int,
    refund_id: str,
    refunded_to_date: Decimal,
    currency: str | None = None,
    now: datetime | None = None,
) -> CommissionLine | None:
    """`commission_reverse_for_refund` inside the caller's transaction.

    `refunded_to_date` is everything refunded of the line so far (not this refund alone), so
    refunds handled out of order or twice reverse exactly what is due. A commission already
    paid out is never touched: the reversal is payable at once and nets against the next
    payout, taking the balance below zero if need be.
    """
    refund_id = str(refund_id).strip()
    if not refund_id:
        raise ValidationFailed("A reversal needs the refund it answers.", code="refund_required")
    if refunded_to_date < 0:
        raise NegativeAmount(fields={"refunded_to_date": ["Must not be negative."]})
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("commission_reverse_joined runs inside the caller's transaction.")
    now = now or timezone.now()
    commission = (
        CommissionLine.objects.select_for_update()
        .filter(order_line_id=order_line_id, kind=Kind.COMMISSION)
        .first()
    )
    if commission is None:
        return None
    if currency is not None and normalize_currency(currency) != commission.currency:
        raise CurrencyMismatch(
            details={"expected": commission.currency, "got": normalize_currency(currency)}
        )
    refunded = _refund_amount(refunded_to_date, commission.currency)
    reversals = CommissionLine.objects.filter(order_line_id=order_line_id, kind=Kind.REVERSAL)
    done = reversals.filter(refund_id=refund_id).first()
    if done is not None:
        return done
    prior = reversals.aggregate(reversed=Sum("amount"), refunded=Max("refunded_to_date"))
    already = Decimal(0) - (prior["reversed"] or Decimal(0))
    before = prior["refunded"] or Decimal(0)
    # Never past the line's base, and never back: a late, smaller total changes nothing.
    refunded = max(min(refunded, commission.base), before)
    amount = reversal_amount(
        commission=commission.amount,
        base=commission.base,
        refunded=refunded,
        already_reversed=already,
        currency=commission.currency,
    )
    if commission.status in (Status.PENDING, Status.VOIDED):
        status, payable_at, approved_at = commission.status, commission.payable_at, None
    else:
        status, payable_at, approved_at = Status.APPROVED, now, now
    line = CommissionLine(
        kind=Kind.REVERSAL,
        status=status,
        creator_id=commission.creator_id,
        link_id=commission.link_id,
        brand_id=commission.brand_id,
        order_id=commission.order_id,
        order_line_id=order_line_id,
        refund_id=refund_id,
        currency=commission.currency,
        base=before - refunded,
        rate=commission.rate,
        amount=amount,
        refunded_to_date=refunded,
        receipt={
            "refund_id": refund_id,
            "commission_line_id": commission.pk,
            "commission": shown_amount(commission.amount, commission.currency),
            "base": shown_amount(commission.base, commission.currency),
            "refunded_to_date": shown_amount(refunded, commission.currency),
            "reversed_before": shown_amount(already, commission.currency),
            "formula": REVERSAL_FORMULA,
            "after_payout": commission.status == Status.PAID,
            "why": _why(commission.status),
        },
        earned_at=now,
        payable_at=payable_at,
        approved_at=approved_at,
    )
    try:
        with transaction.atomic():
            line.save(force_insert=True)
    except IntegrityError:
        return reversals.get(refund_id=refund_id)
    return line


def shown_amount(value: Decimal, currency: str) -> str:
    """An amount as a receipt shows it: the currency's decimals, not the column's three."""
    return format(quantize(value, currency), "f")


def _why(status: str) -> str:
    if status == Status.PAID:
        return "Refunded after the commission was paid out: deducted from your next payout."
    if status == Status.APPROVED:
        return "Refunded after the hold: deducted from your available balance."
    return "Refunded during the hold: the commission is reduced before it becomes payable."
