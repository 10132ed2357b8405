"""Refunds of paid orders: what was given back, for which lines, and what Stripe made of it.

The amounts themselves are guarded on the rows they come out of (`OrderLine.refunded_amount`,
`OrderShipping.refunded_amount`, `Order.refunded_total`, each checked by the database);
these rows record each refund and how it was spread.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from shop.models import Brand


class Refund(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"  # amounts reserved, Stripe not yet answered
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"  # Stripe refused; the reservation was released

    class Source(models.TextChoices):
        BRAND = "brand", "Brand"  # the brand API or the brand's admin
        DASHBOARD = "dashboard", "Stripe dashboard"

    class Reason(models.TextChoices):
        REQUESTED_BY_CUSTOMER = "requested_by_customer", "Requested by customer"
        DUPLICATE = "duplicate", "Duplicate"
        FRAUDULENT = "fraudulent", "Fraudulent"

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="refunds")
    # The brand that made it; empty for a dashboard refund, which may span brands.
    brand = models.ForeignKey(
        Brand, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    amount = models.DecimalField(max_digits=14, decimal_places=3)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.BRAND)
    reason = models.CharField(max_length=30, choices=Reason.choices, blank=True)
    note = models.TextField(blank=True)
    restock = models.BooleanField(default=False)
    stripe_refund_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    stripe_status = models.CharField(max_length=30, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("id",)
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
        ]
        indexes = [models.Index(fields=["order", "status"], name="refund_order_status")]

    def __str__(self) -> str:
        return f"refund {self.pk} of order {self.order_id}"


class RefundLine(models.Model):
    """One refund's share of one order line or of one brand's shipping."""

    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(
        "orders.OrderLine",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="refund_lines",
    )
    shipping = models.ForeignKey(
        "orders.OrderShipping",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="refund_lines",
    )
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+")
    # Units refunded (they will not ship, or came back); a line refunded in full counts all.
    quantity = models.PositiveIntegerField(default=0)
    # Units put back in stock by this refund.
    restocked = models.PositiveIntegerField(default=0)
    amount = models.DecimalField(max_digits=14, decimal_places=3)

    class Meta:
        ordering = ("id",)
        constraints = [
            models.CheckConstraint(
                condition=(Q(order_line__isnull=False) & Q(shipping__isnull=True))
                | (Q(order_line__isnull=True) & Q(shipping__isnull=False) & Q(quantity=0)),
                name="refund_line_one_target",
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0) & (Q(amount__gt=0) | Q(quantity__gt=0)),
                name="refund_line_refunds_something",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} of refund {self.refund_id}"
