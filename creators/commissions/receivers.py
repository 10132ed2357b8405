"""What creators does when orders announce a fact: enqueue the thin task that handles it.

Both signals are sent after the order's transaction commits, so the tasks see the data.
"""

from __future__ import annotations

from typing import Any

from common.signals import order_line_refunded, order_paid


def on_order_paid(sender: Any, *, order_id: int, **kwargs: Any) -> None:
    from creators.tasks import commissions_record_for_order

    commissions_record_for_order.delay(order_id)


def on_order_line_refunded(
    sender: Any, *, order_line_id: int, refund_id: Any, **kwargs: Any
) -> None:
    from creators.tasks import commission_reverse_for_refund

    commission_reverse_for_refund.delay(order_line_id, str(refund_id))


def connect() -> None:
    """Connect the receivers (CreatorsConfig.ready); the uids make it safe to call twice."""
    order_paid.connect(on_order_paid, dispatch_uid="creators.commissions.order_paid")
    order_line_refunded.connect(
        on_order_line_refunded, dispatch_uid="creators.commissions.order_line_refunded"
    )
