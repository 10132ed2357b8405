"""Fixtures for the Stripe emulator: the emulator as a subprocess and a webhook receiver."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import stripe

from devtools.stack.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
PICKLE = Path("/tmp/localstripe.pickle")
WEBHOOK_SECRET = "whsec_test"


@dataclass
class Delivery:
    body: bytes
    headers: dict[str, str]

    @property
    def event(self) -> dict:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """Collects what the emulator POSTs; tests wait for the event they expect."""

    url: str = ""
    deliveries: list[Delivery] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def add(self, delivery: Delivery) -> None:
        with self.changed:
            self.deliveries.append(delivery)
            self.changed.notify_all()

    def wait_for(self, predicate: Callable[[dict], bool], timeout: float = 15) -> Delivery:
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for delivery in self.deliveries:
                    if predicate(delivery.event):
                        return delivery
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [d.event["type"] for d in self.deliveries]
                    raise AssertionError(f"no matching webhook within {timeout}s; got {seen}")
                self.changed.wait(remaining)

    def wait_for_event(self, event_type: str, object_id: str, timeout: float = 15) -> Delivery:
        return self.wait_for(
            lambda e: e["type"] == event_type and e["data"]["object"]["id"] == object_id, timeout
        )


@dataclass
class Emulator:
    api_base: str
    webhook_secret: str
    webhooks: WebhookReceiver
    log_path: Path
    pickle_before: float | None

    def client(self, api_key: str = "sk_test_emulator") -> stripe.StripeClient:
        return stripe.StripeClient(
            api_key,
            base_addresses={"api": self.api_base, "files": self.api_base},
            max_network_retries=0,
        )


def _pickle_mtime() -> float | None:
    return PICKLE.stat().st_mtime if PICKLE.exists() else None


@pytest.fixture(scope="session")
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            receiver.add(Delivery(body, dict(self.headers.items())))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/stripe/webhook/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def stripe_emulator(webhook_receiver, tmp_path_factory) -> Iterator[Emulator]:
    """The emulator as its own process on a free port of 127.0.0.1, stopped at the end."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("stripe-emulator") / "emulator.log"
    pickle_before = _pickle_mtime()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "devtools.stripe_emulator", "--port", str(port),
                "--webhook-url", webhook_receiver.url, "--webhook-secret", WEBHOOK_SECRET,
                "--webhook-delay", "0.1",
            ],
            cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    api_base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"stripe emulator exited early:\n{log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{api_base}/_config/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"stripe emulator did not answer:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield Emulator(api_base, WEBHOOK_SECRET, webhook_receiver, log_path, pickle_before)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def stripe_client(stripe_emulator) -> stripe.StripeClient:
    return stripe_emulator.client()
