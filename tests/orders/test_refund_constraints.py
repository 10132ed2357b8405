"""The database itself refuses refunds above what was paid; dashboard spreads always add up."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orders.models import Order, OrderLine, OrderShipping
from orders.services.refund_events import refund_record_external
from tests.orders.helpers import line_of
from tests.shop.factories import BrandFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


def order_in_db(line_totals: list[Decimal], shipping: list[Decimal]) -> Order:
    """A paid order written straight to the database (no Stripe needed to spread refunds)."""
    shipping = shipping[: len(line_totals)]  # at most one shipping charge per brand (line)
    items = sum(line_totals, Decimal(0))
    ship = sum(shipping, Decimal(0))
    order = Order.objects.create(
        checkout_scope="test",
        checkout_key=f"k-{Order.objects.count()}-{timezone.now().timestamp()}",
        email="a@b.co",
        shipping_address={},
        currency="USD",
        items_total=items,
        shipping_total=ship,
        grand_total=items + ship,
        status=Order.Status.PAID,
        reservation_expires_at=timezone.now() + timedelta(minutes=5),
        stripe_payment_intent_id=f"pi_test_{timezone.now().timestamp()}",
    )
    for i, total in enumerate(line_totals):
        brand = BrandFactory.create()
        variant = VariantFactory.create(product=ProductFactory.create(brand=brand))
        line_of(order, variant, unit_price=total, title="x").save()
        if i < len(shipping):
            OrderShipping.objects.create(order=order, brand=brand, amount=shipping[i])
    return order


def test_the_database_refuses_a_line_refund_above_its_total():
    order = order_in_db([Decimal("10.00")], [Decimal("2.00")])
    line = order.lines.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderLine.objects.filter(pk=line.pk).update(
            refunded_amount=F("line_total") + Decimal("0.01")
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderLine.objects.filter(pk=line.pk).update(refunded_quantity=2)


def test_the_database_refuses_shipping_and_order_refunds_above_what_was_paid():
    order = order_in_db([Decimal("10.00")], [Decimal("2.00")])
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderShipping.objects.filter(order=order).update(refunded_amount=Decimal("2.01"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.filter(pk=order.pk).update(refunded_total=Decimal("12.01"))


cents = st.integers(min_value=1, max_value=500_00).map(lambda c: Decimal(c) / 100)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lines=st.lists(cents, min_size=1, max_size=5),
    shipping=st.lists(st.integers(0, 20_00).map(lambda c: Decimal(c) / 100), max_size=5),
    share=st.floats(min_value=0.0001, max_value=1.0),
)
def test_a_dashboard_refund_is_spread_so_parts_sum_exactly_and_stay_within_each_line(
    lines, shipping, share
):
    order = order_in_db(lines, shipping)
    grand_units = int(order.grand_total * 100)
    units = max(1, int(grand_units * share))
    refund = refund_record_external(
        order_id=order.pk,
        stripe_refund_id=f"re_{order.pk}",
        amount=units,
        currency="usd",
        status="succeeded",
    )
    assert refund is not None
    total = refund.lines.aggregate(s=Sum("amount"))["s"]
    assert total == Decimal(units) / 100 == refund.amount
    for line in order.lines.all():
        assert 0 <= line.refunded_amount <= line.line_total
    for ship in order.shipping_lines.all():
        assert 0 <= ship.refunded_amount <= ship.amount
    order.refresh_from_db()
    assert order.refunded_total == refund.amount
