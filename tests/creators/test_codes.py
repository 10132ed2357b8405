"""Creator codes: brands issue them (normalised, unique in any case); creators list theirs."""

from __future__ import annotations

import pytest

from shop.models import BrandMember, Discount, DiscountUse
from tests.conftest import client_for
from tests.creators.factories import CreatorFactory
from tests.shop.factories import BrandFactory, BrandMemberFactory

pytestmark = pytest.mark.django_db

CODES = "/api/v1/brand/codes/"


@pytest.fixture
def brand():
    return BrandFactory.create(slug="glow")


@pytest.fixture
def discount(brand):
    return Discount.objects.create(brand=brand, name="Ten", kind="percentage", value=10)


@pytest.fixture
def owner_client(brand):
    return client_for(BrandMemberFactory.create(brand=brand, role=BrandMember.Role.OWNER).user)


def test_brand_issues_a_code_stored_upper_case_for_a_creator(owner_client, discount):
    creator = CreatorFactory.create()
    response = owner_client.post(
        CODES,
        {"brand": "glow", "code": " maya10 ", "discount": discount.pk, "creator": creator.pk},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["code"], body["creator"], body["uses"]) == ("MAYA10", creator.handle, 0)


def test_a_brand_may_issue_a_code_that_credits_nobody(owner_client, discount):
    response = owner_client.post(
        CODES, {"brand": "glow", "code": "GLOW5", "discount": discount.pk}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["creator"] is None


def test_codes_are_unique_whatever_the_case(owner_client, discount):
    first = {"brand": "glow", "code": "Maya10", "discount": discount.pk}
    assert owner_client.post(CODES, first, format="json").status_code == 201
    again = owner_client.post(CODES, {**first, "code": "MAYA10"}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "code_taken"


def test_a_malformed_code_is_refused(owner_client, discount):
    response = owner_client.post(
        CODES, {"brand": "glow", "code": "no spaces!", "discount": discount.pk}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "code_invalid"


def test_a_code_cannot_point_at_another_brands_discount(owner_client):
    other = Discount.objects.create(brand=BrandFactory.create(), name="x", kind="fixed", value=1)
    response = owner_client.post(
        CODES, {"brand": "glow", "code": "STEAL", "discount": other.pk}, format="json"
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "discount_not_found"


def test_creator_lists_their_codes_with_uses_and_sees_no_one_elses(owner_client, discount):
    creator = CreatorFactory.create()
    other = CreatorFactory.create()
    for code, who in (("MAYA10", creator), ("ZED10", other)):
        owner_client.post(
            CODES,
            {"brand": "glow", "code": code, "discount": discount.pk, "creator": who.pk},
            format="json",
        )
    DiscountUse.objects.create(discount=discount, code="MAYA10", order_id=1, email="a@x.com")
    DiscountUse.objects.create(
        discount=discount, code="MAYA10", order_id=2, email="b@x.com", status="released"
    )
    response = client_for(creator.user).get("/api/v1/creators/me/codes/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(r["code"], r["uses"], r["brand"]) for r in rows] == [("MAYA10", 1, "glow")]


def test_another_brands_member_gets_404_for_a_code(owner_client, discount):
    made = owner_client.post(
        CODES, {"brand": "glow", "code": "MAYA10", "discount": discount.pk}, format="json"
    ).json()
    stranger = client_for(BrandMemberFactory.create(brand=BrandFactory.create()).user)
    assert (
        stranger.patch(f"{CODES}{made['id']}/", {"is_active": False}, format="json").status_code
        == 404
    )
    assert stranger.get(CODES).json()["results"] == []


def test_brand_switches_a_code_off(owner_client, discount):
    made = owner_client.post(
        CODES, {"brand": "glow", "code": "MAYA10", "discount": discount.pk}, format="json"
    ).json()
    response = owner_client.patch(f"{CODES}{made['id']}/", {"is_active": False}, format="json")
    assert response.status_code == 200
    assert response.json()["is_active"] is False
