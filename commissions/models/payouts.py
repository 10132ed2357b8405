"""Money sent once through a payout provider, and a creator's payouts."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from commissions.models.accounts import ConnectedAccount
from commissions.models.ledger import CURRENCY_ISO
from creators.models import Creator


class OutboundTransfer(models.Model):
    """Money sent once through a payout provider: claimed with a lease, sent outside any
    transaction, and recorded; a refusal fails it, an unknown outcome sends it again."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending (not sent yet)"
        PROCESSING = "processing", "Processing"
        PAID = "paid", "Paid"
        FAILED = "failed", "Failed"

    currency = models.CharField(max_length=3)
    amount = models.DecimalField(max_digits=14, decimal_places=3)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    provider = models.CharField(max_length=20, choices=ConnectedAccount.Provider.choices)
    destination = models.CharField(max_length=255, blank=True)
    reference = models.CharField(
        max_length=255, blank=True, help_text="The Stripe transfer id, or the bank's reference."
    )
    attempts = models.PositiveIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    failure_code = models.CharField(max_length=100, blank=True)
    failure_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Payout(OutboundTransfer):
    """A creator's approved balance in one currency, sent as one transfer."""

    creator = models.ForeignKey(Creator, on_delete=models.PROTECT, related_name="payouts")

    class Meta:
        db_table = "creators_payout"
        ordering = ("-id",)
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payout_amount_positive"),
            models.CheckConstraint(condition=CURRENCY_ISO, name="payout_currency_iso"),
            models.UniqueConstraint(
                fields=["provider", "reference"],
                condition=~Q(reference=""),
                name="payout_reference_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["creator", "-id"], name="payout_creator_recent"),
            models.Index(
                fields=["lease_until"],
                name="payout_in_flight",
                condition=Q(status__in=["pending", "processing"]),
            ),
        ]

    def __str__(self) -> str:
        return f"payout {self.pk} {self.amount} {self.currency} ({self.status})"
