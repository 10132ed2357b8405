"""The outbox's tables: an event recorded in its writer's transaction, a delivery per handler."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class OutboxEvent(models.Model):
    """A fact others react to (`orders.order_paid`), written in the transaction that made it."""

    name = models.CharField(max_length=100)
    # Optional: the same (name, key) is recorded once however often its writer runs.
    key = models.CharField(max_length=200, blank=True, default="")
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["name", "key"], condition=~Q(key=""), name="outbox_event_unique_key"
            )
        ]
        indexes = [models.Index(fields=["created_at"], name="outbox_event_created")]

    def __str__(self) -> str:
        return f"{self.name} #{self.pk}"


class OutboxDelivery(models.Model):
    """One handler's receipt for one event: pending until its effect commits with it."""

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        DONE = "done", "done"

    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    handler = models.CharField(max_length=150)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    # When the sweep may (re)dispatch it if nothing else has finished it by then.
    next_attempt_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "outbox deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["event", "handler"], name="outbox_delivery_unique_event_handler"
            ),
            models.CheckConstraint(
                condition=Q(status="done", done_at__isnull=False)
                | Q(status="pending", done_at__isnull=True),
                name="outbox_delivery_done_has_time",
            ),
        ]
        indexes = [
            # Both stay as small as the backlog: only undelivered rows are indexed.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(done_at__isnull=True),
                name="outbox_delivery_due",
            ),
            models.Index(
                fields=["created_at"],
                condition=Q(done_at__isnull=True),
                name="outbox_delivery_undelivered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.handler} of event #{self.event_id}"
