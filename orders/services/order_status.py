"""Where an order and each brand's part of it stand, derived from lines, shipments, refunds.

Both statuses are recomputed from the rows after every change (shipment, delivery, refund),
so they never depend on the order in which the changes happened. The order's status puts
refunds first: `refunded` > `partially_refunded` > `fulfilled` > `partially_fulfilled` >
`paid`; each brand's fulfilment keeps its own shipping progress.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from orders.models import Fulfilment, Order, OrderLine, Refund
from orders.state import SOLD_STATUSES, line_outstanding, order_transition

F = Fulfilment.Status
S = Order.Status
DONE = frozenset({F.SHIPPED, F.DELIVERED, F.CANCELED})


def fulfilment_status_of(lines: Iterable[OrderLine], all_delivered: bool) -> str:
    lines = list(lines)
    outstanding = sum(line_outstanding(line) for line in lines)
    shipped = sum(line.shipped_quantity for line in lines)
    if not shipped:
        return F.CANCELED if outstanding == 0 else F.UNFULFILLED
    if outstanding:
        return F.PARTIALLY_SHIPPED
    return F.DELIVERED if all_delivered else F.SHIPPED


def fulfilment_sync(*, fulfilment: Fulfilment) -> bool:
    """Recompute one brand's fulfilment status (True if it changed); the order is locked."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("fulfilment_sync must run inside a transaction.")
    lines = OrderLine.objects.filter(order_id=fulfilment.order_id, brand_id=fulfilment.brand_id)
    shipments = list(fulfilment.shipments.values_list("shipped_at", "delivered_at"))
    all_delivered = bool(shipments) and all(delivered for _, delivered in shipments)
    status = fulfilment_status_of(lines, all_delivered)
    changes: dict[str, Any] = {}
    if status != fulfilment.status:
        changes["status"] = status
    shipped_at = min((s for s, _ in shipments), default=None)
    if shipped_at != fulfilment.shipped_at:
        changes["shipped_at"] = shipped_at
    delivered_at = max((d for _, d in shipments if d), default=None) if all_delivered else None
    if delivered_at != fulfilment.delivered_at:
        changes["delivered_at"] = delivered_at
    if changes:
        Fulfilment.objects.filter(pk=fulfilment.pk).update(**changes, updated_at=timezone.now())
        for name, value in changes.items():
            setattr(fulfilment, name, value)
    return "status" in changes


def order_status_target(order: Order) -> str:
    """The status the order's rows call for (only meaningful once it is paid)."""
    refunded = Refund.objects.filter(order=order, status=Refund.Status.SUCCEEDED).aggregate(
        total=Sum("amount")
    )["total"] or Decimal(0)
    if refunded >= order.grand_total and order.grand_total > 0:
        return S.REFUNDED
    if refunded > 0:
        return S.PARTIALLY_REFUNDED
    statuses = list(order.fulfilments.values_list("status", flat=True))
    if statuses and all(s in DONE for s in statuses) and any(s != F.CANCELED for s in statuses):
        return S.FULFILLED
    if any(s in (F.PARTIALLY_SHIPPED, F.SHIPPED, F.DELIVERED) for s in statuses):
        return S.PARTIALLY_FULFILLED
    return S.PAID


def order_status_sync(*, order: Order, cause: str, data: dict[str, Any] | None = None) -> Order:
    """Move a paid order to the status its rows call for, with an OrderEvent if it moves."""
    if order.status not in SOLD_STATUSES:
        return order
    target = order_status_target(order)
    if target != order.status:
        order_transition(order=order, to_status=target, data={"cause": cause, **(data or {})})
    return order
