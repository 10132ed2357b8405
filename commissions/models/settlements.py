"""Brand statements per period and currency, their lines and the payments of their dues."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q

from commissions.models.ledger import CURRENCY_ISO, CommissionLine
from commissions.models.payouts import OutboundTransfer
from shop.models import Brand


class Settlement(models.Model):
    """What Tribe owes a brand for one period in one currency: gross sales - codes' discounts -
    refunds - creator commissions - the platform fee - disputes - dispute fees. Written once,
    never edited."""

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="settlements")
    period_start = models.DateTimeField()
    period_end = models.DateTimeField(help_text="Exclusive.")
    currency = models.CharField(max_length=3)
    gross = models.DecimalField(
        max_digits=14, decimal_places=3, help_text="Paid lines at list price, and shipping."
    )
    discounts = models.DecimalField(
        max_digits=14,
        decimal_places=3,
        default=Decimal(0),
        help_text="What codes took off the paid lines' list price.",
    )
    refunds = models.DecimalField(max_digits=14, decimal_places=3)
    commissions = models.DecimalField(
        max_digits=14, decimal_places=3, help_text="Commissions earned less reversals."
    )
    platform_fee_percent = models.DecimalField(max_digits=5, decimal_places=2)
    platform_fee = models.DecimalField(max_digits=14, decimal_places=3)
    disputes = models.DecimalField(
        max_digits=14,
        decimal_places=3,
        default=Decimal(0),
        help_text="The brand's share of disputed amounts taken back by banks, less reinstated.",
    )
    dispute_fees = models.DecimalField(
        max_digits=14,
        decimal_places=3,
        default=Decimal(0),
        help_text="The brand's share of Stripe's dispute fees, less any returned.",
    )
    amount_due = models.DecimalField(
        max_digits=14,
        decimal_places=3,
        help_text="What Tribe owes the brand; negative when the brand owes Tribe.",
    )
    carried_in = models.DecimalField(
        max_digits=14,
        decimal_places=3,
        default=Decimal(0),
        help_text="The debt of the brand's previous period in this currency, netted here "
        "(zero or negative).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "creators_settlement"
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
                    - models.F("discounts")
                    - models.F("refunds")
                    - models.F("commissions")
                    - models.F("platform_fee")
                    - models.F("disputes")
                    - models.F("dispute_fees")
                ),
                name="settlement_adds_up_with_disputes",
            ),
            models.CheckConstraint(condition=CURRENCY_ISO, name="settlement_currency_iso"),
            models.CheckConstraint(
                condition=Q(carried_in__lte=0), name="settlement_carried_in_is_debt"
            ),
        ]

    def __str__(self) -> str:
        return f"settlement {self.brand_id} {self.period_start:%Y-%m-%d} {self.currency}"

    @property
    def payable(self) -> Decimal:
        """What this settlement pays: its amount due less the debt carried in; below zero,
        nothing is paid and the rest is carried into the next period."""
        return self.amount_due + self.carried_in


class SettlementLine(models.Model):
    """One entry of a settlement, signed as it moves what the brand is owed."""

    class Kind(models.TextChoices):
        SALE = "sale", "Sale"
        DISCOUNT = "discount", "Discount"
        SHIPPING = "shipping", "Shipping"
        REFUND = "refund", "Refund"
        COMMISSION = "commission", "Creator commission"
        REVERSAL = "reversal", "Commission reversal"
        PLATFORM_FEE = "platform_fee", "Platform fee"
        DISPUTE = "dispute", "Disputed (taken back by the bank)"
        DISPUTE_REINSTATED = "dispute_reinstated", "Dispute won (reinstated)"
        DISPUTE_FEE = "dispute_fee", "Dispute fee"
        DISPUTE_FEE_RETURNED = "dispute_fee_returned", "Dispute fee returned"

    settlement = models.ForeignKey(Settlement, on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    order_id = models.PositiveBigIntegerField(null=True, blank=True)
    order_line_id = models.PositiveBigIntegerField(null=True, blank=True)
    refund_id = models.PositiveBigIntegerField(null=True, blank=True)
    dispute_id = models.PositiveBigIntegerField(null=True, blank=True)
    commission_line = models.ForeignKey(
        CommissionLine, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    occurred_at = models.DateTimeField(null=True, blank=True)
    amount = models.DecimalField(max_digits=14, decimal_places=3)

    class Meta:
        db_table = "creators_settlementline"
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
        db_table = "creators_settlementpayout"
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
