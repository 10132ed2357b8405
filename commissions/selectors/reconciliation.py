"""The ledger reconciliation's scan: every order line's due commission against the ledger.

One statement per side, set-based in PostgreSQL (no Python loop over lines): the order lines
a commission is due on (paid, credited, with a rate), each with its succeeded refunds and the
sum of its ledger lines, keeping only those where the ledger differs from what the one formula
(commissions.amounts) says it should hold; then the ledger lines of order lines no
commission is due on at all, whose sum is not zero. Rows are plain dicts, as the ledger keeps
order ids as integers.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, Exists, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from commissions.amounts import ledger_due_sql
from commissions.models import CommissionLine
from orders.models import OrderLine, Refund, RefundLine

ZERO = Value(Decimal(0), output_field=DecimalField(max_digits=20, decimal_places=3))


def _due_lines(order_line_ids: Iterable[int] | None) -> Any:
    lines = OrderLine.objects.filter(
        order__paid_at__isnull=False,
        attributed_creator_id__isnull=False,
        commission_rate__isnull=False,
    )
    if order_line_ids is not None:
        lines = lines.filter(pk__in=list(order_line_ids))
    return lines


def commission_ledger_differences(
    *, order_line_ids: Iterable[int] | None = None
) -> list[dict[str, Any]]:
    """Order lines whose ledger differs from the commission due on them (all, or these).

    Each row: `order_line_id`, `order_id`, `currency`, `base`, `rate`, `refunded`, `due` (what
    the ledger should hold), `ledger` (what it holds), `has_commission` (a commission line
    exists). Two queries.
    """
    ids = None if order_line_ids is None else list(order_line_ids)
    refunded = (
        RefundLine.objects.filter(
            order_line_id=OuterRef("pk"), refund__status=Refund.Status.SUCCEEDED
        )
        .order_by()
        .values("order_line_id")
        .annotate(s=Sum("amount"))
        .values("s")
    )
    ledger = (
        CommissionLine.objects.filter(order_line_id=OuterRef("pk"))
        .order_by()
        .values("order_line_id")
        .annotate(s=Sum("amount"))
        .values("s")
    )
    money: DecimalField = DecimalField(max_digits=20, decimal_places=3)
    due = (
        _due_lines(ids)
        .annotate(
            refunded=Coalesce(Subquery(refunded, output_field=money), ZERO, output_field=money),
            ledger=Coalesce(Subquery(ledger, output_field=money), ZERO, output_field=money),
            has_commission=Exists(
                CommissionLine.objects.filter(
                    order_line_id=OuterRef("pk"), kind=CommissionLine.Kind.COMMISSION
                )
            ),
        )
        .annotate(
            due=ledger_due_sql(base="line_total", rate="commission_rate", refunded="refunded"),
        )
        .filter(~Q(ledger=F("due")))
        .order_by("pk")
        .values(
            "order_id",
            "currency",
            "refunded",
            "due",
            "ledger",
            "has_commission",
            order_line_id=F("pk"),
            base=F("line_total"),
            rate=F("commission_rate"),
        )
    )
    rows: list[dict[str, Any]] = list(due)
    # Ledger lines of order lines no commission is due on (never credited, never paid).
    stray = (
        CommissionLine.objects.exclude(
            Exists(_due_lines(None).filter(pk=OuterRef("order_line_id")))
        )
        .order_by()
        .values("order_line_id", "order_id", "currency")
        .annotate(ledger=Sum("amount"))
        .exclude(ledger=0)
        .order_by("order_line_id")
    )
    if ids is not None:
        stray = stray.filter(order_line_id__in=ids)
    for row in stray:
        rows.append(
            {
                **row,
                "refunded": Decimal(0),
                "due": Decimal(0),
                "has_commission": True,
                "base": Decimal(0),
                "rate": None,
            }
        )
    return rows
