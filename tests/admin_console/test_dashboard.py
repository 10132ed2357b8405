"""The admin's home shows a brand its own figures, to the cent, in a fixed number of queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from commissions.admin.dashboard import dashboard_figures
from commissions.models import CommissionLine, Settlement
from commissions.selectors.brands import brand_commission_owed, brand_top_sellers
from creators.models import AffiliateLink, Creator
from orders.brand_sales import brand_orders_to_ship, brand_refunds_summary, brand_sales_by_day
from orders.models import Fulfilment, Order, Refund, RefundLine
from shop.models import Brand, BrandMember, Variant
from shop.selectors import variant_stock_alerts
from tests.commissions.helpers import paid_order, variant_of
from tests.creators.factories import AffiliateLinkFactory, CreatorFactory, VideoFactory
from tests.factories import UserFactory
from tests.shop.factories import BrandFactory, BrandMemberFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db

# A Wednesday afternoon: the week began on Monday 2026-11-30.
NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
TODAY = NOW - timedelta(hours=2)
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
LAST_WEEK = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def sale(
    variant: Variant,
    total: str,
    *,
    at: datetime,
    creator: Creator | None = None,
    link: AffiliateLink | None = None,
    ship: bool = True,
    currency: str = "USD",
) -> Order:
    """A paid order of one line, with the brand's order-desk row waiting to ship."""
    order = paid_order((variant, total), creator=creator, link=link, paid_at=at, currency=currency)
    Fulfilment.objects.create(
        order=order,
        brand=variant.product.brand,
        status=Fulfilment.Status.UNFULFILLED if ship else Fulfilment.Status.SHIPPED,
    )
    return order


def refund(order: Order, amount: str, *, at: datetime) -> Refund:
    line = order.lines.get()
    done = Refund.objects.create(
        order=order,
        brand=line.brand,
        amount=Decimal(amount),
        currency=order.currency,
        status=Refund.Status.SUCCEEDED,
        completed_at=at,
    )
    RefundLine.objects.create(
        refund=done, order_line=line, brand=line.brand, quantity=0, amount=Decimal(amount)
    )
    return done


def commission(order: Order, amount: str, status: str = CommissionLine.Status.PENDING) -> None:
    line = order.lines.get()
    assert line.attributed_creator_id is not None
    assert order.paid_at is not None
    CommissionLine.objects.create(
        kind=CommissionLine.Kind.COMMISSION,
        status=status,
        creator_id=line.attributed_creator_id,
        link_id=line.attributed_link_id,
        brand_id=line.brand_id,
        order_id=order.pk,
        order_line_id=line.pk,
        currency=line.currency,
        base=line.line_total,
        rate=Decimal("10.00"),
        amount=Decimal(amount),
        earned_at=order.paid_at,
        payable_at=order.paid_at + timedelta(days=30),
    )


@pytest.fixture
def alpha() -> dict[str, Any]:
    """Brand alpha's known week: two creators, one video, a refund, commissions."""
    brand = BrandFactory.create(slug="alpha")
    variant = variant_of(brand)
    star, other = CreatorFactory.create(handle="star"), CreatorFactory.create(handle="other")
    video = VideoFactory.create(creator=star, caption="Unboxing the thing")
    star_link = AffiliateLinkFactory.create(creator=star, product=variant.product, video=video)
    today_big = sale(variant, "100.00", at=TODAY, creator=star, link=star_link)
    today_small = sale(variant, "20.00", at=TODAY, ship=False)
    monday = sale(variant, "50.00", at=MONDAY, creator=other, ship=False)
    sale(variant, "7.00", at=LAST_WEEK, creator=other, ship=False)
    refund(today_small, "5.00", at=TODAY)
    refund(monday, "10.00", at=LAST_WEEK)  # an older refund: not this week's
    commission(today_big, "10.00")
    commission(monday, "5.00", status=CommissionLine.Status.APPROVED)
    return {"brand": brand, "variant": variant, "star": star, "video": video, "link": star_link}


@pytest.fixture
def bravo() -> Brand:
    """Another brand, selling bigger, which alpha must never see."""
    brand = BrandFactory.create(slug="bravo")
    variant = variant_of(brand)
    creator = CreatorFactory.create(handle="bravo_star")
    order = sale(variant, "999.00", at=TODAY, creator=creator)
    refund(order, "99.00", at=TODAY)
    commission(order, "99.90")
    VariantFactory.create(product=ProductFactory.create(brand=brand, status="active"), on_hand=0)
    return brand


def test_sales_today_and_this_week_count_the_brands_paid_lines(alpha, bravo):
    [usd] = brand_sales_by_day(brand_ids={alpha["brand"].pk}, now=NOW)

    assert (usd.currency, usd.today, usd.today_orders) == ("USD", Decimal("120.00"), 2)
    assert (usd.week, usd.week_orders) == (Decimal("170.00"), 3)
    assert len(usd.days) == 30
    assert usd.days[-1].sales == Decimal("120.00")
    assert sum(day.sales for day in usd.days) == Decimal("177.00")


def test_refunds_count_when_they_succeed_today_and_this_week(alpha, bravo):
    [usd] = brand_refunds_summary(brand_ids={alpha["brand"].pk}, now=NOW)

    assert (usd.today, usd.today_count, usd.week, usd.week_count) == (
        Decimal("5.00"),
        1,
        Decimal("5.00"),
        1,
    )


def test_orders_to_ship_are_the_paid_brand_orders_not_shipped(alpha, bravo):
    to_ship = brand_orders_to_ship(brand_ids={alpha["brand"].pk})

    assert to_ship.count == 1
    assert to_ship.oldest_paid_at == TODAY


def test_commission_owed_is_pending_plus_approved(alpha, bravo):
    [usd] = brand_commission_owed(brand_ids={alpha["brand"].pk})

    assert (usd.pending, usd.approved, usd.total) == (
        Decimal("10.00"),
        Decimal("5.00"),
        Decimal("15.00"),
    )


def test_top_creator_video_and_link_are_ranked_by_revenue_after_refunds(alpha, bravo):
    [usd] = brand_top_sellers(
        brand_ids={alpha["brand"].pk}, start=NOW - timedelta(days=30), end=NOW
    )

    assert [(s.label, s.revenue) for s in usd.creators] == [
        ("@star", Decimal("100.00")),
        ("@other", Decimal("57.00")),
    ]
    assert [(s.label, s.revenue) for s in usd.videos] == [("Unboxing the thing", Decimal("100.00"))]
    assert [(s.label, s.revenue) for s in usd.links] == [(alpha["link"].code, Decimal("100.00"))]


def test_sell_out_alerts_list_sold_out_and_low_variants_of_active_products():
    brand = BrandFactory.create()
    product = ProductFactory.create(brand=brand, status="active")
    sold_out = VariantFactory.create(product=product, on_hand=3, reserved=3)
    low = VariantFactory.create(product=product, on_hand=4, low_stock_threshold=5)
    VariantFactory.create(product=product, on_hand=50)
    VariantFactory.create(product=ProductFactory.create(brand=brand, status="draft"), on_hand=0)

    alerts = variant_stock_alerts(brand_ids={brand.pk})

    assert (alerts.sold_out, alerts.low) == (1, 1)
    assert [v.pk for v in alerts.variants] == [sold_out.pk, low.pk]


def test_the_next_settlement_is_the_oldest_not_paid(alpha):
    brand = alpha["brand"]
    for month, due in ((10, "0.00"), (11, "80.00"), (12, "30.00")):
        start = datetime(2026, month - 1, 1, tzinfo=UTC)
        Settlement.objects.create(
            brand=brand,
            period_start=start,
            period_end=datetime(2026, month, 1, tzinfo=UTC),
            currency="USD",
            gross=Decimal(due),
            refunds=0,
            commissions=0,
            platform_fee_percent=0,
            platform_fee=0,
            amount_due=Decimal(due),
        )

    figures = dashboard_figures(frozenset({brand.pk}), now=NOW)

    assert [s["amount_due"] for s in figures["settlements"]] == ["$80.00", "$30.00"]
    assert figures["settlements"][0]["payment"] == "Not paid yet"


# --- The page: scoped to the member's brands ----------------------------------------------


def member_of(client: Client, brand: Brand | None) -> Client:
    user = (
        BrandMemberFactory.create(brand=brand, role=BrandMember.Role.VIEWER).user
        if brand
        else UserFactory.create(is_staff=True)
    )
    client.force_login(user)
    return client


def page_figures(client: Client) -> dict[str, Any]:
    response = client.get("/admin/")
    assert response.status_code == 200
    return response.context["dashboard"]


def test_a_brand_sees_its_own_figures_on_its_home_page(client, alpha, bravo):
    figures = page_figures(member_of(client, alpha["brand"]))

    [usd] = figures["currencies"]
    assert usd["owed"] == "$15.00"
    assert [row["label"] for row in usd["top"]["creators"]] == ["@star", "@other"]
    assert figures["to_ship"]["count"] == 1
    assert figures["stock"]["sold_out"] == 0


def test_orders_to_ship_link_to_the_order_desk_showing_just_those(client, alpha, bravo):
    member_of(client, alpha["brand"])
    url = page_figures(client)["to_ship"]["url"]

    response = client.get(url)

    assert response.status_code == 200
    assert [f.status for f in response.context["cl"].result_list] == ["unfulfilled"]


def test_brand_a_never_sees_brand_b_figures(client, alpha, bravo):
    response = member_of(client, alpha["brand"]).get("/admin/")

    page = response.content.decode()
    assert "bravo_star" not in page
    assert "$999.00" not in page
    assert "$99.90" not in page
    assert response.context["dashboard"]["to_ship"]["count"] == 1


def test_brand_b_sees_only_its_own(client, alpha, bravo):
    figures = page_figures(member_of(client, bravo))

    [usd] = figures["currencies"]
    assert usd["owed"] == "$99.90"
    assert [row["label"] for row in usd["top"]["creators"]] == ["@bravo_star"]
    assert figures["stock"]["sold_out"] == 1


def test_a_member_of_no_brand_sees_no_figures(client, alpha, bravo):
    response = member_of(client, None).get("/admin/")

    assert response.context["dashboard"] == {"no_brand": True}
    page = response.content.decode()
    assert "data-figure" not in page
    assert "$15.00" not in page
    assert "$999.00" not in page
    assert "not a member of any brand" in page


def test_a_superuser_sees_every_brand(client, alpha, bravo):
    client.force_login(UserFactory.create(is_staff=True, is_superuser=True))

    [usd] = page_figures(client)["currencies"]

    assert usd["owed"] == "$114.90"


def test_each_currency_has_its_own_figures(client):
    brand = BrandFactory.create(currency="EUR")
    variant = variant_of(brand)
    sale(variant, "30.00", at=timezone.now(), creator=CreatorFactory.create(), currency="EUR")
    sale(variant, "40.00", at=timezone.now(), currency="USD")

    figures = page_figures(member_of(client, brand))

    assert [(b["currency"], b["week"]) for b in figures["currencies"]] == [
        ("EUR", "€30.00"),
        ("USD", "$40.00"),
    ]


def test_the_charts_are_drawn_by_unfold_from_local_files(client, alpha):
    page = member_of(client, alpha["brand"]).get("/admin/").content.decode()

    assert 'data-type="line"' in page
    assert 'data-type="bar"' in page
    assert "/static/unfold/js/chart/chart.js" in page
    assert "cdn" not in page.lower()


# --- Queries: a fixed number, whatever the rows -------------------------------------------


def shop_with(orders: int, *, creators: int = 5, products: int = 10) -> Brand:
    """A brand with `orders` paid orders over `creators` creators (each with a video link
    per product), `products` products, refunds, commissions and low stock."""
    brand = BrandFactory.create()
    variants = [
        VariantFactory.create(
            product=ProductFactory.create(brand=brand, status="active"), on_hand=i % 3
        )
        for i in range(products)
    ]
    people = [CreatorFactory.create() for _ in range(creators)]
    links = {
        (c.pk, v.pk): AffiliateLinkFactory.create(
            creator=c, product=v.product, video=VideoFactory.create(creator=c)
        )
        for c in people
        for v in variants
    }
    now = timezone.now()
    for n in range(orders):
        creator, variant = people[n % creators], variants[n % products]
        order = sale(
            variant,
            f"{10 + n}.00",
            at=now - timedelta(days=n % 20, minutes=1),
            creator=creator,
            link=links[(creator.pk, variant.pk)],
            ship=n % 2 == 0,
        )
        commission(order, "1.00")
        if n % 7 == 0:
            refund(order, "1.00", at=now - timedelta(minutes=1))
    return brand


def queries_of_home(client: Client) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/admin/")
    assert response.status_code == 200
    assert response.context["dashboard"]["currencies"]
    return len(captured.captured_queries)


# Session, user, its two permission reads and its brand memberships (a viewer: no one-time
# code, and the two-step check and the brand's time zone reuse the memberships' read); then
# the dashboard: sales by day, refunds, commission owed, top sellers (3), to ship, stock (2),
# settlements.
HOME_QUERIES = 5 + 10


def test_the_home_page_runs_a_fixed_number_of_queries(client, django_assert_num_queries):
    brand = shop_with(50)
    member_of(client, brand)
    client.get("/admin/")  # the content types warm up

    with django_assert_num_queries(HOME_QUERIES):
        response = client.get("/admin/")

    assert len(response.context["dashboard"]["currencies"][0]["top"]["creators"]) == 5


def test_twice_the_rows_cost_no_more_queries(client):
    small = shop_with(50)
    member_of(client, small)
    client.get("/admin/")
    before = queries_of_home(client)

    big = shop_with(100, creators=10, products=20)
    member_of(client, big)
    client.get("/admin/")
    after = queries_of_home(client)

    assert before == after == HOME_QUERIES
