"""Orders' tables and their invariants (constraints); no workflows.

- this module   carts and their codes, orders with their purchase snapshots, order lines, shipping,
                stock reservations, the order's audit events
- fulfilment    each brand's part of an order, its shipments and shipped lines
- refunds       refunds and their lines
- disputes      chargebacks of an order's charge, their per-line shares and evidence files
- notifications the emails sent (one claimed key each)
- webhooks      brands' outbound webhook endpoints and deliveries
- alerts        sell-out alerts for creators and their emails
- waitlist      waitlist entries, restocks and notifications

Every model is importable from `orders.models`.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from shop.models import Brand, Product, Variant


def new_token() -> str:
    return secrets.token_urlsafe(32)


class Cart(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ORDERED = "ordered", "Ordered"
        MERGED = "merged", "Merged"

    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="carts",
    )
    currency = models.CharField(max_length=3, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    # Whether any code is applied: a cart without one reads no codes (pricing, checkout).
    has_codes = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-id",)
        indexes = [models.Index(fields=["user", "status"], name="cart_user_status")]

    def __str__(self) -> str:
        return f"cart {self.pk}"


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField()
    attribution_token = models.TextField(blank=True)
    added_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("id",)
        constraints = [
            models.UniqueConstraint(fields=["cart", "variant"], name="cart_line_unique_variant"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="cart_line_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.variant_id}"


class CartCode(models.Model):
    """A code applied to a cart: at most one per brand.

    The code is kept as its normalised text (orders never depend on creators' tables) and
    looked up again whenever the cart is priced, so a code paused meanwhile stops applying.
    """

    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="codes")
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+")
    code = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("brand_id", "id")
        constraints = [
            models.UniqueConstraint(fields=["cart", "brand"], name="cart_code_one_per_brand")
        ]

    def __str__(self) -> str:
        return f"{self.code} on cart {self.cart_id}"


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING_PAYMENT = "pending_payment", "Pending payment"
        PAID = "paid", "Paid"
        EXPIRED = "expired", "Expired"
        CANCELED = "canceled", "Canceled"
        REFUNDED = "refunded", "Refunded"
        PARTIALLY_FULFILLED = "partially_fulfilled", "Partially fulfilled"
        FULFILLED = "fulfilled", "Fulfilled"
        PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"

    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="orders",
    )
    cart = models.ForeignKey(
        Cart, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    checkout_scope = models.CharField(max_length=100)
    checkout_key = models.CharField(max_length=255)
    # Digest of the whole checkout request body; blank on orders from before it was kept.
    checkout_fingerprint = models.CharField(max_length=64, blank=True, default="")
    email = models.EmailField()
    shipping_address = models.JSONField()
    currency = models.CharField(max_length=3)
    items_total = models.DecimalField(max_digits=14, decimal_places=3)
    shipping_total = models.DecimalField(max_digits=14, decimal_places=3)
    # What codes took off the items: grand_total = items_total - discount_total + shipping.
    discount_total = models.DecimalField(max_digits=14, decimal_places=3, default=0)
    grand_total = models.DecimalField(max_digits=14, decimal_places=3)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING_PAYMENT, db_index=True
    )
    reservation_expires_at = models.DateTimeField(db_index=True)
    stripe_payment_intent_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    stripe_client_secret = models.CharField(max_length=255, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    # Reserved by refunds in flight plus refunded: never more than the order's total.
    refunded_total = models.DecimalField(max_digits=14, decimal_places=3, default=0)
    # Risk signals for the card-testing defence and the creator fraud rules, for staff only:
    # salted hashes of the client IP, the app's device id and the normalised shipping address
    # at checkout, and the paying card's fingerprint (Stripe's, the same for the same card)
    # once paid.
    client_ip_hash = models.CharField(max_length=64, blank=True, default="")
    device_hash = models.CharField(max_length=64, blank=True, default="")
    shipping_hash = models.CharField(max_length=64, blank=True, default="")
    card_fingerprint = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["checkout_scope", "checkout_key"], name="order_checkout_key_unique"
            ),
            models.CheckConstraint(
                condition=Q(items_total__gte=0) & Q(shipping_total__gte=0) & Q(grand_total__gte=0),
                name="order_totals_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(discount_total__gte=0) & Q(discount_total__lte=F("items_total")),
                name="order_discount_within_items",
            ),
            models.CheckConstraint(
                condition=Q(refunded_total__gte=0) & Q(refunded_total__lte=F("grand_total")),
                name="order_refunds_within_total",
            ),
        ]
        # Paid orders are read by when they were paid: the brand dashboard, settlements.
        indexes = [
            models.Index(fields=["paid_at"], name="order_paid_at"),
            # The fraud rules look orders up by device and by card.
            models.Index(
                fields=["device_hash"], name="order_device_hash", condition=~Q(device_hash="")
            ),
            models.Index(
                fields=["shipping_hash"], name="order_shipping_hash", condition=~Q(shipping_hash="")
            ),
            models.Index(
                fields=["card_fingerprint"],
                name="order_card_fingerprint",
                condition=~Q(card_fingerprint=""),
            ),
        ]

    def __str__(self) -> str:
        return f"Order #{self.pk}"


class OrderLine(models.Model):
    """What was bought, snapshotted at purchase: later catalog edits never change it."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=64)
    title = models.CharField(max_length=512)
    options = models.JSONField(default=dict)
    unit_price = models.DecimalField(max_digits=14, decimal_places=3)
    quantity = models.PositiveIntegerField()
    # What the shopper pays for the line: list_total less its share of a code's discount.
    # Commission and refunds are computed on it.
    line_total = models.DecimalField(max_digits=14, decimal_places=3)
    list_total = models.DecimalField(
        max_digits=14, decimal_places=3, null=True, blank=True, help_text="unit price x quantity"
    )
    discount_amount = models.DecimalField(max_digits=14, decimal_places=3, default=0)
    # The code and discount that took it off (shop's discount id: a snapshot, not a key).
    discount_code = models.CharField(max_length=40, blank=True)
    discount_id = models.PositiveBigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    open_rate = models.DecimalField(max_digits=5, decimal_places=2)
    attribution_token = models.TextField(blank=True)
    # The attribution snapshot (creators' ids, not foreign keys: orders never depend on
    # creators' tables) and its receipt: which link and click, which rule, which rate, why.
    attributed_creator_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)
    attributed_link_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)
    commission_rate = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    attribution = models.JSONField(default=dict, blank=True)
    # The order's paid_at, written with it: a link's pace (the viral rate lock, read by
    # every checkout through the link) counts its own paid lines from one index range,
    # not every paid order of the platform joined to every line of the link.
    order_paid_at = models.DateTimeField(null=True, blank=True, editable=False)
    # After payment: what refunds hold (in flight or done) and what has shipped. The
    # constraints are the last word: no code path can refund more than was paid.
    refunded_amount = models.DecimalField(max_digits=14, decimal_places=3, default=0)
    refunded_quantity = models.PositiveIntegerField(default=0)
    shipped_quantity = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("id",)
        indexes = [
            models.Index(
                fields=["attributed_link_id", "order_paid_at"],
                include=["order_id"],
                condition=Q(order_paid_at__isnull=False),
                name="order_line_link_paid",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="order_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0) & Q(line_total__gte=0),
                name="order_line_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(discount_amount__gte=0), name="order_line_discount_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0) & Q(refunded_amount__lte=F("line_total")),
                name="order_line_refunds_within_paid",
            ),
            models.CheckConstraint(
                condition=Q(refunded_quantity__lte=F("quantity")),
                name="order_line_refunded_quantity_within",
            ),
            models.CheckConstraint(
                condition=Q(shipped_quantity__lte=F("quantity")),
                name="order_line_shipped_quantity_within",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"


class OrderShipping(models.Model):
    """Shipping charged for one brand's lines of an order."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipping_lines")
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(max_digits=14, decimal_places=3)
    refunded_amount = models.DecimalField(max_digits=14, decimal_places=3, default=0)

    class Meta:
        ordering = ("id",)
        constraints = [
            models.UniqueConstraint(fields=["order", "brand"], name="order_shipping_unique_brand"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="order_shipping_not_negative"),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0) & Q(refunded_amount__lte=F("amount")),
                name="order_shipping_refunds_within_paid",
            ),
        ]

    def __str__(self) -> str:
        return f"shipping {self.brand_id} on {self.order_id}"


class StockReservation(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        RELEASED = "released", "Released"
        CONVERTED = "converted", "Sold"

    order_line = models.OneToOneField(
        OrderLine, on_delete=models.CASCADE, related_name="reservation"
    )
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField()
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("id",)
        indexes = [
            models.Index(
                fields=["variant", "expires_at"],
                name="reservation_active_expiry",
                condition=Q(status="active"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.variant_id} ({self.status})"


class LinkPaidHour(models.Model):
    """How many distinct orders were paid through a link in one hour (UTC) of their payment.

    A link's pace (`orders.selectors.link_pace`, read by every checkout through the link)
    counted the link's paid orders of the last eight days from their lines on each
    checkout, so a viral link's checkouts cost more with every sale. It now sums these
    hours and counts live only the parts of hours at its windows' edges.

    Database triggers (migration 0013) keep the counts in the writer's statement, on every
    write path of the order lines: from each (order, link, hour) a statement touches, by
    whether the order has a paid line through the link in that hour before and after it, so
    an order paid with two lines through one link counts once, however its lines are
    written. Django never writes these rows.
    """

    link_id = models.PositiveBigIntegerField()
    hour_start = models.DateTimeField()
    orders = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["link_id", "hour_start"], name="link_paid_hour_unique")
        ]

    def __str__(self) -> str:
        return f"link {self.link_id} at {self.hour_start:%Y-%m-%d %H}:00: {self.orders}"


class OrderEvent(models.Model):
    """The audit trail: every state change and every payment fact about an order."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=50)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("id",)

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind}"


# The other concerns' models live in the modules beside this one; importing them here
# registers them with the app.
from orders.models.alerts import SellOutAlert, SellOutAlertEmail  # noqa: E402
from orders.models.disputes import Dispute, DisputeEvidenceFile, DisputeLine  # noqa: E402
from orders.models.fulfilment import Fulfilment, Shipment, ShipmentLine  # noqa: E402
from orders.models.notifications import Notification  # noqa: E402
from orders.models.refunds import Refund, RefundLine  # noqa: E402
from orders.models.waitlist import (  # noqa: E402
    WaitlistEntry,
    WaitlistNotification,
    WaitlistRestock,
)
from orders.models.webhooks import BrandWebhookEndpoint, WebhookDelivery  # noqa: E402

__all__ = [
    "BrandWebhookEndpoint",
    "Cart",
    "CartCode",
    "CartLine",
    "Dispute",
    "DisputeEvidenceFile",
    "DisputeLine",
    "Fulfilment",
    "LinkPaidHour",
    "Notification",
    "Order",
    "OrderEvent",
    "OrderLine",
    "OrderShipping",
    "Refund",
    "RefundLine",
    "SellOutAlert",
    "SellOutAlertEmail",
    "Shipment",
    "ShipmentLine",
    "StockReservation",
    "WaitlistEntry",
    "WaitlistNotification",
    "WaitlistRestock",
    "WebhookDelivery",
]
