"""Approval: commission lines past their hold become payable, in batches, idempotently.

A batch locks the due commission lines it takes (SKIP LOCKED, so two workers share the
work and a reversal being written holds its line back until the next batch), then moves
each order line's pending lines together: approved, or void when the order line was fully
refunded inside the hold, so it never becomes payable. An order line with an open commission
hold (services/holds.py) is left pending until the hold is resolved. Killed mid-batch, a worker's
transaction rolls back and the next run does the batch again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from commissions import conf
from commissions.models import CommissionLine
from commissions.selectors.holds import held_order_line
from commissions.services.recording import commissions_reconcile_refunds

Kind = CommissionLine.Kind
Status = CommissionLine.Status


@dataclass(frozen=True)
class ApprovalBatch:
    approved: int  # lines (commissions and their reversals) now payable
    voided: int  # lines of order lines fully refunded inside the hold
    reconciled: int  # reversals appended from orders' refund data first
    more: bool  # a full batch was taken: there may be more due


def commissions_approve_due(
    *, now: datetime | None = None, batch_size: int | None = None
) -> ApprovalBatch:
    """Approve (or void) one batch of commission lines whose hold has ended."""
    now = now or timezone.now()
    size = batch_size or conf.approve_batch_size()
    # An order line with an open hold (a dispute, a fraud rule) waits until it is resolved.
    due = (
        CommissionLine.objects.filter(
            kind=Kind.COMMISSION, status=Status.PENDING, payable_at__lte=now
        )
        .exclude(held_order_line())
        .order_by("payable_at", "pk")
    )
    candidates = list(due.values_list("order_line_id", flat=True)[:size])
    if not candidates:
        return ApprovalBatch(approved=0, voided=0, reconciled=0, more=False)
    # Refunds orders knows of but the ledger has not seen (an event not yet handled) first.
    reconciled = commissions_reconcile_refunds(order_line_ids=candidates, now=now)
    with transaction.atomic(durable=True):
        taken = list(
            due.filter(order_line_id__in=candidates)
            .select_for_update(skip_locked=True)
            .values_list("order_line_id", "base")
        )
        line_ids = [line_id for line_id, _ in taken]
        refunded = dict(
            CommissionLine.objects.filter(kind=Kind.REVERSAL, order_line_id__in=line_ids)
            .values("order_line_id")
            .annotate(refunded=Max("refunded_to_date"))
            .values_list("order_line_id", "refunded")
        )
        void = {
            line_id
            for line_id, base in taken
            if base > 0 and (refunded.get(line_id) or Decimal(0)) >= base
        }
        pending = CommissionLine.objects.filter(status=Status.PENDING)
        voided = pending.filter(order_line_id__in=void).update(status=Status.VOIDED)
        approved = pending.filter(order_line_id__in=set(line_ids) - void).update(
            status=Status.APPROVED, approved_at=now
        )
    return ApprovalBatch(
        approved=approved, voided=voided, reconciled=reconciled, more=len(candidates) == size
    )
