"""Per-brand fulfilment of paid orders: each brand ships its own lines, with tracking."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from shop.models import Brand


class Fulfilment(models.Model):
    """One brand's part of a paid order: its lines, its shipments, where they stand."""

    class Status(models.TextChoices):
        UNFULFILLED = "unfulfilled", "Unfulfilled"
        PARTIALLY_SHIPPED = "partially_shipped", "Partially shipped"
        SHIPPED = "shipped", "Shipped"
        DELIVERED = "delivered", "Delivered"
        # Everything was refunded before anything shipped: nothing left to do.
        CANCELED = "canceled", "Canceled"

    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="fulfilments")
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.UNFULFILLED, db_index=True
    )
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-id",)
        verbose_name = "brand order"
        verbose_name_plural = "brand orders (order desk)"
        constraints = [
            models.UniqueConstraint(fields=["order", "brand"], name="fulfilment_unique_brand"),
        ]

    def __str__(self) -> str:
        return f"Order #{self.order_id}"


class Shipment(models.Model):
    fulfilment = models.ForeignKey(Fulfilment, on_delete=models.CASCADE, related_name="shipments")
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="shipments")
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+")
    carrier = models.CharField(max_length=100)
    tracking_number = models.CharField(max_length=100, blank=True)
    tracking_url = models.URLField(max_length=500, blank=True)
    shipped_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("id",)
        constraints = [
            # A tracking number is recorded once per fulfilment: a re-sent import is a no-op.
            models.UniqueConstraint(
                fields=["fulfilment", "carrier", "tracking_number"],
                condition=~Q(tracking_number=""),
                name="shipment_tracking_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number}".strip()


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(
        "orders.OrderLine", on_delete=models.PROTECT, related_name="shipment_lines"
    )
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ("id",)
        constraints = [
            models.UniqueConstraint(fields=["shipment", "order_line"], name="shipment_line_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="shipment_line_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x line {self.order_line_id}"
