"""Stripe webhooks: verify the signature, store the raw event once, dispatch it by family.

Events arrive in any order and any number of times; the handlers registered by the apps
above (orders, creators) reconcile to Stripe's state, so neither matters.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import stripe
from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone

from common.errors import ApplicationError
from common.observability.metrics import WEBHOOK_LAG
from payments.models import StripeEvent

logger = logging.getLogger(__name__)

# Event family (the type's first part) -> its handler, registered by the apps above.
HANDLERS: dict[str, Callable[[dict[str, Any]], None]] = {}


def stripe_event_handler_register(prefix: str, handler: Callable[[dict[str, Any]], None]) -> None:
    """Let an app above handle a family of Stripe events (orders: `payment_intent.*`,
    creators: `account.*`) without payments importing it. Called from its AppConfig.ready().
    """
    existing = HANDLERS.get(prefix)
    if existing is not None and existing is not handler:
        raise RuntimeError(f"Stripe events '{prefix}.*' already have a handler.")
    HANDLERS[prefix] = handler


class InvalidSignature(ApplicationError):
    code = "invalid_signature"
    default_message = "The webhook signature or timestamp is not valid."


class InvalidEvent(ApplicationError):
    code = "invalid_event"
    default_message = "The webhook body is not a Stripe event."


def _verify_signature(payload: bytes, signature: str) -> None:
    """Stripe's check (signature, and a timestamp no older than the tolerance), plus the
    same tolerance into the future, which Stripe's library does not bound."""
    tolerance = settings.STRIPE_WEBHOOK_TOLERANCE
    try:
        stripe.WebhookSignature.verify_header(
            payload, signature, settings.STRIPE_WEBHOOK_SECRET, tolerance
        )
    except (ValueError, stripe.SignatureVerificationError) as exc:
        raise InvalidSignature() from exc
    # verify_header has parsed this header: its first `t=` item is a whole number.
    stamp = next(item for item in signature.split(",") if item.startswith("t="))
    if int(stamp[2:]) > time.time() + tolerance:
        raise InvalidSignature("The webhook timestamp is in the future.")


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def _event_from(payload: bytes) -> dict[str, Any]:
    """The event as a dict with what storing and dispatching it need, or InvalidEvent.

    Checked before anything is stored: a stored event that can never be handled would
    fail again on every one of Stripe's retries.
    """
    try:
        data = json.loads(payload)
    except ValueError as exc:
        raise InvalidEvent("The webhook body is not JSON.") from exc
    if not isinstance(data, dict):
        raise InvalidEvent("The webhook body is not a JSON object.")
    problems: dict[str, str] = {}
    for name, limit in (("id", 255), ("type", 100)):
        value = data.get(name)
        if not isinstance(value, str) or not value or len(value) > limit:
            problems[name] = f"A string of 1 to {limit} characters."
    body = data.get("data")
    obj = body.get("object") if isinstance(body, dict) else None
    if not isinstance(obj, dict):
        problems["data"] = "An object holding the event's `object`."
    elif str(data.get("type", "")).split(".")[0] in HANDLERS and not (
        isinstance(obj.get("id"), str) and obj["id"]
    ):
        problems["data"] = "The event's `object` has no id."
    if not problems and _has_nul(data):
        problems["non_field_errors"] = "Text may not contain NUL characters."
    if problems:
        fields = {name: [{"code": "invalid", "message": text}] for name, text in problems.items()}
        raise InvalidEvent(fields=fields)
    return data


# Stored once, in one statement atomic on its own (no transaction around it), counted as
# attempted: the receive path processes a new event at once. A replay stores nothing.
_EVENT_STORE_SQL = """
INSERT INTO orders_stripeevent
    (event_id, type, payload, received_at, processed_at, attempts, last_error)
VALUES (%(event_id)s, %(type)s, %(payload)s, %(now)s, NULL, 1, '')
ON CONFLICT (event_id) DO NOTHING
RETURNING id
"""


# Every event ends with this one, in fixed text like the store above: the ORM compiled it
# on each webhook, a share of a checkout's CPU (its `payment_intent.created` event).
_EVENT_PROCESSED_SQL = """
UPDATE orders_stripeevent SET processed_at = %s, last_error = ''
WHERE id = %s AND processed_at IS NULL
"""


def _event_store(data: dict[str, Any]) -> StripeEvent | None:
    """The event stored now, or None when it was stored before."""
    now = timezone.now()
    event_id, event_type = data["id"], data.get("type", "")
    payload = StripeEvent._meta.get_field("payload").get_db_prep_save(data, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            _EVENT_STORE_SQL,
            {"event_id": event_id, "type": event_type, "payload": payload, "now": now},
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return StripeEvent.from_db(
        connection.alias,
        [
            "id",
            "event_id",
            "type",
            "payload",
            "received_at",
            "processed_at",
            "attempts",
            "last_error",
        ],
        [row[0], event_id, event_type, data, now, None, 1, ""],
    )


def stripe_webhook_receive(*, payload: bytes, signature: str) -> StripeEvent:
    """Verify the signature before anything else, store the event once, then process it."""
    _verify_signature(payload, signature)
    data = _event_from(payload)
    event = _event_store(data)
    counted = event is not None
    if event is None:
        event = StripeEvent.objects.get(event_id=data["id"])
    else:
        created = data.get("created")
        if isinstance(created, int) and not isinstance(created, bool):
            WEBHOOK_LAG.observe(max(0.0, time.time() - created))
    if event.processed_at is None:
        _event_process(event, counted=counted)
    return event


def stripe_event_process(*, event_id: str) -> None:
    """Run the handler for a stored event; a failure leaves it unprocessed for Stripe's retry."""
    event = StripeEvent.objects.get(event_id=event_id)
    if event.processed_at is None:
        _event_process(event)


def _event_process(event: StripeEvent, *, counted: bool = False) -> None:
    """Count the attempt first (a handler that kills its process still counts; `counted`:
    stored counted already), run the handler, and mark the event processed; `event` comes
    back as it is then."""
    if not counted:
        StripeEvent.objects.filter(pk=event.pk).update(attempts=F("attempts") + 1)
    handler = HANDLERS.get(event.type.split(".")[0])
    try:
        if handler is not None:
            handler(event.payload)
    except Exception as exc:
        StripeEvent.objects.filter(pk=event.pk).update(last_error=repr(exc)[:2000])
        raise
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_EVENT_PROCESSED_SQL, [now, event.pk])
        marked = bool(cursor.rowcount)
    if marked:
        event.processed_at, event.last_error = now, ""
    else:  # processed meanwhile by another delivery of the same event
        event.refresh_from_db()
