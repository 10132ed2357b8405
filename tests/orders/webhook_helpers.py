"""A brand's webhook receiver for the outbound webhook tests: a real local HTTP server."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from orders.models import BrandWebhookEndpoint


def verify(header: str, body: bytes, secret: str, tolerance: int = 300) -> bool:
    """The receiver from docs/webhooks.md, copied as a brand's developer would."""
    parts = dict(p.split("=", 1) for p in header.split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), parts["v1"]) and (
        abs(time.time() - int(parts["t"])) <= tolerance
    )


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A brand's endpoint: answers with `answer(request)` (a status code), logs every request."""

    url: str
    answer: Callable[[Received], int] = lambda request: 200
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def types(self) -> list[str]:
        with self.lock:
            return [r.event["type"] for r in self.received]


def receiving(settings: Any) -> Iterator[Receiver]:
    """Serve a receiver on 127.0.0.1 for one test (the body of a `receiver` fixture)."""
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    settings.WEBHOOK_REQUIRE_HTTPS = False  # a local receiver without a certificate
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            hook = state["receiver"]
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            request = Received(self.path, dict(self.headers.items()), body)
            with hook.lock:
                hook.received.append(request)
            time.sleep(hook.delay)
            status = hook.answer(request)
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"ok" if status < 300 else b"nope")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["receiver"] = Receiver(url=f"http://127.0.0.1:{server.server_port}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state["receiver"]
    server.shutdown()
    server.server_close()


def endpoint_for(brand: Any, url: str, events: list[str] | None = None) -> BrandWebhookEndpoint:
    return BrandWebhookEndpoint.objects.create(brand=brand, url=url, events=events or [])
