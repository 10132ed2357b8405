"""Builders for the after-sale tests: paid multi-brand orders on the Stripe emulator."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from rest_framework.test import APIClient

from accounts.models import User
from orders.models import Order, OrderLine
from orders.services.checkout import checkout_start
from orders.services.payments import order_mark_paid
from shop.models import Brand, BrandMember, Variant
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.orders.helpers import ADDRESS, cart_with, pay
from tests.shop.factories import BrandFactory, BrandMemberFactory, ProductFactory, VariantFactory

_counter = iter(range(1, 10**9))


def variant_of(brand: Brand, price: str = "20.00", on_hand: int = 50) -> Variant:
    return VariantFactory.create(
        product=ProductFactory.create(brand=brand), price=Decimal(price), on_hand=on_hand
    )


def paid_order(
    *lines: tuple[Variant, int], user: User | None = None, email: str = "fan@example.com"
) -> Order:
    """Check out the lines on the emulator, pay by card and mark the order paid."""
    cart = cart_with(*lines)
    if user is not None:
        cart.user = user
        cart.save(update_fields=["user"])
    order = checkout_start(
        cart=cart,
        user=user,
        idempotency_key=f"after-sale-{next(_counter)}",
        email=email,
        shipping_address=ADDRESS,
    )
    intent = pay(order.stripe_payment_intent_id)
    order_mark_paid(order_id=order.pk, amount=intent.amount, currency=intent.currency)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    return order


def intent_of(order: Order) -> str:
    assert order.stripe_payment_intent_id
    return order.stripe_payment_intent_id


def member(brand: Brand, role: str = BrandMember.Role.OWNER) -> User:
    return BrandMemberFactory.create(brand=brand, role=role).user


@dataclass
class TwoBrands:
    order: Order
    brand_a: Brand
    brand_b: Brand
    line_a: OrderLine
    line_b: OrderLine
    owner_a: User
    owner_b: User

    def client_a(self) -> APIClient:
        return client_for(self.owner_a)

    def client_b(self) -> APIClient:
        return client_for(self.owner_b)


def two_brand_order(
    *, qty_a: int = 2, qty_b: int = 1, price_a: str = "20.00", price_b: str = "15.00", **kw: Any
) -> TwoBrands:
    """A paid order with lines of brand A (flat shipping 5.00) and brand B (4.00)."""
    brand_a = BrandFactory.create(name="Alpha", shipping_flat_rate=Decimal("5.00"))
    brand_b = BrandFactory.create(name="Bravo", shipping_flat_rate=Decimal("4.00"))
    va, vb = variant_of(brand_a, price_a), variant_of(brand_b, price_b)
    order = paid_order((va, qty_a), (vb, qty_b), **kw)
    return TwoBrands(
        order=order,
        brand_a=brand_a,
        brand_b=brand_b,
        line_a=order.lines.get(brand=brand_a),
        line_b=order.lines.get(brand=brand_b),
        owner_a=member(brand_a),
        owner_b=member(brand_b),
    )


def shopper() -> User:
    return UserFactory.create()
