"""Ledger reconciliation: the ledger of every order line against the commission due on it.

The scan (commissions.selectors.reconciliation) compares, set-based in SQL, what each order
line's ledger lines add up to with what the one formula (amounts.py) says is due given what
was paid and refunded. Each difference is corrected by appending to the ledger, never by editing it:

- `commission_missing`: the order was paid and credited, but its commission was never
  recorded (an event lost or not yet handled): the payment's own recording writes it;
- `refund_not_reversed`: a refund the ledger has not reversed: the refund's own reversal
  path appends it (refund id `reconciled:<amount>`);
- `ledger_mismatch` / `ledger_stray`: whatever still differs (a line earning nothing that
  holds money, a wrong amount) gets an `adjustment` line of the difference, its reason in
  its receipt, keyed by the state it corrects so a second run (or a concurrent one) appends
  nothing more.

On a correct ledger it finds nothing. The result (count and sum of the differences per
currency, lines appended) is logged and returned for the admin.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from commissions.models import CommissionLine
from commissions.selectors.reconciliation import commission_ledger_differences
from commissions.services.recording import (
    commission_record_for_orders,
    commissions_reconcile_refunds,
)
from common.money import format_money, quantize

logger = logging.getLogger(__name__)
Kind = CommissionLine.Kind
Status = CommissionLine.Status
ADJUSTMENT_PREFIX = "reconcile:"
# Each reason as people read it; the codes stay in the log.
REASON_WORDS = {
    "commission_missing": "commission never recorded",
    "refund_not_reversed": "refund not reversed",
    "ledger_mismatch": "amount differed",
    "ledger_stray": "ledger lines on a sale that earns nothing",
}


@dataclass(frozen=True)
class CurrencyDifference:
    currency: str
    count: int
    total: Decimal  # due - ledger, summed: what the ledger lacked (negative: held too much)


@dataclass(frozen=True)
class ReconciliationReport:
    differences: list[CurrencyDifference] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)
    appended: int = 0  # ledger lines appended to correct them
    unresolved: list[int] = field(default_factory=list)  # order lines still differing

    @property
    def found(self) -> int:
        return sum(d.count for d in self.differences)

    def summary(self) -> str:
        if not self.found:
            return "Ledger reconciled: no differences."
        per_currency = ", ".join(
            f"{d.count} in {d.currency} ({quantize(d.total, d.currency):+f})"
            for d in self.differences
        )
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(self.reasons.items()))
        text = (
            f"Ledger reconciled: {self.found} order lines differed, {per_currency}; "
            f"{self.appended} correcting lines appended ({reasons})."
        )
        if self.unresolved:
            text += f" Unresolved order lines: {self.unresolved[:20]}."
        return text

    def in_words(self) -> str:
        """The summary as people read it (the admin): reasons in words, money with symbols."""
        if not self.found:
            return "Ledger reconciled: no differences."
        per_currency = ", ".join(
            f"{d.count} in {d.currency} ({_signed_money(d.total, d.currency)})"
            for d in self.differences
        )
        reasons = ", ".join(
            f"{REASON_WORDS.get(k, k)}: {v}" for k, v in sorted(self.reasons.items())
        )
        text = (
            f"Ledger reconciled: {self.found} order lines differed, {per_currency}; "
            f"{self.appended} correcting lines appended ({reasons})."
        )
        if self.unresolved:
            shown = ", ".join(str(pk) for pk in self.unresolved[:20])
            text += f" Order lines still differing: {shown}."
        return text


def _signed_money(amount: Decimal, currency: str) -> str:
    sign = "-" if amount < 0 else "+"
    return f"{sign}{format_money(abs(amount), currency)}"


def _by_currency(rows: list[dict[str, Any]]) -> list[CurrencyDifference]:
    counts: dict[str, int] = defaultdict(int)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        counts[row["currency"]] += 1
        totals[row["currency"]] += row["due"] - row["ledger"]
    return [CurrencyDifference(code, counts[code], totals[code]) for code in sorted(counts)]


def _reason(row: dict[str, Any], seen_refunded: dict[int, Decimal]) -> str:
    if row["rate"] is None:
        return "ledger_stray"
    if not row["has_commission"]:
        return "commission_missing"
    if row["refunded"] > seen_refunded.get(row["order_line_id"], Decimal(0)):
        return "refund_not_reversed"
    return "ledger_mismatch"


def _refunds_seen(order_line_ids: list[int]) -> dict[int, Decimal]:
    from django.db.models import Max

    return dict(
        CommissionLine.objects.filter(order_line_id__in=order_line_ids, kind=Kind.REVERSAL)
        .values("order_line_id")
        .annotate(seen=Max("refunded_to_date"))
        .values_list("order_line_id", "seen")
    )


def ledger_reconcile(
    *, order_line_ids: Iterable[int] | None = None, now: datetime | None = None
) -> ReconciliationReport:
    """Find every order line whose ledger differs from its due commission and correct it."""
    now = now or timezone.now()
    rows = commission_ledger_differences(order_line_ids=order_line_ids)
    if not rows:
        logger.info("ledger reconciliation: no differences")
        return ReconciliationReport()
    ids = [row["order_line_id"] for row in rows]
    seen = _refunds_seen(ids)
    reasons: dict[str, int] = defaultdict(int)
    for row in rows:
        reasons[_reason(row, seen)] += 1
    before = CommissionLine.objects.filter(order_line_id__in=ids).count()
    # The ordinary paths first, so the ledger reads as if the lost event had arrived.
    missing = sorted({row["order_id"] for row in rows if not row["has_commission"]})
    if missing:
        commission_record_for_orders(order_ids=missing)
    commissions_reconcile_refunds(order_line_ids=ids, now=now)
    _adjust(ids, now)
    appended = CommissionLine.objects.filter(order_line_id__in=ids).count() - before
    left = [row["order_line_id"] for row in commission_ledger_differences(order_line_ids=ids)]
    report = ReconciliationReport(
        differences=_by_currency(rows),
        reasons=dict(reasons),
        appended=appended,
        unresolved=left,
    )
    log = logger.warning if left else logger.info
    log(
        "ledger reconciliation: %s",
        report.summary(),
        extra={
            "differences": {d.currency: [d.count, f"{d.total:f}"] for d in report.differences},
            "appended": appended,
        },
    )
    return report


def _adjust(order_line_ids: list[int], now: datetime) -> None:
    """Append an adjustment for what still differs, under the lines' commission locks."""
    with transaction.atomic(durable=True):
        anchors: dict[int, CommissionLine] = {}
        for line in (
            CommissionLine.objects.select_for_update()
            .filter(order_line_id__in=order_line_ids)
            .order_by("order_line_id", "pk")
        ):
            # The commission line when there is one (it is the first), else any.
            anchors.setdefault(line.order_line_id, line)
        for row in commission_ledger_differences(order_line_ids=order_line_ids):
            anchor = anchors.get(row["order_line_id"])
            if anchor is None:
                continue  # nothing to hang it on (no creator was recorded): reported
            _adjustment(row, anchor, now)


def _adjustment(row: dict[str, Any], anchor: CommissionLine, now: datetime) -> None:
    currency = anchor.currency
    due, ledger = row["due"], row["ledger"]
    pending = anchor.status == Status.PENDING and anchor.kind == Kind.COMMISSION
    line = CommissionLine(
        kind=Kind.ADJUSTMENT,
        status=Status.PENDING if pending else Status.APPROVED,
        creator_id=anchor.creator_id,
        link_id=anchor.link_id,
        brand_id=anchor.brand_id,
        order_id=anchor.order_id,
        order_line_id=anchor.order_line_id,
        refund_id=f"{ADJUSTMENT_PREFIX}{ledger.normalize():f}>{due.normalize():f}",
        currency=currency,
        base=Decimal(0),
        rate=anchor.rate,
        amount=due - ledger,
        receipt={
            "reason": "ledger_stray" if row["rate"] is None else "ledger_mismatch",
            "due": format(quantize(due, currency), "f"),
            "ledger_before": format(quantize(ledger, currency), "f"),
            "paid": format(quantize(row["base"], currency), "f"),
            "refunded": format(quantize(row["refunded"], currency), "f"),
            "formula": "due = commission(paid) - reversed(refunded); amount = due - ledger",
            "why": "The ledger differed from the commission due on this line: corrected.",
        },
        earned_at=now,
        payable_at=anchor.payable_at if pending else now,
        approved_at=None if pending else now,
    )
    try:
        with transaction.atomic():
            line.save(force_insert=True)
    except IntegrityError:
        pass  # a concurrent run appended the same correction
