"""Recording events, running their handlers once each, and sweeping up what was not delivered.

- `event_record` writes the event and one delivery per registered handler in the caller's
  transaction, and publishes one task per delivery after commit. A broker that is down
  then is logged, never raised: the rows wait for the sweep.
- `delivery_run` (the task's body) locks the delivery row, runs an atomic handler and
  marks the row done in the same transaction: a run twice, or two at once, has one
  effect. A failure rolls the effect back and records the error and when to try again
  (exponential backoff); the event's other deliveries are untouched.
- `outbox_sweep` (beat, every minute) claims deliveries that are due with
  `FOR UPDATE SKIP LOCKED` (two sweepers never take the same row, and a row a handler is
  running is skipped), pushes them forward and publishes them again.
- `outbox_prune` (beat) deletes events all of whose deliveries are done, after
  `OUTBOX_RETENTION_DAYS`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from common.outbox.models import OutboxDelivery, OutboxEvent
from common.outbox.registry import Handler, handler_get, handlers_for
from common.tasks_queue import task_send

logger = logging.getLogger(__name__)

DELIVER_TASK = "common.tasks.outbox_deliver"
Status = OutboxDelivery.Status


def _sweep_after() -> timedelta:
    return timedelta(seconds=settings.OUTBOX_SWEEP_AFTER_SECONDS)


def retry_backoff(attempts: int) -> timedelta:
    """The wait before try `attempts + 1`: base x 2^(attempts-1), capped."""
    seconds = settings.OUTBOX_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, settings.OUTBOX_RETRY_MAX_SECONDS))


# --- recording ---------------------------------------------------------------------------


def event_record(
    *, name: str, payload: dict[str, Any], key: str | None = None
) -> OutboxEvent | None:
    """Record the event `name` in the caller's transaction; delivered once it commits.

    With a `key`, the same (name, key) is recorded once: a repeat returns None and adds
    nothing. An event no handler is registered for is not written (None).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("event_record must run inside the transaction of the change.")
    handlers = handlers_for(name)
    if not handlers:
        return None
    now = timezone.now()
    event = OutboxEvent(name=name, key=key or "", payload=payload, created_at=now)
    if key:
        try:
            with transaction.atomic():
                event.save(force_insert=True)
        except IntegrityError:
            return None
    else:
        event.save(force_insert=True)
    due = now + _sweep_after()
    deliveries = OutboxDelivery.objects.bulk_create(
        [
            OutboxDelivery(event=event, handler=h.name, next_attempt_at=due, created_at=now)
            for h in handlers
        ]
    )
    transaction.on_commit(partial(deliveries_dispatch, [d.pk for d in deliveries]))
    return event


def events_record(*, name: str, payloads: Sequence[dict[str, Any]]) -> list[OutboxEvent]:
    """Record one event `name` per payload in two statements, whatever their number.

    Inside the caller's transaction, like `event_record` (without keys).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("events_record must run inside the transaction of the change.")
    handlers = handlers_for(name)
    if not handlers or not payloads:
        return []
    now = timezone.now()
    # PostgreSQL returns the new ids, so the deliveries can point at them.
    events = OutboxEvent.objects.bulk_create(
        [OutboxEvent(name=name, payload=payload, created_at=now) for payload in payloads]
    )
    due = now + _sweep_after()
    deliveries = OutboxDelivery.objects.bulk_create(
        [
            OutboxDelivery(event=event, handler=h.name, next_attempt_at=due, created_at=now)
            for event in events
            for h in handlers
        ]
    )
    transaction.on_commit(partial(deliveries_dispatch, [d.pk for d in deliveries]))
    return events


def deliveries_dispatch(delivery_ids: Sequence[int]) -> int:
    """Publish one task per delivery; returns how many the broker took (never raises).

    The first refusal stops the rest: the broker is down, and the sweep takes them all.
    """
    sent = 0
    for delivery_id in delivery_ids:
        try:
            task_send(DELIVER_TASK, delivery_id)
        except Exception:
            logger.warning(
                "Outbox: could not publish %d of %d deliveries; the sweep will",
                len(delivery_ids) - sent,
                len(delivery_ids),
                exc_info=True,
            )
            break
        sent += 1
    return sent


# --- running a handler -------------------------------------------------------------------


def _failed(delivery_id: int, attempts: int, exc: BaseException, now: datetime) -> timedelta:
    wait = retry_backoff(attempts)
    OutboxDelivery.objects.filter(pk=delivery_id, done_at__isnull=True).update(
        attempts=attempts,
        last_error=f"{exc.__class__.__name__}: {exc}"[:2000],
        # The task's own retry comes after `wait`; the sweep only if that one is lost.
        next_attempt_at=now + wait + _sweep_after(),
    )
    return wait


class _NoHandler(LookupError):
    pass


def delivery_run(
    *, delivery_id: int, clock: Callable[[], datetime] = timezone.now
) -> tuple[str, timedelta | None]:
    """Run one delivery's handler unless it is done: ("done" | "skipped" | "retry", wait).

    Four round trips around an atomic handler's own: lock the row (with its event), the
    handler, mark it done, commit. A failure rolls the whole transaction back, effect
    included, and is recorded in a short one of its own.
    """
    attempts = 0
    outside: tuple[Handler, OutboxDelivery] | None = None
    try:
        with transaction.atomic(durable=True):
            delivery = (
                OutboxDelivery.objects.select_for_update(of=("self",))
                .select_related("event")
                .filter(pk=delivery_id)
                .first()
            )
            if delivery is None or delivery.done_at is not None:
                return "skipped", None  # done (maybe by a run we waited for), or pruned
            attempts = delivery.attempts + 1
            handler = handler_get(delivery.handler)
            if handler is None:
                raise _NoHandler(f"no handler {delivery.handler!r} is registered in this process")
            if handler.atomic:
                handler.fn(delivery.event)
                _done(delivery_id, attempts, clock())
            else:
                outside = (handler, delivery)
    except Exception as exc:
        if not attempts:
            raise  # the row could not even be read: the sweep tries again
        logger.warning("Outbox delivery %s failed: %r", delivery_id, exc)
        return "retry", _failed(delivery_id, attempts, exc, clock())
    if outside is None:
        return "done", None
    handler, delivery = outside
    try:
        handler.fn(delivery.event)
    except Exception as exc:
        logger.warning("Outbox delivery %s failed: %r", delivery_id, exc)
        return "retry", _failed(delivery_id, attempts, exc, clock())
    _done(delivery_id, attempts, clock())
    return "done", None


def _done(delivery_id: int, attempts: int, now: datetime) -> None:
    OutboxDelivery.objects.filter(pk=delivery_id, done_at__isnull=True).update(
        status=Status.DONE, done_at=now, attempts=attempts, last_error=""
    )


# --- the sweep, retry from the admin, and pruning ----------------------------------------


def deliveries_claim(*, now: datetime, limit: int) -> list[int]:
    """Take up to `limit` due deliveries for this transaction, oldest due first.

    Runs inside the caller's transaction: the rows stay locked (others skip them) until it
    ends, and are pushed forward so that nobody takes them again before the next sweep.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("deliveries_claim must run inside a transaction.")
    ids = list(
        OutboxDelivery.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(done_at__isnull=True, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    if ids:
        OutboxDelivery.objects.filter(pk__in=ids).update(next_attempt_at=now + _sweep_after())
    return ids


def outbox_sweep(*, now: datetime | None = None, limit: int | None = None) -> list[int]:
    """Publish again every delivery not done and due; returns the ids claimed."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        ids = deliveries_claim(now=now, limit=limit or settings.OUTBOX_SWEEP_BATCH)
    if ids:
        logger.info("Outbox sweep: %d deliveries due, publishing again", len(ids))
        deliveries_dispatch(ids)
    return ids


def deliveries_retry_now(*, delivery_ids: Iterable[int]) -> list[int]:
    """Publish these undelivered deliveries at once (the admin's "retry now")."""
    ids = sorted(set(delivery_ids))
    with transaction.atomic(durable=True):
        pending = list(
            OutboxDelivery.objects.filter(pk__in=ids, done_at__isnull=True).values_list(
                "pk", flat=True
            )
        )
        OutboxDelivery.objects.filter(pk__in=pending).update(
            next_attempt_at=timezone.now() + _sweep_after()
        )
        transaction.on_commit(partial(deliveries_dispatch, pending))
    return pending


def outbox_prune(*, now: datetime | None = None, batch_size: int = 1000) -> int:
    """Delete events older than the retention whose deliveries are all done; returns how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.OUTBOX_RETENTION_DAYS)
    undelivered = OutboxDelivery.objects.filter(event_id=OuterRef("pk"), done_at__isnull=True)
    deleted = 0
    while True:
        ids = list(
            OutboxEvent.objects.filter(created_at__lt=cutoff)
            .exclude(Exists(undelivered))
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return deleted
        with transaction.atomic(durable=True):
            OutboxDelivery.objects.filter(event_id__in=ids, done_at__isnull=False).delete()
            # An event re-checked under the delete: one that gained a pending delivery stays.
            deleted += (
                OutboxEvent.objects.filter(pk__in=ids)
                .exclude(Exists(undelivered))
                .delete()[1]
                .get("common.OutboxEvent", 0)
            )
