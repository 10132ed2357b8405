"""Brand settlements: per brand, period and currency, what Tribe owes the brand, line by line.

gross (paid lines at list price and shipping, by paid date) - discounts (what codes took off
those lines) - refunds (by the date they succeeded) - creator commissions (ledger lines by
`earned_at`, reversals included, whatever their status: a voided commission and its
reversals net to zero) - the platform fee (a percentage of gross less discounts and refunds,
`COMMISSION_PLATFORM_FEE_PERCENT`) - disputes (the brand's share of what banks took back, by
the date the dispute opened, less what a won dispute reinstated, by the date it closed) -
dispute fees (Stripe's, the brand's deduction, less any returned) = the amount due. Every
amount is rounded to the currency's precision line by line, so the lines add up to the
totals exactly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from commissions.models import CommissionLine, Settlement, SettlementLine
from common.errors import ApplicationError
from common.money import normalize_currency, quantize
from shop.models import Brand

Kind = SettlementLine.Kind


class InvalidSettlementPeriod(ApplicationError):
    code = "invalid_settlement_period"


def platform_fee_percent() -> Decimal:
    return Decimal(str(getattr(settings, "COMMISSION_PLATFORM_FEE_PERCENT", "5.00")))


@dataclass(frozen=True)
class Entry:
    """One source amount, positive as it happened (a sale, a refund, a commission)."""

    kind: str
    amount: Decimal
    order_id: int | None = None
    order_line_id: int | None = None
    refund_id: int | None = None
    dispute_id: int | None = None
    commission_line_id: int | None = None
    at: datetime | None = None


@dataclass
class Statement:
    currency: str
    fee_percent: Decimal
    gross: Decimal = Decimal(0)
    discounts: Decimal = Decimal(0)
    refunds: Decimal = Decimal(0)
    commissions: Decimal = Decimal(0)
    platform_fee: Decimal = Decimal(0)
    disputes: Decimal = Decimal(0)
    dispute_fees: Decimal = Decimal(0)
    lines: list[tuple[Entry, Decimal]] = field(default_factory=list)  # (entry, signed amount)

    @property
    def amount_due(self) -> Decimal:
        return (
            self.gross
            - self.discounts
            - self.refunds
            - self.commissions
            - self.platform_fee
            - self.disputes
            - self.dispute_fees
        )


def settlement_compute(
    *, currency: str, entries: Iterable[Entry], fee_percent: Decimal
) -> Statement:
    """The pure arithmetic of one statement: totals and signed lines that add up exactly."""
    code = normalize_currency(currency)
    statement = Statement(currency=code, fee_percent=fee_percent)
    for entry in entries:
        amount = quantize(entry.amount, code)
        if entry.kind in (Kind.SALE, Kind.SHIPPING):
            statement.gross += amount
            statement.lines.append((entry, amount))
        elif entry.kind == Kind.DISCOUNT:
            statement.discounts += amount
            statement.lines.append((entry, -amount))
        elif entry.kind == Kind.REFUND:
            statement.refunds += amount
            statement.lines.append((entry, -amount))
        elif entry.kind in (Kind.COMMISSION, Kind.REVERSAL):
            statement.commissions += amount  # a reversal's amount is negative
            statement.lines.append((entry, -amount))
        elif entry.kind in (Kind.DISPUTE, Kind.DISPUTE_REINSTATED):
            signed = amount if entry.kind == Kind.DISPUTE else -amount
            statement.disputes += signed
            statement.lines.append((entry, -signed))
        elif entry.kind in (Kind.DISPUTE_FEE, Kind.DISPUTE_FEE_RETURNED):
            signed = amount if entry.kind == Kind.DISPUTE_FEE else -amount
            statement.dispute_fees += signed
            statement.lines.append((entry, -signed))
        else:
            raise ValueError(f"Unknown settlement entry kind {entry.kind!r}.")
    net = statement.gross - statement.discounts - statement.refunds
    fee = quantize(net * fee_percent / 100, code)
    statement.platform_fee = fee
    statement.lines.append((Entry(kind=Kind.PLATFORM_FEE, amount=fee), -fee))
    return statement


def _entries(brand_id: int, start: datetime, end: datetime) -> dict[str, list[Entry]]:
    from commissions.selectors.order_lines import (
        brand_disputes_in_period,
        brand_refunds_in_period,
        brand_sales_in_period,
    )

    by_currency: dict[str, list[Entry]] = defaultdict(list)
    for row in brand_sales_in_period(brand_id=brand_id, start=start, end=end):
        by_currency[row["currency"]].append(
            Entry(
                kind=row["kind"],
                amount=row["amount"],
                order_id=row["order_id"],
                order_line_id=row["order_line_id"],
                at=row["at"],
            )
        )
        if row["discount"]:
            by_currency[row["currency"]].append(
                Entry(
                    kind=Kind.DISCOUNT,
                    amount=row["discount"],
                    order_id=row["order_id"],
                    order_line_id=row["order_line_id"],
                    at=row["at"],
                )
            )
    for row in brand_refunds_in_period(brand_id=brand_id, start=start, end=end):
        by_currency[row["currency"]].append(
            Entry(
                kind=Kind.REFUND,
                amount=row["amount"],
                order_id=row["order_id"],
                order_line_id=row["order_line_id"],
                refund_id=row["refund_id"],
                at=row["at"],
            )
        )
    for row in brand_disputes_in_period(brand_id=brand_id, start=start, end=end):
        by_currency[row["currency"]].append(
            Entry(
                kind=row["kind"],
                amount=row["amount"],
                order_id=row["order_id"],
                order_line_id=row["order_line_id"],
                dispute_id=row["dispute_id"],
                at=row["at"],
            )
        )
    ledger = CommissionLine.objects.filter(
        brand_id=brand_id, earned_at__gte=start, earned_at__lt=end
    ).order_by("earned_at", "pk")
    for line in ledger.values(
        "pk", "kind", "amount", "currency", "order_id", "order_line_id", "earned_at"
    ):
        by_currency[line["currency"]].append(
            Entry(
                kind=Kind.COMMISSION
                if line["kind"] == CommissionLine.Kind.COMMISSION
                else Kind.REVERSAL,
                amount=line["amount"],
                order_id=line["order_id"],
                order_line_id=line["order_line_id"],
                commission_line_id=line["pk"],
                at=line["earned_at"],
            )
        )
    return by_currency


def settlement_create(
    *, brand: Brand, period_start: datetime, period_end: datetime
) -> list[Settlement]:
    """The brand's settlements for [period_start, period_end), one per currency with activity.

    Idempotent: a period already settled returns the settlements written the first time.
    """
    if period_end <= period_start:
        raise InvalidSettlementPeriod("The period must end after it starts.")
    existing = _existing(brand, period_start, period_end)
    if existing:
        return existing
    fee_percent = platform_fee_percent()
    statements = [
        settlement_compute(currency=code, entries=entries, fee_percent=fee_percent)
        for code, entries in sorted(_entries(brand.pk, period_start, period_end).items())
    ]
    try:
        with transaction.atomic(durable=True):
            for statement in statements:
                _write(brand, period_start, period_end, statement)
    except IntegrityError:
        # A concurrent run settled the same period first: theirs stands.
        pass
    return _existing(brand, period_start, period_end)


def _existing(brand: Brand, start: datetime, end: datetime) -> list[Settlement]:
    return list(
        Settlement.objects.filter(brand=brand, period_start=start, period_end=end).order_by(
            "currency"
        )
    )


def _debt_before(brand: Brand, start: datetime, currency: str) -> Decimal:
    """What the brand's latest earlier settlement in this currency left unpaid (its debt)."""
    previous = (
        Settlement.objects.filter(brand=brand, currency=currency, period_end__lte=start)
        .order_by("-period_end", "-pk")
        .first()
    )
    return min(previous.payable, Decimal(0)) if previous is not None else Decimal(0)


def _write(brand: Brand, start: datetime, end: datetime, statement: Statement) -> Settlement:
    settlement = Settlement.objects.create(
        brand=brand,
        period_start=start,
        period_end=end,
        currency=statement.currency,
        gross=statement.gross,
        discounts=statement.discounts,
        refunds=statement.refunds,
        commissions=statement.commissions,
        platform_fee_percent=statement.fee_percent,
        platform_fee=statement.platform_fee,
        disputes=statement.disputes,
        dispute_fees=statement.dispute_fees,
        amount_due=statement.amount_due,
        carried_in=_debt_before(brand, start, statement.currency),
    )
    SettlementLine.objects.bulk_create(
        SettlementLine(
            settlement=settlement,
            kind=entry.kind,
            order_id=entry.order_id,
            order_line_id=entry.order_line_id,
            refund_id=entry.refund_id,
            dispute_id=entry.dispute_id,
            commission_line_id=entry.commission_line_id,
            occurred_at=entry.at,
            amount=amount,
        )
        for entry, amount in statement.lines
    )
    return settlement


def settlement_lines_csv_rows(settlements: Iterable[Settlement]) -> list[list[Any]]:
    """Header and rows of the settlements' lines, for the brand's CSV export."""
    rows: list[list[Any]] = [
        [
            "settlement",
            "period_start",
            "period_end",
            "currency",
            "kind",
            "order",
            "order_line",
            "refund",
            "commission_line",
            "occurred_at",
            "amount",
        ]
    ]
    for settlement in settlements:
        for line in settlement.lines.all():
            rows.append(
                [
                    settlement.pk,
                    settlement.period_start.isoformat(),
                    settlement.period_end.isoformat(),
                    settlement.currency,
                    line.kind,
                    line.order_id or "",
                    line.order_line_id or "",
                    line.refund_id or "",
                    line.commission_line_id or "",
                    line.occurred_at.isoformat() if line.occurred_at else "",
                    quantize(line.amount, settlement.currency),
                ]
            )
        rows.append(
            [
                settlement.pk,
                settlement.period_start.isoformat(),
                settlement.period_end.isoformat(),
                settlement.currency,
                "amount_due",
                "",
                "",
                "",
                "",
                "",
                quantize(settlement.amount_due, settlement.currency),
            ]
        )
    return rows
