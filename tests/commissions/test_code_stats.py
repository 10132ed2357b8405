"""Codes' figures per day (creator and brand API) and a brand's leaking codes: the right
sums, only the caller's codes, and a fixed number of queries however many uses."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from commissions.selectors.codes import code_days_for_brands, code_leaks_for_brands
from commissions.services.recording import (
    commission_record_for_orders,
    commission_reverse_for_refund,
)
from creators.models import Creator, CreatorCode
from orders.models import Order
from shop.models import Brand, Discount, Variant
from tests.conftest import client_for
from tests.creators.factories import CreatorFactory
from tests.orders.aftersale_helpers import member
from tests.orders.helpers import line_of
from tests.shop.factories import BrandFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db

DAY1 = datetime(2026, 11, 2, 10, tzinfo=UTC)
RANGE = "?from=2026-11-01&to=2026-11-30"


def issue(brand: Brand, code: str, creator: Creator | None) -> CreatorCode:
    discount = Discount.objects.create(brand=brand, name=code, kind="percentage", value="10")
    return CreatorCode.objects.create(code=code, brand=brand, discount=discount, creator=creator)


def coded_sale(
    variant: Variant,
    code: CreatorCode,
    *,
    paid_at: datetime,
    clicked: bool = False,
    price: str = "20.00",
) -> Order:
    """A paid order of one line, 10% off through `code`, credited to its creator (through a
    click on their link when `clicked`, else by the code alone)."""
    list_total = Decimal(price)
    discount = (list_total / 10).quantize(Decimal("0.01"))
    order = Order.objects.create(
        checkout_scope="code-stats",
        checkout_key=uuid.uuid4().hex,
        email=f"{uuid.uuid4().hex}@example.com",
        shipping_address={},
        currency="USD",
        items_total=list_total,
        discount_total=discount,
        shipping_total=Decimal(0),
        grand_total=list_total - discount,
        status=Order.Status.PAID,
        paid_at=paid_at,
        reservation_expires_at=paid_at,
    )
    creator_id = code.creator_id
    receipt = (
        {"credited": True, "rule": "code", "code": code.code, "creator_id": creator_id}
        if not clicked
        else {
            "credited": True,
            "rule": "last_click",
            "code": code.code,
            "creator_id": creator_id,
            "click_id": uuid.uuid4().hex,
        }
    )
    line_of(
        order,
        variant,
        unit_price=list_total,
        line_total=list_total - discount,
        list_total=list_total,
        discount_amount=discount,
        discount_code=code.code,
        discount_id=code.discount_id,
        attributed_creator_id=creator_id,
        commission_rate=Decimal("10") if creator_id else None,
        attribution=receipt if creator_id else {"credited": False, "reason": "no_token"},
    ).save()
    return order


@pytest.fixture
def shop_with_codes():
    brand = BrandFactory.create()
    variant = VariantFactory.create(product=ProductFactory.create(brand=brand))
    maya, theo = CreatorFactory.create(), CreatorFactory.create()
    codes = {
        "maya": issue(brand, "MAYA10", maya),
        "theo": issue(brand, "THEO10", theo),
        "house": issue(brand, "HOUSE10", None),
    }
    return brand, variant, maya, theo, codes


def test_a_creator_sees_each_of_their_codes_figures_per_day(shop_with_codes):
    _, variant, maya, _, codes = shop_with_codes
    first = coded_sale(variant, codes["maya"], paid_at=DAY1)
    coded_sale(variant, codes["maya"], paid_at=DAY1 + timedelta(hours=3), price="30.00")
    coded_sale(variant, codes["maya"], paid_at=DAY1 + timedelta(days=1))
    coded_sale(variant, codes["theo"], paid_at=DAY1)  # not hers
    commission_record_for_orders(order_ids=list(Order.objects.values_list("pk", flat=True)))
    commission_reverse_for_refund(
        order_line_id=first.lines.get().pk, refund_id="re_1", refunded_to_date=Decimal("9.00")
    )

    response = client_for(maya.user).get(f"/api/v1/creators/me/codes/stats/{RANGE}")

    assert response.status_code == 200
    days = response.json()["days"]
    assert [(d["code"], d["day"], d["uses"]) for d in days] == [
        ("MAYA10", "2026-11-02", 2),
        ("MAYA10", "2026-11-03", 1),
    ]
    assert days[0]["revenue"] == {"amount": "45.00", "currency": "USD"}  # 18.00 + 27.00
    assert days[0]["discount"] == {"amount": "5.00", "currency": "USD"}
    # 1.80 + 2.70 earned, less half of 1.80 reversed for the half refunded
    assert days[0]["commission"] == {"amount": "3.60", "currency": "USD"}
    assert days[1]["commission"] == {"amount": "1.80", "currency": "USD"}


def test_a_brand_sees_every_code_it_issued_and_no_other_brands(shop_with_codes):
    brand, variant, _, _, codes = shop_with_codes
    coded_sale(variant, codes["maya"], paid_at=DAY1)
    coded_sale(variant, codes["house"], paid_at=DAY1)
    other = BrandFactory.create()
    other_variant = VariantFactory.create(product=ProductFactory.create(brand=other))
    coded_sale(other_variant, issue(other, "ELSEWHERE", CreatorFactory.create()), paid_at=DAY1)

    response = client_for(member(brand)).get(f"/api/v1/brand/codes/stats/{RANGE}")

    assert response.status_code == 200
    assert [(d["code"], d["brand"], d["uses"]) for d in response.json()["days"]] == [
        ("HOUSE10", brand.pk, 1),
        ("MAYA10", brand.pk, 1),
    ]
    assert response.json()["days"][0]["commission"] == {"amount": "0.00", "currency": "USD"}


def test_leaking_codes_count_uses_without_a_click_on_the_codes_creator(shop_with_codes):
    brand, variant, _, _, codes = shop_with_codes
    for hour in range(3):
        coded_sale(variant, codes["maya"], paid_at=DAY1 + timedelta(hours=hour))
    coded_sale(variant, codes["maya"], paid_at=DAY1, clicked=True)
    coded_sale(variant, codes["theo"], paid_at=DAY1, clicked=True)
    coded_sale(variant, codes["house"], paid_at=DAY1)  # credits nobody: it cannot leak

    response = client_for(member(brand)).get(f"/api/v1/brand/codes/leaks/{RANGE}")

    assert response.status_code == 200
    assert [
        (c["code"], c["uses"], c["leaked"], c["leaked_share"]) for c in response.json()["codes"]
    ] == [
        ("MAYA10", 4, 3, "0.7500"),
        ("THEO10", 1, 0, "0.0000"),
    ]


def test_a_bad_range_is_a_400_with_its_code(shop_with_codes):
    brand = shop_with_codes[0]
    api = client_for(member(brand))
    assert (
        api.get("/api/v1/brand/codes/stats/?from=2026-11-30&to=2026-11-01").json()["error"]["code"]
        == "invalid_range"
    )
    bad = api.get("/api/v1/brand/codes/leaks/?from=yesterday")
    assert bad.status_code == 400


def test_someone_who_is_not_a_creator_gets_404_and_a_stranger_401(shop_with_codes):
    from rest_framework.test import APIClient

    brand = shop_with_codes[0]
    assert client_for(member(brand)).get("/api/v1/creators/me/codes/stats/").status_code == 404
    assert APIClient().get("/api/v1/brand/codes/stats/").status_code == 401


def test_the_figures_take_a_fixed_number_of_queries_however_many_codes_and_uses(
    shop_with_codes, django_assert_max_num_queries
):
    brand, variant, maya, _, _ = shop_with_codes
    for n in range(12):  # enough codes, days and uses that a query per row would show
        code = issue(brand, f"MANY{n:02d}", maya)
        for day in range(3):
            coded_sale(variant, code, paid_at=DAY1 + timedelta(days=day))
            coded_sale(variant, code, paid_at=DAY1 + timedelta(days=day), clicked=True)
    commission_record_for_orders(order_ids=list(Order.objects.values_list("pk", flat=True)))
    brand_api, creator_api = client_for(member(brand)), client_for(maya.user)

    with django_assert_max_num_queries(4):  # auth user, memberships, codes, figures
        days = brand_api.get(f"/api/v1/brand/codes/stats/{RANGE}").json()["days"]
    with django_assert_max_num_queries(4):
        leaks = brand_api.get(f"/api/v1/brand/codes/leaks/{RANGE}").json()["codes"]
    with django_assert_max_num_queries(5):  # auth user, creator, codes, figures
        mine = creator_api.get(f"/api/v1/creators/me/codes/stats/{RANGE}").json()["days"]

    assert len(days) == 36
    assert len(mine) == 36
    assert sum(c["uses"] for c in leaks) == 72
    assert sum(c["leaked"] for c in leaks) == 36


def test_the_selectors_take_the_range_half_open():
    brand = BrandFactory.create()
    variant = VariantFactory.create(product=ProductFactory.create(brand=brand))
    code = issue(brand, "EDGE10", CreatorFactory.create())
    coded_sale(variant, code, paid_at=DAY1)
    brand_ids = {brand.pk}
    assert code_days_for_brands(brand_ids=brand_ids, start=DAY1, end=DAY1 + timedelta(hours=1))
    assert not code_days_for_brands(brand_ids=brand_ids, start=DAY1 - timedelta(days=1), end=DAY1)
    assert code_leaks_for_brands(brand_ids=brand_ids, start=DAY1, end=DAY1 + timedelta(days=1))
