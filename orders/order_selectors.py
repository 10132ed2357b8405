"""Reads of orders after payment, for shoppers and for brands, with prefetching fixed here.

`order_view` builds the one picture every reader gets (the APIs, the guest status page, the
emails): lines grouped by brand with each brand's fulfilment, shipments and shipping, and
the refunds. Given brand ids, it holds only those brands' lines, shipping, shipments and
refund shares, so one brand never sees another's part of a shared order.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Sum

from accounts.models import User
from common.errors import NotFound
from common.money import Money
from orders.brand_access import BrandAccess
from orders.models import (
    Dispute,
    DisputeLine,
    Fulfilment,
    Order,
    OrderLine,
    OrderShipping,
    Refund,
    RefundLine,
    Shipment,
    ShipmentLine,
)
from orders.state import line_outstanding


def _brand_q(brand_ids: Collection[int] | None, field: str = "brand_id") -> Q:
    return Q() if brand_ids is None else Q(**{f"{field}__in": list(brand_ids)})


def order_view_queryset(brand_ids: Collection[int] | None = None) -> QuerySet[Order]:
    """Orders with everything `order_view` reads, limited to `brand_ids` (None: all brands)."""
    refunds = Refund.objects.exclude(status=Refund.Status.FAILED).order_by("id")
    if brand_ids is not None:
        refunds = refunds.filter(
            Exists(
                RefundLine.objects.filter(refund_id=OuterRef("pk"), brand_id__in=list(brand_ids))
            )
        )
    disputes = Dispute.objects.order_by("id")
    if brand_ids is not None:
        disputes = disputes.filter(
            Exists(
                DisputeLine.objects.filter(dispute_id=OuterRef("pk"), brand_id__in=list(brand_ids))
            )
        )
    return Order.objects.prefetch_related(
        Prefetch(
            "lines",
            queryset=OrderLine.objects.filter(_brand_q(brand_ids))
            .select_related("brand")
            .order_by("id"),
        ),
        Prefetch(
            "shipping_lines",
            queryset=OrderShipping.objects.filter(_brand_q(brand_ids)).order_by("id"),
        ),
        Prefetch(
            "fulfilments",
            queryset=Fulfilment.objects.filter(_brand_q(brand_ids)).order_by("brand_id"),
        ),
        Prefetch(
            "shipments",
            queryset=Shipment.objects.filter(_brand_q(brand_ids))
            .prefetch_related(Prefetch("lines", queryset=ShipmentLine.objects.order_by("id")))
            .order_by("id"),
        ),
        Prefetch("refunds", queryset=refunds),
        Prefetch(
            "refunds__lines",
            queryset=RefundLine.objects.filter(_brand_q(brand_ids)).order_by("id"),
        ),
        Prefetch("disputes", queryset=disputes),
        Prefetch(
            "disputes__lines",
            queryset=DisputeLine.objects.filter(_brand_q(brand_ids)).order_by("id"),
        ),
    )


def order_status_url(order: Order) -> str:
    """The guest order-status page, linked from every email."""
    return f"{settings.SITE_URL}/orders/{order.token}/"


def _money(amount: Decimal, currency: str) -> dict[str, str]:
    return Money(amount, currency).as_dict()


def shipment_view(shipment: Shipment) -> dict[str, Any]:
    return {
        "id": shipment.pk,
        "carrier": shipment.carrier,
        "tracking_number": shipment.tracking_number,
        "tracking_url": shipment.tracking_url,
        "shipped_at": shipment.shipped_at,
        "delivered_at": shipment.delivered_at,
        "lines": [
            {"line_id": part.order_line_id, "quantity": part.quantity}
            for part in shipment.lines.all()
        ],
    }


def dispute_view(dispute: Dispute, *, brand_ids: Collection[int] | None = None) -> dict[str, Any]:
    """A dispute as its readers see it: given brand ids, only those brands' shares."""
    parts = [p for p in dispute.lines.all() if brand_ids is None or p.brand_id in set(brand_ids)]
    share_only = brand_ids is not None
    amount = sum((p.amount for p in parts), Decimal(0)) if share_only else dispute.amount
    fee = sum((p.fee for p in parts), Decimal(0)) if share_only else dispute.fee
    return {
        "id": dispute.pk,
        "status": dispute.status,
        "reason": dispute.reason,
        "amount": _money(amount, dispute.currency),
        "fee": _money(fee, dispute.currency),
        "evidence_due_by": dispute.evidence_due_by,
        "evidence_submitted_at": dispute.evidence_submitted_at,
        "opened_at": dispute.opened_at,
        "closed_at": dispute.closed_at,
        "lines": [
            {"line_id": p.order_line_id, "amount": _money(p.amount, dispute.currency)}
            for p in parts
            if p.order_line_id is not None
        ],
    }


def _refund(refund: Refund, *, share_only: bool) -> dict[str, Any]:
    parts = list(refund.lines.all())
    amount = sum((p.amount for p in parts), Decimal(0)) if share_only else refund.amount
    return {
        "id": refund.pk,
        "status": refund.status,
        "source": refund.source,
        "reason": refund.reason,
        "amount": _money(amount, refund.currency),
        "created_at": refund.created_at,
        "lines": [
            {
                "line_id": p.order_line_id,
                "quantity": p.quantity,
                "restocked": p.restocked,
                "amount": _money(p.amount, refund.currency),
            }
            for p in parts
            if p.order_line_id is not None
        ],
        "shipping": _money(
            sum((p.amount for p in parts if p.shipping_id is not None), Decimal(0)),
            refund.currency,
        ),
    }


def order_view(order: Order, *, brand_ids: Collection[int] | None = None) -> dict[str, Any]:
    """The order as its readers see it (prefetched by `order_view_queryset(brand_ids)`)."""
    currency = order.currency
    fulfilments = {f.brand_id: f for f in order.fulfilments.all()}
    shipping = {s.brand_id: s for s in order.shipping_lines.all()}
    shipments: dict[int, list[Shipment]] = {}
    for shipment in order.shipments.all():
        shipments.setdefault(shipment.brand_id, []).append(shipment)
    groups: dict[int, dict[str, Any]] = {}
    for line in order.lines.all():
        group = groups.get(line.brand_id)
        if group is None:
            fulfilment = fulfilments.get(line.brand_id)
            charged = shipping.get(line.brand_id)
            group = groups[line.brand_id] = {
                "brand": {"slug": line.brand.slug, "name": line.brand.name},
                "fulfilment_status": fulfilment.status if fulfilment else None,
                "lines": [],
                "items_total": Decimal(0),
                "shipping": _money(charged.amount if charged else Decimal(0), currency),
                "shipping_refunded": _money(
                    charged.refunded_amount if charged else Decimal(0), currency
                ),
                "shipments": [shipment_view(s) for s in shipments.get(line.brand_id, [])],
            }
        group["items_total"] += line.line_total
        group["lines"].append(
            {
                "id": line.pk,
                "sku": line.sku,
                "title": line.title,
                "options": line.options,
                "quantity": line.quantity,
                "unit_price": _money(line.unit_price, currency),
                "line_total": _money(line.line_total, currency),
                "refunded_amount": _money(line.refunded_amount, currency),
                "refunded_quantity": line.refunded_quantity,
                "shipped_quantity": line.shipped_quantity,
                "outstanding_quantity": line_outstanding(line),
            }
        )
    brands = []
    for group in groups.values():
        group["items_total"] = _money(group["items_total"], currency)
        brands.append(group)
    refunds = [_refund(r, share_only=brand_ids is not None) for r in order.refunds.all()]
    view: dict[str, Any] = {
        "id": order.pk,
        "status": order.status,
        "currency": currency,
        "created_at": order.created_at,
        "paid_at": order.paid_at,
        "email": order.email,
        "shipping_address": order.shipping_address,
        "brands": brands,
        "refunds": refunds,
        "disputes": [dispute_view(d, brand_ids=brand_ids) for d in order.disputes.all()],
    }
    if brand_ids is None:
        view |= {
            "status_url": order_status_url(order),
            "items_total": _money(order.items_total, currency),
            "shipping_total": _money(order.shipping_total, currency),
            "grand_total": _money(order.grand_total, currency),
            "refunded_total": _money(
                sum(
                    (r.amount for r in order.refunds.all() if r.status == Refund.Status.SUCCEEDED),
                    Decimal(0),
                ),
                currency,
            ),
        }
    return view


# --- shoppers --------------------------------------------------------------------------


def shopper_order_queryset(*, user: User) -> QuerySet[Order]:
    """A signed-in shopper's orders (not the abandoned checkouts), newest first."""
    return (
        order_view_queryset()
        .filter(user_id=user.pk)
        .exclude(status__in=(Order.Status.EXPIRED, Order.Status.CANCELED))
    )


def shopper_order_get(*, user: User, order_id: int) -> Order:
    order = shopper_order_queryset(user=user).filter(pk=order_id).first()
    if order is None:
        raise NotFound("No such order.", code="order_not_found")
    return order


def order_status_page_get(*, token: str) -> Order:
    """The order behind a guest status link; unknown tokens are 404."""
    order = order_view_queryset().filter(token=token).first() if token else None
    if order is None:
        raise NotFound("No such order.", code="order_not_found")
    return order


# --- brands ----------------------------------------------------------------------------


def brand_visible_ids(access: BrandAccess) -> list[int] | None:
    return None if access.unrestricted else sorted(access.view_ids)


def brand_order_queryset(
    *, access: BrandAccess, brand_ids: Collection[int] | None = None
) -> QuerySet[Order]:
    """Paid orders holding the user's brands' lines, prefetched with only those brands' parts."""
    ids = brand_ids if brand_ids is not None else brand_visible_ids(access)
    queryset = access.orders(order_view_queryset(ids))
    if brand_ids is not None:
        queryset = queryset.filter(
            Exists(OrderLine.objects.filter(order_id=OuterRef("pk"), brand_id__in=list(brand_ids)))
        )
    return queryset


def brand_order_get(*, access: BrandAccess, order_id: int) -> Order:
    order = brand_order_queryset(access=access).filter(pk=order_id).first()
    if order is None:
        raise NotFound("No such order.", code="order_not_found")
    return order


# --- for commissions (creators handles the refund_succeeded event) ------------------------


def order_line_refund_amount(*, order_line_id: int, refund_id: int) -> Decimal:
    """What one succeeded refund gave back on one order line (0 if nothing). One query."""
    total = RefundLine.objects.filter(
        order_line_id=order_line_id,
        refund_id=refund_id,
        refund__status=Refund.Status.SUCCEEDED,
    ).aggregate(total=Sum("amount"))["total"]
    return total or Decimal(0)


def order_lines_refunded_succeeded(*, order_line_ids: Iterable[int]) -> dict[int, Decimal]:
    """How much succeeded refunds gave back on each line so far (in-flight ones left out)."""
    ids = list(order_line_ids)
    sums = dict(
        RefundLine.objects.filter(order_line_id__in=ids, refund__status=Refund.Status.SUCCEEDED)
        .values_list("order_line_id")
        .annotate(total=Sum("amount"))
        .values_list("order_line_id", "total")
    )
    return {line_id: sums.get(line_id) or Decimal(0) for line_id in ids}
