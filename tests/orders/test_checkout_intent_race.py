"""Checkout and the `payment_intent.created` webhook both record the PaymentIntent, in any order.

Whichever arrives first, the order ends with the intent's id and its client secret: an order
with only the id cannot be paid (the shopper's SDK needs the secret).
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from rest_framework.test import APIClient

from orders.models import Order
from orders.services import checkout as checkout_service
from tests.orders.helpers import (
    cart_client,
    cart_with,
    checkout,
    event_payload,
    post_event,
    stripe_test_client,
    variant_in_stock,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_emulator")]


def created_event(event_id: str, intent: Any) -> bytes:
    return event_payload(
        event_id,
        "payment_intent.created",
        {"id": intent.id, "object": "payment_intent", "metadata": intent.metadata.to_dict()},
    )


class _IntentsThen:
    """A client's `payment_intents` that runs `then(intent)` right after each create."""

    def __init__(self, real: Any, then: Callable[[Any], None], created: list[Any]) -> None:
        self.real, self.then, self.created = real, then, created

    def create(self, *args: Any, **kwargs: Any) -> Any:
        intent = self.real.create(*args, **kwargs)
        self.created.append(intent)
        self.then(intent)
        return intent

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def webhook_after_create(monkeypatch: pytest.MonkeyPatch, then: Callable[[Any], None]) -> list[Any]:
    """Run `then(intent)` after Stripe creates checkout's intent, before checkout records it."""
    created: list[Any] = []
    build = checkout_service.stripe_client

    def client() -> Any:
        intents = _IntentsThen(build().v1.payment_intents, then, created)
        return SimpleNamespace(v1=SimpleNamespace(payment_intents=intents))

    monkeypatch.setattr(checkout_service, "stripe_client", client)
    return created


def test_created_webhook_arriving_before_checkout_records_the_intent_leaves_it_payable(
    monkeypatch,
):
    variant = variant_in_stock(on_hand=5)
    cart = cart_with((variant, 1))
    webhook = APIClient()
    created = webhook_after_create(
        monkeypatch,
        lambda intent: post_event(webhook, created_event("evt_created_early", intent)),
    )

    response = checkout(cart_client(cart), cart)

    assert response.status_code == 201, response.content
    body = response.json()
    (intent,) = created
    assert body["payment_intent_id"] == intent.id
    assert body["client_secret"] == intent.client_secret
    order = Order.objects.get(pk=body["order_id"])
    assert (order.stripe_payment_intent_id, order.stripe_client_secret) == (
        intent.id,
        intent.client_secret,
    )


def test_created_webhook_for_a_checkout_that_died_before_recording_stores_the_secret(
    monkeypatch,
):
    variant = variant_in_stock(on_hand=5)
    cart = cart_with((variant, 1))

    def die(intent: Any) -> None:
        raise ConnectionResetError("worker killed after the intent was created")

    created = webhook_after_create(monkeypatch, die)
    assert checkout(cart_client(cart), cart).status_code == 500
    (intent,) = created
    assert Order.objects.get(cart=cart).stripe_payment_intent_id is None

    assert post_event(APIClient(), created_event("evt_created_late", intent)).status_code == 200

    order = Order.objects.get(cart=cart)
    assert (order.stripe_payment_intent_id, order.stripe_client_secret) == (
        intent.id,
        intent.client_secret,
    )


def test_checkout_retry_that_finds_an_intent_without_its_secret_fetches_it_from_stripe():
    variant = variant_in_stock(on_hand=5)
    cart = cart_with((variant, 1))
    client = cart_client(cart)
    first = checkout(client, cart, key="k1").json()
    intent = stripe_test_client().v1.payment_intents.retrieve(first["payment_intent_id"])
    # What an earlier release left behind when the webhook linked the intent first.
    Order.objects.filter(pk=first["order_id"]).update(stripe_client_secret="")

    retried = checkout(client, cart, key="k1")

    assert retried.status_code == 201, retried.content
    assert retried.json()["payment_intent_id"] == intent.id
    assert retried.json()["client_secret"] == intent.client_secret
    assert Order.objects.get(pk=first["order_id"]).stripe_client_secret == intent.client_secret


def test_a_created_webhook_for_an_intent_checkout_recorded_asks_stripe_nothing(monkeypatch):
    from orders.services import payments

    variant = variant_in_stock(on_hand=5)
    cart = cart_with((variant, 1))
    body = checkout(cart_client(cart), cart).json()
    intent = stripe_test_client().v1.payment_intents.retrieve(body["payment_intent_id"])
    asked: list[str] = []
    build = payments.stripe_client

    def counting() -> Any:
        asked.append("stripe")
        return build()

    monkeypatch.setattr(payments, "stripe_client", counting)

    assert post_event(APIClient(), created_event("evt_created", intent)).status_code == 200
    assert asked == []
    # Any other event of the intent is still checked against Stripe.
    other = event_payload(
        "evt_requires_action",
        "payment_intent.requires_action",
        {"id": intent.id, "object": "payment_intent", "metadata": intent.metadata.to_dict()},
    )
    assert post_event(APIClient(), other).status_code == 200
    assert asked == ["stripe"]
    assert Order.objects.get(pk=body["order_id"]).status == Order.Status.PENDING_PAYMENT
