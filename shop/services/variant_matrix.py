"""Create a product's variants from a size and colour matrix in one write.

Each (size, colour) pair becomes a variant with options `{"size": ..., "colour": ...}`, a
title "M / Red" and a SKU made from a prefix and both values ("TEE-M-RED"). Pairs the
product already has (same size and colour) are left alone and reported, so running the
matrix again after adding a colour adds only the new variants.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction

from accounts.models import User
from common.errors import ValidationFailed
from shop.models import Product, StockMovement, Variant
from shop.services.catalog import membership_require, validate_price, variant_upsert

MAX_MATRIX_VARIANTS = 200
SIZE, COLOUR = "size", "colour"


@dataclass(frozen=True)
class MatrixResult:
    created: list[Variant] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def _error(name: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, fields={name: [{"code": "invalid", "message": message}]})


def sku_part(value: str) -> str:
    """A value as a SKU segment: upper case letters and digits, runs of others as one dash."""
    return re.sub(r"[^A-Z0-9]+", "-", value.upper()).strip("-")


def _values(name: str, values: Sequence[str]) -> list[str]:
    cleaned: list[str] = []
    for value in values:
        text = " ".join(value.split())
        if text and text.casefold() not in (v.casefold() for v in cleaned):
            cleaned.append(text)
    if not cleaned:
        raise _error(name, f"Give at least one {name}.")
    return cleaned


def _existing_pairs(product: Product) -> set[tuple[str, str]]:
    pairs = set()
    for options in product.variants.values_list("options", flat=True):
        options = {str(k).casefold(): str(v).casefold() for k, v in (options or {}).items()}
        if SIZE in options and COLOUR in options:
            pairs.add((options[SIZE], options[COLOUR]))
    return pairs


def variant_matrix_create(
    *,
    user: User,
    product_id: int,
    sizes: Sequence[str],
    colours: Sequence[str],
    price: Decimal,
    sku_prefix: str,
    on_hand: int = 0,
) -> MatrixResult:
    """Create one variant per size and colour the product lacks; stock via the stock service."""
    product = Product.objects.select_related("brand").get(pk=product_id)
    membership_require(user=user, brand_id=product.brand_id, write=True)
    size_values, colour_values = _values(SIZE, sizes), _values(COLOUR, colours)
    if len(size_values) * len(colour_values) > MAX_MATRIX_VARIANTS:
        raise _error("sizes", f"A matrix makes at most {MAX_MATRIX_VARIANTS} variants at once.")
    prefix = sku_part(sku_prefix)
    if not prefix:
        raise _error("sku_prefix", "Give a SKU prefix with at least one letter or digit.")
    price = validate_price(price, currency=product.brand.currency)
    result = MatrixResult()
    with transaction.atomic(durable=True):
        # Lock the product so two matrices run on it one after the other.
        Product.objects.select_for_update().filter(pk=product.pk).get()
        existing = _existing_pairs(product)
        position = product.variants.count()
        for size in size_values:
            for colour in colour_values:
                if (size.casefold(), colour.casefold()) in existing:
                    result.skipped.append((size, colour))
                    continue
                variant = variant_upsert(
                    product=product,
                    actor=user,
                    sku=f"{prefix}-{sku_part(size)}-{sku_part(colour)}",
                    title=f"{size} / {colour}",
                    options={SIZE: size, COLOUR: colour},
                    price=price,
                    position=position,
                    on_hand=on_hand or None,
                    stock_reason=StockMovement.Reason.INITIAL,
                )
                result.created.append(variant)
                position += 1
    return result
