"""Delivery on the real broker: a real Celery worker records commissions for paid orders."""

from __future__ import annotations

import os
import signal
import time
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from commissions.models import CommissionLine
from common.outbox import event_record
from common.outbox.models import OutboxDelivery
from orders.models import Order, OrderLine
from tests.commissions.helpers import variant_of
from tests.creators.factories import CreatorFactory
from tests.orders.helpers import line_of
from tests.outbox_helpers import only_handlers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def paid_orders(count: int) -> list[int]:
    """`count` paid orders of one credited line each, inserted in bulk."""
    creator = CreatorFactory.create()
    variant = variant_of()
    paid_at = timezone.now() - timedelta(minutes=5)
    orders = Order.objects.bulk_create(
        Order(
            checkout_scope="worker-test",
            checkout_key=uuid.uuid4().hex,
            email="fan@example.com",
            shipping_address={},
            currency="USD",
            items_total=Decimal("19.99"),
            shipping_total=Decimal(0),
            grand_total=Decimal("19.99"),
            status=Order.Status.PAID,
            paid_at=paid_at,
            reservation_expires_at=paid_at,
        )
        for _ in range(count)
    )
    OrderLine.objects.bulk_create(
        line_of(
            order,
            variant,
            unit_price=Decimal("19.99"),
            title="A thing",
            attributed_creator_id=creator.pk,
            commission_rate=Decimal("10.00"),
            attribution={"credited": True, "rule": "storefront"},
        )
        for order in orders
    )
    return [order.pk for order in orders]


def wait_for_lines(expected: int, timeout: float = 180) -> int:
    deadline = time.monotonic() + timeout
    count = CommissionLine.objects.count()
    while count < expected and time.monotonic() < deadline:
        time.sleep(0.5)
        count = CommissionLine.objects.count()
    return count


def test_a_thousand_paid_orders_make_exactly_a_thousand_commission_lines(real_worker, monkeypatch):
    order_ids = paid_orders(1000)
    only_handlers(monkeypatch, "orders.order_paid", "creators.commission_record_for_order")

    # Every order is announced twice, so two worker processes race on the same orders.
    with transaction.atomic():
        for order_id in order_ids + order_ids:
            event_record(name="orders.order_paid", payload={"order_id": order_id})

    assert wait_for_lines(1000) == 1000
    # Every delivery, the duplicates' included, ends done; they add nothing.
    undelivered = OutboxDelivery.objects.filter(done_at__isnull=True)
    deadline = time.monotonic() + 180
    while undelivered.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not undelivered.exists()
    assert OutboxDelivery.objects.filter(status="done").count() == 2000
    assert CommissionLine.objects.count() == 1000
    assert set(CommissionLine.objects.values_list("order_id", flat=True)) == set(order_ids)
    assert {str(amount) for amount in CommissionLine.objects.values_list("amount", flat=True)} == {
        "2.000"
    }


def active_task_pid(task_name: str, timeout: float = 30) -> int:
    """The pid of the prefork child running `task_name` (as the worker reports it)."""
    from config.celery_app import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for tasks in (app.control.inspect(timeout=1.0).active() or {}).values():
            for task in tasks:
                if task["name"] == task_name and task.get("worker_pid"):
                    return int(task["worker_pid"])
        time.sleep(0.2)
    raise AssertionError(f"{task_name} never became active")


def wait_until_gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_a_child_killed_mid_batch_loses_nothing_and_doubles_nothing(real_worker):
    from commissions.tasks import commissions_record_batch

    order_ids = paid_orders(300)
    first_line = OrderLine.objects.filter(order_id=order_ids[0]).get()
    assert first_line.attributed_creator_id is not None
    with transaction.atomic():
        # Hold the unique key of one line uncommitted: the batch's insert waits on it, inside
        # its own transaction, with the other 299 rows written but not committed.
        CommissionLine.objects.create(
            kind="commission", creator_id=first_line.attributed_creator_id,
            brand_id=first_line.brand_id, order_id=first_line.order_id,
            order_line_id=first_line.pk, currency="USD", base=Decimal("19.99"),
            rate=Decimal("10.00"), amount=Decimal("2.00"), earned_at=timezone.now(),
            payable_at=timezone.now(),
        )  # fmt: skip
        commissions_record_batch.delay(order_ids)
        pid = active_task_pid("creators.tasks.commissions_record_batch")
        time.sleep(1)  # the insert is now waiting on the held key
        assert CommissionLine.objects.count() == 1  # ours: the batch has committed nothing
        os.kill(pid, signal.SIGKILL)
        assert wait_until_gone(pid)
        transaction.set_rollback(True)

    # task_reject_on_worker_lost requeues the message at once; the retry does the batch again.
    assert wait_for_lines(300, timeout=60) == 300
    time.sleep(2)
    assert CommissionLine.objects.count() == 300
    assert CommissionLine.objects.values("order_line_id").distinct().count() == 300
