"""Money and time in the admin as people read them: symbols, the currency's decimals, minutes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.template import Context, Template
from django.test import Client
from django.utils import formats, timezone, translation

from commissions.models import Settlement
from common.money import format_money
from orders.brand_sales import brand_sales_by_day
from orders.models import Fulfilment
from shop.models import Brand
from shop.timezones import admin_timezone_for
from tests.commissions.helpers import paid_order
from tests.factories import UserFactory
from tests.orders.aftersale_helpers import two_brand_order
from tests.shop.factories import BrandFactory, BrandMemberFactory, ProductFactory, VariantFactory

MICROSECONDS = re.compile(r"\d{2}:\d{2}:\d{2}\.\d{6}")
THREE_DECIMAL_USD = re.compile(r"\b\d+\.\d{3}\s*USD\b|\b16\.000\b|\b48\.000\b")
NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        ("16.000", "USD", "$16.00"),
        ("1234.5", "EUR", "€1,234.50"),
        ("1600", "JPY", "¥1,600"),
        ("1.5", "KWD", f"KWD{NBSP}1.500"),
        ("-3.1", "GBP", "-£3.10"),
        ("5", "CAD", "CA$5.00"),
    ],
)
def test_amounts_show_the_currencys_symbol_and_its_own_decimals(amount, currency, shown):
    assert format_money(Decimal(amount), currency) == shown


def test_amounts_follow_the_locale_given():
    assert format_money(Decimal("1234.5"), "EUR", locale="de_DE") == f"1.234,50{NBSP}€"


@pytest.mark.django_db
def test_product_list_shows_a_price_range_in_the_currency(client: Client):
    brand = BrandFactory.create(currency="USD")
    product = ProductFactory.create(brand=brand)
    VariantFactory.create(product=product, price=Decimal("16.000"))
    VariantFactory.create(product=product, price=Decimal("48.000"))
    client.force_login(BrandMemberFactory.create(brand=brand).user)

    page = client.get("/admin/shop/product/").content.decode()

    assert "$16.00 to $48.00" in page
    assert not THREE_DECIMAL_USD.search(page)


@pytest.mark.django_db
def test_variant_prices_are_shown_and_edited_with_the_currencys_decimals(client: Client):
    brand = BrandFactory.create(currency="USD")
    variant = VariantFactory.create(product=ProductFactory.create(brand=brand), price="16.000")
    client.force_login(BrandMemberFactory.create(brand=brand).user)

    listed = client.get("/admin/shop/variant/").content.decode()
    form = client.get(f"/admin/shop/variant/{variant.pk}/change/").context["adminform"].form

    assert "$16.00" in listed
    assert form["price"].value() == Decimal("16.00")
    assert 'value="16.00"' in str(form["price"])


@pytest.fixture
def desk(client: Client, stripe_emulator):
    t = two_brand_order(qty_a=2, price_a="20.00")
    client.force_login(t.owner_a)
    return t, client


@pytest.mark.django_db
def test_order_desk_shows_money_with_symbols_and_dates_to_the_minute(desk):
    _, client = desk

    page = client.get("/admin/orders/fulfilment/").content.decode()

    assert "$40.00" in page  # the brand's items
    assert "$5.00" in page  # its shipping
    assert not MICROSECONDS.search(page)
    assert not THREE_DECIMAL_USD.search(page)


@pytest.mark.django_db
def test_an_order_page_is_titled_by_its_number_and_brand(desk):
    t, client = desk
    fulfilment = Fulfilment.objects.get(order=t.order, brand=t.brand_a)

    response = client.get(f"/admin/orders/fulfilment/{fulfilment.pk}/change/")
    page = response.content.decode()

    assert response.context["title"] == f"Order #{t.order.pk}"
    assert response.context["subtitle"].startswith("Alpha · ordered ")
    assert f"order {t.order.pk} / " not in page
    assert not MICROSECONDS.search(page)
    assert "$40.00" in page  # the line's total in the lines table


@pytest.mark.django_db
def test_the_desks_two_status_filters_have_distinct_names(desk):
    _, client = desk

    specs = client.get("/admin/orders/fulfilment/").context["cl"].filter_specs
    titles = [str(spec.title) for spec in specs]

    assert len(titles) == len(set(titles))
    assert "shipping status" in titles
    assert "order status" in titles


@pytest.mark.django_db
def test_the_refund_page_states_whats_left_in_the_currency(desk):
    t, client = desk
    fulfilment = Fulfilment.objects.get(order=t.order, brand=t.brand_a)

    form = client.get(f"/admin/orders/fulfilment/{fulfilment.pk}/refund/").context["form"]

    assert form.fields[f"amount_{t.line_a.pk}"].help_text.startswith("$40.00 left to refund")
    assert form.fields["shipping"].help_text == "$5.00 left"


@pytest.mark.django_db
def test_no_brand_admin_page_shows_microseconds(desk):
    """Every page the sidebar offers a brand owner, and the first row's page of each."""
    _, client = desk
    home = client.get("/admin/")
    links = [
        str(item["link"])
        for group in home.context["sidebar_navigation"]
        for item in group["items"]
        if item["has_permission"]
    ]
    assert len(links) >= 10
    for link in links:
        response = client.get(link)
        assert response.status_code == 200, link
        assert not MICROSECONDS.search(response.content.decode()), link
        rows = list(response.context["cl"].result_list)
        if rows:
            opts = response.context["cl"].opts
            page = client.get(f"/admin/{opts.app_label}/{opts.model_name}/{rows[0].pk}/change/")
            assert page.status_code == 200, link
            assert not MICROSECONDS.search(page.content.decode()), link


# --- the `money` filter of emails and storefront pages -------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        ("16.000", "USD", "$16.00"),
        ("1600", "JPY", "¥1,600"),
        ("1.5", "KWD", f"KWD{NBSP}1.500"),
        ("19.9", "eur", "€19.90"),
    ],
)
def test_the_money_filter_prints_the_symbol_and_the_currencys_own_decimals(amount, currency, shown):
    rendered = Template("{% load money %}{{ amount|money:currency }}").render(
        Context({"amount": Decimal(amount), "currency": currency})
    )

    assert rendered == shown


def test_the_money_filter_follows_the_active_language():
    template = Template("{% load money %}{{ amount|money:'EUR' }}")

    with translation.override("de"):
        rendered = template.render(Context({"amount": Decimal("1234.5")}))

    assert rendered == f"1.234,50{NBSP}€"


def test_the_money_filter_never_breaks_a_page_over_an_odd_value():
    rendered = Template("{% load money %}{{ amount|money:'USD' }}|{{ none|money:'USD' }}").render(
        Context({"amount": "n/a", "none": None})
    )

    assert rendered == "n/a USD|"


# --- each brand's time zone ------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "+02:00", "CET ", ""])
def test_a_brand_time_zone_must_be_a_tz_database_name(name):
    brand = BrandFactory.build(timezone=name)

    with pytest.raises(ValidationError) as raised:
        brand.full_clean(exclude=["slug"])

    assert "timezone" in raised.value.message_dict


@pytest.mark.django_db
def test_a_brand_time_zone_by_name_is_accepted():
    brand = BrandFactory.build(timezone="Europe/Paris")

    brand.full_clean(exclude=["slug"])


def zone_with_an_afternoon() -> str:
    """Tokyo or New York, whichever has had an hour of today already (they are 13-14 apart)."""
    for name in ("Asia/Tokyo", "America/New_York"):
        if timezone.now().astimezone(ZoneInfo(name)).hour >= 1:
            return name
    raise AssertionError("one of them is always past 01:00")


@pytest.mark.django_db
def test_the_dashboards_today_is_the_brands_own_day(client: Client):
    name = zone_with_an_afternoon()
    brand = BrandFactory.create(currency="USD", timezone=name)
    variant = VariantFactory.create(product=ProductFactory.create(brand=brand))
    local_midnight = (
        timezone.now().astimezone(ZoneInfo(name)).replace(hour=0, minute=0, second=0, microsecond=0)
    )
    for at in (local_midnight - timedelta(minutes=1), local_midnight + timedelta(minutes=1)):
        paid_order((variant, "10.00"), creator=None, paid_at=at)
    client.force_login(BrandMemberFactory.create(brand=brand).user)

    [usd] = client.get("/admin/").context["dashboard"]["currencies"]
    with timezone.override(UTC):
        [in_utc] = brand_sales_by_day(brand_ids=[brand.pk], now=timezone.now())

    assert usd["today_orders"] == 1
    assert in_utc.today_orders != 1  # counted in UTC, the two sales fall on one side


@pytest.mark.django_db
def test_brand_staff_read_the_admins_times_in_the_brands_zone(desk):
    t, client = desk
    Brand.objects.filter(pk=t.brand_a.pk).update(timezone="Asia/Kolkata")
    t.order.refresh_from_db()
    in_kolkata = formats.date_format(
        t.order.created_at.astimezone(ZoneInfo("Asia/Kolkata")), "DATETIME_FORMAT"
    )
    in_utc = formats.date_format(t.order.created_at.astimezone(UTC), "DATETIME_FORMAT")

    page = client.get("/admin/orders/fulfilment/").content.decode()

    assert in_kolkata in page
    assert in_utc not in page


@pytest.mark.django_db
def test_a_member_of_brands_in_two_zones_and_platform_staff_read_the_sites_zone(rf):
    paris = BrandFactory.create(timezone="Europe/Paris")
    tokyo = BrandFactory.create(timezone="Asia/Tokyo")
    member = BrandMemberFactory.create(brand=paris).user
    BrandMemberFactory.create(brand=tokyo, user=member)
    only_paris = BrandMemberFactory.create(brand=paris).user
    superuser = UserFactory.create(is_staff=True, is_superuser=True)

    def zone_for(user):
        request = rf.get("/admin/")
        request.user = user
        return admin_timezone_for(request)

    assert zone_for(only_paris) == ZoneInfo("Europe/Paris")
    assert zone_for(member) is None
    assert zone_for(superuser) is None


@pytest.mark.django_db
def test_the_api_stays_in_utc_for_brand_staff(desk):
    t, _ = desk
    Brand.objects.filter(pk=t.brand_a.pk).update(timezone="Asia/Tokyo")

    body = t.client_a().get(f"/api/v1/brand/orders/{t.order.pk}/").json()

    assert body["created_at"].endswith(("Z", "+00:00"))


@pytest.mark.django_db
def test_the_settlement_statement_gives_its_period_in_the_brands_zone(client: Client):
    brand = BrandFactory.create(timezone="America/New_York")
    start = datetime(2026, 10, 5, tzinfo=UTC)
    statement = Settlement.objects.create(
        brand=brand, period_start=start, period_end=start + timedelta(days=7),
        currency="USD", gross=Decimal("100"), refunds=Decimal(0), commissions=Decimal(10),
        platform_fee_percent=Decimal(0), platform_fee=Decimal(0), amount_due=Decimal("90"),
    )  # fmt: skip
    client.force_login(BrandMemberFactory.create(brand=brand).user)

    page = client.get(f"/admin/commissions/settlement/{statement.pk}/statement/").content.decode()

    assert "2026-10-04 20:00 to 2026-10-11 20:00 (America/New_York, end exclusive)" in page
    assert "$90.00" in page
