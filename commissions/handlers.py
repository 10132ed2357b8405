"""What the ledger does when orders records a fact: outbox handlers, registered at start-up.

Each runs inside the transaction that marks its delivery done (common.outbox), so a
payment or a refund is written to the ledger exactly once however often it is delivered,
and in whichever order: a refund handled before its payment reverses nothing, and the
payment's recording then reconciles it. A dispute holds its lines' commission when it
opens and reverses or releases it when it closes (commissions.services.disputes).
"""

from __future__ import annotations

from decimal import Decimal

from commissions.selectors.holds import order_lines_reversed_hold_amounts
from commissions.selectors.order_lines import order_dispute_ids, order_line_refunded_amount
from commissions.services.disputes import commission_dispute_sync
from commissions.services.recording import commission_record_joined, commission_reverse_joined
from common.outbox import handler_register
from common.outbox.models import OutboxEvent
from orders.events import DISPUTE_CLOSED, DISPUTE_OPENED, ORDER_PAID, REFUND_SUCCEEDED


def on_order_paid(event: OutboxEvent) -> int:
    order_id = int(event.payload["order_id"])
    recorded = commission_record_joined(order_ids=[order_id])
    # A dispute handled before the payment was (events come in any order) holds it now.
    for dispute_id in order_dispute_ids(order_id=order_id):
        commission_dispute_sync(dispute_id=dispute_id)
    return recorded


def on_refund_succeeded(event: OutboxEvent) -> int:
    reversed_lines = 0
    refund_id = str(event.payload["refund_id"])
    for order_line_id in sorted(int(i) for i in event.payload.get("order_line_ids", [])):
        line = commission_reverse_joined(
            order_line_id=order_line_id,
            refund_id=refund_id,
            # A reversed hold (a lost dispute) took its part back already: cumulative with it.
            refunded_to_date=order_line_refunded_amount(order_line_id=order_line_id)
            + order_lines_reversed_hold_amounts(order_line_ids=[order_line_id]).get(
                order_line_id, Decimal(0)
            ),
        )
        reversed_lines += line is not None
    return reversed_lines


def on_dispute_changed(event: OutboxEvent) -> int:
    return commission_dispute_sync(dispute_id=int(event.payload["dispute_id"]))


def register() -> None:
    """Register the handlers (CommissionsConfig.ready); their names are stored on deliveries."""
    handler_register(
        event=ORDER_PAID, name="creators.commission_record_for_order", fn=on_order_paid
    )
    handler_register(
        event=REFUND_SUCCEEDED,
        name="creators.commission_reverse_for_refund",
        fn=on_refund_succeeded,
    )
    # Opened and closed reach the ledger in any order: each brings it to the dispute's state.
    handler_register(event=DISPUTE_OPENED, name="commissions.dispute_hold", fn=on_dispute_changed)
    handler_register(event=DISPUTE_CLOSED, name="commissions.dispute_settle", fn=on_dispute_changed)
