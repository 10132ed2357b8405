"""Sell-out alerts: one open alert per variant, and the emails sent about each."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import models
from django.db.models import Q

from shop.models import Brand, Variant


class SellOutAlert(models.Model):
    """A variant projected to sell out soon; resolved when it is restocked.

    `link_ids` and `creator_ids` are the links (and their creators) that drove the sales of
    the window it was raised from: they are emailed, and see it under their stats.
    """

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="+")
    units_last_hour = models.PositiveIntegerField()
    available_at_alert = models.PositiveIntegerField()
    minutes_to_sell_out = models.DecimalField(max_digits=10, decimal_places=1)
    # Creators' ids (not keys: orders never depend on creators' tables).
    link_ids = models.JSONField(default=list, blank=True)
    creator_ids = models.JSONField(default=list, blank=True)
    opened_at = models.DateTimeField(db_index=True)
    # Set by the scan that first finds the variant with nothing available while open.
    sold_out_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-opened_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["variant"],
                condition=Q(resolved_at__isnull=True),
                name="sellout_alert_one_open_per_variant",
            )
        ]

    def __str__(self) -> str:
        return f"sell-out alert {self.pk} for {self.variant_id}"

    @property
    def projected_sell_out_at(self) -> datetime:
        """When the variant sells out if it keeps the pace it was alerted at."""
        return self.opened_at + timedelta(minutes=float(self.minutes_to_sell_out))


class SellOutAlertEmail(models.Model):
    """One email per alert and recipient key (`brand`, `creator:<id>`), sent once."""

    alert = models.ForeignKey(SellOutAlert, on_delete=models.CASCADE, related_name="emails")
    key = models.CharField(max_length=50)
    recipients = models.JSONField(default=list, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("id",)
        constraints = [
            models.UniqueConstraint(fields=["alert", "key"], name="sellout_alert_email_once")
        ]

    def __str__(self) -> str:
        return f"{self.alert_id} {self.key}"
