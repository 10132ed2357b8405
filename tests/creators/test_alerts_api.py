"""Creators see the sell-out alerts their links drive, and nobody else's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from creators.models import AffiliateLink
from orders.alerts.services import sellout_scan
from orders.models import SellOutAlert
from shop.models import Variant
from tests.conftest import client_for
from tests.creators.factories import AffiliateLinkFactory
from tests.orders.waitlist_helpers import link_for, restock, sell
from tests.shop.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db

ALERTS = "/api/v1/creators/me/alerts/"


def hot_variant(*, left: int = 10, sold: int = 40) -> tuple[Variant, AffiliateLink]:
    """Sold `sold` through one creator's link in the last hour, `left` still available."""
    variant = VariantFactory.create(product=ProductFactory.create(), on_hand=left + sold)
    link = link_for(variant)
    sell(variant, sold, link=link)
    return variant, link


def client_of(link: AffiliateLink) -> APIClient:
    return client_for(link.creator.user)


def test_the_driving_creator_sees_the_active_alert_with_stock_and_projection() -> None:
    variant, link = hot_variant(left=10, sold=40)  # 40 an hour: 15 minutes left
    sellout_scan()
    alert = SellOutAlert.objects.get()
    sell(variant, 2)  # sold since the alert: the list shows what is available now

    response = client_of(link).get(ALERTS)

    assert response.status_code == 200
    (item,) = response.json()["results"]
    assert parse_datetime(item.pop("raised_at")) == alert.opened_at
    assert parse_datetime(item.pop("projected_sell_out_at")) == alert.opened_at + timedelta(
        minutes=15
    )
    assert item == {
        "id": alert.pk,
        "status": "active",
        "product": {
            "id": variant.product.pk,
            "slug": variant.product.slug,
            "title": variant.product.title,
            "status": variant.product.status,
            "brand": item["product"]["brand"],
        },
        "variant": {
            "id": variant.pk,
            "sku": variant.sku,
            "title": variant.title,
            "options": variant.options,
        },
        "available": 8,
        "available_at_alert": 10,
        "units_last_hour": 40,
        "minutes_to_sell_out": "15.0",
        "sold_out_at": None,
        "resolved_at": None,
        "links": [
            {
                "id": link.pk,
                "code": link.code,
                "video_id": None,
                "fallback_product_id": None,
            }
        ],
    }
    assert item["product"]["brand"]["id"] == variant.product.brand_id


def test_another_creator_gets_nothing_and_a_404_for_the_detail() -> None:
    variant, link = hot_variant()
    bystander = link_for(variant)  # a link to the same product that sold nothing this hour
    _, elsewhere = hot_variant()  # drives another variant's alert
    sellout_scan()
    alert = SellOutAlert.objects.get(variant=variant)

    assert client_of(bystander).get(ALERTS).json()["results"] == []
    missing = client_of(bystander).get(f"{ALERTS}{alert.pk}/")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "sellout_alert_not_found"
    assert [a["variant"]["id"] for a in client_of(elsewhere).get(ALERTS).json()["results"]] == [
        elsewhere.product.variants.get().pk
    ]
    assert client_of(elsewhere).get(f"{ALERTS}{alert.pk}/").status_code == 404
    assert client_of(link).get(f"{ALERTS}{alert.pk}/").json()["id"] == alert.pk


def test_each_driving_creator_sees_only_their_own_links() -> None:
    variant, first = hot_variant(left=10, sold=40)
    second = link_for(variant)
    sell(variant, 5, link=second)
    sellout_scan()

    for link in (first, second):
        (item,) = client_of(link).get(ALERTS).json()["results"]
        assert [entry["id"] for entry in item["links"]] == [link.pk]


def test_a_restocked_alert_leaves_the_list_and_its_detail_says_resolved() -> None:
    variant, link = hot_variant()
    sellout_scan()
    alert = SellOutAlert.objects.get()

    restock(variant, 100)
    sellout_scan()

    assert client_of(link).get(ALERTS).json()["results"] == []
    detail = client_of(link).get(f"{ALERTS}{alert.pk}/").json()
    assert detail["status"] == "resolved"
    assert detail["resolved_at"] is not None


def test_a_sold_out_variant_shows_when_it_sold_out() -> None:
    variant, link = hot_variant(left=3, sold=40)
    sellout_scan()
    sell(variant, 3)
    sellout_scan()

    (item,) = client_of(link).get(ALERTS).json()["results"]

    assert item["available"] == 0
    assert parse_datetime(item["sold_out_at"]) == SellOutAlert.objects.get().sold_out_at


def test_someone_who_is_not_a_creator_gets_404_and_anonymous_401(auth_client) -> None:
    hot_variant()
    sellout_scan()

    response = auth_client.get(ALERTS)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_a_creator"
    assert APIClient().get(ALERTS).status_code == 401


def test_the_list_is_paginated_with_a_fixed_number_of_queries(
    django_assert_max_num_queries,
) -> None:
    _, link = hot_variant()
    for _ in range(11):
        variant = VariantFactory.create(product=ProductFactory.create(), on_hand=50)
        other = AffiliateLinkFactory.create(product=variant.product, creator=link.creator)
        sell(variant, 40, link=other)
    sellout_scan()
    client = client_of(link)

    with django_assert_max_num_queries(4):
        first = client.get(ALERTS, {"page_size": 10}).json()

    assert len(first["results"]) == 10
    assert all(len(item["links"]) == 1 for item in first["results"])
    rest = client.get(first["next"]).json()
    ids = [a["id"] for a in first["results"] + rest["results"]]
    assert sorted(ids, reverse=True) == ids
    assert set(ids) == set(SellOutAlert.objects.values_list("pk", flat=True))


def test_a_tampered_cursor_is_a_404_with_a_code_and_changes_nothing() -> None:
    _, link = hot_variant()
    sellout_scan()
    before = list(SellOutAlert.objects.values_list("pk", "resolved_at", "sold_out_at"))

    response = client_of(link).get(ALERTS, {"cursor": "not-a-cursor"})

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert list(SellOutAlert.objects.values_list("pk", "resolved_at", "sold_out_at")) == before
