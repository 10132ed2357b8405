"""Disputes (chargebacks) of an order's charge, and how each is shared over its lines.

A dispute is on the order's charge, which may pay several brands' lines: its amount and its
fee are split over what was left unrefunded on each line and shipping charge when it opened
(largest remainder, so the parts add up exactly) and kept per line (`DisputeLine`), which is
what the ledger holds or reverses and what each brand's settlement deducts.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from shop.models import Brand

OPEN_STATUSES = ("warning_needs_response", "warning_under_review", "needs_response", "under_review")


class Dispute(models.Model):
    """A Stripe dispute of an order's charge, as last fetched from Stripe."""

    class Status(models.TextChoices):
        WARNING_NEEDS_RESPONSE = "warning_needs_response", "Inquiry: needs a response"
        WARNING_UNDER_REVIEW = "warning_under_review", "Inquiry: under review"
        WARNING_CLOSED = "warning_closed", "Inquiry closed"
        NEEDS_RESPONSE = "needs_response", "Needs a response"
        UNDER_REVIEW = "under_review", "Under review"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    WON = ("won", "warning_closed")  # closed with the money kept

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="disputes")
    stripe_dispute_id = models.CharField(max_length=255, unique=True)
    stripe_charge_id = models.CharField(max_length=255)
    amount = models.DecimalField(max_digits=14, decimal_places=3)
    currency = models.CharField(max_length=3)
    fee = models.DecimalField(
        max_digits=14,
        decimal_places=3,
        default=0,
        help_text="Stripe's dispute fees less any reinstated, from its balance transactions.",
    )
    fee_returned = models.DecimalField(
        max_digits=14,
        decimal_places=3,
        default=0,
        help_text="The dispute fees Stripe gave back (a won dispute, in some countries).",
    )
    reinstated = models.DecimalField(
        max_digits=14,
        decimal_places=3,
        default=0,
        help_text="The disputed amount Stripe gave back (a won dispute).",
    )
    status = models.CharField(max_length=30, choices=Status.choices)
    reason = models.CharField(max_length=50, blank=True)
    evidence_due_by = models.DateTimeField(null=True, blank=True)
    evidence_submitted_at = models.DateTimeField(null=True, blank=True)
    evidence_submission_count = models.PositiveIntegerField(default=0)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-id",)
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="dispute_amount_positive"),
            models.CheckConstraint(
                condition=Q(reinstated__gte=0) & Q(reinstated__lte=models.F("amount")),
                name="dispute_reinstated_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True)
                | Q(status__in=["won", "lost", "warning_closed"]),
                name="dispute_closed_has_outcome",
            ),
        ]
        indexes = [
            models.Index(
                fields=["order"], name="dispute_open_by_order", condition=Q(closed_at__isnull=True)
            )
        ]

    def __str__(self) -> str:
        return f"dispute {self.stripe_dispute_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class DisputeLine(models.Model):
    """One line's (or shipping charge's) share of a dispute's amount and fee."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(
        "orders.OrderLine", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    shipping = models.ForeignKey(
        "orders.OrderShipping", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(max_digits=14, decimal_places=3)
    fee = models.DecimalField(
        max_digits=14, decimal_places=3, default=0, help_text="Its share of the net fee."
    )
    fee_returned = models.DecimalField(
        max_digits=14, decimal_places=3, default=0, help_text="Its share of the fee given back."
    )

    class Meta:
        ordering = ("id",)
        constraints = [
            models.CheckConstraint(
                condition=Q(order_line__isnull=False, shipping__isnull=True)
                | Q(order_line__isnull=True, shipping__isnull=False),
                name="dispute_line_line_or_shipping",
            ),
            models.UniqueConstraint(
                fields=["dispute", "order_line"],
                condition=Q(order_line__isnull=False),
                name="dispute_line_once_per_line",
            ),
            models.UniqueConstraint(
                fields=["dispute", "shipping"],
                condition=Q(shipping__isnull=False),
                name="dispute_line_once_per_shipping",
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0), name="dispute_line_amount_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} of dispute {self.dispute_id}"


class DisputeEvidenceFile(models.Model):
    """A file uploaded to Stripe's Files API as evidence, and who sent it."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="files")
    stripe_file_id = models.CharField(max_length=255, unique=True)
    evidence_field = models.CharField(max_length=50)
    filename = models.CharField(max_length=255)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("id",)

    def __str__(self) -> str:
        return f"{self.filename} ({self.stripe_file_id})"
