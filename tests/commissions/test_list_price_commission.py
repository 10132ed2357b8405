"""A brand's terms may pay commission on a discounted line's list price; refunds still reverse
pro rata of what the shopper paid, to the cent, and the reconciliation agrees with both."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from commissions.models import CommissionLine, CommissionTerms
from commissions.selectors.reconciliation import commission_ledger_differences
from commissions.services.recording import (
    commission_record_for_orders,
    commission_reverse_for_refund,
)
from orders.models import Order
from tests.creators.factories import CreatorFactory
from tests.orders.code_helpers import checkout_with_code, code_for
from tests.orders.helpers import cart_with, variant_in_stock

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_emulator")]


def paid_coded_order(
    *, on_list_price: bool, price: str = "20.00", quantity: int = 3, record: bool = True
) -> Order:
    """An order of one line, 30% off through a creator's code, paid (and recorded)."""
    variant = variant_in_stock(price=price, on_hand=10)
    brand = variant.product.brand
    CommissionTerms.objects.create(brand=brand, commission_on_list_price=on_list_price)
    creator = CreatorFactory.create()
    code_for(brand, "MAYA30", creator=creator, value="30")
    order = checkout_with_code(cart_with((variant, quantity)), "MAYA30")
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID, paid_at=timezone.now())
    if record:
        commission_record_for_orders(order_ids=[order.pk])
    return order


def test_by_default_commission_is_on_what_the_shopper_paid():
    order = paid_coded_order(on_list_price=False)
    line = CommissionLine.objects.get(order_id=order.pk)
    rate = line.rate
    assert line.base == Decimal("42.00")  # 60.00 less 30%
    assert line.amount == (Decimal("42.00") * rate / 100).quantize(Decimal("0.01"))
    assert line.receipt["commission_basis"] == "paid"


def test_on_list_price_the_commission_is_on_the_price_before_the_discount():
    order = paid_coded_order(on_list_price=True)
    line = CommissionLine.objects.get(order_id=order.pk)
    rate = line.rate
    assert line.base == Decimal("42.00")  # refunds are still measured against what was paid
    assert line.amount == (Decimal("60.00") * rate / 100).quantize(Decimal("0.01"))
    assert line.receipt["commission_basis"] == "list_price"
    assert line.receipt["list_price"] == "60.00"
    assert line.receipt["discount_code"] == "MAYA30"


def test_on_list_price_a_partial_refund_reverses_pro_rata_of_what_was_paid_to_the_cent():
    order = paid_coded_order(on_list_price=True, price="3.33", quantity=3)  # 9.99 list
    commission = CommissionLine.objects.get(order_id=order.pk)
    paid = commission.base  # 9.99 less 30% (3.00 by largest remainder): 6.99
    assert paid == Decimal("6.99")
    line_id = commission.order_line_id

    first = commission_reverse_for_refund(
        order_line_id=line_id, refund_id="re_1", refunded_to_date=Decimal("2.33")
    )
    second = commission_reverse_for_refund(
        order_line_id=line_id, refund_id="re_2", refunded_to_date=Decimal("6.99")
    )

    assert first is not None
    assert second is not None
    # cumulative: round(C x 2.33 / 6.99), then the rest of C once everything was refunded
    expected_first = (commission.amount * Decimal("2.33") / paid).quantize(Decimal("0.01"))
    assert first.amount == -expected_first
    assert first.amount + second.amount == -commission.amount


def test_the_reconciliation_finds_nothing_to_fix_on_a_list_price_line():
    order = paid_coded_order(on_list_price=True)
    line = CommissionLine.objects.get(order_id=order.pk)
    assert commission_ledger_differences(order_line_ids=[line.order_line_id]) == []


def test_the_reconciliation_keeps_the_basis_a_line_was_recorded_on():
    order = paid_coded_order(on_list_price=True)
    line = CommissionLine.objects.get(order_id=order.pk)
    CommissionTerms.objects.filter(brand_id=line.brand_id).update(commission_on_list_price=False)
    assert commission_ledger_differences(order_line_ids=[line.order_line_id]) == []


def test_a_line_the_ledger_lacks_is_expected_on_the_brands_basis():
    order = paid_coded_order(on_list_price=True, record=False)
    order_line = order.lines.get()
    (row,) = commission_ledger_differences(order_line_ids=[order_line.pk])
    rate = order_line.commission_rate
    assert rate is not None
    assert row["due"] == (Decimal("60.00") * rate / 100).quantize(Decimal("0.01"))
    assert row["ledger"] == 0


@pytest.mark.parametrize("on_list_price", [False, True])
def test_stats_estimate_a_line_not_recorded_yet_on_the_basis_the_ledger_will_use(on_list_price):
    """Before the ledger has the line, the creator's stats show what it will record."""
    from commissions.selectors.stats import creator_stats, stats_window
    from creators.models import Creator

    order = paid_coded_order(on_list_price=on_list_price, record=False)
    line = order.lines.get()
    assert line.attributed_creator_id is not None
    assert line.commission_rate is not None
    creator = Creator.objects.get(pk=line.attributed_creator_id)
    window = stats_window(start=None, end=None, interval="day", now=timezone.now())

    estimated = creator_stats(creator=creator, window=window, group_by="none")

    commission_record_for_orders(order_ids=[order.pk])
    recorded = creator_stats(creator=creator, window=window, group_by="none")
    basis = Decimal("60.00") if on_list_price else Decimal("42.00")
    expected = (basis * line.commission_rate / 100).quantize(Decimal("0.01"))
    assert (estimated.commission_status, recorded.commission_status) == ("estimated", "ledger")
    assert estimated.totals.commission == recorded.totals.commission == {line.currency: expected}
