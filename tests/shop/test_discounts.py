"""Brand discounts: the brand API, its validation codes, scoping, and the admin's scoping."""

from __future__ import annotations

import pytest
from django.test import Client

from shop.models import BrandMember, Discount
from tests.conftest import client_for
from tests.shop.factories import BrandFactory, BrandMemberFactory, ProductFactory

pytestmark = pytest.mark.django_db

DISCOUNTS = "/api/v1/brand/discounts/"


@pytest.fixture
def brand():
    return BrandFactory.create(slug="glow")


@pytest.fixture
def owner_client(brand):
    return client_for(BrandMemberFactory.create(brand=brand, role=BrandMember.Role.OWNER).user)


def body(**overrides):
    data = {"brand": "glow", "name": "Spring", "kind": "percentage", "value": "10"}
    data.update(overrides)
    return data


def test_owner_creates_a_percentage_discount_on_chosen_products(owner_client, brand):
    product = ProductFactory.create(brand=brand)
    response = owner_client.post(
        DISCOUNTS,
        body(
            applies_to_all=False,
            products=[product.pk],
            minimum_subtotal="30.00",
            max_uses=100,
            max_uses_per_shopper=1,
        ),
        format="json",
    )
    assert response.status_code == 201, response.content
    shown = response.json()
    assert shown["products"] == [product.pk]
    assert shown["minimum_subtotal"] == {"amount": "30.00", "currency": "USD"}
    assert (shown["uses"], shown["max_uses"], shown["status"]) == (0, 100, "active")


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"value": "120"}, "discount_value_invalid"),
        ({"value": "0"}, "discount_value_invalid"),
        ({"applies_to_all": False}, "discount_products_required"),
        (
            {"starts_at": "2026-05-02T00:00:00Z", "ends_at": "2026-05-01T00:00:00Z"},
            "discount_window_invalid",
        ),
        ({"minimum_subtotal": "-1"}, "discount_minimum_invalid"),
    ],
)
def test_invalid_discounts_are_refused_with_a_stable_code(owner_client, overrides, code):
    response = owner_client.post(DISCOUNTS, body(**overrides), format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == code
    assert not Discount.objects.exists()


def test_another_brands_product_cannot_be_chosen(owner_client):
    other = ProductFactory.create(brand=BrandFactory.create())
    response = owner_client.post(
        DISCOUNTS, body(applies_to_all=False, products=[other.pk]), format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "discount_product_not_in_brand"


def test_owner_pauses_a_discount(owner_client, brand):
    discount = Discount.objects.create(brand=brand, name="x", kind="fixed", value=5)
    response = owner_client.patch(f"{DISCOUNTS}{discount.pk}/", {"status": "paused"}, format="json")
    assert response.status_code == 200, response.content
    discount.refresh_from_db()
    assert discount.status == Discount.Status.PAUSED


def test_viewer_reads_but_cannot_change_discounts(brand):
    discount = Discount.objects.create(brand=brand, name="x", kind="fixed", value=5)
    viewer = client_for(BrandMemberFactory.create(brand=brand, role=BrandMember.Role.VIEWER).user)
    assert viewer.get(f"{DISCOUNTS}{discount.pk}/").status_code == 200
    refused = viewer.patch(f"{DISCOUNTS}{discount.pk}/", {"value": "6"}, format="json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "role_read_only"
    assert viewer.post(DISCOUNTS, body(), format="json").status_code == 403


def test_another_brands_member_gets_404_for_a_discount(brand):
    discount = Discount.objects.create(brand=brand, name="x", kind="fixed", value=5)
    stranger = client_for(BrandMemberFactory.create(brand=BrandFactory.create()).user)
    assert stranger.get(f"{DISCOUNTS}{discount.pk}/").status_code == 404
    assert (
        stranger.patch(f"{DISCOUNTS}{discount.pk}/", {"value": "1"}, format="json").status_code
        == 404
    )
    assert stranger.delete(f"{DISCOUNTS}{discount.pk}/").status_code == 404
    assert stranger.get(DISCOUNTS).json()["results"] == []


def test_listing_discounts_runs_a_fixed_number_of_queries(
    owner_client, brand, django_assert_max_num_queries
):
    for i in range(15):
        discount = Discount.objects.create(
            brand=brand, name=f"d{i}", kind="fixed", value=5, applies_to_all=False
        )
        discount.products.set([ProductFactory.create(brand=brand)])
    with django_assert_max_num_queries(6):
        response = owner_client.get(DISCOUNTS)
    assert len(response.json()["results"]) == 15


def test_admin_changelist_shows_only_own_brand_discounts(client: Client, brand):
    mine = Discount.objects.create(brand=brand, name="mine", kind="fixed", value=5)
    theirs = Discount.objects.create(
        brand=BrandFactory.create(), name="theirs", kind="fixed", value=5
    )
    member = BrandMemberFactory.create(brand=brand, role=BrandMember.Role.MANAGER)
    client.force_login(member.user)
    response = client.get("/admin/shop/discount/")
    assert response.status_code == 200
    assert {d.pk for d in response.context["cl"].result_list} == {mine.pk}
    assert client.get(f"/admin/shop/discount/{theirs.pk}/change/").status_code in (302, 404)


def test_owner_creates_a_discount_on_a_collection(owner_client, brand):
    ProductFactory.create(brand=brand, category="Serums")
    response = owner_client.post(
        DISCOUNTS,
        body(applies_to_all=False, collections=[" Serums", "Serums"]),
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["collections"] == ["Serums"]
    assert response.json()["products"] == []


def test_a_collection_with_none_of_the_brands_products_is_refused(owner_client):
    ProductFactory.create(brand=BrandFactory.create(), category="Serums")
    response = owner_client.post(
        DISCOUNTS, body(applies_to_all=False, collections=["Serums"]), format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "discount_collection_not_in_brand"
    assert not Discount.objects.exists()
