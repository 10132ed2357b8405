"""A card-testing run against the live server: threads of declined attempts from one client
across many carts are cut off at the limit, while a shopper on another client pays."""

from __future__ import annotations

import json
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from django.conf import settings as django_settings

from orders.models import Order
from tests.orders.helpers import ADDRESS, stripe_test_client, variant_in_stock

pytestmark = pytest.mark.django_db(transaction=True)

TESTER_IP = "203.0.113.7"
SHOPPER_IP = "198.51.100.9"
CARTS = 50
ATTEMPTS = 200
CLIENT_LIMIT = 10
DECLINED_CARD = "4000000000000002"


class Client:
    """One client's HTTP calls to the live server, behind our one trusted proxy."""

    def __init__(self, site: str, ip: str) -> None:
        self.site = site
        self.headers = {"X-Forwarded-For": ip}

    def checkout(self, sku: str, key: str) -> dict[str, Any]:
        with requests.Session() as http:
            cart = http.post(f"{self.site}/api/v1/carts/", headers=self.headers, timeout=30)
            assert cart.status_code == 201, cart.text
            token = {"X-Cart-Token": cart.json()["token"], **self.headers}
            line = http.put(
                f"{self.site}/api/v1/carts/{cart.json()['id']}/lines/{sku}",
                json={"quantity": 1},
                headers=token,
                timeout=30,
            )
            assert line.status_code == 200, line.text
            started = http.post(
                f"{self.site}/api/v1/checkouts/",
                json={
                    "cart_id": cart.json()["id"],
                    "email": "x@example.com",
                    "shipping_address": ADDRESS,
                },
                headers={**token, "Idempotency-Key": key},
                timeout=30,
            )
            assert started.status_code == 201, started.text
            return started.json()

    def confirm(self, token: str, payment_method: str) -> requests.Response:
        return requests.post(
            f"{self.site}/api/v1/checkouts/{token}/confirm/",
            json={"payment_method": payment_method},
            headers=self.headers,
            timeout=60,
        )


def _method(number: str) -> str:
    """A PaymentMethod made on Stripe (the emulator), as the shopper's SDK makes one."""
    return (
        stripe_test_client()
        .v1.payment_methods.create(
            params={
                "type": "card",
                "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
            }
        )
        .id
    )


def _confirmations(intent_id: str) -> int:
    url = f"{django_settings.STRIPE_API_BASE}/_config/payment_intents/{intent_id}/confirmations"
    with urllib.request.urlopen(url, timeout=10) as response:
        return len(json.loads(response.read())["data"])


@pytest.fixture
def limits(settings) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    settings.PAYMENT_DECLINES_PER_CLIENT = CLIENT_LIMIT
    settings.PAYMENT_DECLINES_PER_CART = 5  # above the 4 attempts each cart gets
    settings.PAYMENT_DECLINES_PER_DEVICE = 5
    # One declining test card for every attempt: the client's limit is the one under test.
    settings.PAYMENT_DECLINES_PER_CARD = 10_000
    settings.PAYMENT_BLOCK_SECONDS = 600


def test_card_testing_from_one_client_is_cut_off_while_another_client_pays(limits, live_stripe):
    variant = variant_in_stock(on_hand=CARTS + 5, price="9.00")
    tester = Client(live_stripe.site, TESTER_IP)
    shopper = Client(live_stripe.site, SHOPPER_IP)
    with ThreadPoolExecutor(max_workers=6) as pool:
        carts = list(pool.map(lambda i: tester.checkout(variant.sku, f"tester-{i}"), range(CARTS)))
    shopper_checkout = shopper.checkout(variant.sku, "shopper-1")
    methods = [
        _method(DECLINED_CARD) for _ in range(ATTEMPTS + 1)
    ]  # one unused: the shopper's turn
    good_card = _method("4242424242424242")

    def attempt(i: int) -> requests.Response:
        if i == ATTEMPTS // 2:  # the shopper pays in the middle of the run
            return shopper.confirm(shopper_checkout["order_token"], good_card)
        return tester.confirm(carts[i % CARTS]["order_token"], methods[i])

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(attempt, range(ATTEMPTS + 1)))

    shopper_answer = responses.pop(ATTEMPTS // 2)
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {402: CLIENT_LIMIT, 429: ATTEMPTS - CLIENT_LIMIT}, statuses
    refused = [r for r in responses if r.status_code == 429]
    assert {r.json()["error"]["code"] for r in refused} == {"payment_attempts_exceeded"}
    assert all(0 < int(r.headers["Retry-After"]) <= 600 for r in refused)
    # Stripe was asked to confirm exactly CLIENT_LIMIT times: nothing after the cut-off.
    assert sum(_confirmations(c["payment_intent_id"]) for c in carts) == CLIENT_LIMIT
    assert shopper_answer.status_code == 200, shopper_answer.text
    assert shopper_answer.json()["payment_status"] == "succeeded"
    assert Order.objects.get(pk=shopper_checkout["order_id"]).status == Order.Status.PAID
    # Still cut off once the run is over; the shopper's client can still check out.
    late = tester.confirm(carts[0]["order_token"], _method(DECLINED_CARD))
    assert late.status_code == 429
    assert shopper.checkout(variant.sku, "shopper-2")["status"] == "pending_payment"
