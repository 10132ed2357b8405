"""The outbox on the real broker and a real worker: the faults it exists for.

Each test pays an order through the signed Stripe webhook (the emulator holds the
PaymentIntent) and watches the ledger's handler, `creators.commission_record_for_order`,
record the commission line in the worker process.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from commissions.models import CommissionLine
from common.outbox import event_record
from common.outbox import services as outbox
from common.outbox.models import OutboxDelivery
from common.tasks_queue import task_send
from creators.attribution.tokens import token_for_click
from orders.models import CartLine, Order
from orders.services.checkout import checkout_start
from payments.models import StripeEvent
from tests.commissions.test_worker import active_task_pid, wait_until_gone
from tests.creators.factories import AffiliateLinkFactory, CreatorFactory
from tests.factories import UserFactory
from tests.orders.helpers import (
    ADDRESS,
    cart_with,
    intent_succeeded_payload,
    pay,
    post_event,
)
from tests.orders.helpers import variant_in_stock as variant_in_stock_
from tests.outbox_helpers import only_handlers

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.usefixtures("stripe_emulator"),
]

LEDGER = "creators.commission_record_for_order"
EMAILS = "orders.notify_order_paid"
DELIVER = "common.tasks.outbox_deliver"


def credited_order() -> Order:
    """An order of one unit credited to a creator's link, its PaymentIntent succeeded."""
    creator = CreatorFactory.create()
    variant = variant_in_stock_(on_hand=5, price="40.00")
    link = AffiliateLinkFactory.create(creator=creator, product=variant.product)
    cart = cart_with((variant, 1))
    token = token_for_click(click_id=f"c-{cart.pk}", link_id=link.pk)
    CartLine.objects.filter(cart=cart).update(attribution_token=token)
    order = checkout_start(
        cart=cart, user=None, idempotency_key=f"k{cart.pk}", email="fan@example.com",
        shipping_address=ADDRESS,
    )  # fmt: skip
    assert order.lines.get().attributed_creator_id == creator.pk
    assert pay(order.stripe_payment_intent_id).status == "succeeded"
    return order


def succeeded(order: Order) -> bytes:
    return intent_succeeded_payload(f"evt_paid_{order.pk}", order)


def delivery_of(order: Order, handler: str) -> OutboxDelivery:
    return OutboxDelivery.objects.get(
        event__name="orders.order_paid", event__payload__order_id=order.pk, handler=handler
    )


def wait_for(predicate: Callable[[], bool], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def done(order: Order, handler: str) -> bool:
    return delivery_of(order, handler).status == "done"


@contextmanager
def broker_unreachable() -> Iterator[None]:
    """Point this process's producer at a port where nothing listens, then back."""
    from config.celery_app import app as celery_app

    app: Any = celery_app  # its connection pools are private attributes

    def repoint(url: str) -> None:
        # Pools are shared per URL (kombu's registry): drop ours, never close the real one.
        app._pool = None
        app.amqp._producer_pool = None
        app.conf.update(broker_url=url)

    url = app.conf.broker_url
    repoint("redis://127.0.0.1:1/0")
    try:
        yield
    finally:
        repoint(url)


def test_broker_down_at_commit_the_order_is_paid_and_the_sweep_records_the_commission_once(
    real_worker, api_client, caplog
):
    order = credited_order()

    with broker_unreachable():
        response = post_event(api_client, succeeded(order))

    # No exception reached Stripe's request: the payment is recorded and acknowledged.
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert "could not publish" in caplog.text
    assert delivery_of(order, LEDGER).status == "pending"
    time.sleep(2)  # nothing reached the worker while the broker was away
    assert not CommissionLine.objects.filter(order_id=order.pk).exists()

    # The broker is back; a minute later the beat sweep takes the deliveries over.
    claimed = outbox.outbox_sweep(now=timezone.now() + timedelta(seconds=61))
    assert delivery_of(order, LEDGER).pk in claimed
    assert wait_for(lambda: done(order, LEDGER) and done(order, EMAILS))

    [line] = CommissionLine.objects.filter(order_id=order.pk)
    assert line.amount == Decimal("4.000")  # 10% of 40.00
    assert StripeEvent.objects.count() == 1  # Stripe never had to retry its webhook
    assert outbox.outbox_sweep(now=timezone.now() + timedelta(minutes=5)) == []
    time.sleep(1)
    assert CommissionLine.objects.filter(order_id=order.pk).count() == 1


def test_a_worker_killed_inside_the_ledger_handler_records_the_commission_once(
    real_worker, api_client, monkeypatch
):
    only_handlers(monkeypatch, "orders.order_paid", LEDGER)
    order = credited_order()
    with monkeypatch.context() as held:
        held.setattr(outbox, "deliveries_dispatch", lambda ids: 0)  # published below
        assert post_event(api_client, succeeded(order)).status_code == 200
    line = order.lines.get()
    assert line.attributed_creator_id is not None
    pk = delivery_of(order, LEDGER).pk
    with transaction.atomic():
        # Hold the ledger's unique key uncommitted: the handler's insert waits on it,
        # inside the transaction that would mark its delivery done.
        CommissionLine.objects.create(
            kind="commission", creator_id=line.attributed_creator_id, brand_id=line.brand_id,
            order_id=order.pk, order_line_id=line.pk, currency="USD", base=Decimal("40.00"),
            rate=Decimal("10.00"), amount=Decimal("4.00"), earned_at=timezone.now(),
            payable_at=timezone.now(),
        )  # fmt: skip
        task_send(DELIVER, pk)
        pid = active_task_pid(DELIVER)
        time.sleep(1)  # the handler's insert is now waiting on the held key
        assert delivery_of(order, LEDGER).status == "pending"
        os.kill(pid, signal.SIGKILL)
        assert wait_until_gone(pid)
        transaction.set_rollback(True)

    # task_reject_on_worker_lost requeues the message at once; the handler runs again.
    assert wait_for(lambda: done(order, LEDGER))
    assert CommissionLine.objects.filter(order_line_id=line.pk).count() == 1
    # The killed run committed nothing, not even its attempt.
    assert delivery_of(order, LEDGER).attempts == 1


def test_the_same_delivery_dispatched_twice_at_once_records_one_line(
    real_worker, api_client, monkeypatch
):
    only_handlers(monkeypatch, "orders.order_paid", LEDGER)
    order = credited_order()
    monkeypatch.setattr(outbox, "deliveries_dispatch", lambda ids: 0)  # we dispatch below
    assert post_event(api_client, succeeded(order)).status_code == 200
    pk = delivery_of(order, LEDGER).pk

    # Twice through the broker (both worker processes) and twice from threads here.
    barrier = threading.Barrier(4)
    results: list[str] = []

    def publish() -> None:
        barrier.wait()
        task_send(DELIVER, pk)

    def run_here() -> None:
        barrier.wait()
        results.append(outbox.delivery_run(delivery_id=pk)[0])
        connection.close()

    threads = [threading.Thread(target=f) for f in (publish, publish, run_here, run_here)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert wait_for(lambda: done(order, LEDGER))
    time.sleep(2)  # let every run finish: the late ones must add nothing
    assert CommissionLine.objects.filter(order_id=order.pk).count() == 1
    assert delivery_of(order, LEDGER).attempts == 1
    assert results.count("done") <= 1


def test_a_failing_handler_is_retried_shown_in_the_admin_and_blocks_no_other(real_worker, client):
    # An order_paid event whose order the emails cannot find: the email handler raises on
    # every try; the ledger's handler of the same event finds nothing to credit and is done.
    missing = Order.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    with transaction.atomic():
        event = event_record(name="orders.order_paid", payload={"order_id": missing + 1000})
    assert event is not None
    emails = OutboxDelivery.objects.get(event=event, handler=EMAILS)
    ledger = OutboxDelivery.objects.get(event=event, handler=LEDGER)

    assert wait_for(lambda: OutboxDelivery.objects.get(pk=ledger.pk).status == "done")
    # Tried again by the task's own backoff (1 s, 2 s... on the test worker).
    assert wait_for(lambda: OutboxDelivery.objects.get(pk=emails.pk).attempts >= 3, timeout=30)
    emails.refresh_from_db()
    assert emails.status == "pending"
    assert "DoesNotExist" in emails.last_error

    client.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    page = client.get("/admin/common/outboxdelivery/").content.decode()
    assert EMAILS in page
    assert "DoesNotExist" in page
    assert LEDGER not in page
