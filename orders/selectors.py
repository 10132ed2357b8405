"""Reads of carts and orders, with their prefetching fixed in one place."""

from __future__ import annotations

import secrets

from django.db.models import Prefetch, QuerySet

from accounts.models import User
from common.errors import NotFound
from orders.models import Cart, CartLine, Order, OrderLine
from orders.pricing import Totals, price_lines


def cart_queryset() -> QuerySet[Cart]:
    return Cart.objects.prefetch_related(
        Prefetch(
            "lines",
            queryset=CartLine.objects.select_related("variant__product__brand").order_by("id"),
        )
    )


def cart_get_for(*, cart_id: int, user: User | None, token: str | None) -> Cart:
    """The cart if the caller owns it (signed-in owner, or the anonymous cart's token); else 404."""
    cart = cart_queryset().filter(pk=cart_id).first()
    if cart is None:
        raise NotFound("No such cart.", code="cart_not_found")
    if cart.user_id is not None:
        if user is not None and user.is_authenticated and user.pk == cart.user_id:
            return cart
        raise NotFound("No such cart.", code="cart_not_found")
    if token and secrets.compare_digest(token, cart.token):
        return cart
    raise NotFound("No such cart.", code="cart_not_found")


def cart_totals(cart: Cart) -> Totals | None:
    lines = list(cart.lines.all())
    if not lines:
        return None
    return price_lines(((line.variant, line.quantity) for line in lines), cart.currency)


def order_queryset() -> QuerySet[Order]:
    return Order.objects.prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.select_related("brand").order_by("id")),
        "shipping_lines__brand",
    )


def order_get_by_token(*, token: str) -> Order:
    order = order_queryset().filter(token=token).first() if token else None
    if order is None:
        raise NotFound("No such order.", code="order_not_found")
    return order
