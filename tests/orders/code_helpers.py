"""Builders for codes on carts: a brand discount and a creator code pointing at it."""

from __future__ import annotations

from typing import Any

from creators.models import Creator, CreatorCode
from orders.models import Cart, Order
from shop.models import Brand, Discount


def code_for(
    brand: Brand,
    code: str = "MAYA10",
    *,
    creator: Creator | None = None,
    kind: str = "percentage",
    value: str = "10",
    **discount: Any,
) -> CreatorCode:
    made = Discount.objects.create(brand=brand, name=code, kind=kind, value=value, **discount)
    return CreatorCode.objects.create(code=code, brand=brand, discount=made, creator=creator)


def checkout_with_code(cart: Cart, code: str, *, email: str = "fan@example.com") -> Order:
    """The shopper types `code` into the cart and checks out (one key per cart)."""
    from orders.services.cart_codes import cart_code_apply
    from orders.services.checkout import checkout_start
    from tests.orders.helpers import ADDRESS

    cart_code_apply(cart=cart, code=code, user=None)
    return checkout_start(
        cart=cart,
        user=None,
        idempotency_key=f"k{cart.pk}",
        email=email,
        shipping_address=ADDRESS,
    )
