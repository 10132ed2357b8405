"""Stock holds for checkouts: reserve, release, reclaim the expired ones, expire orders."""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial

from django.db import transaction
from django.utils import timezone

from orders.models import Order, StockReservation
from orders.state import order_transition
from shop.services.stock import stock_release

logger = logging.getLogger(__name__)


def reservation_release(*, reservation: StockReservation) -> bool:
    """Give a hold's units back, once: the conditional UPDATE makes a second release a no-op."""
    released = StockReservation.objects.filter(
        pk=reservation.pk, status=StockReservation.Status.ACTIVE
    ).update(status=StockReservation.Status.RELEASED, closed_at=timezone.now())
    if released:
        stock_release(variant_id=reservation.variant_id, quantity=reservation.quantity)
    return bool(released)


def order_holds_release(*, order: Order) -> int:
    """Release every active hold of an order, in variant order (the lock order of checkout)."""
    count = 0
    holds = StockReservation.objects.filter(
        order_line__order=order, status=StockReservation.Status.ACTIVE
    ).order_by("variant_id", "pk")
    for reservation in holds:
        count += int(reservation_release(reservation=reservation))
    return count


def reservations_reclaim_expired(*, variant_id: int, now: datetime | None = None) -> int:
    """Release a variant's lapsed holds so a new checkout can have the units.

    Runs inside the reserving transaction and touches only this variant's row, so it keeps
    checkout's lock order; the periodic task expires the orders themselves.
    """
    now = now or timezone.now()
    reclaimed = 0
    lapsed = StockReservation.objects.filter(
        variant_id=variant_id, status=StockReservation.Status.ACTIVE, expires_at__lt=now
    ).order_by("pk")
    for reservation in lapsed:
        reclaimed += int(reservation_release(reservation=reservation))
    return reclaimed


def order_expire(*, order_id: int, now: datetime | None = None) -> bool:
    """Expire one pending order whose hold has lapsed; its PaymentIntent is canceled after."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        order = Order.objects.select_for_update().filter(pk=order_id).first()
        if (
            order is None
            or order.status != Order.Status.PENDING_PAYMENT
            or order.reservation_expires_at >= now
        ):
            return False
        released = order_holds_release(order=order)
        order_transition(
            order=order,
            to_status=Order.Status.EXPIRED,
            kind="hold_expired",
            data={"released_holds": released},
        )
        if order.stripe_payment_intent_id:
            from orders.tasks import payment_intent_cancel

            transaction.on_commit(partial(payment_intent_cancel.delay, order.pk))
    return True


def reservations_expire(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Expire every pending order whose hold has lapsed, in batches; returns how many."""
    now = now or timezone.now()
    expired = 0
    while True:
        ids = list(
            Order.objects.filter(
                status=Order.Status.PENDING_PAYMENT, reservation_expires_at__lt=now
            )
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return expired
        done = sum(int(order_expire(order_id=pk, now=now)) for pk in ids)
        expired += done
        if done == 0:
            return expired
