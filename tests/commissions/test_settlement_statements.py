"""The brand's settlement statements: API list, detail and CSV, and the admin's printable
statement and CSV; a brand sees its own settlements only (another's is 404)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from commissions.models import Settlement
from commissions.services.settlement_periods import settlements_close_due
from shop.models import Brand
from tests.commissions.test_settlement_periods import WEEK, WEEK1, sell
from tests.conftest import client_for
from tests.orders.aftersale_helpers import member
from tests.shop.factories import BrandFactory

pytestmark = pytest.mark.django_db
API = "/api/v1/brand/settlements/"


@pytest.fixture(autouse=True)
def five_percent(settings):
    settings.COMMISSION_PLATFORM_FEE_PERCENT = "5.00"


def settled_brand(name: str) -> tuple[Brand, Settlement]:
    brand = BrandFactory.create(name=name)
    sell(brand, "100.00", WEEK1 + timedelta(days=1))
    settlements_close_due(now=WEEK1 + WEEK + timedelta(hours=2))
    return brand, Settlement.objects.get(brand=brand)


def test_a_brand_lists_and_reads_its_settlement_line_by_line(django_assert_max_num_queries):
    brand, settlement = settled_brand("Alpha")
    settled_brand("Bravo")
    api = client_for(member(brand))

    listed = api.get(API)
    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()["results"]] == [settlement.pk]
    with django_assert_max_num_queries(5):
        detail = api.get(f"{API}{settlement.pk}/").json()
    assert detail["amount_due"] == {"amount": "85.00", "currency": "USD"}
    assert detail["payable"] == {"amount": "85.00", "currency": "USD"}
    kinds = [line["kind"] for line in detail["lines"]]
    assert sorted(kinds) == ["commission", "platform_fee", "sale"]
    total = sum(Decimal(line["amount"]["amount"]) for line in detail["lines"])
    assert total == Decimal("85.00")


def test_a_brand_downloads_its_settlement_as_csv():
    brand, settlement = settled_brand("Alpha")
    response = client_for(member(brand)).get(f"{API}{settlement.pk}/csv/")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    rows = response.content.decode().splitlines()
    assert rows[0].startswith("settlement,period_start")
    assert rows[-1].endswith("amount_due,,,,,,85.00")


def test_another_brands_settlement_is_404_everywhere():
    alpha, _ = settled_brand("Alpha")
    _, theirs = settled_brand("Bravo")
    api = client_for(member(alpha))
    assert api.get(f"{API}{theirs.pk}/").status_code == 404
    assert api.get(f"{API}{theirs.pk}/csv/").status_code == 404
    assert theirs.pk not in [row["id"] for row in api.get(API).json()["results"]]


def test_a_stranger_gets_401():
    from rest_framework.test import APIClient

    assert APIClient().get(API).status_code == 401


def test_the_admin_shows_a_printable_statement_and_csv_to_its_brand_only(client):
    alpha, ours = settled_brand("Alpha")
    _, theirs = settled_brand("Bravo")
    client.force_login(member(alpha))
    base = "/admin/commissions/settlement/"

    page = client.get(f"{base}{ours.pk}/statement/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="statement-lines"' in html
    assert "$85.00" in html
    assert [label for label, _ in page.context["totals"]][-1] == "Payable"
    csv_page = client.get(f"{base}{ours.pk}/statement.csv")
    assert csv_page.status_code == 200
    assert csv_page["Content-Type"] == "text/csv"
    change = client.get(f"{base}{ours.pk}/change/").content.decode()
    assert f"{base}{ours.pk}/statement/" in change
    assert client.get(f"{base}{theirs.pk}/statement/").status_code == 404
    assert client.get(f"{base}{theirs.pk}/statement.csv").status_code == 404
