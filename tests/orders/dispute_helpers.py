"""Builders for the dispute tests: disputes opened and closed on the Stripe emulator, and
their events delivered through the Stripe webhook endpoint, as Stripe would."""

from __future__ import annotations

import time
from typing import Any

import requests
from django.conf import settings
from rest_framework.test import APIClient

from orders.models import Order
from tests.orders.aftersale_helpers import intent_of
from tests.orders.helpers import event_payload, post_event, stripe_test_client

_events = iter(range(1, 10**9))


def _control(path: str, **params: Any) -> dict[str, Any]:
    response = requests.post(
        f"{settings.STRIPE_API_BASE}{path}",
        data=params,
        headers={"Authorization": f"Bearer {settings.STRIPE_API_KEY}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def charge_of(order: Order) -> str:
    charge = stripe_test_client().v1.payment_intents.retrieve(intent_of(order)).latest_charge
    assert isinstance(charge, str)
    return charge


def dispute_open(order: Order, amount_cents: int | None = None) -> str:
    """The bank disputes the order's charge (all of it, or `amount_cents`): the dispute id."""
    params = {"amount": str(amount_cents)} if amount_cents is not None else {}
    return str(_control(f"/_config/charges/{charge_of(order)}/dispute", **params)["id"])


def dispute_close(dispute_id: str, outcome: str, fee_reinstated: bool = False) -> None:
    _control(
        f"/_config/disputes/{dispute_id}/close",
        outcome=outcome,
        fee_reinstated="true" if fee_reinstated else "false",
    )


def dispute_of_card(order: Order, timeout: float = 10) -> str:
    """The dispute the emulator opens by itself for a payment with the dispute test card."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = stripe_test_client().v1.disputes.list(params={"payment_intent": intent_of(order)})
        if found.data:
            return found.data[0].id
        time.sleep(0.1)
    raise AssertionError("the emulator opened no dispute")


def deliver(event_type: str, dispute_id: str, event_id: str | None = None) -> str:
    """Stripe's `charge.dispute.*` event, signed and posted to our webhook endpoint."""
    event_id = event_id or f"evt_dispute_{next(_events)}"
    body = event_payload(event_id, event_type, {"id": dispute_id, "object": "dispute"})
    response = post_event(APIClient(), body)
    assert response.status_code == 200, response.content
    return event_id
