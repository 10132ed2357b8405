"""Outbound webhooks to brands: order events, and events about a variant's stock.

An event is written as one `WebhookDelivery` per subscribed endpoint in the same
transaction as the change it reports (so it exists exactly when the change does), then
delivered by Celery after commit. Every event is about a subject (`order:12`,
`variant:34`); deliveries of one subject to one endpoint go strictly in order; a failure is
retried with exponential backoff until `WEBHOOK_RETRY_WINDOW` has passed and then marked
failed, which lets the next one go. Nothing here holds a lock or a transaction across the
HTTP call, and a slow or failing endpoint delays only its own queue.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from common.db import in_transaction
from common.errors import ApplicationError, NotFound
from common.tasks_queue import enqueue_on_commit, task_send, task_send_logged
from orders import order_selectors
from orders.models import BrandWebhookEndpoint, Dispute, Order, Refund, WebhookDelivery
from orders.models.webhooks import order_subject
from orders.services.webhook_urls import (
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    webhook_signature,
    webhook_url_check,
)

logger = logging.getLogger(__name__)

D = WebhookDelivery.Status
DELIVER_TASK = "orders.tasks.webhook_deliver"
LEASE = timedelta(minutes=2)  # a claimed delivery is not retried by another worker before
BATCH = 50  # deliveries sent by one task run before it hands over


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _envelope(
    *, event_id: str, event_type: str, now: datetime, brand_slug: str, data: dict[str, Any]
) -> Any:
    return _json(
        {
            "id": event_id,
            "type": event_type,
            "created": int(now.timestamp()),
            "brand": brand_slug,
            "data": data,
        }
    )


def _delivery_new(
    endpoint: BrandWebhookEndpoint,
    *,
    event_type: str,
    subject: str,
    data: dict[str, Any],
    now: datetime,
    order: Order | None = None,
    event_key: str = "",
) -> WebhookDelivery:
    """One endpoint's delivery of a new event, due now, its retry window starting now."""
    event_id = "evt_" + secrets.token_hex(12)
    return WebhookDelivery(
        endpoint=endpoint,
        brand_id=endpoint.brand_id,
        order=order,
        subject=subject,
        event_key=event_key,
        event_id=event_id,
        event_type=event_type,
        payload=_envelope(
            event_id=event_id,
            event_type=event_type,
            now=now,
            brand_slug=endpoint.brand.slug,
            data=data,
        ),
        window_started_at=now,
        next_attempt_at=now,
    )


def webhook_endpoints_subscribed(
    *, brand_ids: Iterable[int], event_types: Iterable[str]
) -> list[BrandWebhookEndpoint]:
    """The brands' active endpoints that want any of the event types, in one query."""
    wanted = set(event_types)
    return [
        e
        for e in BrandWebhookEndpoint.objects.filter(
            brand_id__in=sorted(set(brand_ids)), is_active=True
        ).select_related("brand")
        if any(e.wants(event_type) for event_type in wanted)
    ]


def _deliver_on_commit(pairs: Iterable[tuple[int, str]]) -> None:
    # The deliveries are rows of this transaction: a lost message is picked up by the sweep.
    for endpoint_id, subject in sorted(set(pairs)):
        enqueue_on_commit(DELIVER_TASK, endpoint_id, subject=subject)


def webhooks_emit(
    *,
    order: Order,
    event_type: str,
    brand_ids: Iterable[int],
    refund: Refund | None = None,
    dispute: Dispute | None = None,
) -> int:
    """Queue an event for every brand's subscribed endpoints (inside the change's transaction).

    Each brand's payload holds only its own part of the order (and of the refund, or of the
    dispute: its share, the status and the evidence due date).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("webhooks_emit must run inside the change's transaction.")
    endpoints = webhook_endpoints_subscribed(brand_ids=brand_ids, event_types=[event_type])
    if not endpoints:
        return 0
    now = timezone.now()
    data: dict[int, dict[str, Any]] = {}
    for endpoint in endpoints:
        if endpoint.brand_id not in data:
            view = order_selectors.order_view(
                order_selectors.order_view_queryset([endpoint.brand_id]).get(pk=order.pk),
                brand_ids=[endpoint.brand_id],
            )
            data[endpoint.brand_id] = {"order": view}
            if refund is not None:
                data[endpoint.brand_id]["refund"] = next(
                    (r for r in view["refunds"] if r["id"] == refund.pk), None
                )
            if dispute is not None:
                data[endpoint.brand_id]["dispute"] = order_selectors.dispute_view(
                    dispute, brand_ids=[endpoint.brand_id]
                )
    subject = order_subject(order.pk)
    rows = [
        _delivery_new(
            endpoint,
            event_type=event_type,
            subject=subject,
            data=data[endpoint.brand_id],
            now=now,
            order=order,
        )
        for endpoint in endpoints
    ]
    WebhookDelivery.objects.bulk_create(rows)
    _deliver_on_commit((e.pk, subject) for e in endpoints)
    return len(rows)


@dataclass(frozen=True)
class SubjectEvent:
    """An event about something other than an order (e.g. a variant), for one brand.

    `key` names the fact reported (`alert:17`): the same type, subject and key is written
    once per endpoint, however often it is emitted.
    """

    brand_id: int
    event_type: str
    subject: str
    key: str
    data: dict[str, Any]


def webhooks_emit_subject_events(
    *,
    events: Sequence[SubjectEvent],
    endpoints: Sequence[BrandWebhookEndpoint] | None = None,
    now: datetime | None = None,
) -> int:
    """Queue events for the brands' subscribed endpoints (inside the change's transaction).

    `endpoints` are those of `webhook_endpoints_subscribed` when the caller has them already.
    Returns how many deliveries were attempted; those already written (same endpoint, type,
    subject and key) are left as they are. Two queries whatever the number of events.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("webhooks_emit_subject_events must run inside a transaction.")
    if not events:
        return 0
    if endpoints is None:
        endpoints = webhook_endpoints_subscribed(
            brand_ids={e.brand_id for e in events}, event_types={e.event_type for e in events}
        )
    if not endpoints:
        return 0
    now = now or timezone.now()
    by_brand: dict[int, list[BrandWebhookEndpoint]] = {}
    for endpoint in endpoints:
        by_brand.setdefault(endpoint.brand_id, []).append(endpoint)
    rows = []
    for event in events:
        for endpoint in by_brand.get(event.brand_id, []):
            if not endpoint.wants(event.event_type):
                continue
            rows.append(
                _delivery_new(
                    endpoint,
                    event_type=event.event_type,
                    subject=event.subject,
                    data=event.data,
                    now=now,
                    event_key=event.key,
                )
            )
    if not rows:
        return 0
    # The unique constraint on (endpoint, type, subject, key) makes a repeat a no-op.
    WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    _deliver_on_commit((row.endpoint_id, row.subject) for row in rows)
    return len(rows)


def _post(
    endpoint: BrandWebhookEndpoint, delivery: WebhookDelivery, now: datetime
) -> tuple[bool, int | None, str]:
    """One signed attempt: (delivered, HTTP status, error); the receiver's faults never raise."""
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Tribe-Webhooks/1.0",
        SIGNATURE_HEADER: webhook_signature(
            secret=endpoint.secret, body=body, timestamp=int(now.timestamp())
        ),
        EVENT_ID_HEADER: delivery.event_id,
        EVENT_TYPE_HEADER: delivery.event_type,
    }
    try:
        webhook_url_check(endpoint.url)
        response = requests.post(
            endpoint.url,
            data=body,
            headers=headers,
            timeout=(3.05, settings.WEBHOOK_TIMEOUT_SECONDS),
            allow_redirects=False,
        )
    except ApplicationError as exc:
        return False, None, f"{exc.code}: {exc.message}"
    except requests.RequestException as exc:
        return False, None, f"{exc.__class__.__name__}: {exc}"[:2000]
    if 200 <= response.status_code < 300:
        return True, response.status_code, ""
    return False, response.status_code, f"HTTP {response.status_code}: {response.text[:500]}"


def _backoff(attempts: int) -> timedelta:
    seconds = settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, settings.WEBHOOK_RETRY_MAX_SECONDS))


def webhook_deliver_due(
    *,
    endpoint_id: int,
    subject: str | None = None,
    order_id: int | None = None,
    clock: Callable[[], datetime] = timezone.now,
) -> str:
    """Send the endpoint's due deliveries of one subject, oldest first, until one must wait.

    The subject is given as such or, for an order, as `order_id`. Returns `idle` (nothing
    pending), `waiting` (the next is not due), `busy` (another worker holds it), `retry` (it
    failed and is scheduled again), `more` (handed over to a fresh run) or `disabled`.
    """
    if in_transaction():
        raise RuntimeError("Webhooks must not be delivered inside a transaction.")
    if subject is None:
        if order_id is None:
            raise ValueError("Give the subject or the order id.")
        subject = order_subject(order_id)
    endpoint = BrandWebhookEndpoint.objects.filter(pk=endpoint_id).first()
    if endpoint is None or not endpoint.is_active:
        return "disabled"
    for _ in range(BATCH):
        head = (
            WebhookDelivery.objects.filter(endpoint=endpoint, subject=subject, status=D.PENDING)
            .order_by("pk")
            .first()
        )
        if head is None:
            return "idle"
        now = clock()
        if head.next_attempt_at > now:
            return "waiting"
        claimed = WebhookDelivery.objects.filter(
            pk=head.pk, status=D.PENDING, next_attempt_at=head.next_attempt_at
        ).update(next_attempt_at=now + LEASE)
        if not claimed:
            return "busy"
        delivered, code, error = _post(endpoint, head, now)
        done_at = clock()
        attempt = {
            "attempts": head.attempts + 1,
            "last_attempt_at": done_at,
            "last_status_code": code,
            "last_error": error,
        }
        if delivered:
            WebhookDelivery.objects.filter(pk=head.pk).update(
                status=D.DELIVERED, delivered_at=done_at, **attempt
            )
            continue
        if done_at >= head.window_started_at + settings.WEBHOOK_RETRY_WINDOW:
            logger.warning(
                "Webhook %s to %s failed for good: %s", head.event_id, endpoint.url, error
            )
            WebhookDelivery.objects.filter(pk=head.pk).update(status=D.FAILED, **attempt)
            continue  # given up: the next event of the subject may go
        WebhookDelivery.objects.filter(pk=head.pk).update(
            next_attempt_at=done_at + _backoff(head.attempts + 1), **attempt
        )
        return "retry"
    task_send_logged(DELIVER_TASK, endpoint_id, subject=subject)  # more queued: a fresh run
    return "more"


def webhooks_sweep(*, now: datetime | None = None, limit: int = 500) -> int:
    """Enqueue delivery of every queue whose next delivery is due (the periodic task)."""
    now = now or timezone.now()
    due = (
        WebhookDelivery.objects.filter(
            status=D.PENDING, next_attempt_at__lte=now, endpoint__is_active=True
        )
        .values_list("endpoint_id", "subject")
        .order_by("endpoint_id", "subject")
        .distinct()[:limit]
    )
    pairs = list(due)
    for endpoint_id, subject in pairs:
        task_send(DELIVER_TASK, endpoint_id, subject=subject)
    return len(pairs)


def webhook_delivery_replay(
    *, delivery_id: int, brand_ids: Iterable[int] | None
) -> WebhookDelivery:
    """Send a delivery again (same event id), with a fresh retry window."""
    with transaction.atomic(durable=True):
        query = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id)
        if brand_ids is not None:
            query = query.filter(brand_id__in=list(brand_ids))
        delivery = query.first()
        if delivery is None:
            raise NotFound("No such delivery.", code="webhook_delivery_not_found")
        now = timezone.now()
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=D.PENDING,
            attempts=0,
            window_started_at=now,
            next_attempt_at=now,
            delivered_at=None,
        )
        enqueue_on_commit(DELIVER_TASK, delivery.endpoint_id, subject=delivery.subject)
    delivery.refresh_from_db()
    return delivery
