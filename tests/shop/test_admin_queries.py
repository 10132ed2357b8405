"""Admin changelists run a fixed number of queries however many rows they show."""

from __future__ import annotations

import pytest
from django.test import Client

from shop.models import Brand, BrandMember
from tests.shop.factories import (
    BrandFactory,
    BrandMemberFactory,
    ProductFactory,
    ProductImageFactory,
)
from tests.shop.test_admin_scoping import stocked_variant

pytestmark = pytest.mark.django_db

# Session, user, memberships, filter choices, two counts, rows, the date hierarchy and the
# auth permissions other apps' admins read for the sidebar: none of them per row.
CHANGELIST_MAX_QUERIES = 12


def make_catalog(brand: Brand, products: int, variants: int = 3) -> None:
    for i in range(products):
        product = ProductFactory.create(brand=brand)
        ProductImageFactory.create(product=product)
        for v in range(variants):
            stocked_variant(product, f"{brand.slug}-{i}-{v}", on_hand=v * 3)


@pytest.fixture
def client_a(client: Client) -> Client:
    brand = BrandFactory.create()
    other = BrandFactory.create()
    make_catalog(brand, products=32)
    make_catalog(other, products=3)
    member = BrandMemberFactory.create(brand=brand, role=BrandMember.Role.MANAGER)
    second = BrandFactory.create()
    BrandMemberFactory.create(brand=second, user=member.user, role=BrandMember.Role.VIEWER)
    client.force_login(member.user)
    return client


@pytest.mark.parametrize(
    ("url", "rows"),
    [
        ("/admin/shop/product/", 32),
        ("/admin/shop/product/?stock=low", None),
        ("/admin/shop/variant/", 96),
        ("/admin/shop/stockmovement/", 64),
        ("/admin/shop/brand/", 2),
    ],
)
def test_changelist_query_count_does_not_grow_with_rows(
    client_a, django_assert_max_num_queries, url, rows
):
    with django_assert_max_num_queries(CHANGELIST_MAX_QUERIES):
        response = client_a.get(url)
    assert response.status_code == 200
    if rows is not None:
        assert response.context["cl"].result_count == rows
