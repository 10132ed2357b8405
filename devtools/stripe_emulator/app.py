"""The emulator's aiohttp app: API-key auth, idempotency, CORS, and routes.

localstripe's routes are kept, with the PaymentIntent actions swapped for ours; the Stripe.js
stand-in (devtools/stripe_js/stripe.js) is served at /js.stripe.com/v3/.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

from aiohttp import web
from localstripe import resources, server
from localstripe.errors import UserError
from localstripe.resources import Event, PaymentIntent, store

# Importing cards, refunds and webhooks installs their patches over localstripe.
from devtools.stripe_emulator import cards, connect, disputes, in_memory_only, refunds, webhooks  # noqa: F401
from devtools.stripe_emulator.multipart import multipart_parts
from devtools.stripe_emulator.payment_intents import (
    api_authenticate,
    api_cancel,
    api_confirm,
    check_client_secret,
)
from devtools.stripe_emulator.validation import error

STRIPE_JS = Path(__file__).resolve().parent.parent / "stripe_js" / "stripe.js"
IDEMPOTENCY_TTL = 24 * 60 * 60

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
    if request.method == "POST" and request.content_type.startswith("multipart/"):
        params: dict = {}  # a file upload: the key is in the Authorization header
    elif request.method == "POST":
        params = await server.get_post_data(request, remove_auth=False) or {}
    else:
        params = server.unflatten_data(request.query)
    key = _request_key(request, params)
    if key.startswith("sk_") and len(key) > 5:
        return await handler(request)
    if not key.startswith("pk_"):
        raise error(401, "You did not provide a valid API key (Authorization: Bearer sk_...).")
    for method, pattern, needs_secret in PK_ROUTES:
        match = pattern.match(request.path)
        if request.method == method and match:
            if needs_secret:
                obj = PaymentIntent._api_retrieve(match["id"])
                secret = params.get("client_secret")
                if not secret:
                    raise error(
                        400, "Missing required param: client_secret.", param="client_secret"
                    )
                check_client_secret(obj, secret)
            return await handler(request)
    raise error(401, "This API call cannot be made with a publishable API key.")


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
    """The request's parameters, as Stripe compares them: a multipart body by its parts, not
    its bytes (each upload draws a new boundary)."""
    body = await request.read()
    if request.content_type == "application/x-www-form-urlencoded":
        pairs = parse_qsl(body.decode(), keep_blank_values=True)
        return (request.path, tuple(sorted(p for p in pairs if p[0] != "key")))
    if request.content_type.startswith("multipart/"):
        return (request.path, tuple(multipart_parts(request.headers["Content-Type"], body)))
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
            raise error(
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
        raise error(
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
        raise error(400, "Expected type and the id of a stored object.")
    event = Event(event_type, cls._api_retrieve(object_id))
    resources.schedule_webhook(event)
    return server.json_response(event._export())


async def resend_event(request: web.Request) -> web.Response:
    """POST /_config/events/{id}/resend: deliver a past event again (replays are normal)."""
    event = Event._api_retrieve(request.match_info["id"])
    resources.schedule_webhook(event)
    return server.json_response(event._export())


async def confirmations(request: web.Request) -> web.Response:
    """GET /_config/payment_intents/{id}/confirmations: what each confirmation sent (its
    payment method and `radar_options`), oldest first."""
    obj = PaymentIntent._api_retrieve(request.match_info["id"])
    return web.json_response({"data": list(getattr(obj, "_confirmations", []))})


OVERRIDES = {
    ("POST", "/v1/payment_intents/{id}/confirm"): server.api_extra(api_confirm, None),
    ("POST", "/v1/payment_intents/{id}/cancel"): server.api_extra(api_cancel, None),
    ("POST", "/v1/payment_intents/{id}/_authenticate"): server.api_extra(api_authenticate, None),
    ("DELETE", "/_config/data"): flush_store,
}
DROPPED = {"/js.stripe.com/v3/"}  # localstripe's GPL Stripe.js; ours is served instead


def build_app() -> web.Application:
    """A fresh aiohttp app with localstripe's routes and the emulator's additions."""
    in_memory_only()
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
    router.add_get("/_config/payment_intents/{id}/confirmations", confirmations)
    connect.add_routes(router)
    disputes.add_routes(router)
    for route in server.app.router.routes():
        path = route.resource.canonical
        if path in DROPPED or route.method == "HEAD":
            continue
        handler = OVERRIDES.get((route.method, path), route.handler)
        router.add_route(route.method, path, handler)
    return application
