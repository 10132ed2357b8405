"""Collaborators make their own codes within the brand's limits on their collaboration."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from common.errors import ApplicationError
from creators.models import Collaboration, CreatorCode
from creators.services.codes import code_create_own
from shop.models import Discount
from tests.conftest import client_for
from tests.creators.factories import CollaborationFactory, CreatorFactory
from tests.shop.factories import BrandFactory, ProductFactory

CODES = "/api/v1/creators/me/codes/"
ACCEPTED = Collaboration.Status.ACCEPTED


def collaboration(**fields):
    brand = BrandFactory.create(slug="glow")
    defaults = {
        "brand": brand,
        "status": ACCEPTED,
        "codes_allowed": True,
        "code_max_percent": Decimal("15"),
        "code_max_count": 2,
    }
    return CollaborationFactory.create(**{**defaults, **fields})


def post(creator, **body):
    data = {"brand": "glow", "code": "maya15", "percent": "15", **body}
    return client_for(creator.user).post(CODES, data, format="json")


@pytest.mark.django_db
def test_a_collaborator_makes_a_code_that_credits_them_with_its_own_discount():
    deal = collaboration()

    response = post(deal.creator)

    assert response.status_code == 201, response.content
    shown = response.json()
    assert (shown["code"], shown["brand"], shown["made_by_creator"]) == ("MAYA15", "glow", True)
    code = CreatorCode.objects.get(code="MAYA15")
    assert code.creator_id == deal.creator_id
    discount = code.discount
    assert (discount.kind, discount.value, discount.applies_to_all) == (
        "percentage",
        Decimal("15"),
        True,
    )


@pytest.mark.django_db
def test_a_product_collaborations_code_applies_to_that_product_only():
    product = ProductFactory.create(brand=BrandFactory.create(slug="glow"))
    deal = CollaborationFactory.create(
        brand=product.brand, product=product, status=ACCEPTED, codes_allowed=True
    )
    assert post(deal.creator, percent="10").status_code == 201
    discount = CreatorCode.objects.get().discount
    assert not discount.applies_to_all
    assert list(discount.products.values_list("pk", flat=True)) == [product.pk]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "body", "status", "code"),
    [
        ({}, {"percent": "15.01"}, 400, "code_percent_above_limit"),
        ({}, {"code": "no"}, 400, "code_invalid"),
        ({"codes_allowed": False}, {}, 403, "codes_not_allowed"),
        ({"status": Collaboration.Status.INVITED}, {}, 404, "collaboration_not_found"),
        ({"status": Collaboration.Status.REVOKED}, {}, 404, "collaboration_not_found"),
        ({}, {"brand": "nobody"}, 404, "brand_not_found"),
        ({}, {"percent": "0"}, 400, "invalid"),
    ],
)
def test_a_code_outside_the_limits_is_refused_with_a_stable_code(fields, body, status, code):
    deal = collaboration(**fields)
    response = post(deal.creator, **body)
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    assert not CreatorCode.objects.exists()
    assert not Discount.objects.exists()


@pytest.mark.django_db
def test_the_cap_on_codes_counts_only_the_creators_own_and_a_taken_code_is_409():
    deal = collaboration()
    other = CreatorFactory.create()
    issued = CreatorCode.objects.create(
        code="GIVEN10",
        brand=deal.brand,
        creator=deal.creator,
        discount=Discount.objects.create(brand=deal.brand, name="g", kind="fixed", value="1"),
    )
    assert issued.made_by_creator is False
    assert post(deal.creator, code="MAYA1").status_code == 201
    assert post(deal.creator, code="given10").json()["error"]["code"] == "code_taken"
    assert post(deal.creator, code="MAYA2").status_code == 201

    third = post(deal.creator, code="MAYA3")

    assert third.status_code == 409
    assert third.json()["error"]["code"] == "code_limit_reached"
    assert third.json()["error"]["details"]["max_codes"] == 2
    assert post(other, code="OTHER1").json()["error"]["code"] == "collaboration_not_found"


@pytest.mark.django_db(transaction=True)
def test_requests_at_once_never_pass_the_cap_on_codes():
    deal = collaboration(code_max_count=1)
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def make(i: int) -> None:
        try:
            barrier.wait()
            code_create_own(
                creator=deal.creator, brand=deal.brand, code=f"RACE{i}", percent=Decimal("5")
            )
            outcomes.append("ok")
        except ApplicationError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=make, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["code_limit_reached"] * 5 + ["ok"]
    assert CreatorCode.objects.filter(made_by_creator=True).count() == 1
    assert Discount.objects.count() == 1
