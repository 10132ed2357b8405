"""Run the local Stripe API emulator (the `localstripe` package) for development and tests.

A development tool only: it runs as its own process and the service never imports it.
It keeps everything in memory (localstripe would otherwise pickle its store to /tmp),
listens on 127.0.0.1 only, and registers the project's webhook endpoint at start.

On top of localstripe it adds what the checkout flow relies on (see devtools/README.md):
Idempotency-Key replay, the PaymentIntent and Refund parameters real Stripe accepts,
Stripe-shaped card errors, more webhook events with retried, freshly signed delivery,
publishable-key + client_secret access for the browser, and a Stripe.js stand-in
(devtools/stripe_js/stripe.js) at /js.stripe.com/v3/.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket

from aiohttp import web
from localstripe.webhooks import register_webhook

from devtools.stripe_emulator.app import build_app
from devtools.stripe_emulator.webhooks import WEBHOOK_DELIVERY


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devtools.stripe_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("STRIPE_EMULATOR_PORT", 8420))
    )
    parser.add_argument(
        "--webhook-url",
        default=os.environ.get("STRIPE_EMULATOR_WEBHOOK_URL", ""),
        help="Where emulated events are POSTed (the project's webhook endpoint).",
    )
    parser.add_argument(
        "--webhook-secret", default=os.environ.get("STRIPE_WEBHOOK_SECRET", "whsec_local_emulator")
    )
    parser.add_argument(
        "--webhook-delay", type=float, default=0.5, help="Seconds before an event is sent."
    )
    parser.add_argument(
        "--webhook-retries", type=int, default=3, help="Retries after a failed delivery."
    )
    args = parser.parse_args()
    if args.host not in {"127.0.0.1", "localhost"}:
        parser.error("The emulator only listens on 127.0.0.1.")

    WEBHOOK_DELIVERY.delay, WEBHOOK_DELIVERY.retries = args.webhook_delay, args.webhook_retries
    application = build_app()
    if args.webhook_url:
        register_webhook("tribe", args.webhook_url, args.webhook_secret, None)

    logging.basicConfig(level=logging.INFO, format="stripe-emulator %(levelname)s %(message)s")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    web.run_app(application, sock=sock, print=None)


if __name__ == "__main__":
    main()
