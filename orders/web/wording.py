"""The services' errors in words a shopper acts on ("Sold out", not "Only 0 left of SKU-1")."""

from __future__ import annotations

from collections.abc import Mapping

from django.conf import settings

from common.errors import ApplicationError


def _short(titles: Mapping[str, str], available: Mapping[str, int]) -> str:
    parts = []
    for sku, left in available.items():
        name = titles.get(sku, "One item")
        parts.append(f"{name} is sold out" if left <= 0 else f"{name} has only {left} left")
    return "; ".join(parts) + "."


def shopper_message(exc: ApplicationError, *, titles: Mapping[str, str] = {}) -> str:
    """What to tell the shopper about a refused cart or checkout step; nothing was changed.

    `titles` names the SKUs the error may mention, so that no SKU code is shown.
    """
    code = exc.code
    if code == "out_of_stock":
        available = exc.details.get("available")
        if isinstance(available, dict) and available:
            return "Sorry: " + _short(titles, available) + " Nothing was changed."
        return "Sorry, that is sold out. Nothing was changed."
    if code == "invalid_quantity":
        return f"Choose a quantity from 1 to {settings.CART_MAX_LINE_QUANTITY}."
    if code in ("sku_not_found", "line_not_found"):
        return "We could not find that item. Nothing was changed."
    if code == "sku_unavailable":
        return "That item is no longer for sale."
    if code == "currency_mismatch":
        cart = exc.details.get("cart_currency", "another currency")
        item = exc.details.get("sku_currency", "another currency")
        return (
            f"Your cart is paid in {cart} and this item in {item}: check out your cart first, "
            "then shop this item."
        )
    if code == "cart_too_large":
        return "Your cart is full. Check out first, then shop some more."
    if code == "cart_closed":
        return "This cart has already been checked out."
    if code == "cart_empty":
        return "Your cart is empty."
    if code == "amount_too_small":
        minimum = exc.details.get("minimum", {})
        return (
            f"The order total must be at least {minimum.get('amount')} {minimum.get('currency')}."
            if minimum
            else "The order total is too small to pay by card."
        )
    if code in ("payment_provider_unavailable", "payment_provider_error"):
        return "Payments are not available right now. Nothing was charged; try again in a minute."
    if code == "card_declined":
        return exc.message
    if code == "payment_attempts_exceeded":
        minutes = max(1, -(-int(exc.details.get("retry_after", 60)) // 60))
        return (
            "Too many payments were declined, so paying is paused for your safety. Nothing was "
            f"charged. Please try again in {minutes} minute{'s' if minutes != 1 else ''}."
        )
    if code == "idempotency_key_reused":
        return "This form was already sent with other details. Reload the page and try again."
    return "Something went wrong. Nothing was changed; please try again."
