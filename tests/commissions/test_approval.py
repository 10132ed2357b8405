"""Approval: after the hold, pending lines become payable in batches, or void if refunded."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from commissions import tasks
from commissions.models import CommissionLine
from commissions.services import recording
from commissions.services.approval import commissions_approve_due
from orders.models import Order, OrderLine
from tests.commissions.helpers import paid_order, variant_of
from tests.creators.factories import CommissionTermsFactory, CreatorFactory

pytestmark = pytest.mark.django_db
Status = CommissionLine.Status
DAY = timedelta(days=1)


def sale(total: str = "100.00", *, days_ago: int = 31) -> OrderLine:
    order = paid_order(
        (variant_of(), total),
        creator=CreatorFactory.create(),
        paid_at=timezone.now() - timedelta(days=days_ago),
    )
    recording.commission_record_for_orders(order_ids=[order.pk])
    return order.lines.get()


def statuses(line: OrderLine) -> list[tuple[str, str]]:
    rows = CommissionLine.objects.filter(order_line_id=line.pk).order_by("pk")
    return [(row.kind, row.status) for row in rows]


def test_lines_past_their_hold_are_approved_and_the_others_wait():
    due = sale(days_ago=31)
    waiting = sale(days_ago=29)

    batch = commissions_approve_due()

    assert (batch.approved, batch.voided, batch.more) == (1, 0, False)
    assert statuses(due) == [("commission", Status.APPROVED)]
    assert statuses(waiting) == [("commission", Status.PENDING)]
    assert CommissionLine.objects.get(order_line_id=due.pk).approved_at is not None


def test_a_brand_without_hold_makes_commissions_payable_at_once():
    terms = CommissionTermsFactory.create(hold_days=0)
    order = paid_order((variant_of(terms.brand), "10.00"), creator=CreatorFactory.create())
    recording.commission_record_for_orders(order_ids=[order.pk])

    commissions_approve_due(now=timezone.now() + timedelta(seconds=1))

    assert CommissionLine.objects.get().status == Status.APPROVED


def test_a_line_fully_refunded_inside_the_hold_never_becomes_payable():
    line = sale(days_ago=31)
    recording.commission_reverse_for_refund(
        order_line_id=line.pk, refund_id="re_1", refunded_to_date=Decimal("40.00")
    )
    recording.commission_reverse_for_refund(
        order_line_id=line.pk, refund_id="re_2", refunded_to_date=Decimal("100.00")
    )

    batch = commissions_approve_due()

    assert batch.voided == 3
    assert statuses(line) == [
        ("commission", Status.VOIDED),
        ("reversal", Status.VOIDED),
        ("reversal", Status.VOIDED),
    ]
    later = recording.commission_reverse_for_refund(
        order_line_id=line.pk, refund_id="re_3", refunded_to_date=Decimal("100.00")
    )
    assert later is not None
    assert (later.status, later.amount) == (Status.VOIDED, 0)


def test_a_partly_refunded_line_is_approved_with_its_reversal():
    line = sale("100.00", days_ago=31)
    recording.commission_reverse_for_refund(
        order_line_id=line.pk, refund_id="re_1", refunded_to_date=Decimal("25.00")
    )

    commissions_approve_due()

    assert statuses(line) == [("commission", Status.APPROVED), ("reversal", Status.APPROVED)]
    approved = CommissionLine.objects.filter(status=Status.APPROVED)
    assert sum(row.amount for row in approved) == Decimal("7.500")


def test_an_order_refunded_without_a_refund_signal_is_caught_up_and_voided():
    from orders.models import Refund, RefundLine

    line = sale(days_ago=31)
    order = Order.objects.get(pk=line.order_id)
    refund = Refund.objects.create(
        order=order,
        brand_id=line.brand_id,
        amount=line.line_total,
        currency=line.currency,
        status=Refund.Status.SUCCEEDED,
    )
    RefundLine.objects.create(
        refund=refund, order_line=line, brand_id=line.brand_id, amount=line.line_total
    )
    Order.objects.filter(pk=line.order_id).update(status=Order.Status.REFUNDED)

    batch = commissions_approve_due()

    assert (batch.reconciled, batch.approved, batch.voided) == (1, 0, 2)
    assert statuses(line) == [("commission", Status.VOIDED), ("reversal", Status.VOIDED)]


def test_approving_again_changes_nothing():
    line = sale(days_ago=31)
    commissions_approve_due()
    approved_at = CommissionLine.objects.get(order_line_id=line.pk).approved_at

    again = commissions_approve_due(now=timezone.now() + DAY)

    assert (again.approved, again.voided) == (0, 0)
    assert CommissionLine.objects.get(order_line_id=line.pk).approved_at == approved_at


def test_approval_goes_in_batches_and_the_task_takes_them_all():
    lines = [sale(days_ago=40 - i) for i in range(5)]

    first = commissions_approve_due(batch_size=2)

    assert (first.approved, first.more) == (2, True)
    # The oldest holds end first.
    assert {row.order_line_id for row in CommissionLine.objects.filter(status="approved")} == {
        lines[0].pk,
        lines[1].pk,
    }
    result = tasks.commissions_approve_due.delay().get()
    assert result["approved"] == 3
    assert CommissionLine.objects.filter(status=Status.PENDING).count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_line_locked_by_a_reversal_in_progress_waits_for_the_next_batch():
    busy = sale(days_ago=31)
    free = sale(days_ago=31)
    locked = threading.Event()
    release = threading.Event()

    def hold_lock() -> None:
        with transaction.atomic():
            CommissionLine.objects.select_for_update().get(order_line_id=busy.pk)
            locked.set()
            release.wait(10)
        connection.close()

    thread = threading.Thread(target=hold_lock)
    thread.start()
    locked.wait(10)
    try:
        batch = commissions_approve_due()
    finally:
        release.set()
        thread.join()

    assert batch.approved == 1
    assert statuses(free) == [("commission", Status.APPROVED)]
    assert statuses(busy) == [("commission", Status.PENDING)]
    assert commissions_approve_due().approved == 1
