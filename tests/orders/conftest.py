"""End-to-end fixtures: the live server, the emulator's webhook pointed at it, a shopper's API.

The live server is a real HTTP server in a thread of this process, on the test database
(transactional: what the server commits, the test sees). The emulator is a separate
process, so its webhooks reach the server over HTTP exactly as Stripe's would.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from django.conf import settings

from orders.alerts import services as sellout_services
from payments.api import webhooks as webhook_views
from tests.orders.helpers import ADDRESS, stripe_test_client

WEBHOOK_PATH = "/api/v1/webhooks/stripe/"
WEBHOOK_ID = "tribe-e2e"
POLL_INTERVAL = 0.1
DELIVERY_TIMEOUT = 15.0


def wait_until(
    predicate: Callable[[], Any], *, what: str, timeout: float = DELIVERY_TIMEOUT
) -> Any:
    """Poll `predicate` until it returns something truthy; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out after {timeout:.0f}s waiting for {what}.")
        time.sleep(POLL_INTERVAL)


@dataclass
class WebhookLog:
    """Event ids the live server finished handling, in order (a spy around the real view)."""

    handled: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, event_id: str) -> int:
        with self.lock:
            return self.handled.count(event_id)


@pytest.fixture
def sellout_scan(django_capture_on_commit_callbacks) -> Callable[[], Any]:
    """Run the sell-out scan and the on-commit work it queues (its webhooks)."""

    def run() -> sellout_services.ScanResult:
        with django_capture_on_commit_callbacks(execute=True):
            return sellout_services.sellout_scan()

    return run


@pytest.fixture
def webhook_log(monkeypatch: pytest.MonkeyPatch) -> WebhookLog:
    log = WebhookLog()
    receive = webhook_views.stripe_webhook_receive

    def spy(*, payload: bytes, signature: str) -> Any:
        try:
            return receive(payload=payload, signature=signature)
        finally:
            with log.lock:
                log.handled.append(json.loads(payload).get("id", ""))

    monkeypatch.setattr(webhook_views, "stripe_webhook_receive", spy)
    return log


@dataclass
class LiveStripe:
    """The emulator with its webhook registered to the live server."""

    base: str
    site: str
    log: WebhookLog
    since: int
    earlier: set[str]

    def events(self) -> list[dict[str, Any]]:
        """Events the emulator made since this test registered its webhook, oldest first."""
        listed = stripe_test_client().v1.events.list(
            params={"created": {"gte": self.since}, "limit": 100}
        )
        found = [e.to_dict() for e in listed.data if e.id not in self.earlier]
        return sorted(found, key=lambda e: (e["created"], e["id"]))

    def wait_delivered(self) -> None:
        """Wait until the live server has handled every event the emulator has made so far."""
        ids = [e["id"] for e in self.events()]
        wait_until(
            lambda: all(self.log.count(i) for i in ids),
            what=f"the webhook deliveries of {ids}",
        )

    def authenticate(self, intent_id: str, client_secret: str, *, success: bool = True) -> Any:
        """The shopper's answer to the 3-D Secure challenge, as the Stripe.js stand-in sends it."""
        response = requests.post(
            f"{self.base}/v1/payment_intents/{intent_id}/_authenticate",
            data={"client_secret": client_secret, "success": "true" if success else "false"},
            headers={"Authorization": f"Bearer {settings.STRIPE_API_KEY}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return response.json()

    def resend(self, event_id: str) -> None:
        response = requests.post(f"{self.base}/_config/events/{event_id}/resend", timeout=10)
        assert response.status_code == 200, response.text


def _register_webhook(base: str, body: dict[str, Any]) -> None:
    # JSON rather than a form, so that `events` can be a list.
    response = requests.post(f"{base}/_config/webhooks/{WEBHOOK_ID}", json=body, timeout=10)
    response.raise_for_status()


@pytest.fixture
def live_stripe(live_server, stripe_emulator, settings, webhook_log) -> Iterator[LiveStripe]:
    """Register live_server's webhook endpoint with the emulator; drain and unhook afterwards."""
    settings.SITE_URL = live_server.url
    # The Stripe.js stand-in calls the API at its own script's origin: the emulator, which
    # is also settings.STRIPE_API_BASE (the stripe_emulator fixture).
    settings.STRIPE_JS_URL = f"{stripe_emulator}/js.stripe.com/v3/"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_local_emulator"
    since = int(time.time())
    earlier = {
        e.id
        for e in stripe_test_client()
        .v1.events.list(params={"created": {"gte": since}, "limit": 100})
        .data
    }
    url = live_server.url + WEBHOOK_PATH
    _register_webhook(stripe_emulator, {"url": url, "secret": settings.STRIPE_WEBHOOK_SECRET})
    live = LiveStripe(
        base=stripe_emulator, site=live_server.url, log=webhook_log, since=since, earlier=earlier
    )
    try:
        yield live
        # No delivery of this test's events may land in the next test's database.
        live.wait_delivered()
    finally:
        _register_webhook(
            stripe_emulator,
            {"url": url, "secret": settings.STRIPE_WEBHOOK_SECRET, "events": ["tribe.e2e.off"]},
        )


class ShopperApi:
    """The mobile app's calls, over HTTP to the live server."""

    def __init__(self, site: str) -> None:
        self.site = site
        self.http = requests.Session()

    def get(self, path: str) -> Any:
        response = self.http.get(self.site + path, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def cart_create(self) -> dict[str, Any]:
        response = self.http.post(f"{self.site}/api/v1/carts/", timeout=10)
        assert response.status_code == 201, response.text
        return response.json()

    def line_set(self, cart: dict[str, Any], sku: str, quantity: int) -> dict[str, Any]:
        response = self.http.put(
            f"{self.site}/api/v1/carts/{cart['id']}/lines/{sku}",
            json={"quantity": quantity},
            headers={"X-Cart-Token": cart["token"]},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return response.json()

    def checkout(self, cart: dict[str, Any], *, key: str) -> dict[str, Any]:
        response = self.http.post(
            f"{self.site}/api/v1/checkouts/",
            json={"cart_id": cart["id"], "email": "fan@example.com", "shipping_address": ADDRESS},
            headers={"X-Cart-Token": cart["token"], "Idempotency-Key": key},
            timeout=30,
        )
        assert response.status_code == 201, response.text
        return response.json()

    def buy(self, sku: str, quantity: int, *, key: str) -> dict[str, Any]:
        """Cart, one line, checkout: the checkout response."""
        cart = self.cart_create()
        self.line_set(cart, sku, quantity)
        return self.checkout(cart, key=key)


@pytest.fixture
def shopper(live_stripe: LiveStripe) -> Iterator[ShopperApi]:
    api = ShopperApi(live_stripe.site)
    yield api
    api.http.close()
