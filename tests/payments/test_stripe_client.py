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
    paths: list[str] = []  # as asked: a proxy is asked for the whole URL

    def setup(self) -> None:
        super().setup()
        type(self).connections.append(1)

    def do_GET(self) -> None:
        type(self).paths.append(self.path)
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
    _Stripe.paths = []
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


def test_a_proxy_the_environment_names_is_used_and_read_once(
    counting_stripe, settings, monkeypatch
):
    proxy = settings.STRIPE_API_BASE  # the counting server, asked as a proxy
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy)
    settings.STRIPE_API_BASE = "http://stripe.invalid"  # no such host: only the proxy answers

    assert stripe_client().v1.payment_intents.retrieve("pi_1").id == "pi_1"

    # Read when the client was built, not on each call: a proxy named later changes nothing.
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    assert stripe_client().v1.payment_intents.retrieve("pi_2").id == "pi_2"
    assert _Stripe.paths == [
        "http://stripe.invalid/v1/payment_intents/pi_1",
        "http://stripe.invalid/v1/payment_intents/pi_2",
    ]


def test_a_host_the_environment_exempts_from_the_proxy_is_reached_directly(
    counting_stripe, settings, monkeypatch
):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.delenv("no_proxy", raising=False)
    settings.STRIPE_API_BASE += "/"  # a client of its own, built with these variables

    assert stripe_client().v1.payment_intents.retrieve("pi_3").id == "pi_3"
    assert _Stripe.paths == ["/v1/payment_intents/pi_3"]
