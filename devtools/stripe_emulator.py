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
import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import re
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import ClientError, ClientSession, ClientTimeout, web
from localstripe import resources, server, webhooks
from localstripe.errors import UserError
from localstripe.resources import Charge, Event, PaymentIntent, PaymentMethod, Refund, store
from localstripe.webhooks import register_webhook

logger = logging.getLogger("stripe_emulator")

STRIPE_JS = Path(__file__).resolve().parent / "stripe_js" / "stripe.js"
IDEMPOTENCY_TTL = 24 * 60 * 60


def _in_memory_only() -> None:
    resources.Store.dump_to_disk = lambda self: None
    resources.Store.try_load_from_disk = lambda self: None


_in_memory_only()  # before anything can touch the store


# --- errors and small validators --------------------------------------------------------------


def _error(
    status: int, message: str, *, type_: str = "invalid_request_error", **fields
) -> UserError:
    err = UserError(status, message, {k: v for k, v in fields.items() if v is not None})
    err.body["error"]["type"] = type_
    return err


def _unknown(params) -> UserError:
    name = sorted(params)[0]
    return _error(400, f"Received unknown parameter: {name}", code="parameter_unknown", param=name)


def _bool(value, name: str) -> bool | None:
    value = resources.try_convert_to_bool(value)
    if value is not None and not isinstance(value, bool):
        raise _error(400, f"Invalid boolean: {value}", code="parameter_invalid_boolean", param=name)
    return value


def _check_metadata(metadata) -> None:
    if metadata in (None, ""):
        return
    if not isinstance(metadata, dict) or len(metadata) > 50:
        raise _error(400, "Invalid metadata: a hash of at most 50 keys.", param="metadata")
    for key, value in metadata.items():
        if len(key) > 40 or not isinstance(value, str) or len(value) > 500:
            raise _error(400, f"Invalid metadata[{key}].", param=f"metadata[{key}]")


def _merge_metadata(obj, metadata) -> None:
    """Stripe's update semantics: keys merge, "" deletes a key, metadata="" clears all."""
    if metadata is None:
        return
    if metadata == "":
        obj.metadata = {}
        return
    _check_metadata(metadata)
    merged = dict(obj.metadata or {})
    merged.update(metadata)
    obj.metadata = {k: v for k, v in merged.items() if v != ""}


def _shipping(value):
    if value in (None, ""):
        return None
    if not isinstance(value, dict) or not value.get("name"):
        raise _error(400, "Missing required param: shipping[name].", param="shipping[name]")
    address = value.get("address")
    if not isinstance(address, dict):
        raise _error(400, "Missing required param: shipping[address].", param="shipping[address]")
    fields = ("city", "country", "line1", "line2", "postal_code", "state")
    return {
        "name": value["name"],
        "address": {k: address.get(k) for k in fields},
        "carrier": value.get("carrier"),
        "phone": value.get("phone"),
        "tracking_number": value.get("tracking_number"),
    }


def _schedule(obj, event_type: str) -> None:
    resources.schedule_webhook(Event(event_type, obj))


# --- card outcomes: Stripe's test cards that decline when charged ------------------------------

_DECLINED = "Your card was declined."
DECLINES = {  # number -> (code, decline_code, message)
    "4000000000000002": ("card_declined", "generic_decline", _DECLINED),
    "4000000000009995": (
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
    "4000000000009987": ("card_declined", "lost_card", _DECLINED),
    "4000000000009979": ("card_declined", "stolen_card", _DECLINED),
    "4000000000000069": ("expired_card", "expired_card", "Your card has expired."),
    "4000000000000127": (
        "incorrect_cvc",
        "incorrect_cvc",
        "Your card's security code is incorrect.",
    ),
    "4000000000000119": (
        "processing_error",
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
    ),
    "4000000000000341": ("card_declined", "generic_decline", _DECLINED),
    "4000008260003178": (
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
    "4000008400001629": ("card_declined", "card_declined", _DECLINED),
}
AUTH_FAILURE_MESSAGE = (
    "We are unable to authenticate your payment method. "
    "Please choose a different payment method and try again."
)

_orig_charging_is_declined = PaymentMethod._charging_is_declined


def _charging_is_declined(self) -> bool:
    return getattr(self, "_card_number", None) in DECLINES or _orig_charging_is_declined(self)


def _payment_method_export(pm_id):
    try:
        return PaymentMethod._api_retrieve(pm_id)._export() if pm_id else None
    except UserError:
        return None


def _charge_set_auth_failure(self) -> None:
    pm = PaymentMethod._api_retrieve(self.payment_method)
    default = ("card_declined", "generic_decline", _DECLINED)
    code, decline_code, message = DECLINES.get(getattr(pm, "_card_number", None) or "", default)
    self.status = "failed"
    self.failure_code, self._decline_code, self.failure_message = code, decline_code, message


def _charge_raise_failure(self):
    intent = (
        PaymentIntent._api_retrieve(self.payment_intent)._export() if self.payment_intent else None
    )
    raise _error(
        402,
        self.failure_message,
        type_="card_error",
        code=self.failure_code,
        decline_code=getattr(self, "_decline_code", None),
        charge=self.id,
        payment_intent=intent,
        payment_method=_payment_method_export(self.payment_method),
    )


PaymentMethod._charging_is_declined = _charging_is_declined
Charge._set_auth_failure = _charge_set_auth_failure
Charge._raise_failure = _charge_raise_failure


# --- PaymentIntent: the parameters real Stripe accepts, stored and echoed ----------------------

PI_DEFAULTS: dict[str, Any] = {
    "description": None,
    "receipt_email": None,
    "shipping": None,
    "statement_descriptor": None,
    "statement_descriptor_suffix": None,
    "transfer_group": None,
    "setup_future_usage": None,
    "automatic_payment_methods": None,
    "payment_method_types": None,
    "payment_method_options": None,
    "confirmation_method": "automatic",
    "on_behalf_of": None,
    "application_fee_amount": None,
    "transfer_data": None,
    "canceled_at": None,
    "cancellation_reason": None,
}
PI_CREATE_EXTRAS = set(PI_DEFAULTS) - {"canceled_at", "cancellation_reason"}
PI_CONFIRM_EXTRAS = {
    "receipt_email",
    "shipping",
    "setup_future_usage",
    "payment_method_options",
    "payment_method_types",
    "capture_method",
}
PI_UPDATABLE = PI_CREATE_EXTRAS - {"confirmation_method", "automatic_payment_methods"} | {
    "amount",
    "currency",
    "customer",
    "metadata",
    "payment_method",
    "capture_method",
}
PI_IGNORED = {  # accepted and dropped: they only steer real Stripe's UI/risk machinery
    "use_stripe_sdk",
    "mandate_data",
    "error_on_requires_action",
    "radar_options",
    "payment_method_configuration",
    "expected_payment_method_type",
    "return_url",
    "off_session",
}
CANCELLATION_REASONS = {"duplicate", "fraudulent", "requested_by_customer", "abandoned"}
for _name, _default in PI_DEFAULTS.items():
    setattr(PaymentIntent, _name, _default)
PaymentIntent.amount_received = property(
    lambda self: self.amount if self.status == "succeeded" else 0
)
PaymentIntent.amount_capturable = property(
    lambda self: self.amount if self.status == "requires_capture" else 0
)


def _clean_pi_params(params: dict) -> dict:
    for name in PI_IGNORED:
        params.pop(name, None)
    if "amount" in params:
        params["amount"] = resources.try_convert_to_int(params["amount"])
        if not isinstance(params["amount"], int) or params["amount"] <= 0:
            raise _error(400, "Invalid positive integer", code="parameter_invalid_integer")
    for name in ("description", "receipt_email", "statement_descriptor_suffix", "transfer_group"):
        if params.get(name) is not None and not isinstance(params[name], str):
            raise _error(400, f"Invalid string: {params[name]!r}", param=name)
    if params.get("receipt_email") and "@" not in params["receipt_email"]:
        raise _error(400, f"Invalid email address: {params['receipt_email']}", code="email_invalid")
    if len(params.get("statement_descriptor_suffix") or "") > 22:
        raise _error(
            400, "statement_descriptor_suffix is too long", param="statement_descriptor_suffix"
        )
    if "shipping" in params:
        params["shipping"] = _shipping(params["shipping"])
    if "automatic_payment_methods" in params:
        apm = params["automatic_payment_methods"] or {}
        enabled = _bool(apm.get("enabled"), "automatic_payment_methods[enabled]")
        params["automatic_payment_methods"] = {
            "enabled": bool(enabled),
            "allow_redirects": apm.get("allow_redirects", "always"),
        }
    if "payment_method_data" in params:
        params["payment_method"] = _payment_method_from_data(params.pop("payment_method_data")).id
    _check_metadata(params.get("metadata"))
    return params


def _payment_method_from_data(data) -> PaymentMethod:
    if not isinstance(data, dict):
        raise _error(400, "Invalid payment_method_data.", param="payment_method_data")
    return PaymentMethod._api_create(**data)


def _use_payment_method(obj: PaymentIntent, pm_id: str) -> None:
    obj.payment_method = PaymentMethod._api_retrieve(pm_id).id  # also resolves pm_card_visa
    if obj.latest_charge is not None and obj.latest_charge.status == "failed":
        obj.latest_charge = None  # a new attempt; the failed charge stays in the store
    obj.next_action = None
    obj._authentication_failed = False


def _unexpected_state(obj: PaymentIntent, action: str) -> UserError:
    return _error(
        400,
        f"You cannot {action} this PaymentIntent because it has a status of {obj.status}.",
        code="payment_intent_unexpected_state",
        payment_intent=obj._export(),
    )


def _check_client_secret(obj: PaymentIntent, client_secret) -> None:
    if client_secret is not None and client_secret != obj.client_secret:
        raise _error(
            400,
            "The client_secret provided does not match the client_secret associated with "
            "the PaymentIntent.",
            code="resource_missing",
            param="client_secret",
        )


def _pi_create(cls, confirm=None, off_session=None, **params):
    confirm, off_session = _bool(confirm, "confirm"), _bool(off_session, "off_session")
    if off_session and not confirm:
        raise _error(400, "off_session can only be used with confirm=true.", param="off_session")
    params = _clean_pi_params(params)
    extras = {name: params.pop(name) for name in PI_CREATE_EXTRAS if name in params}
    obj = cls(**params)  # localstripe validates amount, currency, customer, payment_method
    for name, value in extras.items():
        setattr(obj, name, value)
    obj.payment_method_types = obj.payment_method_types or ["card"]
    _schedule(obj, "payment_intent.created")
    if confirm:
        obj._confirm(on_failure_now=obj._report_failure)
    return obj


def _pi_update(cls, id, **params):
    params = _clean_pi_params(params)
    unknown = set(params) - PI_UPDATABLE
    if unknown:
        raise _unknown(unknown)
    obj = cls._api_retrieve(id)
    if obj.status in ("succeeded", "canceled") and set(params) - {"description", "metadata"}:
        raise _unexpected_state(obj, "update")
    _merge_metadata(obj, params.pop("metadata", None))
    if params.get("payment_method"):
        _use_payment_method(obj, params.pop("payment_method"))
    for name, value in params.items():
        setattr(obj, name, value)
    return obj


def api_confirm(id, client_secret=None, payment_method=None, **params):
    params = _clean_pi_params(params)
    payment_method = params.pop("payment_method", payment_method)
    extras = {name: params.pop(name) for name in PI_CONFIRM_EXTRAS if name in params}
    if params:
        raise _unknown(params)
    obj = PaymentIntent._api_retrieve(id)
    _check_client_secret(obj, client_secret)
    if obj.status not in ("requires_payment_method", "requires_confirmation", "requires_action"):
        raise _unexpected_state(obj, "confirm")
    if payment_method:
        _use_payment_method(obj, payment_method)
    elif obj.status == "requires_payment_method":
        raise _error(
            400,
            "You cannot confirm this PaymentIntent because it's missing a payment method.",
            code="payment_intent_unexpected_state",
        )
    obj.next_action = None
    for name, value in extras.items():
        setattr(obj, name, value)
    obj._confirm(on_failure_now=obj._report_failure)
    return obj


def api_cancel(id, cancellation_reason=None, **params):
    if params:
        raise _unknown(params)
    if cancellation_reason is not None and cancellation_reason not in CANCELLATION_REASONS:
        raise _error(400, "Invalid cancellation_reason.", param="cancellation_reason")
    obj = PaymentIntent._api_retrieve(id)
    if obj.status in ("succeeded", "canceled", "processing"):
        raise _unexpected_state(obj, "cancel")
    obj._canceled = True
    obj.next_action = None
    obj.canceled_at = int(time.time())
    obj.cancellation_reason = cancellation_reason
    _schedule(obj, "payment_intent.canceled")
    return obj


_orig_authenticate = PaymentIntent._api_authenticate


def api_authenticate(id, **params):
    """The 3-D Secure step the Stripe.js stand-in drives (success=true|false)."""
    obj = PaymentIntent._api_retrieve(id)
    payment_method = obj.payment_method
    result = _orig_authenticate(id=id, **params)
    if obj._authentication_failed:
        obj._failed_payment_method = payment_method
        _schedule(obj, "payment_intent.payment_failed")
    return result


def _pi_create_charge(self, on_failure_now) -> None:
    """localstripe's, plus what Stripe copies from the PaymentIntent onto the charge."""
    if self.status != "requires_confirmation":
        raise _unexpected_state(self, "confirm")
    charge = Charge(
        amount=self.amount,
        currency=self.currency,
        customer=self.customer,
        source=self.payment_method,
        capture=(self.capture_method != "manual"),
        description=self.description,
        metadata=dict(self.metadata or {}),
    )
    charge.payment_intent = self.id
    charge.receipt_email = self.receipt_email
    self.latest_charge = charge
    charge._initialize_charge(self._on_success, on_failure_now, self._report_async_failure)
    if self.status == "requires_capture":
        _schedule(self, "payment_intent.amount_capturable_updated")


_orig_confirm = PaymentIntent._confirm
_orig_report_failure = PaymentIntent._report_failure
_orig_pi_export = PaymentIntent._export


def _pi_confirm(self, on_failure_now) -> None:
    _orig_confirm(self, on_failure_now)
    if self.next_action:
        _schedule(self, "payment_intent.requires_action")


def _pi_report_failure(self) -> None:
    self._failed_payment_method = self.payment_method
    self.payment_method = None  # as Stripe: the declined method moves to last_payment_error
    _orig_report_failure(self)


def _pi_last_payment_error(self):
    pm = _payment_method_export(getattr(self, "_failed_payment_method", None))
    if self._authentication_failed:
        return {
            "type": "invalid_request_error",
            "code": "payment_intent_authentication_failure",
            "message": AUTH_FAILURE_MESSAGE,
            "payment_method": pm,
        }
    charge = self.latest_charge
    if charge is not None and charge.status == "failed":
        return {
            "type": "card_error",
            "code": charge.failure_code,
            "decline_code": getattr(charge, "_decline_code", None),
            "message": charge.failure_message,
            "charge": charge.id,
            "payment_method": pm,
        }
    return None


def _pi_export(self, expand=None):
    """As the current API: latest_charge is an id unless expanded; no `charges` list."""
    obj = _orig_pi_export(self, expand=expand)
    obj.pop("charges", None)
    expanded = any(p.split(".")[0] == "latest_charge" for p in expand or [])
    if not expanded and isinstance(obj.get("latest_charge"), dict):
        obj["latest_charge"] = obj["latest_charge"]["id"]
    return obj


PaymentIntent._api_create = classmethod(_pi_create)
PaymentIntent._api_update = classmethod(_pi_update)
PaymentIntent._create_charge = _pi_create_charge
PaymentIntent._confirm = _pi_confirm
PaymentIntent._report_failure = _pi_report_failure
PaymentIntent.last_payment_error = property(_pi_last_payment_error)
PaymentIntent._export = _pi_export


# --- Refund: reason, over-refund checks, events ------------------------------------------------

REFUND_REASONS = {"duplicate", "fraudulent", "requested_by_customer"}
REFUND_IGNORED = {"instructions_email", "refund_application_fee", "reverse_transfer", "origin"}
Refund.reason = None
_orig_refund_create = Refund._api_create.__func__


def _refundable_charge(params) -> Charge:
    if params.get("payment_intent"):
        intent = PaymentIntent._api_retrieve(params["payment_intent"])
        charge = intent.latest_charge
    elif params.get("charge"):
        charge = Charge._api_retrieve(params["charge"])
    else:
        raise _error(400, "One of the following params should be provided: charge, payment_intent.")
    if charge is None or charge.status != "succeeded" or not charge.captured:
        raise _error(
            400,
            "This payment has no successful, captured charge to refund.",
            code="charge_not_refundable",
        )
    return charge


def _refund_create(cls, reason=None, **params):
    for name in REFUND_IGNORED:
        params.pop(name, None)
    if reason is not None and reason not in REFUND_REASONS:
        raise _error(400, f"Invalid reason: {reason}", param="reason")
    _check_metadata(params.get("metadata"))
    charge = _refundable_charge(params)
    remaining = charge.amount - charge.amount_refunded
    amount = resources.try_convert_to_int(params.get("amount", remaining))
    if remaining <= 0:
        raise _error(
            400, f"Charge {charge.id} has already been refunded.", code="charge_already_refunded"
        )
    if isinstance(amount, int) and amount > remaining:
        raise _error(
            400,
            f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining}).",
            code="amount_too_large",
            param="amount",
        )
    obj = _orig_refund_create(cls, **params)
    obj.reason = reason
    obj.payment_intent = obj.payment_intent or charge.payment_intent
    _schedule(obj, "refund.created")
    _schedule(charge, "charge.refunded")
    return obj


Refund._api_create = classmethod(_refund_create)


# --- webhook delivery: signed at each attempt, retried ------------------------------------------


@dataclass
class DeliverySettings:
    delay: float = 0.5  # seconds before an event is sent, as Stripe sends after responding
    retries: int = 3


WEBHOOK_DELIVERY = DeliverySettings()
_delivery_tasks: set[asyncio.Task] = set()


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    signed = b"%d.%s" % (timestamp, payload)
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


async def _deliver(webhook, event_type: str, payload: bytes) -> None:
    for attempt in range(WEBHOOK_DELIVERY.retries + 1):
        if attempt:
            await asyncio.sleep(2**attempt)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": sign(payload, webhook.secret, int(time.time())),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks) stripe-emulator",
        }
        try:
            async with (
                ClientSession(timeout=ClientTimeout(total=10)) as session,
                session.post(webhook.url, data=payload, headers=headers) as response,
            ):
                if 200 <= response.status < 300:
                    logger.info("webhook %s delivered to %s", event_type, webhook.url)
                    return
                logger.warning("webhook %s got HTTP %d", event_type, response.status)
        except (ClientError, TimeoutError) as exc:
            logger.warning("webhook %s failed: %s", event_type, exc)
    logger.error("webhook %s gave up after %d attempts", event_type, attempt + 1)


async def _send_webhook(event) -> None:
    payload = json.dumps(event._export(), indent=2, sort_keys=True).encode()
    await asyncio.sleep(WEBHOOK_DELIVERY.delay)
    for webhook in list(webhooks._webhooks.values()):
        if webhook.events is None or event.type in webhook.events:
            task = asyncio.ensure_future(_deliver(webhook, event.type, payload))
            _delivery_tasks.add(task)
            task.add_done_callback(_delivery_tasks.discard)


webhooks._send_webhook = _send_webhook


# --- HTTP: auth, idempotency, CORS, routes ------------------------------------------------------

PK_ROUTES = [  # (method, path, needs the PaymentIntent's client_secret)
    ("POST", re.compile(r"^/v1/payment_methods$"), False),
    ("POST", re.compile(r"^/v1/tokens$"), False),
    ("POST", re.compile(r"^/v1/sources$"), False),
    ("GET", re.compile(r"^/v1/payment_intents/(?P<id>\w+)$"), True),
    ("POST", re.compile(r"^/v1/payment_intents/(?P<id>\w+)/confirm$"), True),
    ("POST", re.compile(r"^/v1/payment_intents/(?P<id>\w+)/_authenticate$"), True),
    ("POST", re.compile(r"^/v1/setup_intents/\w+/(confirm|cancel)$"), False),
]


def _request_key(request: web.Request, params: dict) -> str:
    scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
    if scheme == "Bearer":
        return credential
    if scheme == "Basic":
        try:
            return base64.b64decode(credential).decode().split(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            return ""
    key = params.get("key")
    return key if isinstance(key, str) else ""


@web.middleware
async def auth_middleware(request: web.Request, handler):
    if request.path.startswith(("/js.stripe.com/", "/_config/")):
        return await handler(request)
    if request.method == "POST":
        params = await server.get_post_data(request, remove_auth=False) or {}
    else:
        params = server.unflatten_data(request.query)
    key = _request_key(request, params)
    if key.startswith("sk_") and len(key) > 5:
        return await handler(request)
    if not key.startswith("pk_"):
        raise _error(401, "You did not provide a valid API key (Authorization: Bearer sk_...).")
    for method, pattern, needs_secret in PK_ROUTES:
        match = pattern.match(request.path)
        if request.method == method and match:
            if needs_secret:
                obj = PaymentIntent._api_retrieve(match["id"])
                secret = params.get("client_secret")
                if not secret:
                    raise _error(
                        400, "Missing required param: client_secret.", param="client_secret"
                    )
                _check_client_secret(obj, secret)
            return await handler(request)
    raise _error(401, "This API call cannot be made with a publishable API key.")


@dataclass
class _Stored:
    fingerprint: tuple
    status: int
    body: bytes
    created: float


class IdempotencyStore:
    """Stripe's rule: same key + same request -> the stored response; else idempotency_error."""

    def __init__(self) -> None:
        self.responses: dict[str, _Stored] = {}
        self.in_flight: set[str] = set()

    def clear(self) -> None:
        self.responses.clear()

    def evict_expired(self) -> None:
        cutoff = time.time() - IDEMPOTENCY_TTL
        for key in [k for k, v in self.responses.items() if v.created < cutoff]:
            del self.responses[key]


idempotency = IdempotencyStore()


async def _fingerprint(request: web.Request) -> tuple:
    body = await request.read()
    if request.content_type == "application/x-www-form-urlencoded":
        pairs = parse_qsl(body.decode(), keep_blank_values=True)
        return (request.path, tuple(sorted(p for p in pairs if p[0] != "key")))
    return (request.path, body)


@web.middleware
async def idempotency_middleware(request: web.Request, handler):
    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or not key or request.path.startswith("/_config/"):
        return await handler(request)
    fingerprint = await _fingerprint(request)
    idempotency.evict_expired()
    stored = idempotency.responses.get(key)
    if stored is not None:
        if stored.fingerprint != fingerprint:
            raise _error(
                400,
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request.",
                type_="idempotency_error",
            )
        headers = {"Idempotency-Key": key, "Idempotent-Replayed": "true"}
        return web.Response(
            status=stored.status, body=stored.body, content_type="application/json", headers=headers
        )
    if key in idempotency.in_flight:
        raise _error(
            409,
            "There is currently another in-progress request using this Idempotent Key: "
            f"{key}. Please try again later.",
            code="idempotency_key_in_use",
        )
    idempotency.in_flight.add(key)
    try:
        try:
            response = await handler(request)
        except UserError as exc:
            response = exc.to_response()
        # Like Stripe, a request that failed validation (400, 401, 404) is not saved.
        if (response.status < 400 or response.status == 402) and isinstance(response.body, bytes):
            idempotency.responses[key] = _Stored(
                fingerprint, response.status, response.body, time.time()
            )
        response.headers["Idempotency-Key"] = key
        return response
    finally:
        idempotency.in_flight.discard(key)


@web.middleware
async def preflight_middleware(request: web.Request, handler):
    if request.method == "OPTIONS":
        return web.Response(status=204, headers={"Access-Control-Allow-Private-Network": "true"})
    return await handler(request)


async def _cors_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Access-Control-Allow-Origin"] = request.headers.get("Origin", "*")
    response.headers["Access-Control-Allow-Headers"] = (
        "Authorization, Content-Type, Accept, Idempotency-Key, Stripe-Version"
    )
    response.headers["Access-Control-Allow-Methods"] = "GET, POST, DELETE, OPTIONS"


async def stripe_js(request: web.Request) -> web.Response:
    return web.Response(
        text=STRIPE_JS.read_text(),
        content_type="application/javascript",
        headers={"Cache-Control": "no-store"},
    )


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def flush_store(request: web.Request) -> web.Response:
    store.clear()
    idempotency.clear()
    return web.Response()


async def trigger_event(request: web.Request) -> web.Response:
    """POST /_config/events type=...&object=<id>: send an event for a stored object."""
    data = await server.get_post_data(request) or {}
    object_id, event_type = data.get("object"), data.get("type")
    cls = resources.StripeObject._get_class_for_id(object_id or "")
    if not event_type or cls is None:
        raise _error(400, "Expected type and the id of a stored object.")
    event = Event(event_type, cls._api_retrieve(object_id))
    resources.schedule_webhook(event)
    return server.json_response(event._export())


async def resend_event(request: web.Request) -> web.Response:
    """POST /_config/events/{id}/resend: deliver a past event again (replays are normal)."""
    event = Event._api_retrieve(request.match_info["id"])
    resources.schedule_webhook(event)
    return server.json_response(event._export())


OVERRIDES = {
    ("POST", "/v1/payment_intents/{id}/confirm"): server.api_extra(api_confirm, None),
    ("POST", "/v1/payment_intents/{id}/cancel"): server.api_extra(api_cancel, None),
    ("POST", "/v1/payment_intents/{id}/_authenticate"): server.api_extra(api_authenticate, None),
    ("DELETE", "/_config/data"): flush_store,
}
DROPPED = {"/js.stripe.com/v3/"}  # localstripe's GPL Stripe.js; ours is served instead


def build_app() -> web.Application:
    """A fresh aiohttp app with localstripe's routes and the emulator's additions."""
    _in_memory_only()
    application = web.Application(
        middlewares=[
            preflight_middleware,
            server.error_middleware,
            auth_middleware,
            idempotency_middleware,
        ]
    )
    application.on_response_prepare.append(_cors_headers)
    router = application.router
    router.add_get("/js.stripe.com/v3/", stripe_js)
    router.add_get("/js.stripe.com/v3", stripe_js)
    router.add_get("/_config/health", health)
    router.add_post("/_config/events", trigger_event)
    router.add_post("/_config/events/{id}/resend", resend_event)
    for route in server.app.router.routes():
        path = route.resource.canonical
        if path in DROPPED or route.method == "HEAD":
            continue
        handler = OVERRIDES.get((route.method, path), route.handler)
        router.add_route(route.method, path, handler)
    return application


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
