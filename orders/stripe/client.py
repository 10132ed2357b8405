"""The one way the service talks to Stripe: a `stripe.StripeClient` built from settings."""

from __future__ import annotations

from decimal import Decimal

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


def stripe_client() -> stripe.StripeClient:
    """Build the client from settings at call time (tests and the emulator change them)."""
    return stripe.StripeClient(
        api_key=settings.STRIPE_API_KEY,
        base_addresses={"api": settings.STRIPE_API_BASE},
        max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
        http_client=stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT_SECONDS),
    )


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
