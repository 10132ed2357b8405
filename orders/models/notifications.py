"""What the shopper and the brands have been told, so a retried task never tells twice."""

from __future__ import annotations

from django.db import models


class Notification(models.Model):
    """One email (or message) per key, e.g. `order:12:confirmation`; sent_at once delivered."""

    key = models.CharField(max_length=200, unique=True)
    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, related_name="notifications"
    )
    recipients = models.JSONField(default=list, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("id",)

    def __str__(self) -> str:
        return self.key
