"""Per-brand fulfilment: one Fulfilment per brand of a paid order, shipments with tracking.

Every write locks the order's row first (the lock order of payments and refunds too), then
moves `OrderLine.shipped_quantity` with a conditional UPDATE that can never ship a unit
that was refunded or already shipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.audit import Action as AuditAction
from accounts.audit import audit_record
from accounts.models import User
from common.errors import Conflict, NotFound, ValidationFailed
from common.outbox import event_record
from orders.brand_access import (
    BrandAccess,
    brand_access_for,
    brand_for_action,
    order_lines_for,
    order_lock_for,
)
from orders.events import SHIPMENT_CREATED
from orders.models import Fulfilment, Order, OrderLine, Shipment, ShipmentLine
from orders.services.order_status import fulfilment_sync, order_status_sync
from orders.services.webhooks import webhooks_emit
from orders.state import SOLD_STATUSES, line_outstanding, order_note

CARRIER_TRACKING_URLS = {
    "dhl": "https://www.dhl.com/global-en/home/tracking.html?tracking-id={}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={}",
    "ups": "https://www.ups.com/track?tracknum={}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
}


def tracking_url_for(carrier: str, tracking_number: str) -> str:
    template = CARRIER_TRACKING_URLS.get(carrier.strip().lower())
    return template.format(tracking_number) if template and tracking_number else ""


def fulfilments_create(*, order: Order) -> list[Fulfilment]:
    """Open one Fulfilment per brand of a newly paid order (composes; idempotent)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("fulfilments_create must run inside the payment's transaction.")
    brand_ids = sorted(set(order.lines.values_list("brand_id", flat=True)))
    Fulfilment.objects.bulk_create(
        [Fulfilment(order=order, brand_id=brand_id) for brand_id in brand_ids],
        ignore_conflicts=True,
    )
    return list(Fulfilment.objects.filter(order=order).order_by("brand_id"))


@dataclass(frozen=True)
class ShipLine:
    line_id: int
    quantity: int | None = None  # None: everything still to ship


def _plan(
    *, access: BrandAccess, order: Order, brand_slug: str | None, lines: Sequence[ShipLine]
) -> tuple[int, list[tuple[OrderLine, int]]]:
    found = order_lines_for(access=access, order=order, line_ids=[s.line_id for s in lines])
    brand_id = brand_for_action(
        access=access, order=order, lines=found.values(), brand_slug=brand_slug
    )
    plan: list[tuple[OrderLine, int]] = []
    if not lines:
        brand_lines = OrderLine.objects.filter(order=order, brand_id=brand_id).order_by("pk")
        plan = [(line, line_outstanding(line)) for line in brand_lines if line_outstanding(line)]
        if not plan:
            raise Conflict(
                "Everything of this brand has shipped or been refunded.", code="nothing_to_ship"
            )
        return brand_id, plan
    for wanted in sorted(lines, key=lambda s: s.line_id):
        line = found[wanted.line_id]
        outstanding = line_outstanding(line)
        quantity = outstanding if wanted.quantity is None else wanted.quantity
        if line.refunded_quantity >= line.quantity or (
            quantity > outstanding and quantity <= line.quantity - line.shipped_quantity
        ):
            raise Conflict(
                "Refunded units cannot be shipped.",
                code="order_line_refunded",
                details={"line_id": line.pk, "refunded_quantity": line.refunded_quantity},
            )
        if quantity <= 0 or quantity > outstanding:
            raise Conflict(
                "That is more than is left to ship of this line.",
                code="shipment_exceeds_outstanding",
                details={"line_id": line.pk, "outstanding": outstanding},
            )
        plan.append((line, quantity))
    return brand_id, plan


def shipment_record(
    *,
    order_id: int,
    user: User,
    carrier: str,
    tracking_number: str = "",
    tracking_url: str = "",
    lines: Sequence[ShipLine] = (),
    brand_slug: str | None = None,
    shipped_at: datetime | None = None,
) -> Shipment:
    """Record a shipment inside the caller's transaction (the admin's, a CSV import's)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("shipment_record must run inside a transaction.")
    access = brand_access_for(user)
    carrier, tracking_number = carrier.strip(), tracking_number.strip()
    if not carrier:
        raise ValidationFailed(
            "Name the carrier.", code="carrier_required", fields={"carrier": ["Required."]}
        )
    order = order_lock_for(access=access, order_id=order_id)
    if order.status not in SOLD_STATUSES:
        raise Conflict("This order has nothing left to ship.", code="order_not_shippable")
    brand_id, plan = _plan(access=access, order=order, brand_slug=brand_slug, lines=lines)
    fulfilment = Fulfilment.objects.filter(order=order, brand_id=brand_id).first()
    if fulfilment is None:
        raise NotFound("This order has no fulfilment for the brand.", code="fulfilment_not_found")
    if (
        tracking_number
        and Shipment.objects.filter(
            fulfilment=fulfilment, carrier=carrier, tracking_number=tracking_number
        ).exists()
    ):
        raise Conflict(
            "This tracking number is already recorded for the order.",
            code="shipment_duplicate_tracking",
        )
    for line, quantity in plan:
        moved = OrderLine.objects.filter(
            pk=line.pk,
            shipped_quantity__lte=F("quantity") - F("refunded_quantity") - quantity,
        ).update(shipped_quantity=F("shipped_quantity") + quantity)
        if not moved:
            raise Conflict(
                "That is more than is left to ship of this line.",
                code="shipment_exceeds_outstanding",
                details={"line_id": line.pk},
            )
    shipment = Shipment.objects.create(
        fulfilment=fulfilment,
        order=order,
        brand_id=brand_id,
        carrier=carrier,
        tracking_number=tracking_number,
        tracking_url=tracking_url or tracking_url_for(carrier, tracking_number),
        shipped_at=shipped_at or timezone.now(),
        created_by=user if user.is_authenticated else None,
    )
    ShipmentLine.objects.bulk_create(
        ShipmentLine(shipment=shipment, order_line=line, quantity=quantity)
        for line, quantity in plan
    )
    fulfilment_sync(fulfilment=fulfilment)
    audit_record(
        brand_id=brand_id,
        actor=user,
        action=AuditAction.SHIP,
        subject=shipment,
        detail={
            "order_id": order.pk,
            "carrier": carrier,
            "tracking_number": tracking_number,
            "lines": {str(line.pk): quantity for line, quantity in plan},
        },
    )
    order_note(
        order=order,
        kind="shipment_created",
        data={
            "shipment_id": shipment.pk,
            "brand_id": brand_id,
            "fulfilment_status": fulfilment.status,
            "lines": {str(line.pk): quantity for line, quantity in plan},
        },
    )
    order_status_sync(order=order, cause="shipment", data={"brand_id": brand_id})
    webhooks_emit(order=order, event_type="fulfilment.updated", brand_ids=[brand_id])
    event_record(name=SHIPMENT_CREATED, payload={"shipment_id": shipment.pk})
    return shipment


def shipment_create(
    *,
    order_id: int,
    user: User,
    carrier: str,
    tracking_number: str = "",
    tracking_url: str = "",
    lines: Sequence[ShipLine] = (),
    brand_slug: str | None = None,
    shipped_at: datetime | None = None,
) -> Shipment:
    """Record that a brand shipped some (by default all remaining) of its lines."""
    with transaction.atomic(durable=True):
        return shipment_record(
            order_id=order_id,
            user=user,
            carrier=carrier,
            tracking_number=tracking_number,
            tracking_url=tracking_url,
            lines=lines,
            brand_slug=brand_slug,
            shipped_at=shipped_at,
        )


def shipment_mark_delivered(
    *, order_id: int, shipment_id: int, user: User, delivered_at: datetime | None = None
) -> Shipment:
    """Record a shipment's delivery; the fulfilment becomes delivered once all its are."""
    access = brand_access_for(user)
    with transaction.atomic(durable=True):
        order = order_lock_for(access=access, order_id=order_id)
        shipment = (
            Shipment.objects.select_related("fulfilment")
            .filter(access.brand_filter(), pk=shipment_id, order=order)
            .first()
        )
        if shipment is None:
            raise NotFound("No such shipment.", code="shipment_not_found")
        access.require_write(shipment.brand_id)
        if shipment.delivered_at is not None:
            return shipment
        shipment.delivered_at = delivered_at or timezone.now()
        if shipment.delivered_at < shipment.shipped_at:
            raise ValidationFailed(
                "Delivery cannot come before shipping.", code="delivered_before_shipped"
            )
        Shipment.objects.filter(pk=shipment.pk).update(delivered_at=shipment.delivered_at)
        fulfilment_sync(fulfilment=shipment.fulfilment)
        order_note(
            order=order,
            kind="shipment_delivered",
            data={"shipment_id": shipment.pk, "brand_id": shipment.brand_id},
        )
        order_status_sync(order=order, cause="delivery", data={"brand_id": shipment.brand_id})
        webhooks_emit(order=order, event_type="fulfilment.updated", brand_ids=[shipment.brand_id])
    return shipment
