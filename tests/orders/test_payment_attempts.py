"""Card-testing defence: declines counted per client, device, cart and card; 429 past a limit."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from rest_framework.test import APIClient

from orders.models import Order
from tests.orders.helpers import (
    cart_client,
    cart_with,
    checkout,
    event_payload,
    post_event,
    stripe_test_client,
    variant_in_stock,
)
from tests.orders.test_web_checkout import check_out

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_emulator")]

DECLINED_CARD = "4000000000000002"


@pytest.fixture(autouse=True)
def _limits(settings) -> None:
    settings.PAYMENT_DECLINES_PER_CLIENT = 50
    settings.PAYMENT_DECLINES_PER_DEVICE = 50
    settings.PAYMENT_DECLINES_PER_CART = 3
    settings.PAYMENT_DECLINES_PER_CARD = 50
    settings.PAYMENT_BLOCK_SECONDS = 900


def _declined_method() -> Any:
    """A new PaymentMethod for a card that is declined, as the app's SDK makes one per try."""
    return stripe_test_client().v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": DECLINED_CARD, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        }
    )


def _checkout(email: str = "fan@example.com") -> dict[str, Any]:
    cart = cart_with((variant_in_stock(on_hand=50), 1))
    response = checkout(cart_client(cart), cart, key=f"k-{cart.pk}", email=email)
    assert response.status_code == 201, response.json()
    return response.json()


def _confirm(token: str, client: APIClient | None = None, **body: Any) -> Any:
    return (client or APIClient()).post(f"/api/v1/checkouts/{token}/confirm/", body, format="json")


def _confirmations(intent_id: str) -> list[dict[str, Any]]:
    url = f"{django_settings.STRIPE_API_BASE}/_config/payment_intents/{intent_id}/confirmations"
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())["data"]


def _error(response: Any) -> str:
    return response.json()["error"]["code"]


def test_confirm_passes_the_radar_session_to_stripe_and_marks_the_order_paid():
    started = _checkout()

    response = _confirm(
        started["order_token"], payment_method="pm_card_visa", radar_session="rse_abc123"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["payment_status"] == "succeeded"
    assert response.json()["status"] == "paid"
    sent = _confirmations(started["payment_intent_id"])
    assert [c["radar_options"] for c in sent] == [{"session": "rse_abc123"}]
    order = Order.objects.get(pk=started["order_id"])
    assert order.card_fingerprint  # the paying card's, kept for the fraud rules


def test_a_malformed_radar_session_is_refused_before_stripe():
    started = _checkout()

    response = _confirm(
        started["order_token"], payment_method="pm_card_visa", radar_session="not a session"
    )

    assert response.status_code == 400
    assert "radar_session" in response.json()["error"]["fields"]
    assert _confirmations(started["payment_intent_id"]) == []


def test_declines_on_one_cart_are_cut_off_with_429_and_retry_after():
    started = _checkout()
    token = started["order_token"]

    declines = [_confirm(token, payment_method=_declined_method().id) for _ in range(3)]
    refused = _confirm(token, payment_method="pm_card_visa")

    assert [r.status_code for r in declines] == [402, 402, 402]
    assert {_error(r) for r in declines} == {"card_declined"}
    assert refused.status_code == 429
    assert _error(refused) == "payment_attempts_exceeded"
    assert 0 < int(refused["Retry-After"]) <= 900
    assert refused.json()["error"]["details"]["retry_after"] == int(refused["Retry-After"])
    # Stripe saw the three declines and nothing after them.
    assert len(_confirmations(started["payment_intent_id"])) == 3


def test_a_device_past_its_limit_is_refused_on_another_cart(settings):
    settings.PAYMENT_DECLINES_PER_DEVICE = 2
    first, second = _checkout(), _checkout()
    device = APIClient()
    device.credentials(HTTP_X_DEVICE_ID="device-abcdef-123")

    for _ in range(2):
        assert (
            _confirm(first["order_token"], device, payment_method=_declined_method().id).status_code
            == 402
        )
    refused = _confirm(second["order_token"], device, payment_method="pm_card_visa")
    other_device = _confirm(second["order_token"], payment_method="pm_card_visa")

    assert refused.status_code == 429
    assert _error(refused) == "payment_attempts_exceeded"
    assert other_device.status_code == 200
    assert _confirmations(second["payment_intent_id"])[0]["payment_method"]


def _failed_event(event_id: str, *, charge: str, fingerprint: str) -> bytes:
    return event_payload(
        event_id,
        "payment_intent.payment_failed",
        {
            "id": "pi_not_ours_" + charge,
            "object": "payment_intent",
            "metadata": {},
            "last_payment_error": {
                "type": "card_error",
                "code": "card_declined",
                "charge": charge,
                "payment_method": {"id": "pm_x", "card": {"fingerprint": fingerprint}},
            },
        },
    )


def test_payment_failed_events_count_declines_by_card_once_each(settings):
    settings.PAYMENT_DECLINES_PER_CARD = 2
    method = _declined_method()
    fingerprint = method.card.fingerprint
    webhook = APIClient()
    first = _failed_event("evt_pf_1", charge="ch_1", fingerprint=fingerprint)
    # The same event again, and another event reporting the same decline: one decline.
    for payload in (
        first,
        first,
        _failed_event("evt_pf_2", charge="ch_1", fingerprint=fingerprint),
    ):
        assert post_event(webhook, payload).status_code == 200
    started = _checkout()

    still_allowed = _confirm(started["order_token"], payment_method=method.id)
    assert (
        post_event(
            webhook, _failed_event("evt_pf_3", charge="ch_2", fingerprint=fingerprint)
        ).status_code
        == 200
    )
    refused = _confirm(started["order_token"], payment_method=method.id)

    assert still_allowed.status_code == 402  # the card's second decline, made now
    assert refused.status_code == 429
    assert _error(refused) == "payment_attempts_exceeded"
    assert len(_confirmations(started["payment_intent_id"])) == 1


def test_a_payment_failed_event_counts_against_the_orders_cart(settings):
    settings.PAYMENT_DECLINES_PER_CART = 1
    started = _checkout()
    order = Order.objects.get(pk=started["order_id"])
    payload = event_payload(
        "evt_cart_1",
        "payment_intent.payment_failed",
        {
            "id": started["payment_intent_id"],
            "object": "payment_intent",
            "metadata": {"order_id": str(order.pk)},
            "last_payment_error": {"code": "card_declined", "charge": "ch_browser_1"},
        },
    )

    assert post_event(APIClient(), payload).status_code == 200
    refused = _confirm(started["order_token"], payment_method="pm_card_visa")

    assert refused.status_code == 429
    assert _confirmations(started["payment_intent_id"]) == []


def test_a_blocked_client_cannot_start_a_checkout_or_open_the_payment_page(client):
    started = _checkout()
    for _ in range(3):
        _confirm(started["order_token"], payment_method=_declined_method().id)
    # The cart is blocked: its payment page is a plain page, not the card form.
    page = client.get(f"/checkout/{started['order_token']}/")

    assert page.status_code == 429
    assert int(page["Retry-After"]) > 0
    assert b"Too many payments were declined" in page.content
    assert b"client_secret" not in page.content


def test_a_blocked_client_is_refused_a_new_checkout(settings):
    settings.PAYMENT_DECLINES_PER_CLIENT = 2
    started = _checkout()
    for _ in range(2):
        assert (
            _confirm(started["order_token"], payment_method=_declined_method().id).status_code
            == 402
        )
    cart = cart_with((variant_in_stock(on_hand=5), 1))

    refused = checkout(cart_client(cart), cart, key="k-new")

    assert refused.status_code == 429
    assert _error(refused) == "payment_attempts_exceeded"
    assert int(refused["Retry-After"]) > 0
    assert not Order.objects.filter(cart=cart).exists()


def test_checkout_keeps_the_clients_signals_as_hashes_only():
    cart = cart_with((variant_in_stock(on_hand=5), 1))
    client = cart_client(cart)
    client.credentials(HTTP_X_CART_TOKEN=cart.token, HTTP_X_DEVICE_ID="device-abcdef-123")

    response = checkout(client, cart, key="k-signals")

    order = Order.objects.get(pk=response.json()["order_id"])
    assert len(order.device_hash) == 64
    assert "device-abcdef-123" not in order.device_hash
    assert len(order.client_ip_hash) == 64
    assert len(order.shipping_hash) == 64
    assert order.card_fingerprint == ""  # known once paid


def test_with_the_counters_unreachable_payments_still_go_through(settings):
    started = _checkout()
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there

    response = _confirm(started["order_token"], payment_method="pm_card_visa")

    assert response.status_code == 200, response.json()
    assert response.json()["payment_status"] == "succeeded"


def test_a_connection_lost_inside_redis_pys_handshake_lets_the_checkout_through(monkeypatch):
    """redis-py 8.1 reports a connection lost during its connect handshake as ValueError
    ("I/O operation on closed file"), not ConnectionError: the checkout still goes on."""
    from orders.services import payment_attempts

    class Dropped:
        def pipeline(self, **kwargs):
            raise ValueError("I/O operation on closed file.")

        def register_script(self, source):
            def run(**kwargs):
                raise ValueError("I/O operation on closed file.")

            return run

    monkeypatch.setattr(payment_attempts, "_redis", lambda: Dropped())

    started = _checkout()
    response = _confirm(started["order_token"], payment_method="pm_card_visa")

    assert response.status_code == 200, response.json()
    assert response.json()["payment_status"] == "succeeded"


def test_a_blocked_client_gets_a_plain_page_from_the_web_checkout_form(settings):
    settings.PAYMENT_DECLINES_PER_CLIENT = 1
    started = _checkout()
    assert _confirm(started["order_token"], payment_method=_declined_method().id).status_code == 402
    cart = cart_with((variant_in_stock(on_hand=5), 1))

    page = check_out(Client(), cart)

    assert page.status_code == 429
    assert int(page["Retry-After"]) > 0
    assert "Too many payments were declined" in page.content.decode()
    assert not Order.objects.filter(cart=cart).exists()
