"""Shared builders for the orders tests."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from decimal import Decimal
from typing import Any

import stripe
from django.conf import settings
from rest_framework.test import APIClient

from orders.models import Cart, CartLine, Order, OrderLine
from shop.models import Variant
from tests.shop.factories import BrandFactory, ProductFactory, VariantFactory

ADDRESS = {
    "name": "Fan One",
    "line1": "1 Main St",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}


def line_of(
    order: Order,
    variant: Variant,
    *,
    unit_price: Decimal,
    quantity: int = 1,
    line_total: Decimal | None = None,
    currency: str = "USD",
    title: str | None = None,
    **fields: Any,
) -> OrderLine:
    """An unsaved line of `order` for `variant`: its product, brand and SKU copied from it,
    as checkout does, the open rate 10%, `line_total` unit price x quantity unless given."""
    return OrderLine(
        order=order,
        variant=variant,
        product=variant.product,
        brand=variant.product.brand,
        sku=variant.sku,
        title=variant.product.title if title is None else title,
        unit_price=unit_price,
        quantity=quantity,
        line_total=unit_price * quantity if line_total is None else line_total,
        currency=currency,
        open_rate=Decimal("10"),
        **fields,
    )


def variant_in_stock(
    on_hand: int = 10, price: str = "20.00", currency: str = "USD", **brand_kw: Any
) -> Variant:
    brand = BrandFactory.create(currency=currency, **brand_kw)
    return VariantFactory.create(
        product=ProductFactory.create(brand=brand), on_hand=on_hand, price=Decimal(price)
    )


def cart_with(*lines: tuple[Variant, int]) -> Cart:
    cart = Cart.objects.create(currency=lines[0][0].product.brand.currency if lines else "")
    for variant, quantity in lines:
        CartLine.objects.create(cart=cart, variant=variant, quantity=quantity)
    return cart


def cart_client(cart: Cart) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_CART_TOKEN=cart.token)
    return client


def checkout(client: APIClient, cart: Cart, key: str = "key-1", email: str = "fan@example.com"):
    return client.post(
        "/api/v1/checkouts/",
        {"cart_id": cart.pk, "email": email, "shipping_address": ADDRESS},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def sign(payload: bytes, *, secret: str | None = None, timestamp: int | None = None) -> str:
    """A Stripe-Signature header for `payload`, built as Stripe documents it."""
    ts = int(time.time()) if timestamp is None else timestamp
    secret = secret or settings.STRIPE_WEBHOOK_SECRET
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


def event_payload(event_id: str, event_type: str, obj: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": event_type,
            "created": int(time.time()),
            "data": {"object": obj},
        }
    ).encode()


def intent_event(event_id: str, event_type: str, order: Any) -> bytes:
    """A `payment_intent.*` event for `order`'s PaymentIntent, as Stripe sends it."""
    return event_payload(
        event_id,
        event_type,
        {
            "id": order.stripe_payment_intent_id,
            "object": "payment_intent",
            "metadata": {"order_id": str(order.pk)},
        },
    )


def intent_succeeded_payload(event_id: str, order: Any) -> bytes:
    """A `payment_intent.succeeded` event for `order`'s PaymentIntent, as Stripe sends it."""
    return intent_event(event_id, "payment_intent.succeeded", order)


def post_event(client: APIClient, payload: bytes, signature: str | None = None):
    return client.post(
        "/api/v1/webhooks/stripe/",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature if signature is not None else sign(payload),
    )


def stripe_test_client() -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key=settings.STRIPE_API_KEY,
        base_addresses={"api": settings.STRIPE_API_BASE},
        max_network_retries=0,
    )


def pay(intent_id: str | None, card: str = "4242424242424242") -> Any:
    """Confirm a PaymentIntent on the emulator with a test card, as a shopper's SDK would."""
    assert intent_id, "the order has no PaymentIntent"
    client = stripe_test_client()
    method = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": card, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        }
    )
    try:
        return client.v1.payment_intents.confirm(intent_id, params={"payment_method": method.id})
    except stripe.CardError as exc:
        return exc


def refund_succeeded(line: Any, amount: Any | None = None) -> Any:
    """Record a succeeded refund of an order line (as the refunds service leaves it)."""
    from orders.models import Refund, RefundLine

    value = line.line_total if amount is None else amount
    refund = Refund.objects.create(
        order_id=line.order_id,
        brand_id=line.brand_id,
        amount=value,
        currency=line.currency,
        status=Refund.Status.SUCCEEDED,
    )
    RefundLine.objects.create(refund=refund, order_line=line, brand_id=line.brand_id, amount=value)
    return refund
