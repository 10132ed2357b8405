"""Ledger reconciliation: nothing on a correct ledger, exactly the difference on a broken one."""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from commissions.models import CommissionLine
from commissions.selectors.order_lines import order_lines_refunded_amounts
from commissions.selectors.reconciliation import commission_ledger_differences
from commissions.services import recording
from commissions.services.reconciliation import ledger_reconcile
from creators.models import Creator
from orders.models import Order, OrderLine
from tests.commissions.helpers import paid_order, variant_of
from tests.creators.factories import CreatorFactory
from tests.orders.helpers import refund_succeeded

pytestmark = pytest.mark.django_db
Kind = CommissionLine.Kind


def sale(creator: Creator, total: str, rate: str = "10.00", currency: str = "USD") -> OrderLine:
    brand = variant_of(currency=currency).product.brand
    order = paid_order((variant_of(brand), total), creator=creator, rate=rate, currency=currency)
    recording.commission_record_for_orders(order_ids=[order.pk])
    return order.lines.get()


def refund(line: OrderLine, amount: str, refund_ref: str) -> None:
    refund_succeeded(line, Decimal(amount))
    OrderLine.objects.filter(pk=line.pk).update(refunded_amount=Decimal(amount))
    recording.commission_reverse_for_refund(
        order_line_id=line.pk,
        refund_id=refund_ref,
        refunded_to_date=order_lines_refunded_amounts(order_line_ids=[line.pk])[line.pk],
    )


def ledger(line: OrderLine) -> Decimal:
    return sum((c.amount for c in CommissionLine.objects.filter(order_line_id=line.pk)), Decimal(0))


@pytest.fixture
def healthy() -> list[OrderLine]:
    """A correct ledger in three currencies: sales, partial and full refunds, an approval."""
    creator = CreatorFactory.create()
    lines = [
        sale(creator, "40.00"),
        sale(creator, "33.33", rate="7.50"),
        sale(creator, "1999", currency="JPY"),
        sale(creator, "12.345", rate="12.00", currency="KWD"),
    ]
    refund(lines[0], "10.00", "r1")
    refund(lines[1], "33.33", "r2")  # in full
    refund(lines[2], "333", "r3")
    uncredited = paid_order((variant_of(), "20.00"), creator=None)
    recording.commission_record_for_orders(order_ids=[uncredited.pk])
    from commissions.services.approval import commissions_approve_due

    commissions_approve_due(now=timezone.now() + timedelta(days=365))
    return lines


def test_a_correct_ledger_has_no_differences_and_nothing_is_appended(healthy):
    count = CommissionLine.objects.count()

    report = ledger_reconcile()

    assert (report.found, report.appended, report.unresolved) == (0, 0, [])
    assert report.summary() == "Ledger reconciled: no differences."
    assert CommissionLine.objects.count() == count


def test_a_tampered_amount_is_corrected_by_exactly_the_difference(healthy, caplog):
    line = healthy[0]  # commission 4.00, reversed 1.00: due 3.00
    commission = CommissionLine.objects.get(order_line_id=line.pk, kind=Kind.COMMISSION)
    with connection.cursor() as cursor:  # around the append-only trigger, as a bug might
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(
            "UPDATE creators_commissionline SET amount = 4.37 WHERE id = %s", [commission.pk]
        )
        cursor.execute("SET session_replication_role = DEFAULT")
    assert ledger(line) == Decimal("3.37")

    with caplog.at_level(logging.INFO, logger="commissions.services.reconciliation"):
        report = ledger_reconcile()

    assert report.found == 1
    assert [(d.currency, d.count, d.total) for d in report.differences] == [
        ("USD", 1, Decimal("-0.37"))
    ]
    assert report.reasons == {"ledger_mismatch": 1}
    assert report.appended == 1
    adjustment = CommissionLine.objects.get(kind=Kind.ADJUSTMENT)
    assert adjustment.amount == Decimal("-0.37")
    assert adjustment.receipt["reason"] == "ledger_mismatch"
    assert (adjustment.receipt["due"], adjustment.receipt["ledger_before"]) == ("3.00", "3.37")
    assert ledger(line) == Decimal("3.00")
    assert "1 order lines differed" in caplog.text
    # Run again: the ledger is right now, so nothing more is appended.
    assert ledger_reconcile().found == 0
    assert CommissionLine.objects.filter(kind=Kind.ADJUSTMENT).count() == 1


def test_a_lost_payment_event_and_a_lost_refund_event_are_replayed(healthy):
    creator = CreatorFactory.create()
    brand = variant_of().product.brand
    lost = paid_order((variant_of(brand), "50.00"), creator=creator)  # never recorded
    line = sale(creator, "80.00")
    refund_succeeded(line, Decimal("20.00"))  # its refund_succeeded never handled

    report = ledger_reconcile()

    assert report.reasons == {"commission_missing": 1, "refund_not_reversed": 1}
    assert [(d.currency, d.count, d.total) for d in report.differences] == [
        ("USD", 2, Decimal("5.00") - Decimal("2.00"))
    ]
    assert ledger(lost.lines.get()) == Decimal("5.00")
    assert ledger(line) == Decimal("6.00")
    assert not CommissionLine.objects.filter(kind=Kind.ADJUSTMENT).exists()
    assert ledger_reconcile().found == 0


def test_a_stray_line_on_a_sale_that_earned_nothing_is_taken_back(healthy):
    uncredited = Order.objects.filter(lines__attributed_creator_id__isnull=True).get()
    other = CommissionLine.objects.filter(kind=Kind.COMMISSION).first()
    assert other is not None
    line = uncredited.lines.get()
    CommissionLine.objects.create(
        kind=Kind.COMMISSION, status="approved", creator_id=other.creator_id,
        brand_id=line.brand_id, order_id=line.order_id, order_line_id=line.pk,
        currency="USD", base=Decimal("20.00"), rate=Decimal("10"), amount=Decimal("2.00"),
        earned_at=timezone.now(), payable_at=timezone.now(),
    )  # fmt: skip

    report = ledger_reconcile()

    assert report.reasons == {"ledger_stray": 1}
    adjustment = CommissionLine.objects.get(kind=Kind.ADJUSTMENT)
    assert (adjustment.amount, adjustment.status) == (Decimal("-2.00"), "approved")
    assert ledger(line) == 0


def test_the_scan_is_set_based_whatever_the_number_of_lines(healthy, django_assert_max_num_queries):
    creator = CreatorFactory.create()
    for _ in range(30):
        sale(creator, "10.00")
    with django_assert_max_num_queries(1):
        assert commission_ledger_differences() == []


def test_the_task_runs_it_daily_on_the_money_queue(settings):
    from django.conf import settings as live

    entry = live.BEAT_SCHEDULE_SEED["commissions-ledger-reconcile"]
    assert entry["task"] == "commissions.tasks.commissions_ledger_reconcile"
    assert entry["schedule"] == 60 * 60 * 24
    from config.celery_app import app

    route = app.amqp.router.route({}, entry["task"])
    assert route["queue"].name == "money"


CHANGELIST = "/admin/commissions/commissionline/"


def test_platform_staff_run_it_from_the_admin_and_see_the_result(healthy, admin_client, caplog):
    line = healthy[0]
    commission = CommissionLine.objects.get(order_line_id=line.pk, kind=Kind.COMMISSION)
    page = admin_client.get(CHANGELIST).content.decode()
    assert 'id="ledger-reconcile"' in page
    CommissionLine.objects.create(
        kind=Kind.REVERSAL, status="approved", creator_id=commission.creator_id,
        brand_id=commission.brand_id, order_id=line.order_id, order_line_id=line.pk,
        refund_id="bogus", currency="USD", base=Decimal(0), rate=commission.rate,
        amount=Decimal("-0.50"), earned_at=timezone.now(), payable_at=timezone.now(),
    )  # fmt: skip

    with caplog.at_level(logging.INFO, logger="commissions.services.reconciliation"):
        response = admin_client.post(CHANGELIST + "reconcile/", follow=True)

    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    # In words for the person; the reason's code only in the log.
    assert shown == [
        "Ledger reconciled: 1 order lines differed, 1 in USD (+$0.50); "
        "1 correcting lines appended (amount differed: 1)."
    ]
    assert "ledger_mismatch: 1" in caplog.text
    assert [row.kind for row in response.context["cl"].result_list] == [Kind.ADJUSTMENT]
    assert ledger(line) == Decimal("3.00")


def test_a_brand_member_has_no_reconcile_button_and_cannot_run_it(healthy, client):
    from tests.orders.aftersale_helpers import member

    user = member(CommissionLine.objects.first().brand)  # type: ignore[union-attr]
    client.force_login(user)
    page = client.get(CHANGELIST)
    assert page.status_code == 200
    assert 'id="ledger-reconcile"' not in page.content.decode()
    assert client.post(CHANGELIST + "reconcile/").status_code == 403
