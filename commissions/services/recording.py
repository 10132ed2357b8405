"""Writing the ledger: a commission line per credited order line, a reversal per refund.

`commission_record_for_orders` runs when an order is paid (and again, harmlessly, on any
retry): the unique (order line, kind, refund) constraint makes a second insert a no-op.
`commission_reverse_for_refund` appends one negative line per refund, computed
cumulatively (amounts.py), under a lock on the line's commission so concurrent refunds of
one line never reverse the same money twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max, Sum
from django.utils import timezone

from commissions import conf
from commissions.amounts import commission_amount, reversal_amount
from commissions.errors import CurrencyMismatch, NegativeAmount
from commissions.models import CommissionLine, CommissionTerms
from commissions.selectors.holds import order_lines_reversed_hold_amounts
from commissions.selectors.order_lines import (
    order_lines_commissionable,
    order_lines_refunded_amounts,
)
from commissions.services.ledger_load import COLUMNS, Row, commission_lines_load
from common.errors import ValidationFailed
from common.money import MoneyError, normalize_currency, quantize
from creators.models import AffiliateLink, Creator

Kind = CommissionLine.Kind
Status = CommissionLine.Status
# Plain strings for the loader (psycopg would write an Enum member by its name).
COMMISSION, PENDING = Kind.COMMISSION.value, Status.PENDING.value
ORDER_LINE = COLUMNS.index("order_line_id")
COMMISSION_FORMULA = "amount = round_half_up(base x rate / 100)"
REVERSAL_FORMULA = (
    "reversed in all = round_half_up(commission x refunded_to_date / base); "
    "amount = -(reversed in all - reversed_before)"
)
RECONCILED_PREFIX = "reconciled:"


def _hold_days(brand_ids: set[int]) -> dict[int, int]:
    found = dict(
        CommissionTerms.objects.filter(brand_id__in=brand_ids).values_list("brand_id", "hold_days")
    )
    default = conf.hold_days_default()
    return {brand_id: found.get(brand_id, default) for brand_id in brand_ids}


def _commission_row(row: dict[str, Any], hold_days: int, link_id: int | None) -> Row:
    """One pending commission line, as a row in ledger_load.COLUMNS order."""
    currency = normalize_currency(row["currency"])
    base = quantize(row["paid_amount"], currency)
    rate: Decimal = row["commission_rate"]
    paid_at: datetime = row["paid_at"]
    payable_at = paid_at + timedelta(days=hold_days)
    attribution = row["receipt"] or {}
    receipt = {
        "attribution": attribution,
        "rule": attribution.get("rule"),
        "rate": str(rate),
        "rate_source": attribution.get("rate_source"),
        "base": _shown(base, currency),
        "currency": currency,
        "formula": COMMISSION_FORMULA,
        "hold_days": hold_days,
        "paid_at": paid_at.isoformat(),
        "payable_at": payable_at.isoformat(),
    }
    return (
        COMMISSION,
        PENDING,
        row["creator_id"],
        link_id,
        row["brand_id"],
        row["order_id"],
        row["order_line_id"],
        "",
        currency,
        base,
        rate,
        commission_amount(base=base, rate=rate, currency=currency),
        receipt,
        paid_at,
        payable_at,
    )


def commission_record_for_orders(*, order_ids: Iterable[int]) -> int:
    """Record a pending commission line for each credited line of these paid orders.

    Returns how many lines were due (already recorded ones included): running it again, or
    twice at once, inserts nothing more. Orders that were never paid record nothing.
    """
    with transaction.atomic(durable=True):
        return commission_record_joined(order_ids=order_ids)


def commission_record_joined(*, order_ids: Iterable[int]) -> int:
    """The same inside the caller's transaction (the outbox handler's, with its receipt)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("commission_record_joined runs inside the caller's transaction.")
    rows = order_lines_commissionable(order_ids=order_ids)
    if not rows:
        return 0
    creators = set(
        Creator.objects.filter(pk__in={r["creator_id"] for r in rows}).values_list("pk", flat=True)
    )
    links = set(
        AffiliateLink.objects.filter(
            pk__in={r["link_id"] for r in rows if r["link_id"] is not None}
        ).values_list("pk", flat=True)
    )
    holds = _hold_days({r["brand_id"] for r in rows})
    lines = [
        _commission_row(
            row, holds[row["brand_id"]], row["link_id"] if row["link_id"] in links else None
        )
        for row in rows
        if row["creator_id"] in creators
    ]
    commission_lines_load(lines)
    # A refund can be handled before the payment is (events come in any order): catch up.
    commissions_reconcile_refunds(order_line_ids=[line[ORDER_LINE] for line in lines])
    return len(lines)


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
            "commission": _shown(commission.amount, commission.currency),
            "base": _shown(commission.base, commission.currency),
            "refunded_to_date": _shown(refunded, commission.currency),
            "reversed_before": _shown(already, commission.currency),
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


def _shown(value: Decimal, currency: str) -> str:
    """An amount as a receipt shows it: the currency's decimals, not the column's three."""
    return format(quantize(value, currency), "f")


def _why(status: str) -> str:
    if status == Status.PAID:
        return "Refunded after the commission was paid out: deducted from your next payout."
    if status == Status.APPROVED:
        return "Refunded after the hold: deducted from your available balance."
    return "Refunded during the hold: the commission is reduced before it becomes payable."


def commissions_reconcile_refunds(
    *, order_line_ids: Iterable[int], now: datetime | None = None
) -> int:
    """Reverse refunds orders knows of that the ledger does not yet; returns lines appended.

    What reversed holds took back (a lost dispute) counts as refunded, as their reversals did.
    """
    ids = list(order_line_ids)
    if not ids:
        return 0
    taken = order_lines_reversed_hold_amounts(order_line_ids=ids)
    refunded = {
        k: v + taken.get(k, Decimal(0))
        for k, v in order_lines_refunded_amounts(order_line_ids=ids).items()
        if v + taken.get(k, Decimal(0)) > 0
    }
    if not refunded:
        return 0
    seen = dict(
        CommissionLine.objects.filter(order_line_id__in=refunded, kind=Kind.REVERSAL)
        .values("order_line_id")
        .annotate(refunded=Max("refunded_to_date"))
        .values_list("order_line_id", "refunded")
    )
    appended = 0
    for line_id, amount in refunded.items():
        if amount > (seen.get(line_id) or Decimal(0)):
            with transaction.atomic():  # its own transaction, or a savepoint in the caller's
                line = commission_reverse_joined(
                    order_line_id=line_id,
                    refund_id=f"{RECONCILED_PREFIX}{amount.normalize():f}",
                    refunded_to_date=amount,
                    now=now,
                )
            appended += line is not None
    return appended
