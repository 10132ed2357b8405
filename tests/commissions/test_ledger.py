"""The ledger: one pending commission line per credited order line, once, never edited."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from commissions.models import CommissionLine, CommissionTerms
from commissions.services.recording import commission_record_for_orders
from orders.models import Order
from tests.commissions.helpers import paid_order, variant_of
from tests.creators.factories import AffiliateLinkFactory, CommissionTermsFactory, CreatorFactory
from tests.orders.helpers import refund_succeeded
from tests.outbox_helpers import announce

pytestmark = pytest.mark.django_db


def test_paid_order_records_one_pending_line_per_credited_line():
    creator = CreatorFactory.create()
    variant = variant_of()
    link = AffiliateLinkFactory.create(creator=creator, product=variant.product)
    paid_at = timezone.now() - timedelta(hours=1)
    order = paid_order(
        (variant, "20.00"), (variant_of(), "7.25"), creator=creator, link=link, rate="12.50",
        shipping="4.99", paid_at=paid_at,
    )  # fmt: skip

    announce("orders.order_paid", {"order_id": order.pk})

    lines = list(CommissionLine.objects.order_by("order_line_id"))
    assert [(line.base, line.amount) for line in lines] == [
        (Decimal("20.000"), Decimal("2.500")),  # shipping is never part of the base
        (Decimal("7.250"), Decimal("0.910")),  # 0.90625 rounds half-up to 0.91
    ]
    first = lines[0]
    assert first.kind == CommissionLine.Kind.COMMISSION
    assert first.status == CommissionLine.Status.PENDING
    assert (first.creator_id, first.link_id, first.order_id) == (creator.pk, link.pk, order.pk)
    assert first.rate == Decimal("12.50")
    assert first.currency == "USD"
    assert first.earned_at == paid_at
    assert first.payable_at == paid_at + timedelta(days=30)
    assert first.receipt["attribution"]["rule"] == "last_click"
    assert first.receipt["formula"] == "amount = round_half_up(base x rate / 100)"
    assert first.receipt["hold_days"] == 30


def test_lines_nobody_was_credited_for_earn_nothing():
    order = paid_order((variant_of(), "20.00"), creator=None)

    announce("orders.order_paid", {"order_id": order.pk})

    assert not CommissionLine.objects.exists()


@pytest.mark.parametrize(
    "status", [Order.Status.PENDING_PAYMENT, Order.Status.CANCELED, Order.Status.EXPIRED]
)
def test_an_order_that_was_never_paid_records_nothing(status):
    order = paid_order((variant_of(), "20.00"), creator=CreatorFactory.create(), status=status)

    assert commission_record_for_orders(order_ids=[order.pk]) == 0

    assert not CommissionLine.objects.exists()


@pytest.mark.parametrize("hold_days", [0, 14, 120])
def test_payable_date_follows_the_brands_hold_period(hold_days):
    terms = CommissionTermsFactory.create(hold_days=hold_days)
    paid_at = timezone.now()
    order = paid_order(
        (variant_of(terms.brand), "20.00"), creator=CreatorFactory.create(), paid_at=paid_at
    )

    commission_record_for_orders(order_ids=[order.pk])

    assert CommissionLine.objects.get().payable_at == paid_at + timedelta(days=hold_days)


@pytest.mark.parametrize("hold_days", [-1, 121])
def test_hold_period_outside_0_to_120_days_is_refused(hold_days):
    terms = CommissionTerms(brand=variant_of().product.brand, hold_days=max(hold_days, 0))
    terms.hold_days = hold_days
    with pytest.raises(ValidationError):
        terms.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        CommissionTerms.objects.create(brand=terms.brand, hold_days=121)


@pytest.mark.parametrize(
    ("currency", "total", "rate", "amount"),
    [
        ("USD", "0.25", "50.00", "0.13"),  # 0.125 -> 0.13, half-up
        ("JPY", "1999", "12.50", "250"),  # 249.875 -> 250, no minor unit
        ("JPY", "100", "0.50", "1"),  # 0.5 -> 1
        ("KWD", "10.005", "10.00", "1.001"),  # 1.0005 -> 1.001, three decimals
        ("EUR", "33.33", "0.00", "0.00"),
    ],
)
def test_commission_rounds_half_up_in_the_line_currency(currency, total, rate, amount):
    brand = variant_of(currency=currency).product.brand
    order = paid_order(
        (variant_of(brand), total), creator=CreatorFactory.create(), rate=rate, currency=currency
    )

    commission_record_for_orders(order_ids=[order.pk])

    line = CommissionLine.objects.get()
    assert (line.amount, line.currency) == (Decimal(amount), currency)


def test_the_rate_is_the_one_snapshotted_at_checkout():
    creator = CreatorFactory.create()
    variant = variant_of()
    link = AffiliateLinkFactory.create(
        creator=creator, product=variant.product, locked_rate=Decimal("5.00")
    )
    order = paid_order((variant, "100.00"), creator=creator, link=link, rate="15.00")
    link.locked_rate = Decimal("1.00")  # a later cut never reaches a sale already made
    link.save()

    commission_record_for_orders(order_ids=[order.pk])

    assert CommissionLine.objects.get().amount == Decimal("15.00")


def test_recording_an_order_again_creates_nothing_more():
    order = paid_order((variant_of(), "20.00"), creator=CreatorFactory.create())

    commission_record_for_orders(order_ids=[order.pk])
    announce("orders.order_paid", {"order_id": order.pk})
    commission_record_for_orders(order_ids=[order.pk])

    assert CommissionLine.objects.count() == 1


def test_an_order_refunded_before_recording_is_reversed_at_once():
    order = paid_order((variant_of(), "20.00"), creator=CreatorFactory.create())
    refund_succeeded(order.lines.get())
    Order.objects.filter(pk=order.pk).update(status=Order.Status.REFUNDED)

    commission_record_for_orders(order_ids=[order.pk])

    lines = CommissionLine.objects.order_by("pk")
    assert [(line.kind, line.amount) for line in lines] == [
        ("commission", Decimal("2.000")),
        ("reversal", Decimal("-2.000")),
    ]


def test_amount_rate_and_base_can_never_be_edited_nor_lines_deleted():
    order = paid_order((variant_of(), "20.00"), creator=CreatorFactory.create())
    commission_record_for_orders(order_ids=[order.pk])
    line = CommissionLine.objects.get()

    for field, value in [("amount", "9.99"), ("rate", "50.00"), ("base", "1.00")]:
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
            CommissionLine.objects.filter(pk=line.pk).update(**{field: Decimal(value)})
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        CommissionLine.objects.filter(pk=line.pk).delete()
    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE creators_commissionline SET amount = 0 WHERE id = %s", [line.pk])

    CommissionLine.objects.filter(pk=line.pk).update(status=CommissionLine.Status.APPROVED)
    line.refresh_from_db()
    assert (line.status, line.amount) == ("approved", Decimal("2.000"))


@pytest.mark.django_db(transaction=True)
def test_concurrent_recording_of_one_order_creates_one_line_per_order_line():
    order = paid_order(
        (variant_of(), "20.00"), (variant_of(), "30.00"), creator=CreatorFactory.create()
    )
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def record() -> None:
        try:
            barrier.wait()
            commission_record_for_orders(order_ids=[order.pk])
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=record) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert CommissionLine.objects.count() == 2
