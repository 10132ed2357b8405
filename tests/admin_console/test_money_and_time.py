"""Money and time in the admin as people read them: symbols, the currency's decimals, minutes."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.test import Client

from common.money import format_money
from orders.models import Fulfilment
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
