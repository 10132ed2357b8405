"""The ledger's arithmetic, pure: what a line earns and what each refund takes back.

Rounding is the house rule (half-up to the currency's precision, common.money). Reversals
are cumulative: after refunds totalling R of a line whose base is B and commission C, the
reversals add up to round(C x R / B), whatever the number and order of the refunds. So a
full refund reverses exactly C, and the ledger always holds C - round(C x R / B).
"""

from __future__ import annotations

from decimal import Decimal

from common.money import quantize
from creators.commissions.errors import InvalidRate, NegativeAmount

HUNDRED = Decimal(100)


def commission_amount(*, base: Decimal, rate: Decimal, currency: str) -> Decimal:
    """base x rate / 100, rounded half-up in the currency."""
    if base < 0:
        raise NegativeAmount(fields={"base": ["Must not be negative."]})
    if not 0 <= rate <= HUNDRED:
        raise InvalidRate(fields={"rate": ["Between 0 and 100."]})
    return quantize(base * rate / HUNDRED, currency)


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
