"""Shop's tables and their invariants (constraints); no workflows.

- this module  brands, their members, products, images, variants, the stock ledger
               (StockMovement) and the catalog's stored list entries (ProductListing)
- feeds        brands' inventory feeds and their sync runs
- discounts    brands' discounts and the uses checkouts hold on them

Every model is importable from `shop.models`.
"""

from __future__ import annotations

import zoneinfo
from decimal import Decimal
from functools import cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

RATE_VALIDATORS = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))]


def validate_timezone_name(value: str) -> None:
    """A time zone name the tz database knows ("Europe/Paris"), not an offset or a guess."""
    if value not in available_timezone_names():
        raise ValidationError(
            "Choose a time zone by its name, such as Europe/Paris.", code="invalid_timezone"
        )


@cache
def available_timezone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class Brand(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    currency = models.CharField(max_length=3, default="USD", help_text="ISO 4217 code.")
    timezone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_timezone_name],
        help_text="Where the brand works (e.g. Europe/Paris): its staff see the admin's times, "
        "the dashboard's days and the settlement periods in it.",
    )
    default_commission_rate = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("10.00"),
        validators=RATE_VALIDATORS,
        help_text="Percent of a line's paid amount creators earn unless a product says otherwise.",
    )
    description = models.TextField(blank=True)
    website = models.URLField(blank=True)
    contact_name = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField(blank=True)
    contact_phone = models.CharField(max_length=50, blank=True)
    logo_url = models.URLField(blank=True)
    shipping_flat_rate = models.DecimalField(
        max_digits=14,
        decimal_places=3,
        default=Decimal("0"),
        help_text="Shipping charged once per order for this brand's lines.",
    )
    free_shipping_threshold = models.DecimalField(
        max_digits=14,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Shipping is free when this brand's lines reach this amount; empty means never.",
    )
    is_active = models.BooleanField(default=True)
    attribution_window_days = models.PositiveSmallIntegerField(
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text="A sale is credited to the last creator link clicked within this many days.",
    )
    code_credit_over_link = models.BooleanField(
        default=True,
        help_text="When a shopper used one creator's code and followed another creator's "
        "link, the code's creator is credited; otherwise the link's.",
    )
    open_to_creators = models.BooleanField(
        default=True,
        help_text="Any creator may tag and link the active products; otherwise invitation only.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name", "id")
        constraints = [
            models.CheckConstraint(
                condition=Q(default_commission_rate__gte=0) & Q(default_commission_rate__lte=100),
                name="brand_rate_between_0_and_100",
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="brand_currency_iso"
            ),
            models.CheckConstraint(
                condition=Q(shipping_flat_rate__gte=0), name="brand_shipping_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(free_shipping_threshold__isnull=True)
                | Q(free_shipping_threshold__gte=0),
                name="brand_free_shipping_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class BrandMember(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        MANAGER = "manager", "Manager"
        VIEWER = "viewer", "Viewer"

    WRITE_ROLES = (Role.OWNER, Role.MANAGER)

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="brand_memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("brand_id", "id")
        constraints = [
            models.UniqueConstraint(fields=["brand", "user"], name="brand_member_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.brand} ({self.role})"

    @property
    def can_write(self) -> bool:
        return self.role in self.WRITE_ROLES


class Product(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        ARCHIVED = "archived", "Archived"

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="products")
    title = models.CharField(max_length=255)
    slug = models.SlugField(max_length=255)
    description = models.TextField(blank=True)
    category = models.CharField(max_length=100, blank=True, db_index=True)
    tags = models.JSONField(default=list, blank=True)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    commission_rate = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=RATE_VALIDATORS,
        help_text="The open rate every creator gets, in percent; empty means the brand's default.",
    )
    units_sold = models.PositiveIntegerField(
        default=0, editable=False, help_text="Paid units, kept by the stock service on each sale."
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    lowest_price = models.DecimalField(
        max_digits=14,
        decimal_places=3,
        null=True,
        editable=False,
        help_text=(
            "The lowest price of the product's variants, kept by database triggers (migration "
            "0008) so lists order and filter by price from an index."
        ),
    )

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(fields=["brand", "slug"], name="product_slug_unique_per_brand"),
            models.CheckConstraint(
                condition=Q(commission_rate__isnull=True)
                | (Q(commission_rate__gte=0) & Q(commission_rate__lte=100)),
                name="product_rate_between_0_and_100",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "brand"], name="product_status_brand"),
            # The public list ordered by price, and its cursor's tie-break.
            models.Index(
                fields=["lowest_price", "id"],
                condition=Q(status="active"),
                name="product_active_price",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def open_rate(self) -> Decimal:
        """The commission rate (percent) every creator gets on this product."""
        if self.commission_rate is not None:
            return self.commission_rate
        return self.brand.default_commission_rate


class ProductImage(models.Model):
    """An image given by URL (with its size), or uploaded and stored through the storage API.

    An uploaded image keeps its original in `file` and a resized copy per width in
    `renditions` ({"200": "<storage name>"}); `url`, `width` and `height` then describe the
    original, so every reader of images works the same for both kinds.
    """

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    url = models.URLField(max_length=1000)
    file = models.FileField(max_length=300, blank=True, help_text="The uploaded original.")
    renditions = models.JSONField(
        default=dict, blank=True, help_text="Resized copies of an upload: width -> storage name."
    )
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    alt = models.CharField(max_length=255, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ("position", "id")
        constraints = [
            models.CheckConstraint(
                condition=Q(width__gt=0) & Q(height__gt=0), name="image_dimensions_positive"
            )
        ]

    def __str__(self) -> str:
        return self.url


# The most units of one variant on hand, and of one stock change. Both well inside
# PostgreSQL's integer, so a level plus any single change can never overflow it.
MAX_ON_HAND = 1_000_000_000


class Variant(models.Model):
    """A purchasable SKU. `available = max(0, on_hand - reserved)`."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField(max_length=64, unique=True)
    title = models.CharField(max_length=255, blank=True)
    options = models.JSONField(
        default=dict, blank=True, help_text='Option values, e.g. {"size": "M", "colour": "red"}.'
    )
    price = models.DecimalField(max_digits=14, decimal_places=3)
    compare_at_price = models.DecimalField(max_digits=14, decimal_places=3, null=True, blank=True)
    on_hand = models.IntegerField(
        default=0, help_text="Units the brand can still ship through Tribe."
    )
    reserved = models.IntegerField(default=0, help_text="Units held by open checkouts.")
    low_stock_threshold = models.PositiveIntegerField(default=5)
    product_low_stock_threshold = models.PositiveIntegerField(
        default=0,
        editable=False,
        help_text=(
            "The largest low-stock threshold of the product's variants, kept by database "
            "triggers (migration 0013): a variant with more units than this is in plenty "
            "(`ProductPlenty`)."
        ),
    )
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("position", "id")
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="variant_price_not_negative"),
            models.CheckConstraint(
                condition=Q(compare_at_price__isnull=True) | Q(compare_at_price__gte=0),
                name="variant_compare_at_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(on_hand__gte=0), name="variant_on_hand_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(reserved__gte=0), name="variant_reserved_not_negative"
            ),
        ]
        indexes = [
            # For the triggers that keep `product_low_stock_threshold`: a product's largest
            # threshold from the index's end, and the variants whose copy of it is stale
            # without reading the others. Stock moves write neither column (HOT updates).
            models.Index(fields=["product", "low_stock_threshold"], name="variant_threshold"),
            models.Index(
                fields=["product", "product_low_stock_threshold"], name="variant_product_threshold"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} ({self.product_id})"

    @property
    def available(self) -> int:
        return max(0, self.on_hand - self.reserved)

    @property
    def currency(self) -> str:
        return self.product.brand.currency


class ProductPlenty(models.Model):
    """How many of a product's variants are in plenty: more units than the largest low-stock
    threshold of the product's variants.

    A product is scarce (its variants' units together no more than that largest threshold,
    or no variant at all) only when none is in plenty, since one in plenty already has more
    units than the threshold. So a page's live stock read (`shop.selectors.stock_live_get`)
    sums the variants of the products with none in plenty only, found through a partial
    index, where it summed every product's variants: an index probe per product shown, on
    every request.

    Database triggers (migration 0013) keep the count in the writer's statement, on every
    write path, from each variant row change's own before and after: it moves when a variant
    crosses the threshold (a reserve takes one of the last units; a restock), is inserted,
    deleted or moved, or when the threshold moves. A stock move that crosses nothing (every
    reserve but one per variant on the way to a sell-out) fires nothing and keeps its HOT
    update. The threshold a variant is compared with is kept on it
    (`Variant.product_low_stock_threshold`). Django never writes these rows.
    """

    product = models.OneToOneField(
        Product,
        on_delete=models.DO_NOTHING,
        primary_key=True,
        db_constraint=False,
        related_name="+",
    )
    variants_in_plenty = models.IntegerField()

    class Meta:
        verbose_name_plural = "product plenty"
        indexes = [
            # The live read: the products that may be scarce, among a page's.
            models.Index(
                fields=["product"],
                condition=Q(variants_in_plenty=0),
                name="product_plenty_none",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.variants_in_plenty} variants in plenty of {self.product_id}"


class ProductListing(models.Model):
    """A product's public list entry as a JSON template, all but its live stock (PostgreSQL only).

    Database triggers (migrations 0006 and 0007) rebuild it in the writer's transaction
    whenever a field it shows changes on the product, its brand, variants or images, so every
    write path (services, admin, CSV import, bulk and raw updates) keeps it current. Stock
    moves too often to be stored here: `shop.catalog_json` fills the template's slots with
    live stock when a page is read.
    """

    product = models.OneToOneField(
        Product, on_delete=models.CASCADE, primary_key=True, related_name="listing"
    )
    template = models.TextField(
        help_text=(
            "The entry's JSON with a %s slot for in_stock and one for each variant's "
            "stock, in list order; every other % is written %%."
        ),
    )

    def __str__(self) -> str:
        return f"listing of {self.product_id}"


class StockMovement(models.Model):
    """One change to a variant's `on_hand`; the level always equals the sum of its movements."""

    class Reason(models.TextChoices):
        INITIAL = "initial", "Initial stock"
        ADMIN_EDIT = "admin_edit", "Admin edit"
        API_ADJUSTMENT = "api_adjustment", "Brand API adjustment"
        FEED_SYNC = "feed_sync", "Inventory feed"
        SALE = "sale", "Sale"
        REFUND_RESTOCK = "refund_restock", "Refund restock"
        CORRECTION = "correction", "Manual correction"
        IMPORT = "import", "CSV import"

    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="movements")
    delta = models.IntegerField()
    reason = models.CharField(max_length=20, choices=Reason.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reference = models.CharField(max_length=255, blank=True)
    on_hand_after = models.IntegerField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=["variant", "created_at"], name="movement_variant_time")]

    def __str__(self) -> str:
        return f"{self.variant_id} {self.delta:+d} ({self.reason})"


from shop.models.discounts import Discount, DiscountUse  # noqa: E402
from shop.models.feeds import InventoryFeed, StockSyncRun  # noqa: E402

__all__ = [
    "Brand",
    "BrandMember",
    "Discount",
    "DiscountUse",
    "InventoryFeed",
    "Product",
    "ProductImage",
    "ProductListing",
    "StockMovement",
    "StockSyncRun",
    "Variant",
]
