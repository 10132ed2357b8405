"""A creator whose sales for a brand are refunded too often is flagged for that brand."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from commissions.fraud import creators_flagged_for_brand, is_flagged
from commissions.selectors.order_lines import creator_refund_counts
from creators.models import Creator
from orders.models import Order, Refund, RefundLine
from shop.models import Brand, BrandMember
from tests.commissions.helpers import paid_order, variant_of
from tests.creators.factories import AffiliateLinkFactory, CreatorFactory
from tests.creators.test_admin_collaborations import login
from tests.shop.factories import BrandFactory

CREATORS_URL = "/admin/creators/brandcreator/"


@given(orders=st.integers(min_value=0, max_value=500), refunded=st.integers(min_value=0))
def test_flagged_exactly_when_enough_orders_and_refund_share_above_threshold(orders, refunded):
    refunded = min(refunded, orders)
    expected = orders >= 20 and Decimal(refunded) / orders > Decimal("0.30")
    assert is_flagged(orders=orders, refunded=refunded) == expected


pytestmark = pytest.mark.django_db


def _sales(brand: Brand, creator: Creator, *, count: int, refunded: int) -> None:
    variant = variant_of(brand)
    for i in range(count):
        status = Order.Status.REFUNDED if i < refunded else Order.Status.PAID
        order = paid_order((variant, "10.00"), creator=creator, status=status)
        if i < refunded:
            line = order.lines.get()
            refund = Refund.objects.create(
                order=order,
                brand=brand,
                amount=Decimal("10.00"),
                currency="USD",
                status=Refund.Status.SUCCEEDED,
                completed_at=timezone.now(),
            )
            RefundLine.objects.create(
                refund=refund, order_line=line, brand=brand, quantity=1, amount=Decimal("10.00")
            )


@pytest.fixture
def brands() -> tuple[Brand, Brand]:
    return BrandFactory.create(slug="alpha"), BrandFactory.create(slug="bravo")


def test_refund_counts_are_per_brand_in_one_query(brands, django_assert_num_queries):
    alpha, bravo = brands
    creator = CreatorFactory.create()
    _sales(alpha, creator, count=4, refunded=1)
    _sales(bravo, creator, count=3, refunded=3)

    with django_assert_num_queries(1):
        counts = creator_refund_counts(brand_ids=[alpha.pk])

    assert counts == {creator.pk: (4, 1)}


def test_creator_over_the_threshold_with_twenty_orders_is_flagged_for_that_brand_only(brands):
    alpha, bravo = brands
    cheat, honest = CreatorFactory.create(), CreatorFactory.create()
    _sales(alpha, cheat, count=20, refunded=7)  # 35 %
    _sales(alpha, honest, count=20, refunded=6)  # 30 %: not above
    _sales(bravo, honest, count=20, refunded=19)

    flagged = creators_flagged_for_brand(brand_id=alpha.pk)

    assert [(s.creator_id, s.rate) for s in flagged] == [(cheat.pk, Decimal("35.0"))]


def test_too_few_orders_are_never_flagged(brands):
    alpha, _ = brands
    _sales(alpha, CreatorFactory.create(), count=19, refunded=19)

    assert creators_flagged_for_brand(brand_id=alpha.pk) == []


def test_threshold_and_minimum_are_settings(settings, brands):
    settings.COMMISSION_FRAUD_REFUND_RATE = "10"
    settings.COMMISSION_FRAUD_MIN_ORDERS = 5
    alpha, _ = brands
    creator = CreatorFactory.create()
    _sales(alpha, creator, count=5, refunded=1)  # 20 %

    assert [s.creator_id for s in creators_flagged_for_brand(brand_id=alpha.pk)] == [creator.pk]


def _working_with(brand: Brand, creator: Creator) -> None:
    AffiliateLinkFactory.create(creator=creator, product=variant_of(brand).product)


def test_brand_admin_shows_sales_and_refund_rate_of_its_own_products_and_filters_flagged(
    client, brands
):
    alpha, bravo = brands
    cheat, honest = CreatorFactory.create(handle="cheat"), CreatorFactory.create(handle="honest")
    for creator in (cheat, honest):
        _working_with(alpha, creator)
    _sales(alpha, cheat, count=20, refunded=10)
    _sales(alpha, honest, count=3, refunded=0)
    _sales(bravo, honest, count=30, refunded=30)  # another brand's refunds never show
    login(client, alpha, role=BrandMember.Role.VIEWER)

    response = client.get(CREATORS_URL)
    rows = {row.handle: row for row in response.context["cl"].result_list}
    body = response.content.decode()

    assert (rows["cheat"].sales_orders, rows["cheat"].refunded_orders) == (20, 10)
    assert (rows["honest"].sales_orders, rows["honest"].refunded_orders) == (3, 0)
    assert "50.0% (10 of 20) \u2691 flagged" in body
    assert "0.0% (0 of 3)" in body
    flagged = client.get(f"{CREATORS_URL}?refund_flag=flagged")
    assert [row.handle for row in flagged.context["cl"].result_list] == ["cheat"]


def test_changelist_queries_do_not_grow_with_creators(
    client, brands, django_assert_max_num_queries
):
    alpha, _ = brands
    for _ in range(12):
        creator = CreatorFactory.create()
        _working_with(alpha, creator)
        _sales(alpha, creator, count=2, refunded=1)
    login(client, alpha, role=BrandMember.Role.VIEWER)

    with django_assert_max_num_queries(10):
        response = client.get(CREATORS_URL)

    assert len(response.context["cl"].result_list) == 12
