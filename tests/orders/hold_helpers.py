"""Builders for the stock-hold tests: order lines with nothing held yet, and holding them."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from orders.models import Order, OrderLine, StockReservation
from orders.services.reservations import reservation_hold
from shop.models import Variant
from tests.orders.helpers import ADDRESS, line_of


def order_lines(variant: Variant, count: int, *, quantity: int = 1) -> list[OrderLine]:
    """One pending order with `count` lines of `variant`, none of them holding stock yet."""
    now = timezone.now()
    order = Order.objects.create(
        checkout_scope="test",
        checkout_key=f"hold-{uuid.uuid4().hex}",
        email="fan@example.com",
        shipping_address=ADDRESS,
        currency="USD",
        items_total=Decimal("20") * count * quantity,
        shipping_total=Decimal("0"),
        grand_total=Decimal("20") * count * quantity,
        reservation_expires_at=now + timedelta(minutes=15),
    )
    return OrderLine.objects.bulk_create(
        line_of(order, variant, unit_price=Decimal("20"), quantity=quantity) for _ in range(count)
    )


def hold(line: OrderLine, *, expires_at: datetime | None = None) -> StockReservation | None:
    return reservation_hold(
        order_line_id=line.pk,
        variant_id=line.variant_id,
        quantity=line.quantity,
        expires_at=expires_at or timezone.now() + timedelta(minutes=15),
    )


def live_units(variant: Variant) -> int:
    active = StockReservation.objects.filter(variant=variant, status="active")
    return active.aggregate(units=Sum("quantity"))["units"] or 0
