"""Run the local Stripe API emulator (the `localstripe` package) for development and tests.

A development tool only: it runs as its own process and the service never imports it.
It keeps everything in memory (localstripe would otherwise pickle its store to /tmp),
listens on 127.0.0.1 only, and registers the project's webhook endpoint at start.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket

from aiohttp import web
from localstripe import resources
from localstripe.server import app
from localstripe.webhooks import register_webhook


def _in_memory_only() -> None:
    resources.Store.dump_to_disk = lambda self: None
    resources.Store.try_load_from_disk = lambda self: None


def build_app() -> web.Application:
    """Return the emulator's aiohttp app, patched to keep state in memory."""
    _in_memory_only()
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
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
    args = parser.parse_args()
    if args.host not in {"127.0.0.1", "localhost", "::1"}:
        parser.error("The emulator only listens on the loopback interface.")

    application = build_app()
    if args.webhook_url:
        register_webhook("tribe", args.webhook_url, args.webhook_secret, None)

    logging.basicConfig(level=logging.INFO, format="stripe-emulator %(levelname)s %(message)s")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host if args.host != "localhost" else "127.0.0.1", args.port))
    web.run_app(application, sock=sock, print=None)


if __name__ == "__main__":
    main()
