"""Writing the ledger: a commission line per credited order line, a reversal per refund.

`commission_record_for_orders` runs when an order is paid (and again, harmlessly, on any
retry): the unique (order line, kind, refund) constraint makes a second insert a no-op.
A sale a fraud rule matches is held for review in the same transaction (fraud_holds.py).
`commission_reverse_for_refund` (reversals.py, importable from here as before) appends one
negative line per refund.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max

from commissions import conf
from commissions.amounts import commission_amount
from commissions.models import CommissionLine, CommissionTerms
from commissions.selectors.holds import order_lines_reversed_hold_amounts
from commissions.selectors.order_lines import (
    order_lines_commissionable,
    order_lines_refunded_amounts,
)
from commissions.services.fraud_holds import fraud_rules_apply
from commissions.services.ledger_load import COLUMNS, Row, commission_lines_load
from commissions.services.reversals import (  # noqa: F401  (their home before the split)
    REVERSAL_FORMULA,
    commission_reverse_for_refund,
    commission_reverse_joined,
    shown_amount,
)
from common.money import normalize_currency, quantize
from creators.models import AffiliateLink, Creator

Kind = CommissionLine.Kind
Status = CommissionLine.Status
# Plain strings for the loader (psycopg would write an Enum member by its name).
COMMISSION, PENDING = Kind.COMMISSION.value, Status.PENDING.value
ORDER_LINE = COLUMNS.index("order_line_id")
COMMISSION_FORMULA = "amount = round_half_up(base x rate / 100)"
LIST_PRICE_FORMULA = "amount = round_half_up(list_price x rate / 100)"
RECONCILED_PREFIX = "reconciled:"


def _terms(brand_ids: set[int]) -> dict[int, tuple[int, bool]]:
    """Brand id -> (hold days, commission on list price), the defaults for brands without terms."""
    found = {
        brand_id: (hold, on_list)
        for brand_id, hold, on_list in CommissionTerms.objects.filter(
            brand_id__in=brand_ids
        ).values_list("brand_id", "hold_days", "commission_on_list_price")
    }
    default = (conf.hold_days_default(), False)
    return {brand_id: found.get(brand_id, default) for brand_id in brand_ids}


def commission_basis(row: dict[str, Any], *, on_list_price: bool, currency: str) -> Decimal:
    """What the commission is computed on: what the shopper paid for the line after a code's
    discount, or its list price when the brand's terms say so."""
    if on_list_price and row.get("list_amount") is not None:
        return quantize(row["list_amount"], currency)
    return quantize(row["paid_amount"], currency)


def _commission_row(
    row: dict[str, Any], hold_days: int, link_id: int | None, *, on_list_price: bool = False
) -> Row:
    """One pending commission line, as a row in ledger_load.COLUMNS order.

    `base` is always what the shopper paid (refunds reverse pro rata of it); on list price
    the amount is computed on the line's list price instead, and the receipt says so.
    """
    currency = normalize_currency(row["currency"])
    base = quantize(row["paid_amount"], currency)
    basis = commission_basis(row, on_list_price=on_list_price, currency=currency)
    rate: Decimal = row["commission_rate"]
    paid_at: datetime = row["paid_at"]
    payable_at = paid_at + timedelta(days=hold_days)
    attribution = row["receipt"] or {}
    receipt = {
        "attribution": attribution,
        "rule": attribution.get("rule"),
        "rate": str(rate),
        "rate_source": attribution.get("rate_source"),
        "base": shown_amount(base, currency),
        "currency": currency,
        "formula": LIST_PRICE_FORMULA if basis != base else COMMISSION_FORMULA,
        "hold_days": hold_days,
        "paid_at": paid_at.isoformat(),
        "payable_at": payable_at.isoformat(),
    }
    if row.get("discount_code"):
        receipt["discount_code"] = row["discount_code"]
        receipt["commission_basis"] = "list_price" if on_list_price else "paid"
        receipt["list_price"] = shown_amount(row["list_amount"] or base, currency)
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
        commission_amount(base=basis, rate=rate, currency=currency),
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
    terms = _terms({r["brand_id"] for r in rows})
    lines = [
        _commission_row(
            row,
            terms[row["brand_id"]][0],
            row["link_id"] if row["link_id"] in links else None,
            on_list_price=terms[row["brand_id"]][1],
        )
        for row in rows
        if row["creator_id"] in creators
    ]
    commission_lines_load(lines)
    order_line_ids = [line[ORDER_LINE] for line in lines]
    # A refund can be handled before the payment is (events come in any order): catch up.
    commissions_reconcile_refunds(order_line_ids=order_line_ids)
    # A sale a fraud rule matches is held for review before it can ever be approved.
    fraud_rules_apply(order_line_ids=order_line_ids)
    return len(lines)


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
