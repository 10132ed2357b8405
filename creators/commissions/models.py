"""Commission tables: brand terms, the append-only ledger, payout accounts and payouts,
brand settlements and their payouts.

Imported at the end of creators/models.py, so they belong to the creators app. The ledger
keeps order ids as plain integers: commissions read orders only through orders.ledger_selectors.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from creators.commissions.conf import DEFAULT_HOLD_DAYS, MAX_HOLD_DAYS
from creators.models import AffiliateLink, Creator
from shop.models import Brand

RATE_VALIDATORS = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))]
CURRENCY_ISO = Q(currency__regex=r"^[A-Z]{3}$")


class CommissionTerms(models.Model):
    """A brand's commission terms: how long a sale is held before its commission is payable."""

    brand = models.OneToOneField(Brand, on_delete=models.CASCADE, related_name="commission_terms")
    hold_days = models.PositiveSmallIntegerField(
        default=DEFAULT_HOLD_DAYS,
        validators=[MinValueValidator(0), MaxValueValidator(MAX_HOLD_DAYS)],
        help_text="Days after payment before a commission may be paid out (returns window). "
        "Changes apply to sales made afterwards.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "commission terms"
        verbose_name_plural = "commission terms"
        constraints = [
            models.CheckConstraint(
                condition=Q(hold_days__gte=0) & Q(hold_days__lte=MAX_HOLD_DAYS),
                name="commission_terms_hold_0_120",
            )
        ]

    def __str__(self) -> str:
        return f"{self.brand_id}: {self.hold_days} days"


class CommissionLine(models.Model):
    """One entry of the ledger. Amount, rate and base never change after insert (a database
    trigger refuses it, and any delete); only status, approval and payout move."""

    class Kind(models.TextChoices):
        COMMISSION = "commission", "Commission"
        REVERSAL = "reversal", "Reversal"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending (in hold)"
        APPROVED = "approved", "Approved (payable)"
        PAID = "paid", "Paid"
        VOIDED = "voided", "Void (refunded in hold)"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    creator = models.ForeignKey(Creator, on_delete=models.PROTECT, related_name="commissions")
    link = models.ForeignKey(
        AffiliateLink, on_delete=models.PROTECT, null=True, blank=True, related_name="commissions"
    )
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+")
    order_id = models.PositiveBigIntegerField()
    order_line_id = models.PositiveBigIntegerField()
    refund_id = models.CharField(
        max_length=255, blank=True, help_text="The refund a reversal answers; empty otherwise."
    )
    currency = models.CharField(max_length=3)
    base = models.DecimalField(
        max_digits=14,
        decimal_places=3,
        help_text="Commission: the line's paid amount, shipping excluded. Reversal: the part "
        "of it refunded since the previous reversal, negative.",
    )
    rate = models.DecimalField(max_digits=5, decimal_places=2, validators=RATE_VALIDATORS)
    amount = models.DecimalField(max_digits=14, decimal_places=3)
    refunded_to_date = models.DecimalField(
        max_digits=14,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Reversal: the line's refunds so far, which this reversal brings the ledger to.",
    )
    receipt = models.JSONField(default=dict, blank=True)
    earned_at = models.DateTimeField(help_text="When the order was paid, or the refund seen.")
    payable_at = models.DateTimeField()
    approved_at = models.DateTimeField(null=True, blank=True)
    payout = models.ForeignKey(
        "creators.Payout", on_delete=models.PROTECT, null=True, blank=True, related_name="lines"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-id",)
        constraints = [
            models.UniqueConstraint(
                fields=["order_line_id", "kind", "refund_id"], name="commission_line_unique"
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind="commission", refund_id="", amount__gte=0, base__gte=0)
                    | (Q(kind="reversal", amount__lte=0, base__lte=0) & ~Q(refund_id=""))
                ),
                name="commission_line_kind_signs",
            ),
            models.CheckConstraint(
                condition=Q(status="paid", payout__isnull=False)
                | (~Q(status="paid") & Q(payout__isnull=True)),
                name="commission_line_paid_has_payout",
            ),
            models.CheckConstraint(
                condition=Q(rate__gte=0) & Q(rate__lte=100), name="commission_line_rate_0_100"
            ),
            models.CheckConstraint(condition=CURRENCY_ISO, name="commission_line_currency_iso"),
        ]
        indexes = [
            models.Index(
                fields=["payable_at", "id"],
                name="commission_pending_due",
                condition=Q(status="pending", kind="commission"),
            ),
            models.Index(fields=["creator", "currency", "status"], name="commission_balance"),
            models.Index(fields=["creator", "-id"], name="commission_creator_recent"),
            models.Index(fields=["brand", "status"], name="commission_brand_status"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency} (line {self.order_line_id})"


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


class Settlement(models.Model):
    """What Tribe owes a brand for one period in one currency: gross sales - refunds -
    creator commissions - the platform fee. Written once, never edited."""

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="settlements")
    period_start = models.DateTimeField()
    period_end = models.DateTimeField(help_text="Exclusive.")
    currency = models.CharField(max_length=3)
    gross = models.DecimalField(max_digits=14, decimal_places=3)
    refunds = models.DecimalField(max_digits=14, decimal_places=3)
    commissions = models.DecimalField(
        max_digits=14, decimal_places=3, help_text="Commissions earned less reversals."
    )
    platform_fee_percent = models.DecimalField(max_digits=5, decimal_places=2)
    platform_fee = models.DecimalField(max_digits=14, decimal_places=3)
    amount_due = models.DecimalField(
        max_digits=14,
        decimal_places=3,
        help_text="What Tribe owes the brand; negative when the brand owes Tribe.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-period_start", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["brand", "period_start", "period_end", "currency"],
                name="settlement_unique_period",
            ),
            models.CheckConstraint(
                condition=Q(period_end__gt=models.F("period_start")),
                name="settlement_period_forward",
            ),
            models.CheckConstraint(
                condition=Q(
                    amount_due=models.F("gross")
                    - models.F("refunds")
                    - models.F("commissions")
                    - models.F("platform_fee")
                ),
                name="settlement_adds_up",
            ),
            models.CheckConstraint(condition=CURRENCY_ISO, name="settlement_currency_iso"),
        ]

    def __str__(self) -> str:
        return f"settlement {self.brand_id} {self.period_start:%Y-%m-%d} {self.currency}"


class SettlementLine(models.Model):
    """One entry of a settlement, signed as it moves what the brand is owed."""

    class Kind(models.TextChoices):
        SALE = "sale", "Sale"
        SHIPPING = "shipping", "Shipping"
        REFUND = "refund", "Refund"
        COMMISSION = "commission", "Creator commission"
        REVERSAL = "reversal", "Commission reversal"
        PLATFORM_FEE = "platform_fee", "Platform fee"

    settlement = models.ForeignKey(Settlement, on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    order_id = models.PositiveBigIntegerField(null=True, blank=True)
    order_line_id = models.PositiveBigIntegerField(null=True, blank=True)
    refund_id = models.PositiveBigIntegerField(null=True, blank=True)
    commission_line = models.ForeignKey(
        CommissionLine, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    occurred_at = models.DateTimeField(null=True, blank=True)
    amount = models.DecimalField(max_digits=14, decimal_places=3)

    class Meta:
        ordering = ("id",)
        indexes = [models.Index(fields=["settlement", "kind"], name="settlement_line_kind")]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} (settlement {self.settlement_id})"


class SettlementPayout(OutboundTransfer):
    """One attempt to pay a settlement's amount due to the brand.

    At most one attempt per settlement is in flight or paid (a database constraint); a
    failed one stays, with its reason, and a retry is a new attempt. Every attempt of a
    settlement shares its transfer group, so a retry finds a transfer an earlier one made.
    """

    settlement = models.ForeignKey(Settlement, on_delete=models.PROTECT, related_name="payouts")

    class Meta:
        ordering = ("-id",)
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="settlement_payout_amount_positive"
            ),
            models.CheckConstraint(condition=CURRENCY_ISO, name="settlement_payout_currency_iso"),
            models.UniqueConstraint(
                fields=["settlement"],
                condition=~Q(status="failed"),
                name="settlement_payout_one_live",
            ),
            models.UniqueConstraint(
                fields=["provider", "reference"],
                condition=~Q(reference=""),
                name="settlement_payout_reference_unique",
            ),
        ]
        indexes = [
            models.Index(
                fields=["lease_until"],
                name="settlement_payout_in_flight",
                condition=Q(status__in=["pending", "processing"]),
            ),
        ]

    def __str__(self) -> str:
        return f"settlement payout {self.pk} {self.amount} {self.currency} ({self.status})"
