"""Builders for the commission tests: paid orders with lines credited to a creator."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import requests
from django.utils import timezone

from commissions.services.accounts import stripe_account_event_handle
from creators.models import AffiliateLink, Creator
from orders.models import Order
from shop.models import Brand, Variant
from tests.orders.helpers import line_of
from tests.shop.factories import BrandFactory, ProductFactory, VariantFactory


def variant_of(brand: Brand | None = None, currency: str = "USD") -> Variant:
    brand = brand or BrandFactory.create(currency=currency)
    return VariantFactory.create(product=ProductFactory.create(brand=brand))


def paid_order(
    *lines: tuple[Variant, str],
    creator: Creator | None,
    link: AffiliateLink | None = None,
    rate: str = "10.00",
    currency: str = "USD",
    shipping: str = "4.99",
    paid_at: datetime | None = None,
    status: str = Order.Status.PAID,
) -> Order:
    """An order paid at `paid_at` whose lines (variant, line total) are credited to `creator`."""
    paid_at = paid_at or timezone.now()
    items = sum((Decimal(total) for _, total in lines), Decimal(0))
    order = Order.objects.create(
        checkout_scope="commission-test",
        checkout_key=uuid.uuid4().hex,
        email="fan@example.com",
        shipping_address={},
        currency=currency,
        items_total=items,
        shipping_total=Decimal(shipping),
        grand_total=items + Decimal(shipping),
        status=status,
        paid_at=paid_at if status in (Order.Status.PAID, Order.Status.REFUNDED) else None,
        reservation_expires_at=paid_at,
    )
    for variant, total in lines:
        line_of(
            order,
            variant,
            unit_price=Decimal(total),
            currency=currency,
            title="A thing",
            attributed_creator_id=creator.pk if creator else None,
            attributed_link_id=link.pk if link else None,
            order_paid_at=order.paid_at,  # as marking the order paid writes it
            commission_rate=Decimal(rate) if creator else None,
            attribution=(
                {"credited": True, "rule": "last_click", "rate": rate, "rate_source": "locked"}
                if creator
                else {"credited": False, "reason": "no_token"}
            ),
        ).save()
    return order


def onboarded(account: Any, onboarding_url: str) -> Any:
    """A Connect account (a creator's or a brand's) taken through the emulator's onboarding
    link, then our copy synced from the account.updated event and reloaded."""
    assert requests.get(onboarding_url, allow_redirects=False, timeout=10).status_code == 302
    stripe_account_event_handle(
        {
            "type": "account.updated",
            "data": {"object": {"object": "account", "id": account.stripe_account_id}},
        }
    )
    account.refresh_from_db()
    return account
