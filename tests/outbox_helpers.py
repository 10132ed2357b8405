"""Reading what a service recorded in the outbox, and running what it would deliver."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from common.outbox import registry
from common.outbox.models import OutboxDelivery, OutboxEvent
from common.outbox.services import delivery_run, event_record


def recorded(name: str) -> list[dict[str, Any]]:
    """The payloads of the events `name` recorded so far, oldest first."""
    events = OutboxEvent.objects.filter(name=name).order_by("pk")
    return list(events.values_list("payload", flat=True))


def deliver_pending(handler: str | None = None) -> list[str]:
    """Run every undelivered delivery (of one handler) now, in this process, oldest first."""
    query = OutboxDelivery.objects.filter(done_at__isnull=True).order_by("pk")
    if handler is not None:
        query = query.filter(handler=handler)
    return [delivery_run(delivery_id=pk)[0] for pk in query.values_list("pk", flat=True)]


def announce(name: str, payload: dict[str, Any]) -> list[str]:
    """Record the event as its writer would, then run each of its deliveries once."""
    with transaction.atomic():
        event = event_record(name=name, payload=payload)
    if event is None:
        return []
    ids = event.deliveries.order_by("pk").values_list("pk", flat=True)
    return [delivery_run(delivery_id=pk)[0] for pk in ids]


def only_handlers(monkeypatch: pytest.MonkeyPatch, event: str, *names: str) -> None:
    """Record `event` with only these of its registered handlers (this test, this process)."""
    kept = [h for h in registry.handlers_for(event) if h.name in names]
    assert [h.name for h in kept] == list(names), "unknown handler"
    monkeypatch.setitem(registry._BY_EVENT, event, kept)
