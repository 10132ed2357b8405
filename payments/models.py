"""Stored inbound Stripe events."""

from __future__ import annotations

from django.db import models


class StripeEvent(models.Model):
    """A verified Stripe webhook event, stored raw; the unique id makes replays no-ops."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        # The table it had in orders: the model moved, the rows did not.
        db_table = "orders_stripeevent"
        ordering = ("-id",)

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"
