"""The creator's side of the ledger: lines, balances by status and currency, payouts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Count, Min, OuterRef, Q, QuerySet, Sum

from commissions import conf
from commissions.models import CommissionLine, Payout, PayoutAccount
from commissions.selectors.holds import held_order_line, open_holds
from common.money import quantize
from creators.models import Creator

Status = CommissionLine.Status
PAID = Payout.Status.PAID


def commission_line_queryset(*, creator: Creator) -> QuerySet[CommissionLine]:
    """The creator's ledger, newest first, with link, video and brand loaded.

    Each line carries `open_hold_reasons`, the reason codes of its open holds (what a creator
    may see of a hold), sorted, in the same query.
    """
    return (
        CommissionLine.objects.filter(creator=creator)
        .select_related("link", "brand")
        .annotate(
            open_hold_reasons=ArraySubquery(
                open_holds().filter(line_id=OuterRef("pk")).order_by("reason").values("reason")
            )
        )
    )


def payout_queryset(*, creator: Creator) -> QuerySet[Payout]:
    """The creator's payouts, newest first, each with the number of ledger lines it paid."""
    return Payout.objects.filter(creator=creator).annotate(line_count=Count("lines"))


@dataclass
class Balance:
    """One currency's balance: the sum of the lines in each status, and what happens next."""

    currency: str
    pending: Decimal = Decimal(0)
    approved: Decimal = Decimal(0)
    under_review: Decimal = Decimal(0)
    in_payouts: Decimal = Decimal(0)
    paid_out: Decimal = Decimal(0)
    next_payable_at: datetime | None = None
    payout_minimum: Decimal = field(default=Decimal(0))

    @property
    def payable_now(self) -> bool:
        return self.approved >= self.payout_minimum


def commission_balances(*, creator: Creator) -> list[Balance]:
    """Balances by currency (ordered by code), summed in one query; voided lines add nothing.

    `approved` may be negative after a clawback: it nets against the next earnings.
    `under_review` counts unpaid lines held back by an open commission hold (a dispute, a
    fraud rule), which `pending` and `approved` leave out.
    `in_payouts` counts lines in payouts still being sent; `paid_out` those whose payout was
    paid (money the creator has), so a paid payout leaves `in_payouts`.
    """
    rows = (
        CommissionLine.objects.filter(creator=creator)
        .exclude(status=Status.VOIDED)
        .annotate(held=held_order_line())
        .values("currency")
        .annotate(
            pending=Sum("amount", filter=Q(status=Status.PENDING, held=False)),
            approved=Sum("amount", filter=Q(status=Status.APPROVED, held=False)),
            under_review=Sum(
                "amount", filter=Q(status__in=[Status.PENDING, Status.APPROVED], held=True)
            ),
            in_payouts=Sum("amount", filter=Q(status=Status.PAID) & ~Q(payout__status=PAID)),
            paid_out=Sum("amount", filter=Q(status=Status.PAID, payout__status=PAID)),
            next_payable_at=Min(
                "payable_at", filter=Q(status=Status.PENDING, kind=CommissionLine.Kind.COMMISSION)
            ),
        )
        .order_by("currency")
    )
    balances = []
    for row in rows:
        code = row["currency"]
        balances.append(
            Balance(
                currency=code,
                pending=quantize(row["pending"] or 0, code),
                approved=quantize(row["approved"] or 0, code),
                under_review=quantize(row["under_review"] or 0, code),
                in_payouts=quantize(row["in_payouts"] or 0, code),
                paid_out=quantize(row["paid_out"] or 0, code),
                next_payable_at=row["next_payable_at"],
                payout_minimum=conf.payout_minimum(code),
            )
        )
    return balances


def payout_account_get(*, creator: Creator) -> PayoutAccount | None:
    return PayoutAccount.objects.filter(creator=creator).first()
