"""Emails about orders: confirmation, new order for each brand, shipped, refunded, disputed.

Each is sent from a Celery task after the commit that caused it, rendered as plain text
with an HTML alternative, and recorded under a key (`Notification`) so that a task run
twice sends once.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from orders import order_selectors
from orders.models import Dispute, Notification, Order, Refund, Shipment
from shop.models import Brand, BrandMember

logger = logging.getLogger(__name__)


def _send_once(
    *,
    key: str,
    order: Order,
    recipients: Sequence[str],
    subject: str,
    template: str,
    context: dict[str, Any],
) -> bool:
    """Render and send one email under `key`, unless it was sent before."""
    if not recipients:
        return False
    try:
        with transaction.atomic():
            notification, _ = Notification.objects.get_or_create(
                key=key, defaults={"order": order, "recipients": list(recipients)}
            )
    except IntegrityError:
        notification = Notification.objects.get(key=key)
    # Claim before sending: a concurrent run of the same key sends nothing.
    claimed = Notification.objects.filter(pk=notification.pk, sent_at__isnull=True).update(
        sent_at=timezone.now()
    )
    if not claimed:
        return False
    context = {**context, "site_url": settings.SITE_URL}
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"orders/emails/{template}.txt", context).strip() + "\n",
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=list(recipients),
    )
    message.attach_alternative(
        render_to_string(f"orders/emails/{template}.html", context), "text/html"
    )
    try:
        message.send()
    except Exception:
        Notification.objects.filter(pk=notification.pk).update(sent_at=None)
        raise
    return True


def _brand_emails(brand_ids: Collection[int]) -> dict[int, list[str]]:
    emails: dict[int, list[str]] = {}
    members = BrandMember.objects.filter(brand_id__in=list(brand_ids), user__is_active=True)
    for brand_id, email in members.order_by("brand_id", "id").values_list(
        "brand_id", "user__email"
    ):
        if email:
            emails.setdefault(brand_id, []).append(email)
    return emails


def _order(order_id: int, brand_ids: Collection[int] | None = None) -> Order:
    return order_selectors.order_view_queryset(brand_ids).get(pk=order_id)


def notify_order_paid(*, order_id: int) -> int:
    """The shopper's confirmation and each brand's new-order email (its own lines only)."""
    order = _order(order_id)
    view = order_selectors.order_view(order)
    sent = int(
        _send_once(
            key=f"order:{order.pk}:confirmation",
            order=order,
            recipients=[order.email],
            subject=f"Your Tribe order {order.pk} is confirmed",
            template="order_confirmation",
            context={"order": order, "view": view},
        )
    )
    brand_ids = sorted({line.brand_id for line in order.lines.all()})
    emails = _brand_emails(brand_ids)
    brands = Brand.objects.in_bulk(brand_ids)
    for brand_id in brand_ids:
        brand_order = _order(order_id, [brand_id])
        sent += _send_once(
            key=f"order:{order.pk}:brand:{brand_id}:new",
            order=order,
            recipients=emails.get(brand_id, []),
            subject=f"New order {order.pk} for {brands[brand_id].name}",
            template="brand_new_order",
            context={
                "order": brand_order,
                "brand": brands[brand_id],
                "view": order_selectors.order_view(brand_order, brand_ids=[brand_id]),
            },
        )
    return sent


def notify_shipment(*, shipment_id: int) -> int:
    shipment = (
        Shipment.objects.select_related("order", "brand")
        .prefetch_related("lines__order_line")
        .get(pk=shipment_id)
    )
    order = shipment.order
    return int(
        _send_once(
            key=f"shipment:{shipment.pk}:shipped",
            order=order,
            recipients=[order.email],
            subject=f"Your order {order.pk} from {shipment.brand.name} is on its way",
            template="shipped",
            context={
                "order": order,
                "shipment": shipment,
                "status_url": order_selectors.order_status_url(order),
            },
        )
    )


def notify_refund(*, refund_id: int) -> int:
    """The shopper's refund email; for a dashboard refund, each brand concerned too."""
    refund = (
        Refund.objects.select_related("order")
        .prefetch_related("lines__order_line", "lines__shipping")
        .get(pk=refund_id)
    )
    if refund.status != Refund.Status.SUCCEEDED:
        return 0
    order = refund.order
    sent = int(
        _send_once(
            key=f"refund:{refund.pk}:shopper",
            order=order,
            recipients=[order.email],
            subject=f"Refund for your order {order.pk}",
            template="refund",
            context={
                "order": order,
                "refund": refund,
                "status_url": order_selectors.order_status_url(order),
            },
        )
    )
    if refund.source != Refund.Source.DASHBOARD:
        return sent
    shares: dict[int, list[Any]] = {}
    for part in refund.lines.all():
        shares.setdefault(part.brand_id, []).append(part)
    emails = _brand_emails(shares)
    brands = Brand.objects.in_bulk(list(shares))
    for brand_id, parts in sorted(shares.items()):
        sent += _send_once(
            key=f"refund:{refund.pk}:brand:{brand_id}",
            order=order,
            recipients=emails.get(brand_id, []),
            subject=f"Order {order.pk} was refunded in part from the Stripe dashboard",
            template="brand_refund",
            context={
                "order": order,
                "refund": refund,
                "brand": brands[brand_id],
                "parts": parts,
                "share": sum(p.amount for p in parts),
            },
        )
    return sent


def notify_dispute_opened(*, dispute_id: int) -> int:
    """Each brand concerned: its share of a new dispute and the evidence due date."""
    dispute = (
        Dispute.objects.select_related("order")
        .prefetch_related("lines__order_line", "lines__shipping")
        .get(pk=dispute_id)
    )
    shares: dict[int, list[Any]] = {}
    for part in dispute.lines.all():
        shares.setdefault(part.brand_id, []).append(part)
    emails = _brand_emails(shares)
    brands = Brand.objects.in_bulk(list(shares))
    sent = 0
    for brand_id, parts in sorted(shares.items()):
        sent += _send_once(
            key=f"dispute:{dispute.pk}:brand:{brand_id}",
            order=dispute.order,
            recipients=emails.get(brand_id, []),
            subject=f"Payment disputed: order {dispute.order_id}, evidence due "
            f"{dispute.evidence_due_by:%d %b %Y}"
            if dispute.evidence_due_by
            else f"Payment disputed: order {dispute.order_id}",
            template="brand_dispute",
            context={
                "order": dispute.order,
                "dispute": dispute,
                "brand": brands[brand_id],
                "parts": parts,
                "share": sum((p.amount for p in parts), Decimal(0)),
                "fee": sum((p.fee for p in parts), Decimal(0)),
                "several": len(shares) > 1,
            },
        )
    return sent
