"""One Stripe client per process: calls reuse each thread's kept-alive connection."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from payments.stripe.client import stripe_client


class _Stripe(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Stripe's API
    connections: list[int] = []

    def setup(self) -> None:
        super().setup()
        type(self).connections.append(1)

    def do_GET(self) -> None:
        body = json.dumps({"id": self.path.rsplit("/", 1)[-1], "object": "payment_intent"})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def counting_stripe(settings) -> Iterator[list[int]]:
    _Stripe.connections = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stripe)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{server.server_address[1]}"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    yield _Stripe.connections
    server.shutdown()
    server.server_close()


def test_the_same_settings_give_the_same_client(settings):
    assert stripe_client() is stripe_client()
    before = stripe_client()
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    assert stripe_client() is not before
    assert stripe_client()._requestor.base_addresses["api"] == "http://127.0.0.1:9"


def test_calls_from_one_thread_share_one_connection(counting_stripe):
    for n in range(10):
        intent = stripe_client().v1.payment_intents.retrieve(f"pi_{n}")
        assert intent.id == f"pi_{n}"
    assert len(counting_stripe) == 1


def test_each_thread_keeps_its_own_connection(counting_stripe):
    def calls() -> None:
        for n in range(5):
            stripe_client().v1.payment_intents.retrieve(f"pi_{n}")

    threads = [threading.Thread(target=calls) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(counting_stripe) == 4
