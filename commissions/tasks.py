"""Thin, idempotent Celery tasks of the commissions app.

The tasks that lived in creators/tasks.py keep their names (`creators.tasks.*`), so messages
already queued, the beat schedule and the routing to the money queue still find them; tasks
added since are named after this module (`commissions.tasks.*`, routed to the money queue).
"""

from celery import shared_task

from commissions.selectors.order_lines import order_line_refunded_amount
from commissions.services import approval, payouts, recording, settlement_payouts

# --- Commissions and payouts ------------------------------------------------------------
# Each task takes ids and can run twice, or concurrently, with the same result: the ledger's
# unique constraint, conditional status updates and the payout's lease see to that.

MAX_APPROVAL_BATCHES = 20


@shared_task(name="creators.tasks.commissions_record_for_order")
def commissions_record_for_order(order_id: int) -> int:
    return recording.commission_record_for_orders(order_ids=[order_id])


@shared_task(name="creators.tasks.commissions_record_batch")
def commissions_record_batch(order_ids: list[int]) -> int:
    return recording.commission_record_for_orders(order_ids=order_ids)


@shared_task(name="creators.tasks.commission_reverse_for_refund")
def commission_reverse_for_refund(order_line_id: int, refund_id: str) -> int | None:
    line = recording.commission_reverse_for_refund(
        order_line_id=order_line_id,
        refund_id=refund_id,
        refunded_to_date=order_line_refunded_amount(order_line_id=order_line_id),
    )
    return None if line is None else line.pk


@shared_task(name="creators.tasks.commissions_approve_due")
def commissions_approve_due() -> dict[str, int]:
    totals = {"approved": 0, "voided": 0, "reconciled": 0, "batches": 0}
    for _ in range(MAX_APPROVAL_BATCHES):
        batch = approval.commissions_approve_due()
        totals["approved"] += batch.approved
        totals["voided"] += batch.voided
        totals["reconciled"] += batch.reconciled
        totals["batches"] += 1
        if not batch.more:
            break
    return totals


@shared_task(name="creators.tasks.payouts_create_due")
def payouts_create_due() -> list[int]:
    created = payouts.payouts_create_due()
    # Payouts whose send was lost, or whose outcome was unknown, go out again as themselves.
    for payout_id in payouts.payouts_unsent():
        if payout_id not in created:
            payout_send.delay(payout_id)
    return created


@shared_task(name="creators.tasks.payout_send")
def payout_send(payout_id: int) -> str:
    return payouts.payout_send(payout_id=payout_id).status


@shared_task(name="creators.tasks.settlements_pay_due")
def settlements_pay_due() -> list[int]:
    created = settlement_payouts.settlements_pay_due()
    # Attempts whose send was lost, or whose outcome was unknown, go out again as themselves.
    for payout_id in settlement_payouts.settlement_payouts_unsent():
        if payout_id not in created:
            settlement_payout_send.delay(payout_id)
    return created


@shared_task(name="creators.tasks.settlement_payout_send")
def settlement_payout_send(payout_id: int) -> str:
    return settlement_payouts.settlement_payout_send(payout_id=payout_id).status


# --- New tasks: named after this module --------------------------------------------------


@shared_task(name="commissions.tasks.commissions_ledger_reconcile")
def commissions_ledger_reconcile() -> dict[str, object]:
    from commissions.services.reconciliation import ledger_reconcile

    report = ledger_reconcile()
    return {"found": report.found, "appended": report.appended, "unresolved": report.unresolved}


@shared_task(name="commissions.tasks.settlements_close_due")
def settlements_close_due() -> dict[str, list[int]]:
    from commissions.services.settlement_periods import settlements_close_due as close

    result = close()
    return {"settlements": result.settlements, "payouts": result.payouts}
