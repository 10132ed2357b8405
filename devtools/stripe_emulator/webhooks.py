"""Events and webhook delivery: each attempt signed afresh, failed deliveries retried."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass

from aiohttp import ClientError, ClientSession, ClientTimeout
from localstripe import resources
from localstripe import webhooks as localstripe_webhooks
from localstripe.resources import Event

logger = logging.getLogger("stripe_emulator")


def schedule(obj, event_type: str) -> None:
    resources.schedule_webhook(Event(event_type, obj))


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
    for webhook in list(localstripe_webhooks._webhooks.values()):
        if webhook.events is None or event.type in webhook.events:
            task = asyncio.ensure_future(_deliver(webhook, event.type, payload))
            _delivery_tasks.add(task)
            task.add_done_callback(_delivery_tasks.discard)


localstripe_webhooks._send_webhook = _send_webhook
