"""What a brand discount takes off a cart's lines, pure: checks, amount and its allocation.

The amount is split over the lines it applies to by largest remainder (common.money
`allocate`), weighted by each line's amount, so the parts add up to the discount to the
minor unit and no part exceeds its line. Errors carry the stable codes the API answers with.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal

from common.errors import Conflict, UnprocessableEntity
from common.money import THREE_DECIMAL_CURRENCIES, allocate, quantize
from shop.models import Discount

HUNDRED = Decimal(100)


class CodeExpired(UnprocessableEntity):
    code = "code_expired"
    default_message = "This code is no longer valid."


class CodeNotApplicable(UnprocessableEntity):
    code = "code_not_applicable"
    default_message = "This code does not apply to anything in the cart."


class MinimumNotMet(UnprocessableEntity):
    code = "minimum_not_met"
    default_message = "The cart does not reach this code's minimum."


class CodeExhausted(Conflict):
    code = "code_exhausted"
    default_message = "This code has been used up."


class CodeLimitPerShopper(Conflict):
    code = "code_limit_per_shopper"
    default_message = "You have already used this code as often as it allows."


class DiscountTooLarge(UnprocessableEntity):
    code = "discount_too_large"
    default_message = "This code would take the items below zero."


@dataclass(frozen=True, slots=True)
class PricedLine:
    """One cart line as a discount sees it: its product and its amount before discount."""

    key: int
    product_id: int
    amount: Decimal
    collection: str = ""  # the product's category


@dataclass(frozen=True, slots=True)
class DiscountResult:
    total: Decimal
    parts: dict[int, Decimal]  # line key -> its share; only the lines it applies to


def discount_check_live(discount: Discount, *, at: datetime) -> None:
    """Refuse a paused discount, or one outside its dates, with `code_expired`."""
    if discount.status != Discount.Status.ACTIVE:
        raise CodeExpired("This code is paused by the brand.")
    if discount.starts_at is not None and at < discount.starts_at:
        raise CodeExpired(
            "This code is not valid yet.", details={"starts_at": discount.starts_at.isoformat()}
        )
    if discount.ends_at is not None and at >= discount.ends_at:
        raise CodeExpired("This code has expired.")


def discount_check_available(discount: Discount) -> None:
    """Refuse with `code_exhausted` when every use is taken (checkout re-checks atomically)."""
    if discount.max_uses is not None and discount.uses >= discount.max_uses:
        raise CodeExhausted()


def _chargeable(amount: Decimal, currency: str) -> Decimal:
    # Stripe charges three-decimal currencies in multiples of 0.010: a discount rounded down
    # to that step keeps the discounted total chargeable.
    if currency.upper() in THREE_DECIMAL_CURRENCIES:
        return amount.quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    return quantize(amount, currency)


def discount_allocate(
    *,
    kind: str,
    value: Decimal,
    lines: Sequence[PricedLine],
    currency: str,
) -> DiscountResult:
    """The discount on `lines` (all of them eligible) and each line's share of it."""
    subtotal = sum((line.amount for line in lines), Decimal(0))
    if kind == Discount.Kind.PERCENTAGE:
        total = _chargeable(subtotal * value / HUNDRED, currency)
    else:
        total = _chargeable(value, currency)
        if total > subtotal:
            raise DiscountTooLarge(
                f"This code takes {total} {currency} off, more than the {subtotal} {currency} "
                "of items it applies to.",
                details={"discount": str(total), "items": str(subtotal)},
            )
    if total <= 0:
        return DiscountResult(total=Decimal(0), parts={line.key: Decimal(0) for line in lines})
    shares = allocate(total, [line.amount for line in lines], currency)
    return DiscountResult(
        total=total, parts={line.key: s for line, s in zip(lines, shares, strict=True)}
    )


def discount_evaluate(
    discount: Discount,
    *,
    lines: Sequence[PricedLine],
    product_ids: Collection[int],
    currency: str,
    at: datetime,
) -> DiscountResult:
    """Check the discount against the brand's lines of a cart and compute what it takes off.

    `lines` are the cart's lines of the discount's brand; `product_ids` the products it is
    limited to (ignored when it applies to the whole brand), besides its collections.
    """
    discount_check_live(discount, at=at)
    collections = set(discount.collections or ())
    eligible = [
        line
        for line in lines
        if discount.applies_to_all
        or line.product_id in product_ids
        or (line.collection and line.collection in collections)
    ]
    if not eligible:
        raise CodeNotApplicable()
    minimum = discount.minimum_subtotal
    brand_subtotal = sum((line.amount for line in lines), Decimal(0))
    if minimum is not None and brand_subtotal < minimum:
        raise MinimumNotMet(
            f"This code needs {quantize(minimum, currency)} {currency} of the brand's items.",
            details={
                "minimum": {
                    "amount": format(quantize(minimum, currency), "f"),
                    "currency": currency,
                }
            },
        )
    return discount_allocate(
        kind=discount.kind, value=discount.value_decimal, lines=eligible, currency=currency
    )
