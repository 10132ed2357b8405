from django.db import models


class IdempotencyRecord(models.Model):
    """The first response to a creating POST, replayed for repeats of the same key."""

    scope = models.CharField(max_length=100)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_unique_scope_key")
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"


# The outbox's tables live in common (the bottom of the app chain) so every app can record.
from common.outbox.models import OutboxDelivery, OutboxEvent  # noqa: E402

__all__ = ["IdempotencyRecord", "OutboxDelivery", "OutboxEvent"]
