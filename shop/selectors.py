"""Reads of brands, catalog and stock, with their prefetching fixed in one place."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import (
    Exists,
    F,
    IntegerField,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Greatest

from accounts.models import User
from common.errors import NotFound
from shop.catalog_json import ListingStock
from shop.models import Brand, BrandMember, Product, ProductImage, StockMovement, Variant


def brand_ids_for_user(user: User, *, write: bool = False) -> list[int]:
    """Ids of the brands the user is a member of (with a writing role if `write`)."""
    if not user.is_authenticated:
        return []
    memberships = BrandMember.objects.filter(user=user)
    if write:
        memberships = memberships.filter(role__in=BrandMember.WRITE_ROLES)
    return list(memberships.values_list("brand_id", flat=True))


def brand_membership_get(*, user: User, brand_id: int) -> BrandMember | None:
    return BrandMember.objects.filter(user=user, brand_id=brand_id).first()


def in_stock_filter(prefix: str = "") -> Q:
    """Variants with a unit to sell (`on_hand > reserved`); `prefix` reaches one through a
    relation, e.g. `in_stock_filter("variant__")`. The one definition of "in stock"."""
    return Q(**{f"{prefix}on_hand__gt": F(f"{prefix}reserved")})


def variants_in_stock() -> QuerySet[Variant]:
    """Variants with at least one unit available."""
    return Variant.objects.filter(in_stock_filter())


@functools.cache
def _product_public_ids_base() -> QuerySet[Product]:
    # Built once per process: resolving the annotations costs more than cloning the result.
    return Product.objects.filter(status=Product.Status.ACTIVE, brand__is_active=True).annotate(
        # Stored on the product by triggers (shop migration 0008): a price-ordered page
        # reads the index on it instead of computing every product's lowest price.
        min_price=F("lowest_price"),
        in_stock=Exists(variants_in_stock().filter(product_id=OuterRef("pk"))),
    )


def product_public_ids_queryset() -> QuerySet[Product]:
    """Active products of active brands with the fields lists filter and order by."""
    return _product_public_ids_base().all()


@functools.cache
def _product_listing_base() -> QuerySet[Product]:
    return _product_public_ids_base().annotate(
        listing_template=F("listing__template"), listing_stock=ListingStock()
    )


def product_listing_queryset() -> QuerySet[Product]:
    """The public products with their stored list entry's template and their live stock.

    PostgreSQL only: `shop.catalog_json` fills the one with the other.
    """
    return _product_listing_base().all()


@dataclass(frozen=True, slots=True)
class StockLevel:
    """Units available (`max(0, on_hand - reserved)`, summed for a product) and the low-stock
    threshold (a product's is the largest of its variants')."""

    available: int
    low_stock_threshold: int


@dataclass(frozen=True, slots=True)
class LiveStock:
    products: dict[int, StockLevel]
    variants: dict[int, StockLevel]


def stock_live_get(
    *, product_ids: Iterable[int], variant_product_ids: Iterable[int] = ()
) -> LiveStock:
    """Stock as it is now, in one query: summed per product for `product_ids`, and per
    variant for the variants of `variant_product_ids`. Pages whose shared part is stored
    fill in their stock from this; a product with no variants is absent (sold out)."""
    per_product = sorted(set(product_ids))
    per_variant = sorted(set(variant_product_ids))
    available = Greatest(F("on_hand") - F("reserved"), Value(0))
    parts: list[QuerySet[Any, tuple[int, int, int, int]]] = []
    if per_product:
        parts.append(
            Variant.objects.filter(product_id__in=per_product)
            .order_by()
            .values("product_id")
            .annotate(
                variant=Value(0, output_field=IntegerField()),
                units=Sum(available),
                threshold=Max("low_stock_threshold"),
            )
            .values_list("product_id", "variant", "units", "threshold")
        )
    if per_variant:
        parts.append(
            Variant.objects.filter(product_id__in=per_variant)
            .order_by()
            .annotate(units=available, threshold=F("low_stock_threshold"))
            .values_list("product_id", "id", "units", "threshold")
        )
    products: dict[int, StockLevel] = {}
    variants: dict[int, StockLevel] = {}
    if not parts:
        return LiveStock(products, variants)
    rows = parts[0].union(parts[1], all=True) if len(parts) == 2 else parts[0]
    for product_id, variant_id, units, threshold in rows:
        level = StockLevel(int(units or 0), int(threshold or 0))
        if variant_id:
            variants[variant_id] = level
        else:
            products[product_id] = level
    return LiveStock(products, variants)


def product_public_queryset() -> QuerySet[Product]:
    """Active products of active brands, with what every list and detail page shows."""
    return (
        product_public_ids_queryset()
        .select_related("brand")
        .prefetch_related(
            Prefetch("variants", queryset=Variant.objects.order_by("position", "id")),
            Prefetch("images", queryset=ProductImage.objects.order_by("position", "id")),
        )
    )


def product_public_get(*, product_id: int) -> Product:
    product = product_public_queryset().filter(pk=product_id).first()
    if product is None:
        raise NotFound("No such product.", code="product_not_found")
    return product


def brand_public_get(*, slug: str) -> Brand:
    brand = Brand.objects.filter(slug=slug, is_active=True).first()
    if brand is None:
        raise NotFound("No such brand.", code="brand_not_found")
    return brand


def product_for_members_queryset(*, user: User) -> QuerySet[Product]:
    """Every product (any status) of the brands the user belongs to."""
    return (
        Product.objects.filter(brand_id__in=brand_ids_for_user(user))
        .select_related("brand")
        .prefetch_related(
            Prefetch("variants", queryset=Variant.objects.order_by("position", "id")),
            Prefetch("images", queryset=ProductImage.objects.order_by("position", "id")),
        )
    )


def variant_for_member_get(*, user: User, variant_id: int) -> Variant:
    variant = (
        Variant.objects.select_related("product__brand")
        .filter(pk=variant_id, product__brand_id__in=brand_ids_for_user(user))
        .first()
    )
    if variant is None:
        raise NotFound("No such variant.", code="variant_not_found")
    return variant


def low_stock_filter() -> Q:
    """Variants at or under their low-stock threshold (and not yet sold out)."""
    return in_stock_filter() & Q(on_hand__lte=F("reserved") + F("low_stock_threshold"))


@dataclass(frozen=True)
class VariantSales:
    """Units a variant sold since a moment, with its stock now (for sell-out projections)."""

    variant_id: int
    product_id: int
    brand_id: int
    units: int
    available: int


def variant_sales_since(*, since: datetime) -> list[VariantSales]:
    """Every variant that sold since `since` (sale movements), in one query."""
    rows = (
        StockMovement.objects.filter(reason=StockMovement.Reason.SALE, created_at__gte=since)
        .values(
            "variant_id",
            "variant__product_id",
            "variant__product__brand_id",
            "variant__on_hand",
            "variant__reserved",
        )
        .annotate(sold=-Sum("delta"))
        .order_by("variant_id")
    )
    return [
        VariantSales(
            variant_id=row["variant_id"],
            product_id=row["variant__product_id"],
            brand_id=row["variant__product__brand_id"],
            units=row["sold"],
            available=max(0, row["variant__on_hand"] - row["variant__reserved"]),
        )
        for row in rows
        if row["sold"] > 0
    ]
