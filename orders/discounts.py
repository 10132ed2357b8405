"""Codes on a cart: the discount each brand's code takes off, and each line's share of it.

Pure but for what the callers hand in (the cart's lines with their variants, products and
brands; the codes with their discounts, from `creators.selectors.codes`). The cart shows a
code that no longer applies with its problem and no discount; checkout refuses it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from common.errors import ApplicationError
from common.money import quantize
from creators.models import CreatorCode
from orders.models import CartLine
from shop.discounts import CodeExpired, CodeNotApplicable, PricedLine, discount_evaluate


@dataclass
class AppliedCode:
    brand_id: int
    code: CreatorCode
    total: Decimal = Decimal(0)
    parts: dict[int, Decimal] = field(default_factory=dict)  # cart line id -> its share
    problem: ApplicationError | None = None


def priced_line(line: CartLine, currency: str) -> PricedLine:
    variant = line.variant
    return PricedLine(
        key=line.pk,
        product_id=variant.product_id,
        amount=quantize(variant.price * line.quantity, currency),
        collection=variant.product.category,
    )


def codes_price(
    *,
    lines: Sequence[CartLine],
    codes: Iterable[CreatorCode],
    currency: str,
    at: datetime,
    strict: bool,
) -> dict[int, AppliedCode]:
    """Each code's discount over its brand's lines, by brand id.

    `strict` (checkout, applying a code) raises the first problem and passes over a code
    whose brand has no lines left; otherwise (showing the cart) a code with a problem
    applies nothing and carries the error.
    """
    by_brand: dict[int, list[PricedLine]] = {}
    for line in lines:
        by_brand.setdefault(line.variant.product.brand_id, []).append(priced_line(line, currency))
    applied: dict[int, AppliedCode] = {}
    for code in codes:
        entry = AppliedCode(brand_id=code.brand_id, code=code)
        brand_lines = by_brand.get(code.brand_id)
        if strict and not brand_lines:
            continue  # its brand's lines were removed: it takes nothing off, nothing to refuse
        try:
            if not code.is_active:
                raise CodeExpired("This code has been withdrawn.")
            if not brand_lines:
                raise CodeNotApplicable("Nothing in the cart is from this code's brand.")
            result = discount_evaluate(
                code.discount,
                lines=brand_lines,
                product_ids=set(getattr(code, "discount_product_ids", None) or ()),
                currency=currency,
                at=at,
            )
            entry.total, entry.parts = result.total, result.parts
        except ApplicationError as exc:
            if strict:
                raise
            entry.problem = exc
        applied[code.brand_id] = entry
    return applied
