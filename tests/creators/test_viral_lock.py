"""The viral rate lock: while a link sells far above its own pace, its rate cannot drop."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from creators.attribution.tokens import token_for_click
from creators.models import AffiliateLink
from creators.rates import RateDecision, is_viral, viral_rate
from creators.selectors.attribution import attribution_decide
from orders.models import Order
from orders.selectors import link_pace
from tests.commissions.helpers import paid_order
from tests.creators.factories import AffiliateLinkFactory, CreatorFactory
from tests.shop.factories import BrandFactory, ProductFactory, VariantFactory

RATES = st.decimals(min_value=Decimal("0"), max_value=Decimal("100"), places=2)

# The pure rule


@given(
    orders_24h=st.integers(min_value=0, max_value=500),
    week=st.integers(min_value=0, max_value=3500),
    multiple=st.decimals(min_value=Decimal("1"), max_value=Decimal("10"), places=1),
    minimum=st.integers(min_value=1, max_value=20),
)
def test_viral_means_at_least_the_minimum_and_above_the_multiple_of_the_daily_average(
    orders_24h, week, multiple, minimum
):
    viral = is_viral(
        orders_24h=orders_24h, orders_previous_7d=week, multiple=multiple, minimum=minimum
    )
    assert viral == (orders_24h >= minimum and Decimal(orders_24h) > multiple * week / 7)


@given(
    orders_24h=st.integers(min_value=0, max_value=500),
    week=st.integers(min_value=0, max_value=3500),
    more=st.integers(min_value=1, max_value=100),
)
def test_more_orders_today_never_end_a_viral_streak(orders_24h, week, more):
    args = {"orders_previous_7d": week, "multiple": Decimal(3), "minimum": 5}
    if is_viral(orders_24h=orders_24h, **args):
        assert is_viral(orders_24h=orders_24h + more, **args)


@given(locked=RATES, current=RATES, viral=st.booleans(), lock_active=st.booleans())
def test_a_viral_rate_is_never_below_the_locked_rate_and_never_below_current(
    locked, current, viral, lock_active
):
    rate = max(locked, current) if lock_active else current
    decision = RateDecision(
        rate=rate,
        source="locked" if lock_active and locked >= current else "current",
        locked_rate=locked,
        lock_ends_at=timezone.now(),
        current_rate=current,
        current_source="open",
    )
    result = viral_rate(decision, viral=viral)
    assert result.rate >= current
    if viral:
        assert result.rate == max(locked, current)
    else:
        assert result == decision


# Against the database, at explicit times

pytestmark = pytest.mark.django_db


def _link(*, locked: str = "20.00", current: str = "8.00", lock_ended: bool = True):
    brand = BrandFactory.create(default_commission_rate=Decimal(current))
    product = ProductFactory.create(brand=brand, commission_rate=None)
    VariantFactory.create(product=product)
    now = timezone.now()
    lock_ends_at = now - timedelta(days=1) if lock_ended else now + timedelta(days=10)
    return AffiliateLinkFactory.create(
        creator=CreatorFactory.create(),
        product=product,
        locked_rate=Decimal(locked),
        lock_ends_at=lock_ends_at,
    )


def _sell(link: AffiliateLink, *, count: int, hours_ago: float, status: str = Order.Status.PAID):
    variant = link.product.variants.get()
    at = timezone.now() - timedelta(hours=hours_ago)
    for _ in range(count):
        paid_order((variant, "10.00"), creator=link.creator, link=link, paid_at=at, status=status)


def _decide(link: AffiliateLink):
    return attribution_decide(
        token=token_for_click(click_id="c1", link_id=link.pk),
        product=link.product,
        buyer_user_id=None,
        buyer_email="fan@example.com",
        pace=link_pace,
        at=timezone.now(),
    )


def test_link_selling_three_times_its_week_keeps_its_locked_rate_after_the_lock_ended():
    link = _link()
    _sell(link, count=7, hours_ago=24 * 3)  # 1 a day over the previous week
    _sell(link, count=6, hours_ago=2)  # 6 today > 3 x 1

    decision = _decide(link)

    assert decision.rate == "20.00"
    assert decision.rate_source == "viral_lock"
    receipt = decision.receipt()
    assert receipt["viral_lock"] is True
    assert receipt["viral"] == {
        "orders_24h": 6,
        "daily_average_7d": "1.00",
        "multiple": "3",
        "minimum_orders": 5,
    }


def test_link_at_its_normal_pace_drops_to_the_current_rate_after_the_lock():
    link = _link()
    _sell(link, count=14, hours_ago=24 * 4)  # 2 a day
    _sell(link, count=6, hours_ago=2)  # 6 today = 3 x 2, not above

    decision = _decide(link)

    assert decision.rate == "8.00"
    assert decision.rate_source == "current"
    assert "viral_lock" not in decision.receipt()


def test_a_few_sales_of_a_new_link_are_noise_not_viral():
    link = _link()
    _sell(link, count=4, hours_ago=1)

    assert _decide(link).rate == "8.00"


def test_minimum_and_multiple_are_settings(settings):
    settings.COMMISSION_VIRAL_MIN_ORDERS = 2
    settings.COMMISSION_VIRAL_MULTIPLE = "1.5"
    link = _link()
    _sell(link, count=7, hours_ago=24 * 5)
    _sell(link, count=2, hours_ago=3)  # 2 > 1.5 x 1

    assert _decide(link).rate == "20.00"


def test_orders_older_than_a_week_or_unpaid_do_not_count():
    link = _link()
    _sell(link, count=50, hours_ago=24 * 9)  # before the 7-day baseline
    _sell(link, count=5, hours_ago=3, status=Order.Status.PENDING_PAYMENT)
    _sell(link, count=5, hours_ago=25)  # yesterday: baseline

    pace = link_pace(link_id=link.pk, at=timezone.now())

    assert (pace.orders_24h, pace.orders_previous_7d) == (0, 5)


def test_viral_link_still_locked_keeps_the_higher_current_rate():
    link = _link(locked="5.00", current="12.00", lock_ended=False)
    _sell(link, count=10, hours_ago=1)

    decision = _decide(link)

    assert decision.rate == "12.00"
    assert decision.receipt()["viral_lock"] is True


def test_pace_is_one_query(django_assert_num_queries):
    link = _link()
    _sell(link, count=3, hours_ago=1)

    with django_assert_num_queries(1):
        link_pace(link_id=link.pk, at=timezone.now())
