"""The ledger's arithmetic, pure: what a line earns and what each refund takes back.

Rounding is the house rule (half-up to the currency's precision, common.money). Reversals
are cumulative: after refunds totalling R of a line whose base is B and commission C, the
reversals add up to round(C x R / B), whatever the number and order of the refunds. So a
full refund reverses exactly C, and the ledger always holds C - round(C x R / B).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Case, DecimalField, F, IntegerField, Value, When
from django.db.models.functions import Coalesce, Round

from commissions.errors import InvalidRate, NegativeAmount
from common.money import THREE_DECIMAL_CURRENCIES, ZERO_DECIMAL_CURRENCIES, quantize

HUNDRED = Decimal(100)


def commission_amount(*, base: Decimal, rate: Decimal, currency: str) -> Decimal:
    """base x rate / 100, rounded half-up in the currency."""
    if base < 0:
        raise NegativeAmount(fields={"base": ["Must not be negative."]})
    if not 0 <= rate <= HUNDRED:
        raise InvalidRate(fields={"rate": ["Between 0 and 100."]})
    return quantize(base * rate / HUNDRED, currency)


def commission_amount_sql(*, base: str, rate: str, currency: str = "currency") -> Round:
    """`commission_amount` per row in SQL, for aggregates over lines not in the ledger yet:
    the fields `base` x `rate` (null: 0) / 100, rounded half-up in the row's `currency`."""
    return Round(
        F(base) * Coalesce(rate, Value(Decimal(0))) * Value(Decimal("0.01")),
        _places_sql(currency),
        output_field=DecimalField(max_digits=20, decimal_places=3),
    )


def _places_sql(currency: str) -> Any:
    """The row's currency precision (common.money), as SQL."""
    # Round's stub types the precision as an int; PostgreSQL takes it per row.
    return Case(
        When(**{f"{currency}__in": sorted(ZERO_DECIMAL_CURRENCIES)}, then=Value(0)),
        When(**{f"{currency}__in": sorted(THREE_DECIMAL_CURRENCIES)}, then=Value(3)),
        default=Value(2),
        output_field=IntegerField(),
    )


def reversed_target(
    *, commission: Decimal, base: Decimal, refunded: Decimal, currency: str
) -> Decimal:
    """What all reversals of a line add up to once `refunded` of its base was refunded."""
    if refunded < 0:
        raise NegativeAmount(fields={"refunded": ["Must not be negative."]})
    if base <= 0 or commission == 0:
        return Decimal(0)
    if refunded >= base:
        return commission
    return quantize(commission * refunded / base, currency)


def reversal_amount(
    *,
    commission: Decimal,
    base: Decimal,
    refunded: Decimal,
    already_reversed: Decimal,
    currency: str,
) -> Decimal:
    """The next reversal line's amount (zero or negative): the target minus what is reversed.

    `already_reversed` is the positive total of earlier reversals. Never more than the
    commission in all, and never a credit back: a late, smaller refund total reverses nothing.
    """
    if already_reversed < 0:
        raise NegativeAmount(fields={"already_reversed": ["Must not be negative."]})
    target = reversed_target(commission=commission, base=base, refunded=refunded, currency=currency)
    return Decimal(0) - max(Decimal(0), min(target, commission) - already_reversed)


def places_sql_text(currency: str) -> str:
    """The precision of the currency in column `currency`, as raw SQL (common.money)."""
    zero = ", ".join(f"'{c}'" for c in sorted(ZERO_DECIMAL_CURRENCIES))
    three = ", ".join(f"'{c}'" for c in sorted(THREE_DECIMAL_CURRENCIES))
    return (
        f"(CASE WHEN {currency} IN ({zero}) THEN 0 WHEN {currency} IN ({three}) THEN 3 ELSE 2 END)"
    )


def ledger_due_sql_text(
    *, base: str, rate: str, refunded: str, places: str, basis: str | None = None
) -> str:
    """What a line's ledger should hold, as raw SQL over the given columns: `commission_amount`
    less `reversed_target`, rounded the same way (PostgreSQL's round() is half away from
    zero, half-up for these non-negative amounts), for a set-based comparison with the ledger.

    `basis` is what the commission is computed on when it is not `base` (a list price);
    refunds reverse pro rata of `base`, what was paid, either way.
    """
    commission = f"round({basis or base} * coalesce({rate}, 0) * 0.01, {places})"
    reversed_part = (
        f"CASE WHEN {base} <= 0 THEN 0 WHEN {refunded} >= {base} THEN {commission} "
        f"ELSE round({commission} * {refunded} / {base}, {places}) END"
    )
    return f"({commission} - {reversed_part})"
