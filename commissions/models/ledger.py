"""The ledger: brand commission terms and the append-only commission lines.

They were the creators app's until the commissions app took them: each keeps its table
(`db_table`), so no row moved. The ledger keeps order ids as plain integers: the ledger's
reads of orders live in commissions.selectors.order_lines.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from commissions.conf import DEFAULT_HOLD_DAYS, MAX_HOLD_DAYS
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
    settlement_period_days = models.PositiveSmallIntegerField(
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(92)],
        help_text="Length of the brand's settlement period in days (7: weekly, from Monday).",
    )
    fraud_refund_rate = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=RATE_VALIDATORS,
        help_text="Percent of a creator's orders refunded or disputed above which their new "
        "sales are held for review; empty: the platform's default (COMMISSION_FRAUD_REFUND_RATE).",
    )
    commission_on_list_price = models.BooleanField(
        default=False,
        help_text="Pay commission on the list price of a discounted line instead of what the "
        "shopper paid after a code's discount. Refunds still reverse pro rata of what was "
        "paid. Applies to sales recorded afterwards.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "creators_commissionterms"
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
        # Appended by the ledger reconciliation: what the ledger lacked, either sign.
        ADJUSTMENT = "adjustment", "Reconciliation adjustment"

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
        max_length=255,
        blank=True,
        help_text="The refund a reversal answers, or an adjustment's reconciliation key; empty "
        "for a commission.",
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
        "commissions.Payout", on_delete=models.PROTECT, null=True, blank=True, related_name="lines"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "creators_commissionline"
        ordering = ("-id",)
        constraints = [
            models.UniqueConstraint(
                fields=["order_line_id", "kind", "refund_id"], name="commission_line_unique"
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind="commission", refund_id="", amount__gte=0, base__gte=0)
                    | (Q(kind="reversal", amount__lte=0, base__lte=0) & ~Q(refund_id=""))
                    | (Q(kind="adjustment", base=0) & ~Q(refund_id=""))
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
