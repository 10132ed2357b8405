"""Each run of a stored Stripe event's handler is counted once, before it runs."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from payments import services
from payments.models import StripeEvent
from tests.orders.helpers import event_payload, post_event

pytestmark = pytest.mark.django_db


def test_a_failed_handler_leaves_the_event_for_the_retry_and_each_run_counts_once(monkeypatch):
    runs: list[str] = []

    def failing_once(payload: dict[str, Any]) -> None:
        runs.append(payload["id"])
        if len(runs) == 1:
            raise RuntimeError("the database went away")

    monkeypatch.setitem(services.HANDLERS, "payment_intent", failing_once)
    payload = event_payload("evt_retry", "payment_intent.processing", {"id": "pi_x"})
    client = APIClient(raise_request_exception=False)

    assert post_event(client, payload).status_code == 500
    event = StripeEvent.objects.get(event_id="evt_retry")
    assert (event.attempts, event.processed_at) == (1, None)
    assert "the database went away" in event.last_error

    assert post_event(client, payload).status_code == 200  # Stripe's retry
    event.refresh_from_db()
    assert event.attempts == 2
    assert event.processed_at is not None
    assert event.last_error == ""

    assert post_event(client, payload).status_code == 200  # a duplicate: nothing runs
    event.refresh_from_db()
    assert event.attempts == 2
    assert runs == ["evt_retry", "evt_retry"]
