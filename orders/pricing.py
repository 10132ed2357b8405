"""Cart and order totals: items, each brand's shipping, and the grand total."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from common.errors import ApplicationError
from common.money import quantize
from shop.models import Brand, Variant


@dataclass
class BrandTotals:
    brand: Brand
    items: Decimal = Decimal(0)
    shipping: Decimal = Decimal(0)
    # What the brand's code takes off its items (set by orders.discounts' callers).
    discount: Decimal = Decimal(0)
    code: str = ""
    code_problem: ApplicationError | None = None


@dataclass
class Totals:
    currency: str
    items: Decimal = Decimal(0)
    shipping: Decimal = Decimal(0)
    brands: list[BrandTotals] = field(default_factory=list)
    discount: Decimal = Decimal(0)

    @property
    def grand(self) -> Decimal:
        return self.items - self.discount + self.shipping


class ShippingTerms(Protocol):
    """A brand's shipping terms: the model, or a row that read them."""

    @property
    def shipping_flat_rate(self) -> Decimal: ...

    @property
    def free_shipping_threshold(self) -> Decimal | None: ...


def brand_shipping(brand: ShippingTerms, items: Decimal) -> Decimal:
    """The brand's flat rate, or nothing once its lines reach its free-shipping threshold."""
    threshold = brand.free_shipping_threshold
    if threshold is not None and items >= threshold:
        return Decimal(0)
    return brand.shipping_flat_rate


def brand_charges(brand: ShippingTerms, items: Decimal, currency: str) -> tuple[Decimal, Decimal]:
    """A brand's items and its shipping, as charged: the items rounded to the currency, and
    the shipping on those rounded items, rounded."""
    items = quantize(items, currency)
    return items, quantize(brand_shipping(brand, items), currency)


def price_lines(lines: Iterable[tuple[Variant, int]], currency: str) -> Totals:
    """Totals of (variant, quantity) pairs whose variants have product.brand loaded.

    Prices are tax-inclusive; tax calculation is out of scope. Shipping (and its free
    threshold) is on the items before any code's discount.
    """
    totals = Totals(currency=currency)
    per_brand: dict[int, BrandTotals] = {}
    for variant, quantity in lines:
        brand = variant.product.brand
        entry = per_brand.setdefault(brand.pk, BrandTotals(brand=brand))
        entry.items += variant.price * quantity
    for entry in per_brand.values():
        entry.items, entry.shipping = brand_charges(entry.brand, entry.items, currency)
        totals.items += entry.items
        totals.shipping += entry.shipping
    totals.brands = sorted(per_brand.values(), key=lambda b: b.brand.pk)
    return totals
