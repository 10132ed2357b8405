"""The order state machine: legal moves only, each one audited by an OrderEvent."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from common.db import models_insert
from common.errors import Conflict
from orders.models import Order, OrderEvent, OrderLine

S = Order.Status

TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING_PAYMENT: frozenset({S.PAID, S.EXPIRED, S.CANCELED}),
    # A payment that succeeds after its hold lapsed is honoured when stock allows.
    S.EXPIRED: frozenset({S.PAID}),
    S.CANCELED: frozenset({S.PAID}),
    # After payment the state follows the brands' fulfilments and the refunds; refunds
    # take precedence (see orders.services.order_status), and `refunded` is final.
    S.PAID: frozenset({S.PARTIALLY_FULFILLED, S.FULFILLED, S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.PARTIALLY_FULFILLED: frozenset({S.FULFILLED, S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.FULFILLED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.PARTIALLY_REFUNDED: frozenset({S.REFUNDED}),
    S.REFUNDED: frozenset(),
}

# Paid and not yet wholly refunded: what a brand sees, ships and may refund.
SOLD_STATUSES: frozenset[str] = frozenset(
    {S.PAID, S.PARTIALLY_FULFILLED, S.FULFILLED, S.PARTIALLY_REFUNDED}
)
# Every state an order can reach once its payment succeeded.
PAID_STATUSES: frozenset[str] = SOLD_STATUSES | {S.REFUNDED}


class InvalidTransition(Conflict):
    code = "invalid_order_transition"


def can_transition(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())


def order_transition(
    *, order: Order, to_status: str, kind: str | None = None, data: dict[str, Any] | None = None
) -> Order:
    """Move the order to `to_status` if legal and still in the state we read; audit it.

    Composes inside the caller's transaction; the UPDATE is conditional on the current
    status, so two workers can never both make the same move.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("order_transition must run inside a transaction.")
    from_status = order.status
    if not can_transition(from_status, to_status):
        raise InvalidTransition(
            f"An order cannot go from {from_status} to {to_status}.",
            details={"from": from_status, "to": to_status},
        )
    updated = Order.objects.filter(pk=order.pk, status=from_status).update(status=to_status)
    if not updated:
        raise InvalidTransition(
            "The order changed meanwhile.", details={"from": from_status, "to": to_status}
        )
    order.status = to_status
    _event(order, kind or to_status, from_status, to_status, data)
    return order


def _event(
    order: Order, kind: str, from_status: str, to_status: str, data: dict[str, Any] | None
) -> OrderEvent:
    """The order's audit entry, written by one fixed INSERT (`models_insert`)."""
    event = OrderEvent(
        order=order, kind=kind, from_status=from_status, to_status=to_status, data=data or {}
    )
    models_insert([event])
    return event


def order_note(*, order: Order, kind: str, data: dict[str, Any] | None = None) -> OrderEvent:
    """Record a fact about an order that does not change its state (a decline, a retry)."""
    return _event(order, kind, order.status, order.status, data)


def line_outstanding(line: OrderLine) -> int:
    """Units of the line still to ship: refunds of units take them off what must be sent."""
    return max(0, line.quantity - line.refunded_quantity - line.shipped_quantity)
