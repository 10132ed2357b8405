"""Builders for the waitlist and sell-out alert tests."""

from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

from django.core import mail
from django.db import transaction
from django.utils import timezone

from creators.models import AffiliateLink
from orders.models import Order
from shop.models import StockMovement, Variant
from shop.services.stock import stock_adjust
from tests.creators.factories import AffiliateLinkFactory
from tests.orders.helpers import ADDRESS, line_of
from tests.shop.factories import ProductFactory, VariantFactory


def sold_out_variant(**product_kw: object) -> Variant:
    return VariantFactory.create(product=ProductFactory.create(**product_kw), on_hand=0)


def link_for(variant: Variant) -> AffiliateLink:
    return AffiliateLinkFactory.create(product=variant.product)


def restock(variant: Variant, units: int) -> None:
    with transaction.atomic():
        stock_adjust(variant_id=variant.pk, delta=units, reason=StockMovement.Reason.ADMIN_EDIT)


def sell(
    variant: Variant, units: int, *, link: AffiliateLink | None = None, email: str = ""
) -> None:
    """A paid order line for `units` (attributed to `link`) and its sale movement."""
    now = timezone.now()
    order = Order.objects.create(
        checkout_scope="test",
        checkout_key=f"k-{Order.objects.count()}-{now.timestamp()}",
        email=email or "buyer@example.com",
        shipping_address=ADDRESS,
        currency="USD",
        items_total=Decimal("10") * units,
        shipping_total=Decimal("0"),
        grand_total=Decimal("10") * units,
        status=Order.Status.PAID,
        reservation_expires_at=now,
        paid_at=now,
    )
    line_of(
        order,
        variant,
        unit_price=Decimal("10"),
        quantity=units,
        attributed_link_id=link.pk if link else None,
        attributed_creator_id=link.creator_id if link else None,
    ).save()
    with transaction.atomic():
        stock_adjust(
            variant_id=variant.pk,
            delta=-units,
            reason=StockMovement.Reason.SALE,
            reference=f"order:{order.pk}",
        )


def emails_to(address: str) -> list[mail.EmailMessage]:
    return [m for m in mail.outbox if address in m.to]


def emailed_link(message: mail.EmailMessage) -> str:
    match = re.search(r"https?://\S+/@\S+", str(message.body))
    assert match, message.body
    return match.group(0)


def emailed_token(message: mail.EmailMessage) -> str:
    return parse_qs(urlsplit(emailed_link(message)).query)["atk"][0]


def unsubscribe_path(message: mail.EmailMessage) -> str:
    match = re.search(r"https?://[^/\s]+(/waitlist/unsubscribe/\S+/)", str(message.body))
    assert match, message.body
    return match.group(1)
