"""Outbound webhooks through the real broker and a real worker process.

The receiver is a real HTTP server in this process that answers 500 first, then 200. The
worker process gets loopback, plain http and a 1-second retry base through its environment
(tests/conftest.py); the retry is scheduled in the database and picked up by the sweep task,
as the beat schedule does in production.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone

from orders.models import BrandWebhookEndpoint, SellOutAlert, WebhookDelivery
from orders.tasks import sellout_scan, webhooks_sweep
from tests.orders.aftersale_helpers import member, paid_order, variant_of
from tests.orders.conftest import wait_until
from tests.orders.waitlist_helpers import link_for, sell
from tests.orders.webhook_helpers import verify
from tests.shop.factories import BrandFactory, ProductFactory, VariantFactory

TASK_TIMEOUT = 30.0


@dataclass
class Hit:
    headers: dict[str, str]
    body: bytes
    answered: int


@dataclass
class FlakyReceiver:
    """Answers the given status codes in turn, then 200; logs every request."""

    url: str
    answers: list[int]
    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            status = self.answers.pop(0) if self.answers else 200
            self.hits.append(Hit(headers, body, status))
            return status

    def seen(self) -> list[Hit]:
        with self.lock:
            return list(self.hits)


@pytest.fixture
def flaky_receiver() -> Iterator[FlakyReceiver]:
    state: dict[str, FlakyReceiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = state["receiver"].answer(dict(self.headers.items()), body)
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"ok" if status < 300 else b"down")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["receiver"] = FlakyReceiver(
        url=f"http://127.0.0.1:{server.server_port}/hooks/tribe", answers=[500]
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state["receiver"]
    server.shutdown()
    server.server_close()


def delivery_of(endpoint: BrandWebhookEndpoint) -> WebhookDelivery | None:
    return WebhookDelivery.objects.filter(endpoint=endpoint).first()


def delivered_on_retry(
    endpoint: BrandWebhookEndpoint,
) -> tuple[WebhookDelivery, WebhookDelivery]:
    """The endpoint's delivery after the worker's first attempt (the receiver answers 500),
    and after the sweep retries it once due."""
    first = wait_until(
        lambda: (d := delivery_of(endpoint)) is not None and d.attempts == 1 and d,
        what="the worker's first attempt, answered 500",
        timeout=TASK_TIMEOUT,
    )
    wait_until(
        lambda: first.next_attempt_at <= timezone.now(),
        what="the retry to fall due",
        timeout=TASK_TIMEOUT,
    )
    assert webhooks_sweep.delay().get(timeout=TASK_TIMEOUT) == 1
    delivered = wait_until(
        lambda: (d := delivery_of(endpoint)) is not None and d.status == "delivered" and d,
        what="the retried delivery",
        timeout=TASK_TIMEOUT,
    )
    return first, delivered


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
@pytest.mark.usefixtures("stripe_emulator")
def test_a_real_worker_retries_after_a_500_and_delivers_a_signed_event_once(
    real_worker, flaky_receiver
):
    brand = BrandFactory.create()
    member(brand)
    endpoint = BrandWebhookEndpoint.objects.create(brand=brand, url=flaky_receiver.url)

    order = paid_order((variant_of(brand), 1))  # order.paid is queued after commit

    first, delivered = delivered_on_retry(endpoint)
    assert (first.status, first.last_status_code) == ("pending", 500)

    assert (delivered.attempts, delivered.last_status_code) == (2, 200)
    # Nothing is left to send: no third request ever comes.
    assert webhooks_sweep.delay().get(timeout=TASK_TIMEOUT) == 0
    hits = flaky_receiver.seen()
    assert [h.answered for h in hits] == [500, 200]
    for hit in hits:  # each attempt is signed afresh, for the same event
        assert verify(hit.headers["Tribe-Signature"], hit.body, endpoint.secret)
        assert not verify(hit.headers["Tribe-Signature"], hit.body, "whsec_wrong")
        assert hit.headers["Tribe-Event-Id"] == delivered.event_id
    event = json.loads(hits[-1].body)
    assert (event["id"], event["type"]) == (delivered.event_id, "order.paid")
    assert event["data"]["order"]["id"] == order.pk
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_a_real_worker_sends_a_sell_out_alert_once_per_endpoint_even_when_scanned_twice(
    real_worker, flaky_receiver
):
    variant = VariantFactory.create(product=ProductFactory.create(), on_hand=50)
    sell(variant, 40, link=link_for(variant))  # 10 left at 40 an hour: 15 minutes
    endpoint = BrandWebhookEndpoint.objects.create(
        brand=variant.product.brand, url=flaky_receiver.url
    )

    assert sellout_scan.delay().get(timeout=TASK_TIMEOUT) == 1
    assert sellout_scan.delay().get(timeout=TASK_TIMEOUT) == 0  # the alert is open already
    _, delivered = delivered_on_retry(endpoint)

    hits = flaky_receiver.seen()
    assert [h.answered for h in hits] == [500, 200]
    for hit in hits:
        assert verify(hit.headers["Tribe-Signature"], hit.body, endpoint.secret)
        assert hit.headers["Tribe-Event-Id"] == delivered.event_id
    event = json.loads(hits[-1].body)
    assert event["type"] == "variant.selling_out"
    assert event["data"]["variant"]["sku"] == variant.sku
    assert event["data"]["alert"]["id"] == SellOutAlert.objects.get().pk
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 1
