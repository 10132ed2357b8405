"""Confirm a checkout's PaymentIntent on the server, as mobile apps that finalise payments
server-side do: the app collects the card (a PaymentMethod) and the Radar session, the
server confirms. Each attempt first takes a slot from the card-testing defence
(`orders.services.payment_attempts`); no transaction is open while Stripe is called.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import stripe

from common.db import in_transaction
from common.errors import Conflict, ValidationFailed
from orders.models import Order
from orders.services.checkout import order_payment_intent_ensure
from orders.services.payment_attempts import (
    PaymentClient,
    payment_attempt_begin,
    payment_attempt_end,
    payment_attempts_check,
    payment_decline_count,
)
from orders.services.payments import card_fingerprint_of, error_of, payment_reconcile
from orders.state import PAID_STATUSES
from payments.stripe.client import stripe_client, upstream_error

logger = logging.getLogger(__name__)


def _method_fingerprint(payment_method: str) -> str:
    """The card's fingerprint, read before paying so a blocked card is refused first."""
    try:
        method = stripe_client().v1.payment_methods.retrieve(payment_method)
    except stripe.InvalidRequestError as exc:
        raise ValidationFailed(
            "No such payment method.",
            code="payment_method_invalid",
            fields={"payment_method": [{"code": "invalid", "message": "No such payment method."}]},
        ) from exc
    except stripe.StripeError as exc:
        raise upstream_error(exc) from exc
    card = getattr(method, "card", None)
    return str(getattr(card, "fingerprint", None) or "") if card is not None else ""


def _decline_of(exc: stripe.CardError) -> dict[str, Any]:
    body: Any = exc.json_body or {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def checkout_payment_confirm(
    *,
    order: Order,
    payment_method: str,
    client: PaymentClient,
    radar_session: str = "",
) -> tuple[Order, str]:
    """Confirm the order's PaymentIntent with `payment_method`: (order, PaymentIntent status).

    A paid order answers as it is. Past the decline limits of this client, device, cart or
    card the attempt is refused with 429 before Stripe is called; a decline is counted
    against each of them and answers 402 `card_declined`.
    """
    if in_transaction():
        raise RuntimeError("Stripe must not be called inside a transaction.")
    if order.status in PAID_STATUSES:
        return order, "succeeded"
    if order.status != Order.Status.PENDING_PAYMENT:
        raise Conflict("This checkout can no longer be paid.", code="order_not_payable")
    subjects = client.subjects(cart_id=order.cart_id)
    taken = payment_attempt_begin(subjects=subjects)
    try:
        fingerprint = _method_fingerprint(payment_method)
        card = [("card", fingerprint)] if fingerprint else []
        payment_attempts_check(subjects=card)
        order = order_payment_intent_ensure(order=order)
        params: dict[str, Any] = {"payment_method": payment_method, "expand": ["payment_method"]}
        if radar_session:
            params["radar_options"] = {"session": radar_session}
        # One attempt per method and session: a retried request is the same attempt.
        attempt = hashlib.sha256(f"{payment_method}|{radar_session}".encode()).hexdigest()[:32]
        try:
            intent = stripe_client().v1.payment_intents.confirm(
                str(order.stripe_payment_intent_id),
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": f"tribe-order-{order.pk}-confirm-{attempt}"},
            )
        except stripe.CardError as exc:
            decline = _decline_of(exc)
            payment_decline_count(
                subjects=[*subjects, *card],
                once=str(decline.get("charge") or f"{order.stripe_payment_intent_id}:{attempt}"),
            )
            raise upstream_error(exc) from exc
        except stripe.InvalidRequestError as exc:
            logger.info("Confirm of order %s refused: %s", order.pk, exc)
            raise Conflict(
                "This payment cannot be confirmed now.", code="payment_not_confirmable"
            ) from exc
        except stripe.StripeError as exc:
            raise upstream_error(exc) from exc
    finally:
        payment_attempt_end(subjects=taken)
    payment_reconcile(
        order_id=order.pk,
        intent_status=intent.status,
        amount=intent.amount,
        currency=intent.currency,
        last_error=error_of(intent),
        event_id="",
        payment_fingerprint=card_fingerprint_of(intent) or fingerprint,
    )
    order.refresh_from_db()
    return order, intent.status
