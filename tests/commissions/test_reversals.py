"""Reversals: each refund appends a negative line, cumulatively, never more than was earned."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commissions.amounts import commission_amount, reversal_amount
from commissions.errors import CurrencyMismatch, NegativeAmount
from commissions.models import CommissionLine, Payout
from commissions.services import recording
from common.errors import ValidationFailed
from common.money import quantize, quantum
from orders.models import Order, OrderLine
from tests.commissions.helpers import paid_order, variant_of
from tests.creators.factories import CreatorFactory
from tests.orders.helpers import refund_succeeded
from tests.outbox_helpers import announce, only_handlers

pytestmark = pytest.mark.django_db
Status = CommissionLine.Status

CURRENCIES = ["JPY", "USD", "KWD"]  # 0, 2 and 3 decimals


def recorded(total: str = "100.00", rate: str = "10.00", currency: str = "USD") -> OrderLine:
    brand = variant_of(currency=currency).product.brand
    order = paid_order(
        (variant_of(brand), total), creator=CreatorFactory.create(), rate=rate, currency=currency
    )
    recording.commission_record_for_orders(order_ids=[order.pk])
    return order.lines.get()


def reverse(line: OrderLine, refund_id: str, refunded: str, **kw) -> CommissionLine | None:
    return recording.commission_reverse_for_refund(
        order_line_id=line.pk, refund_id=refund_id, refunded_to_date=Decimal(refunded), **kw
    )


def reversed_by(line: OrderLine, refund_id: str, refunded: str) -> Decimal:
    reversal = reverse(line, refund_id, refunded)
    assert reversal is not None
    return reversal.amount


def ledger(line: OrderLine) -> Decimal:
    return sum((c.amount for c in CommissionLine.objects.filter(order_line_id=line.pk)), Decimal(0))


# --- the arithmetic -------------------------------------------------------------------


@st.composite
def refund_story(draw):
    """A line (currency, base, rate) and the refunded-so-far totals its refunds report, in the
    order they are handled: rising, but possibly repeated or handled out of order."""
    currency = draw(st.sampled_from(CURRENCIES))
    step = quantum(currency)
    base_units = draw(st.integers(min_value=0, max_value=10**7))
    base = base_units * step
    rate = Decimal(draw(st.integers(min_value=0, max_value=10000))) / 100
    cuts = sorted(draw(st.lists(st.integers(0, base_units), min_size=1, max_size=8)))
    totals = [units * step for units in cuts]
    handled = draw(st.permutations(totals + draw(st.lists(st.sampled_from(totals), max_size=3))))
    return currency, base, rate, list(handled)


@given(refund_story())
@settings(max_examples=500, deadline=None)
def test_reversals_add_up_to_the_commission_on_what_was_refunded(story):
    currency, base, rate, handled = story
    commission = commission_amount(base=base, rate=rate, currency=currency)
    reversed_so_far = Decimal(0)
    for refunded in handled:
        amount = reversal_amount(
            commission=commission,
            base=base,
            refunded=refunded,
            already_reversed=reversed_so_far,
            currency=currency,
        )
        assert amount <= 0
        assert quantize(amount, currency) == amount
        reversed_so_far -= amount
        assert reversed_so_far <= commission

    refunded = max(handled)
    expected = commission - quantize(commission * refunded / base, currency) if base else Decimal(0)
    kept = commission - reversed_so_far
    assert kept == expected
    # ... which is the commission on what was kept, to one minor unit at most.
    on_kept = commission_amount(base=base - refunded, rate=rate, currency=currency)
    assert abs(kept - on_kept) <= quantum(currency)
    if refunded == base:
        assert kept == 0


# --- the service ----------------------------------------------------------------------


def test_partial_refunds_reverse_cumulatively_and_a_full_refund_reverses_it_all():
    line = recorded("100.00", "10.00")  # commission 10.00

    amounts = [
        reversed_by(line, "re_1", "33.33"),  # round(3.333) = 3.33
        reversed_by(line, "re_2", "66.66"),  # round(6.666) = 6.67, minus 3.33
        reversed_by(line, "re_3", "100.00"),
    ]

    assert amounts == [Decimal("-3.330"), Decimal("-3.340"), Decimal("-3.330")]
    assert ledger(line) == 0
    third = CommissionLine.objects.get(refund_id="re_3")
    assert third.base == Decimal("-33.340")
    assert third.refunded_to_date == Decimal("100.000")
    assert third.receipt["reversed_before"] == "6.67"  # USD: two decimals, as shown


def test_the_same_refund_twice_appends_one_line():
    line = recorded()

    first = reverse(line, "re_1", "50.00")
    again = reverse(line, "re_1", "50.00")

    assert first is not None
    assert again is not None
    assert again.pk == first.pk
    assert CommissionLine.objects.filter(kind="reversal").count() == 1


def test_a_refund_handled_late_with_a_smaller_total_reverses_nothing_more():
    line = recorded()
    reverse(line, "re_2", "60.00")

    late = reverse(line, "re_1", "20.00")

    assert late is not None
    assert late.amount == 0
    assert ledger(line) == Decimal("4.000")


def test_refunds_beyond_the_line_never_reverse_more_than_the_commission():
    line = recorded("100.00", "10.00")

    reverse(line, "re_1", "150.00")

    assert ledger(line) == 0


def test_negative_refund_is_refused_and_writes_nothing():
    line = recorded()

    with pytest.raises(NegativeAmount) as exc:
        reverse(line, "re_1", "-1.00")

    assert exc.value.code == "negative_amount"
    assert not CommissionLine.objects.filter(kind="reversal").exists()


def test_refund_in_another_currency_is_refused_and_writes_nothing():
    line = recorded(currency="USD")

    with pytest.raises(CurrencyMismatch) as exc:
        reverse(line, "re_1", "10.00", currency="EUR")

    assert exc.value.code == "currency_mismatch"
    assert not CommissionLine.objects.filter(kind="reversal").exists()


def test_refund_with_more_precision_than_the_currency_is_refused():
    line = recorded(total="1000", currency="JPY")

    with pytest.raises(ValidationFailed, match="precision") as exc:
        reverse(line, "re_1", "10.5")

    assert exc.value.code == "invalid_amount"
    assert not CommissionLine.objects.filter(kind="reversal").exists()


def test_refund_of_a_line_that_earned_nothing_is_ignored():
    order = paid_order((variant_of(), "20.00"), creator=None)

    assert reverse(order.lines.get(), "re_1", "20.00") is None
    assert not CommissionLine.objects.exists()


def test_refund_after_payout_leaves_the_payout_alone_and_the_balance_goes_negative():
    line = recorded("500.00", "10.00")  # 50.00
    commission = CommissionLine.objects.get()
    payout = Payout.objects.create(
        creator_id=commission.creator_id, currency="USD", amount=Decimal("50.00"),
        provider="manual", status=Payout.Status.PAID,
    )  # fmt: skip
    CommissionLine.objects.filter(pk=commission.pk).update(status=Status.PAID, payout=payout)

    reversal = reverse(line, "re_1", "500.00")

    assert reversal is not None
    assert (reversal.status, reversal.amount, reversal.payout_id) == (
        Status.APPROVED,
        Decimal("-50.000"),
        None,
    )
    assert reversal.receipt["after_payout"] is True
    commission.refresh_from_db()
    payout.refresh_from_db()
    assert (commission.status, commission.payout_id) == (Status.PAID, payout.pk)
    assert payout.amount == Decimal("50.000")
    approved = CommissionLine.objects.filter(status=Status.APPROVED, payout__isnull=True)
    assert sum(c.amount for c in approved) == Decimal("-50.000")


def test_refund_during_the_hold_is_pending_with_its_commission():
    line = recorded()

    reversal = reverse(line, "re_1", "10.00")

    assert reversal is not None
    commission = CommissionLine.objects.get(kind="commission")
    assert (reversal.status, reversal.payable_at) == (Status.PENDING, commission.payable_at)


def refund_event(line: OrderLine, refund_id: object) -> list[str]:
    """Orders' `refund_succeeded` event for this line, handled by the ledger alone."""
    return announce(
        "orders.refund_succeeded",
        {"refund_id": refund_id, "order_id": line.order_id, "order_line_ids": [line.pk]},
    )


def test_refund_event_reverses_what_orders_reports_refunded(monkeypatch):
    line = recorded("80.00", "10.00")
    only_handlers(monkeypatch, "orders.refund_succeeded", "creators.commission_reverse_for_refund")
    monkeypatch.setattr(
        "commissions.handlers.order_line_refunded_amount", lambda **kw: Decimal("20")
    )

    assert refund_event(line, 71) == ["done"]

    reversal = CommissionLine.objects.get(kind="reversal")
    assert (reversal.refund_id, reversal.amount) == ("71", Decimal("-2.000"))


def test_a_refunded_order_is_reversed_in_full_through_the_orders_selector(monkeypatch):
    line = recorded("80.00", "10.00")
    only_handlers(monkeypatch, "orders.refund_succeeded", "creators.commission_reverse_for_refund")
    refund_succeeded(line)
    Order.objects.filter(pk=line.order_id).update(status=Order.Status.REFUNDED)

    assert refund_event(line, "re_9") == ["done"]

    assert ledger(line) == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_refunds_of_one_line_never_reverse_the_same_money_twice():
    line = recorded("100.00", "10.00")
    totals = ["10.00", "20.00", "30.00", "40.00", "50.00", "60.00"]
    barrier = threading.Barrier(len(totals))
    errors: list[BaseException] = []

    def refund(i: int) -> None:
        try:
            barrier.wait()
            reverse(line, f"re_{i}", totals[i])
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=refund, args=(i,)) for i in range(len(totals))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert CommissionLine.objects.filter(kind="reversal").count() == len(totals)
    assert ledger(line) == Decimal("4.000")  # 10.00 minus the commission on 60.00 refunded


@given(
    currency=st.sampled_from(CURRENCIES),
    units=st.integers(min_value=1, max_value=10**6),
    rate=st.integers(min_value=0, max_value=10000),
    cuts=st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=5),
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_ledger_in_the_database_keeps_the_commission_on_what_was_kept(currency, units, rate, cuts):
    step = quantum(currency)
    base = units * step
    line = recorded(total=str(base), rate=str(Decimal(rate) / 100), currency=currency)
    commission = CommissionLine.objects.get(order_line_id=line.pk).amount
    refunded = Decimal(0)
    for i, cut in enumerate(sorted(cuts)):
        refunded = int(units * cut) * step
        reverse(line, f"re_{i}", str(refunded))

    expected = commission - quantize(commission * refunded / base, currency)
    assert ledger(line) == expected


def test_a_refund_handled_before_its_payment_is_reversed_when_the_payment_is(monkeypatch):
    order = paid_order((variant_of(), "80.00"), creator=CreatorFactory.create(), rate="10.00")
    line = order.lines.get()
    refund_succeeded(line, Decimal("20.00"))
    only_handlers(monkeypatch, "orders.refund_succeeded", "creators.commission_reverse_for_refund")
    only_handlers(monkeypatch, "orders.order_paid", "creators.commission_record_for_order")

    # The events arrive out of order: the refund's first, when no commission exists yet.
    assert refund_event(line, "re_early") == ["done"]
    assert not CommissionLine.objects.exists()
    assert announce("orders.order_paid", {"order_id": order.pk}) == ["done"]

    commission = CommissionLine.objects.get(kind="commission")
    reversal = CommissionLine.objects.get(kind="reversal")
    assert (commission.amount, reversal.amount) == (Decimal("8.000"), Decimal("-2.000"))
    assert ledger(line) == Decimal("6.000")
