"""Concurrent refunds of one line on the real PostgreSQL never together exceed what was paid."""

from __future__ import annotations

import threading
from collections import Counter
from decimal import Decimal

import pytest

from common.errors import ApplicationError
from common.outbox import services as outbox_services
from orders.models import Order, OrderLine, Refund
from orders.services.refunds import RefundLineRequest, refund_create
from tests.orders.aftersale_helpers import intent_of, two_brand_order
from tests.orders.helpers import stripe_test_client
from tests.orders.test_checkout_concurrency import run_threads
from tests.outbox_helpers import recorded

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("stripe_emulator", "no_refund_emails"),
]


@pytest.fixture
def no_refund_emails(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """Keep the outbox's deliveries instead of running them eagerly in the racing threads.

    Eager Celery keeps a process-wide "inside a task" flag that threads running tasks at
    once can leave set; the emails and the ledger have their own tests.
    """
    dispatched: list[list[int]] = []
    monkeypatch.setattr(outbox_services, "deliveries_dispatch", dispatched.append)
    return dispatched


def race(order_id: int, user, requests: list[RefundLineRequest]) -> Counter:
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def attempt(i: int) -> None:
        try:
            refund_create(order_id=order_id, user=user, lines=[requests[i]])
            result = "ok"
        except ApplicationError as exc:
            result = exc.code
        with lock:
            outcomes[result] += 1

    run_threads(len(requests), attempt)
    return outcomes


def stripe_total(order: Order) -> int:
    listed = stripe_test_client().v1.refunds.list(params={"payment_intent": intent_of(order)})
    return sum(r.amount for r in listed.data)


def test_eight_concurrent_partial_refunds_of_one_line_never_exceed_it(no_refund_emails):
    t = two_brand_order(qty_a=2, price_a="20.00")  # the line is 40.00
    wanted = RefundLineRequest(line_id=t.line_a.pk, amount=Decimal("15.00"))
    outcomes = race(t.order.pk, t.owner_a, [wanted] * 8)
    assert outcomes == Counter({"ok": 2, "refund_exceeds_paid": 6})
    line = OrderLine.objects.get(pk=t.line_a.pk)
    assert line.refunded_amount == Decimal("30.00") <= line.line_total
    assert stripe_total(t.order) == 3000
    assert Refund.objects.filter(status="succeeded").count() == 2
    assert Order.objects.get(pk=t.order.pk).refunded_total == Decimal("30.00")
    assert len(recorded("orders.refund_succeeded")) == 2


def test_concurrent_unit_refunds_never_refund_more_units_than_bought():
    t = two_brand_order(qty_a=3, price_a="10.00")
    wanted = RefundLineRequest(line_id=t.line_a.pk, quantity=1)
    outcomes = race(t.order.pk, t.owner_a, [wanted] * 6)
    assert outcomes["ok"] == 3
    assert outcomes["ok"] + outcomes["refund_exceeds_quantity"] == 6
    line = OrderLine.objects.get(pk=t.line_a.pk)
    assert (line.refunded_quantity, line.refunded_amount) == (3, Decimal("30.00"))
    assert stripe_total(t.order) == 3000
