"""The one way the service talks to Stripe: a `stripe.StripeClient` built from settings."""

from __future__ import annotations

import os
import threading
from decimal import Decimal
from typing import Any

import requests
import stripe
from django.conf import settings

from common.errors import ApplicationError, UpstreamUnavailable
from common.money import to_minor_units

# Stripe's minimum charge per currency (https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts).
MINIMUM_CHARGE = {
    "USD": Decimal("0.50"), "EUR": Decimal("0.50"), "GBP": Decimal("0.30"),
    "AUD": Decimal("0.50"), "CAD": Decimal("0.50"), "CHF": Decimal("0.50"),
    "DKK": Decimal("2.50"), "NOK": Decimal("3.00"), "SEK": Decimal("3.00"),
    "JPY": Decimal("50"), "HKD": Decimal("4.00"), "SGD": Decimal("0.50"),
    "MXN": Decimal("10"), "NZD": Decimal("0.50"), "PLN": Decimal("2.00"),
}  # fmt: skip
DEFAULT_MINIMUM = Decimal("0.50")


def minimum_charge(currency: str) -> Decimal:
    return MINIMUM_CHARGE.get(currency.upper(), DEFAULT_MINIMUM)


# The sessions do not read the environment on each call (`trust_env`): requests otherwise
# scans every environment variable for proxy settings and looks for ~/.netrc on every call:
# with 35 variables, creating a PaymentIntent on the emulator cost the SDK 1.10 ms of CPU
# with them read and 0.93 ms without. The proxy the environment names for the API's host
# (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) is read once, when the client is built, by the same
# function requests would call.


class _Session(requests.Session):
    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False


class _Requests:
    """`requests` as stripe.RequestsClient uses it (its `_lib`): sessions made by `_Session`."""

    Session = _Session
    exceptions = requests.exceptions


def _http_client(api_base: str, timeout: float) -> stripe.RequestsClient:
    proxies = requests.utils.get_environ_proxies(api_base)
    # The SDK's proxy type is a TypedDict of its own, with both keys optional in value.
    proxy: Any = {"http": proxies.get("http"), "https": proxies.get("https")}
    return stripe.RequestsClient(
        timeout=timeout, proxy=proxy if any(proxy.values()) else None, _lib=_Requests
    )


# One client per process and configuration. Its RequestsClient keeps a requests.Session per
# thread, so each web or worker thread reuses its kept-alive connection (one TLS handshake per
# thread, not per call) and no two threads share a socket. A forked child starts empty: a
# connection opened in the parent must not be shared with it.
_clients: dict[tuple[str, str, int, float, str], stripe.StripeClient] = {}
_clients_lock = threading.Lock()
os.register_at_fork(after_in_child=_clients.clear)


STRIPE_API = "https://api.stripe.com"
STRIPE_FILES = "https://files.stripe.com"


def files_base() -> str:
    """Where Stripe's Files API is: its own host, or the emulator's when it serves the API."""
    configured = getattr(settings, "STRIPE_FILES_BASE", "")
    if configured:
        return str(configured)
    api = str(settings.STRIPE_API_BASE).rstrip("/")
    return STRIPE_FILES if api == STRIPE_API else api


def stripe_client() -> stripe.StripeClient:
    """The process's client for the settings in force now (tests and the emulator change them)."""
    key = (
        settings.STRIPE_API_KEY,
        settings.STRIPE_API_BASE,
        settings.STRIPE_MAX_NETWORK_RETRIES,
        settings.STRIPE_TIMEOUT_SECONDS,
        files_base(),
    )
    client = _clients.get(key)
    if client is None:
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                client = stripe.StripeClient(
                    api_key=key[0],
                    base_addresses={"api": key[1], "files": key[4]},
                    max_network_retries=key[2],
                    http_client=_http_client(key[1], key[3]),
                )
                _clients[key] = client
    return client


def stripe_amount(amount: Decimal, currency: str) -> int:
    return to_minor_units(amount, currency)


def upstream_error(exc: stripe.StripeError) -> ApplicationError:
    """Map a Stripe failure to what the shopper gets: 502/503 with `retryable`."""
    if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError):
        return UpstreamUnavailable(
            "The payment provider cannot be reached; try again.",
            code="payment_provider_unavailable",
        )
    if isinstance(exc, stripe.CardError):
        return ApplicationError(
            exc.user_message or "The card was declined.",
            code="card_declined",
            status_code=402,
            details={"decline_code": getattr(exc, "code", None)},
        )
    return ApplicationError(
        "The payment provider returned an error; try again.",
        code="payment_provider_error",
        status_code=502,
        retryable=True,
        details={"stripe_code": getattr(exc, "code", None)},
    )
