"""Where money goes: a creator's or a brand's Stripe Connect account, or the bank."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from creators.models import Creator
from shop.models import Brand


class ConnectedAccount(models.Model):
    """Where money goes: a Stripe Connect account, or the bank (manual, paid from a CSV)."""

    class Provider(models.TextChoices):
        STRIPE = "stripe", "Stripe Connect"
        MANUAL = "manual", "Bank transfer (CSV export)"

    class Status(models.TextChoices):
        ONBOARDING = "onboarding", "Onboarding"
        READY = "ready", "Ready"
        RESTRICTED = "restricted", "Restricted"

    provider = models.CharField(max_length=20, choices=Provider.choices, default=Provider.STRIPE)
    stripe_account_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ONBOARDING)
    payouts_enabled = models.BooleanField(default=False)
    details_submitted = models.BooleanField(default=False)
    disabled_reason = models.CharField(max_length=100, blank=True)
    currently_due = models.JSONField(default=list, blank=True)
    bank_reference = models.CharField(
        max_length=200, blank=True, help_text="Manual payouts: how the bank identifies the payee."
    )
    synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class PayoutAccount(ConnectedAccount):
    """Where a creator's money goes: a Stripe Connect Express account, or the bank (manual)."""

    creator = models.OneToOneField(Creator, on_delete=models.CASCADE, related_name="payout_account")

    class Meta:
        db_table = "creators_payoutaccount"
        constraints = [
            models.CheckConstraint(
                condition=~Q(provider="stripe") | Q(stripe_account_id__isnull=False),
                name="payout_account_stripe_has_id",
            )
        ]

    def __str__(self) -> str:
        return f"{self.creator_id} {self.provider} ({self.status})"


class BrandPayoutAccount(ConnectedAccount):
    """Where Tribe pays a brand's settlements: its Stripe Connect account, or its bank.

    Managed by the platform in the admin, which connects it at Stripe and hands the brand the
    onboarding link; a Stripe account's status then follows Stripe's `account.updated`
    events, as a creator's does. A manual (bank) account is made ready by hand.
    """

    brand = models.OneToOneField(Brand, on_delete=models.CASCADE, related_name="payout_account")

    class Meta:
        db_table = "creators_brandpayoutaccount"
        constraints = [
            # Added first, then connected at Stripe from the admin; only then can it be ready.
            models.CheckConstraint(
                condition=~Q(status="ready", provider="stripe")
                | Q(stripe_account_id__isnull=False),
                name="brand_payout_account_ready_stripe_has_id",
            )
        ]

    def __str__(self) -> str:
        return f"brand {self.brand_id} {self.provider} ({self.status})"
