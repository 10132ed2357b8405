"""Commission holds: a ledger line kept back from approval and payout until staff decide.

A hold names why (`reason`, a stable code such as `dispute` or `fraud_self_dealing`) and
carries the signal data for staff only (`detail`). While any hold on an order line's
commission is open, none of that order line's ledger lines is approved or paid out. A hold is
resolved once: released (the line is payable again) or reversed (its commission taken back).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from commissions.models.ledger import CommissionLine


class CommissionHold(models.Model):
    """One reason a commission line may not be paid yet; at most one open per (line, reason)."""

    # The reason of a hold a card dispute puts on the disputed lines (the fraud rules' own
    # reasons are in commissions/fraud_rules.py).
    DISPUTE = "dispute"

    class Resolution(models.TextChoices):
        RELEASED = "released", "Released (payable again)"
        REVERSED = "reversed", "Reversed (commission taken back)"

    line = models.ForeignKey(CommissionLine, on_delete=models.PROTECT, related_name="holds")
    reason = models.CharField(
        max_length=50, help_text="Stable code shown to the creator: dispute, fraud_self_dealing..."
    )
    detail = models.JSONField(
        default=dict, blank=True, help_text="The signals behind the hold, for staff only."
    )
    amount = models.DecimalField(
        max_digits=14,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="The part of the line's base the hold concerns (a dispute's share); "
        "empty: all of it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=20, choices=Resolution.choices, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ("-id",)
        constraints = [
            models.UniqueConstraint(
                fields=["line", "reason"],
                condition=Q(resolved_at__isnull=True),
                name="commission_hold_one_open_per_reason",
            ),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True, resolution="")
                | (Q(resolved_at__isnull=False) & Q(resolution__in=["released", "reversed"])),
                name="commission_hold_resolution_when_resolved",
            ),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=0),
                name="commission_hold_amount_not_negative",
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="commission_hold_has_reason"),
        ]

    def __str__(self) -> str:
        state = self.resolution or "open"
        return f"hold {self.pk} {self.reason} on line {self.line_id} ({state})"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None
