"""Commission holds: keep ledger lines back from payout until they are released or reversed.

API (every function joins the caller's transaction when there is one, so outbox handlers and
fraud rules can hold lines inside their own; called alone, each is one short transaction):

- `commission_lines_hold(*, line_ids, reason, detail=None, amounts=None, now=None)
  -> list[CommissionHold]`: open a hold with the stable `reason` code on the order lines of
  these ledger lines (the hold sits on each order line's commission line). Idempotent: a line
  that already has an open hold with this reason keeps it (and its detail), and it is
  returned. `detail` is for staff only; `amounts` maps a line id to the part of its base the
  hold concerns (a dispute's share), the whole base when absent. Unknown ids: `NotFound`
  (`commission_line_not_found`), nothing written.
- `commission_hold_release(*, hold_id, actor=None, now=None) -> CommissionHold`: resolve the
  hold as released. Once no hold on the order line is open, its lines are approved by the
  next approval batch (if their hold period ended) and paid in the next payout, once.
- `commission_hold_reverse(*, hold_id, actor=None, now=None) -> CommissionHold`: resolve it
  as reversed and take the commission back exactly once, through the refund reversal path
  (a reversal line keyed `hold:<id>`, cumulative with the line's refunds): a commission not
  paid yet and now taken back whole is voided with its other unpaid lines; one already paid
  gets a payable reversal, netted against the creator's next payout (the balance may go
  negative).

Releasing a released hold, or reversing a reversed one, returns it unchanged; resolving it
the other way is refused (`hold_already_resolved`, 409). While any hold on an order line is
open, none of its lines is approved or paid out (approval.py, payouts.py), and the
reconciliation counts what reversed holds took back as refunded.

Locks: the creator, then the commission line (payout grouping locks the creator first, so a
hold and a payout of the same creator never pass each other).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.audit import Action as AuditAction
from accounts.audit import audit_record
from commissions.errors import HoldAlreadyResolved, NegativeAmount
from commissions.models import CommissionHold, CommissionLine
from commissions.selectors.holds import order_lines_reversed_hold_amounts
from commissions.selectors.order_lines import order_line_refunded_amount
from commissions.services.reversals import commission_reverse_joined
from common.errors import NotFound, ValidationFailed
from creators.models import Creator

Kind = CommissionLine.Kind
Status = CommissionLine.Status
Resolution = CommissionHold.Resolution
HOLD_PREFIX = "hold:"


def commission_lines_hold(
    *,
    line_ids: Iterable[int],
    reason: str,
    detail: dict[str, Any] | None = None,
    amounts: Mapping[int, Decimal] | None = None,
    now: datetime | None = None,
) -> list[CommissionHold]:
    """Hold these lines' commission for `reason`; already held ones keep their open hold."""
    reason = str(reason).strip()
    if not reason:
        raise ValidationFailed("A hold needs a reason code.", code="hold_reason_required")
    ids = sorted({int(i) for i in line_ids})
    amounts = dict(amounts or {})
    if any(value < 0 for value in amounts.values()):
        raise NegativeAmount(fields={"amounts": ["Must not be negative."]})
    if not ids:
        return []
    with transaction.atomic():
        found = dict(CommissionLine.objects.filter(pk__in=ids).values_list("pk", "order_line_id"))
        missing = [pk for pk in ids if pk not in found]
        if missing:
            raise NotFound(
                "No such commission line.",
                code="commission_line_not_found",
                details={"line_ids": missing},
            )
        commissions = {
            line.order_line_id: line
            for line in CommissionLine.objects.filter(
                order_line_id__in=set(found.values()), kind=Kind.COMMISSION
            ).only("pk", "order_line_id", "creator_id")
        }
        creator_ids = sorted({line.creator_id for line in commissions.values()})
        # The creator first, as payout grouping does: a payout never takes a line being held.
        list(Creator.objects.filter(pk__in=creator_ids).order_by("pk").select_for_update())
        targets = sorted(line.pk for line in commissions.values())
        list(CommissionLine.objects.filter(pk__in=targets).order_by("pk").select_for_update())
        share = {
            commissions[found[pk]].pk: amounts[pk]
            for pk in ids
            if pk in amounts and found[pk] in commissions
        }
        stamp = now or timezone.now()
        CommissionHold.objects.bulk_create(
            [
                CommissionHold(
                    line_id=pk,
                    reason=reason,
                    detail=detail or {},
                    amount=share.get(pk),
                    created_at=stamp,
                )
                for pk in targets
            ],
            ignore_conflicts=True,  # the open hold per (line, reason) already exists
        )
        return list(
            CommissionHold.objects.filter(
                line_id__in=targets, reason=reason, resolved_at__isnull=True
            ).order_by("line_id")
        )


def _locked_hold(hold_id: int) -> CommissionHold:
    hold = CommissionHold.objects.select_for_update().filter(pk=hold_id).first()
    if hold is None:
        raise NotFound("No such hold.", code="commission_hold_not_found")
    return hold


def _resolve(
    hold: CommissionHold,
    resolution: str,
    actor: Any,
    now: datetime | None,
    line: CommissionLine | None = None,
) -> CommissionHold:
    """Resolve the hold and put it in the brand's money audit, in the caller's transaction
    (`line`: the hold's commission line, when the caller has it already)."""
    hold.resolution = resolution
    hold.resolved_at = now or timezone.now()
    hold.resolved_by_id = getattr(actor, "pk", None)
    hold.save(update_fields=["resolution", "resolved_at", "resolved_by"])
    if line is None:
        line = CommissionLine.objects.only("brand_id", "currency", "amount").get(pk=hold.line_id)
    audit_record(
        brand_id=line.brand_id,
        actor=actor,
        action=(
            AuditAction.COMMISSION_RELEASE
            if resolution == Resolution.RELEASED
            else AuditAction.COMMISSION_REVERSE
        ),
        subject=hold,
        amount=line.amount,
        currency=line.currency,
        detail={
            "reason": hold.reason,
            "commission_line_id": line.pk,
            "base_concerned": hold.amount,
        },
        actor_label=f"{hold.reason} hold",
    )
    return hold


def commission_hold_release(
    *, hold_id: int, actor: Any = None, now: datetime | None = None
) -> CommissionHold:
    """Release a hold: its line is payable again once no other hold on it is open."""
    with transaction.atomic():
        hold = _locked_hold(hold_id)
        if hold.resolution == Resolution.RELEASED:
            return hold
        if hold.resolution:
            raise HoldAlreadyResolved(details={"resolution": hold.resolution})
        return _resolve(hold, Resolution.RELEASED, actor, now)


def commission_hold_reverse(
    *, hold_id: int, actor: Any = None, now: datetime | None = None
) -> CommissionHold:
    """Reverse a hold: take back the commission it concerns, exactly once."""
    now = now or timezone.now()
    with transaction.atomic():
        hold = _locked_hold(hold_id)
        if hold.resolution == Resolution.REVERSED:
            return hold
        if hold.resolution:
            raise HoldAlreadyResolved(details={"resolution": hold.resolution})
        commission = CommissionLine.objects.select_for_update().get(pk=hold.line_id)
        _resolve(hold, Resolution.REVERSED, actor, now, line=commission)
        order_line_id = commission.order_line_id
        # Refunds and every reversed hold (this one included) count as money taken back.
        taken = order_line_refunded_amount(order_line_id=order_line_id) + (
            order_lines_reversed_hold_amounts(order_line_ids=[order_line_id]).get(
                order_line_id, Decimal(0)
            )
        )
        target = min(taken, commission.base)
        commission_reverse_joined(
            order_line_id=order_line_id,
            refund_id=f"{HOLD_PREFIX}{hold.pk}",
            refunded_to_date=target,
            now=now,
        )
        lines = CommissionLine.objects.filter(order_line_id=order_line_id)
        unpaid = commission.status in (Status.PENDING, Status.APPROVED)
        if unpaid and target >= commission.base and not lines.filter(status=Status.PAID).exists():
            # Nothing of it was paid and nothing is left: it never becomes payable.
            lines.filter(status__in=[Status.PENDING, Status.APPROVED]).update(status=Status.VOIDED)
        return hold
