"""Brands' discounts and the uses checkouts hold on them."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q


class Discount(models.Model):
    """A brand's discount: reachable only through a code (creators' CreatorCode)."""

    class Kind(models.TextChoices):
        PERCENTAGE = "percentage", "Percentage"
        FIXED = "fixed", "Fixed amount"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"

    brand = models.ForeignKey("shop.Brand", on_delete=models.CASCADE, related_name="discounts")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    value = models.DecimalField(
        max_digits=14,
        decimal_places=3,
        help_text="Percent off (0-100] for a percentage; the amount off, in the brand's "
        "currency, for a fixed discount.",
    )
    applies_to_all = models.BooleanField(
        default=True,
        help_text="The whole brand; otherwise only the chosen products and collections.",
    )
    products = models.ManyToManyField("shop.Product", blank=True, related_name="+")
    collections = ArrayField(
        models.CharField(max_length=100),
        default=list,
        blank=True,
        help_text="The brand's collections (product categories) it applies to, with the "
        "chosen products: a product in any of them is included, as it is when added later.",
    )
    minimum_subtotal = models.DecimalField(
        max_digits=14,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="The brand's lines in the cart must reach this amount.",
    )
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    max_uses = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: no cap.")
    max_uses_per_shopper = models.PositiveIntegerField(null=True, blank=True)
    # Uses held by unpaid checkouts plus uses paid for; only the conditional UPDATE in
    # `discount_use_reserve` raises it, so it never passes max_uses.
    uses = models.PositiveIntegerField(default=0, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-id",)
        constraints = [
            models.CheckConstraint(condition=Q(value__gt=0), name="discount_value_positive"),
            models.CheckConstraint(
                condition=~Q(kind="percentage") | Q(value__lte=100),
                name="discount_percentage_at_most_100",
            ),
            models.CheckConstraint(
                condition=Q(max_uses__isnull=True) | Q(uses__lte=F("max_uses")),
                name="discount_uses_within_cap",
            ),
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True)
                | Q(ends_at__isnull=True)
                | Q(ends_at__gt=F("starts_at")),
                name="discount_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(minimum_subtotal__isnull=True) | Q(minimum_subtotal__gte=0),
                name="discount_minimum_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def value_decimal(self) -> Decimal:
        return Decimal(self.value)


class DiscountUse(models.Model):
    """One checkout's use of a discount: held with the order, released if it never pays."""

    class Status(models.TextChoices):
        HELD = "held", "Held"
        RELEASED = "released", "Released"

    discount = models.ForeignKey(Discount, on_delete=models.CASCADE, related_name="uses_made")
    code = models.CharField(max_length=40)
    # The order's id (shop never depends on orders' tables).
    order_id = models.PositiveBigIntegerField(db_index=True)
    email = models.CharField(max_length=254, help_text="Normalised: trimmed, lower-case.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.HELD)
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("id",)
        constraints = [
            models.UniqueConstraint(
                fields=["discount", "order_id"], name="discount_use_once_per_order"
            )
        ]
        indexes = [
            models.Index(fields=["discount", "email"], name="discount_use_shopper"),
            models.Index(fields=["code"], name="discount_use_code"),
        ]

    def __str__(self) -> str:
        return f"{self.code} on order {self.order_id}"
