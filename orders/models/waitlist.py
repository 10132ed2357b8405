"""Waitlist entries, the restocks they are notified for, and each notification sent."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from shop.models import Variant


class WaitlistEntry(models.Model):
    """One shopper waiting for one variant; the attribution of the link they came from."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        NOTIFIED = "notified", "Notified"
        PURCHASED = "purchased", "Purchased"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"

    ACTIVE_STATUSES = (Status.WAITING, Status.NOTIFIED)

    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="+")
    email = models.EmailField()
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.WAITING, db_index=True
    )
    # The attribution claims of the link the shopper came from (creators' ids, not keys),
    # so a fresh token can be issued at notification time whatever the original's age.
    attribution_kind = models.CharField(max_length=20, blank=True)
    attribution_click_id = models.CharField(max_length=64, blank=True)
    attribution_link_id = models.PositiveBigIntegerField(null=True, blank=True)
    attribution_creator_id = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("created_at", "id")
        verbose_name_plural = "waitlist entries"
        constraints = [
            models.UniqueConstraint(fields=["variant", "email"], name="waitlist_entry_unique_email")
        ]
        indexes = [
            models.Index(
                fields=["variant", "created_at", "id"],
                name="waitlist_entry_queue",
                condition=Q(status__in=["waiting", "notified"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} for {self.variant_id} ({self.status})"


class WaitlistRestock(models.Model):
    """One return of stock for a variant; closed when it sells out again."""

    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="+")
    sequence = models.PositiveIntegerField()
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("variant_id", "sequence")
        constraints = [
            models.UniqueConstraint(
                fields=["variant", "sequence"], name="waitlist_restock_unique_sequence"
            ),
            models.UniqueConstraint(
                fields=["variant"],
                condition=Q(closed_at__isnull=True),
                name="waitlist_restock_one_open",
            ),
        ]

    def __str__(self) -> str:
        return f"restock {self.sequence} of {self.variant_id}"


class WaitlistNotification(models.Model):
    """One shopper told of one restock: never twice (the database says so)."""

    entry = models.ForeignKey(WaitlistEntry, on_delete=models.CASCADE, related_name="notifications")
    restock = models.ForeignKey(
        WaitlistRestock, on_delete=models.CASCADE, related_name="notifications"
    )
    attribution_token = models.TextField(blank=True)
    created_at = models.DateTimeField()
    # The shopper holds a place until then; afterwards the next in line may be told.
    lapses_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("id",)
        constraints = [
            models.UniqueConstraint(
                fields=["entry", "restock"], name="waitlist_notification_once_per_restock"
            )
        ]

    def __str__(self) -> str:
        return f"{self.entry_id} @ {self.restock_id}"
