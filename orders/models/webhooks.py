"""Outbound webhooks: brands' endpoints and every delivery made to them (the log)."""

from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Q

from shop.models import Brand

EVENT_TYPES = (
    "order.paid",
    "order.refunded",
    "order.dispute_opened",
    "order.dispute_closed",
    "fulfilment.updated",
    "variant.selling_out",
    "variant.sold_out",
)


def order_subject(order_id: int) -> str:
    """The delivery queue key of an order's events."""
    return f"order:{order_id}"


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class BrandWebhookEndpoint(models.Model):
    """Where a brand's own systems want to hear about its orders and stock, and the secret."""

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+")
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=100, default=new_webhook_secret, editable=False)
    events = models.JSONField(
        default=list, blank=True, help_text="Event types to send; empty means all of them."
    )
    description = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("id",)
        verbose_name = "webhook endpoint"

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return self.is_active and (not self.events or event_type in self.events)


class WebhookDelivery(models.Model):
    """One event for one endpoint, retried until delivered or its window closes.

    An event is about a subject (`order:12`, `variant:34`). Deliveries of the same subject to
    the same endpoint go strictly in id order: a later one waits until the one before it was
    delivered or given up. An event with an `event_key` (`alert:17`) is written at most once
    per endpoint, type and subject, whoever reports it and however often.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(
        BrandWebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+")
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.CASCADE,
        related_name="webhook_deliveries",
        null=True,
        blank=True,
        help_text="The order an order event is about; empty for other subjects.",
    )
    subject = models.CharField(
        max_length=64, help_text="What the event is about, e.g. order:12 or variant:34."
    )
    event_key = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="The fact reported (e.g. alert:17): one delivery per endpoint, type, "
        "subject and key.",
    )
    event_id = models.CharField(max_length=64, unique=True)
    event_type = models.CharField(max_length=50)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # Retries run until window_started_at + WEBHOOK_RETRY_WINDOW; a replay restarts it.
    window_started_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField()
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-id",)
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event_type", "subject", "event_key"],
                condition=~Q(event_key=""),
                name="webhook_delivery_event_once",
            ),
            models.CheckConstraint(
                condition=Q(order__isnull=True) | Q(subject__startswith="order:"),
                name="webhook_delivery_order_subject",
            ),
        ]
        indexes = [
            models.Index(
                fields=["endpoint", "subject", "id"],
                name="webhook_delivery_subject_queue",
                condition=Q(status="pending"),
            ),
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_due",
                condition=Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"
