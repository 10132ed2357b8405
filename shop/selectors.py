"""Reads of brands, catalog and stock, with their prefetching fixed in one place."""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Sum,
)

from accounts.models import User
from common.errors import NotFound
from shop.catalog_json import ListingStock
from shop.models import (
    Brand,
    BrandMember,
    Product,
    ProductImage,
    ProductPlenty,
    StockMovement,
    Variant,
)


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


class StockState:
    """A variant's or a product's stock as the catalog API and the pages show it."""

    IN_STOCK = "in_stock"
    LOW_STOCK = "low_stock"
    SOLD_OUT = "sold_out"


def stock_level_state(available: int, low_stock_threshold: int) -> str:
    """Sold out with no unit left; low at or under the threshold (a product's: the largest
    of its variants', against their units summed); else in stock."""
    if available <= 0:
        return StockState.SOLD_OUT
    if available <= low_stock_threshold:
        return StockState.LOW_STOCK
    return StockState.IN_STOCK


@dataclass(frozen=True, slots=True)
class StockLevel:
    """Units available (`max(0, on_hand - reserved)`, summed for a product) and the low-stock
    threshold (a product's is the largest of its variants')."""

    available: int
    low_stock_threshold: int


@dataclass(frozen=True, slots=True)
class LiveStock:
    # Products at or under their low-stock threshold, sold-out ones (no variant, or none
    # with a unit) included; a product asked about and absent here has more than that (or
    # no longer exists: deleting it changes the catalog's page version at the same commit).
    scarce: dict[int, StockLevel]
    variants: dict[int, StockLevel]


@dataclass(frozen=True, slots=True)
class IdArray:
    """Ids as PostgreSQL's array literal (`{1,2,3}`), written once.

    A stored page asks about the same hundreds or thousands of products on every request:
    sent as one text parameter, they cost the request nothing per id, where psycopg would
    check and dump each element of a list (a third of a 200-product storefront's CPU).
    """

    ids: tuple[int, ...]
    literal: str

    @classmethod
    def of(cls, ids: Iterable[int]) -> IdArray:
        unique = tuple(sorted(set(ids)))
        return cls(unique, "{" + ",".join(map(str, unique)) + "}")

    def plus(self, ids: Iterable[int]) -> IdArray:
        more = set(ids).difference(self.ids)
        return IdArray.of((*self.ids, *more)) if more else self


# The products with no variant in plenty (`ProductPlenty`, through its partial index), their
# variants summed: only those can be scarce, a handful whatever the page's size. Summing
# every product's variants instead cost an index probe per product on every request (0.4 ms
# of PostgreSQL for a 200-product page, 3.8 ms for 2,000). A join, not `= ANY`: while few
# products have none in plenty the planner hashes them all from the partial index (0.03 ms
# beside a bare statement, for 200 ids), and it can still probe per id if many do.
_STOCK_LIVE_SQL = """
SELECT c.product_id, 0, stock.units, stock.threshold
FROM unnest(%s::bigint[]) AS ids(id)
JOIN {plenty} c ON c.product_id = ids.id AND c.variants_in_plenty = 0
CROSS JOIN LATERAL (
    SELECT COALESCE(SUM(GREATEST(v.on_hand - v.reserved, 0)), 0) AS units,
           COALESCE(MAX(v.low_stock_threshold), 0) AS threshold
    FROM {variant} v WHERE v.product_id = c.product_id
) AS stock
WHERE stock.units <= stock.threshold
UNION ALL
SELECT v.product_id, v.id, GREATEST(v.on_hand - v.reserved, 0), v.low_stock_threshold
FROM {variant} v WHERE v.product_id = ANY(%s::bigint[])
"""


def stock_live_get(
    *, product_ids: Iterable[int] | IdArray, variant_product_ids: Iterable[int] = ()
) -> LiveStock:
    """Stock as it is now, in one statement, for pages whose shared part is stored: which of
    `product_ids` are scarce (low or sold out, summed over their variants), and every
    variant of `variant_product_ids`. Only the products with no variant in plenty are
    summed (`ProductPlenty`), so a page of thousands of products in stock reads a handful of
    rows; the ids travel as two arrays, not as thousands of placeholders the driver would split
    on every request."""
    products = product_ids if isinstance(product_ids, IdArray) else IdArray.of(product_ids)
    variant_products = IdArray.of(variant_product_ids)
    if not products.ids and not variant_products.ids:
        return LiveStock({}, {})
    sql, params = stock_live_statement(product_ids=products, variant_product_ids=variant_products)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return stock_live_rows(cursor.fetchall())


def stock_live_statement(
    *, product_ids: IdArray, variant_product_ids: IdArray
) -> tuple[str, list[str]]:
    """`stock_live_get`'s statement and parameters, for a caller that reads something of
    its own in the same round trip; `stock_live_rows` reads its rows back."""
    return _stock_live_sql(), [product_ids.literal, variant_product_ids.literal]


@functools.cache
def _stock_live_sql() -> str:
    """Formatted once per process: every stored page's request runs it."""
    return _STOCK_LIVE_SQL.format(
        plenty=connection.ops.quote_name(ProductPlenty._meta.db_table),
        variant=connection.ops.quote_name(Variant._meta.db_table),
    )


def stock_live_rows(rows: Iterable[Sequence[Any]]) -> LiveStock:
    scarce: dict[int, StockLevel] = {}
    variants: dict[int, StockLevel] = {}
    for product_id, variant_id, units, threshold in rows:
        level = StockLevel(int(units), int(threshold))
        if variant_id:
            variants[variant_id] = level
        else:
            scarce[product_id] = level
    return LiveStock(scarce, variants)


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


@dataclass(frozen=True)
class StockAlerts:
    """Active products' variants sold out or at their low-stock threshold, worst first."""

    sold_out: int
    low: int
    variants: list[Variant]


def variant_stock_alerts(*, brand_ids: Collection[int] | None, limit: int = 10) -> StockAlerts:
    """Counts of sold-out and low variants of the brands' active products (None: every
    brand), and the `limit` with the fewest units available, product and brand loaded.
    Two queries."""
    if brand_ids is not None and not brand_ids:
        return StockAlerts(sold_out=0, low=0, variants=[])
    alerting = Variant.objects.filter(product__status=Product.Status.ACTIVE).filter(
        ~in_stock_filter() | low_stock_filter()
    )
    if brand_ids is not None:
        alerting = alerting.filter(product__brand_id__in=list(brand_ids))
    counts = alerting.aggregate(
        sold_out=Count("pk", filter=~in_stock_filter()), low=Count("pk", filter=low_stock_filter())
    )
    worst = (
        alerting.select_related("product__brand")
        .annotate(units_left=F("on_hand") - F("reserved"))
        .order_by("units_left", "product__title", "pk")[:limit]
    )
    return StockAlerts(sold_out=counts["sold_out"], low=counts["low"], variants=list(worst))
