"""A link's pace (the viral rate lock) counts the link's paid lines, stamped when paid."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Order
from orders.selectors import link_pace
from tests.commissions.helpers import paid_order as credited_order
from tests.creators.factories import AffiliateLinkFactory
from tests.orders.aftersale_helpers import paid_order
from tests.orders.helpers import variant_in_stock

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_emulator")]


def test_marking_an_order_paid_stamps_each_of_its_lines_with_the_time_it_was_paid():
    order = paid_order((variant_in_stock(), 1), (variant_in_stock(), 2))

    order.refresh_from_db()
    assert order.paid_at is not None
    assert [line.order_paid_at for line in order.lines.all()] == [order.paid_at] * 2


def test_a_links_pace_counts_its_own_paid_orders_in_each_window_and_no_others():
    variant = variant_in_stock()
    link = AffiliateLinkFactory.create(product=variant.product)
    other = AffiliateLinkFactory.create(product=variant.product)
    now = timezone.now()

    def sell(on, *, hours_ago: float, status: str = Order.Status.PAID) -> None:
        credited_order(
            (variant, "10.00"),
            (variant, "5.00"),  # two lines, one order
            creator=link.creator,
            link=on,
            paid_at=now - timedelta(hours=hours_ago),
            status=status,
        )

    sell(link, hours_ago=1)
    sell(link, hours_ago=23.9)
    sell(link, hours_ago=24.1)
    sell(link, hours_ago=24 * 8 - 0.1)
    sell(link, hours_ago=24 * 8 + 0.1)  # before the baseline
    sell(link, hours_ago=2, status=Order.Status.REFUNDED)  # paid, then refunded: counts
    sell(link, hours_ago=2, status=Order.Status.PENDING_PAYMENT)  # never paid
    sell(other, hours_ago=1)

    pace = link_pace(link_id=link.pk, at=now)

    assert (pace.orders_24h, pace.orders_previous_7d) == (3, 2)
