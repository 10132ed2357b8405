"""What a dispute does to the ledger: hold the disputed lines' commission, then settle it.

`commission_dispute_sync` runs from both dispute events (opened, closed), in whichever order
and however often they are delivered, and reads the dispute's state from orders each time:
the first run holds each disputed line's commission for its share (reason `dispute`); once
the dispute is closed, a lost one reverses the holds (the commission on the share is taken
back, through a negative balance when it was paid already) and a won one releases them (the
commission is payable again, once). A dispute's holds are opened once: a resolved hold is
never opened again by a late event.
"""

from __future__ import annotations

from django.db import transaction

from commissions.models import CommissionHold, CommissionLine
from commissions.selectors.order_lines import dispute_state
from commissions.services.holds import (
    commission_hold_release,
    commission_hold_reverse,
    commission_lines_hold,
)

DISPUTE = CommissionHold.DISPUTE


def commission_dispute_sync(*, dispute_id: int) -> int:
    """Hold, release or reverse the commission of a dispute's lines; returns holds resolved.

    Joins the caller's transaction (the outbox handler's).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("commission_dispute_sync runs inside the caller's transaction.")
    state = dispute_state(dispute_id=dispute_id)
    if state is None:
        return 0
    holds = CommissionHold.objects.filter(reason=DISPUTE, detail__dispute_id=dispute_id)
    if not holds.exists():
        commissions = dict(
            CommissionLine.objects.filter(
                kind=CommissionLine.Kind.COMMISSION, order_line_id__in=list(state["lines"])
            ).values_list("order_line_id", "pk")
        )
        shares = {
            commissions[line_id]: amount
            for line_id, amount in state["lines"].items()
            if line_id in commissions and amount > 0
        }
        commission_lines_hold(
            line_ids=list(shares), reason=DISPUTE, detail={"dispute_id": dispute_id}, amounts=shares
        )
    if state["outcome"] is None:
        return 0
    resolve = commission_hold_reverse if state["outcome"] == "lost" else commission_hold_release
    resolved = 0
    for hold_id in (
        holds.filter(resolved_at__isnull=True).order_by("pk").values_list("pk", flat=True)
    ):
        resolve(hold_id=hold_id)
        resolved += 1
    return resolved
