"""Reading orders: brands see only their part, shoppers only their orders, guests by token."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from orders.models import Order
from shop.models import BrandMember
from tests.conftest import client_for
from tests.orders.aftersale_helpers import (
    member,
    paid_order,
    shopper,
    two_brand_order,
    variant_of,
)
from tests.orders.helpers import cart_with, checkout
from tests.shop.factories import BrandFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_emulator")]

BRAND_LIST = "/api/v1/brand/orders/"
SHOPPER_LIST = "/api/v1/orders/"


def skus(view: dict[str, Any]) -> set[str]:
    return {line["sku"] for part in view["brands"] for line in part["lines"]}


def test_each_brand_sees_only_its_own_lines_shipping_and_refund_share():
    t = two_brand_order()
    refund = t.client_a().post(
        f"/api/v1/brand/orders/{t.order.pk}/refunds/",
        {"lines": [{"line_id": t.line_a.pk, "quantity": 1}], "shipping": True},
        format="json",
    )
    assert refund.status_code == 201
    shipped = t.client_b().post(
        f"/api/v1/brand/orders/{t.order.pk}/shipments/", {"carrier": "UPS"}, format="json"
    )
    assert shipped.status_code == 201

    a = t.client_a().get(f"{BRAND_LIST}{t.order.pk}/").json()
    assert skus(a) == {t.line_a.sku}
    assert [p["brand"]["slug"] for p in a["brands"]] == [t.brand_a.slug]
    assert a["brands"][0]["shipping"] == {"amount": "5.00", "currency": "USD"}
    assert a["brands"][0]["shipments"] == []
    assert [r["amount"]["amount"] for r in a["refunds"]] == ["25.00"]
    assert "grand_total" not in a
    assert "status_url" not in a

    b = t.client_b().get(f"{BRAND_LIST}{t.order.pk}/").json()
    assert skus(b) == {t.line_b.sku}
    assert b["refunds"] == []
    assert b["brands"][0]["fulfilment_status"] == "shipped"
    assert len(b["brands"][0]["shipments"]) == 1

    listed = t.client_a().get(BRAND_LIST).json()["results"]
    assert [o["id"] for o in listed] == [t.order.pk]
    assert skus(listed[0]) == {t.line_a.sku}


def test_a_brand_without_lines_in_the_order_gets_404_and_an_empty_list():
    t = two_brand_order()
    outsider = client_for(member(BrandFactory.create()))
    response = outsider.get(f"{BRAND_LIST}{t.order.pk}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "order_not_found"
    assert outsider.get(BRAND_LIST).json()["results"] == []
    assert client_for(shopper()).get(f"{BRAND_LIST}{t.order.pk}/").status_code == 404


def test_unpaid_orders_are_not_in_the_brand_desk():
    brand = BrandFactory.create()
    cart = cart_with((variant_of(brand), 1))
    client = APIClient()
    client.credentials(HTTP_X_CART_TOKEN=cart.token)
    order_id = checkout(client, cart).json()["order_id"]
    desk = client_for(member(brand))
    assert desk.get(BRAND_LIST).json()["results"] == []
    assert desk.get(f"{BRAND_LIST}{order_id}/").status_code == 404


def test_a_viewer_reads_the_desk():
    t = two_brand_order()
    viewer = client_for(member(t.brand_a, BrandMember.Role.VIEWER))
    assert viewer.get(f"{BRAND_LIST}{t.order.pk}/").status_code == 200


def test_brand_list_filters_by_fulfilment_status_brand_and_status():
    t = two_brand_order()
    other = two_brand_order()
    BrandMember.objects.create(brand=other.brand_a, user=t.owner_a, role="owner")
    client = t.client_a()
    client.post(f"/api/v1/brand/orders/{t.order.pk}/shipments/", {"carrier": "UPS"}, format="json")

    def ids(query: str) -> list[int]:
        response = client.get(BRAND_LIST + query)
        assert response.status_code == 200, response.json()
        return [o["id"] for o in response.json()["results"]]

    assert ids("") == [other.order.pk, t.order.pk]
    assert ids("?fulfilment_status=shipped") == [t.order.pk]
    assert ids("?fulfilment_status=unfulfilled") == [other.order.pk]
    assert ids(f"?brand={other.brand_a.slug}") == [other.order.pk]
    assert ids("?status=partially_fulfilled") == [t.order.pk]
    assert ids("?brand=not-mine") == []
    bad = client.get(BRAND_LIST + "?status=lost")
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid"


def test_a_nul_byte_in_the_brand_filter_is_400_not_a_database_error():
    t = two_brand_order()
    response = t.client_a().get(BRAND_LIST + "?brand=a%00b")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "brand" in response.json()["error"]["fields"]


@pytest.mark.parametrize("query", ["created_before=", "status=", "fulfilment_status="])
def test_a_blank_brand_list_filter_is_400_not_the_unfiltered_list(query):
    client = client_for(member(BrandFactory.create()))
    response = client.get(f"{BRAND_LIST}?{query}")
    assert response.status_code == 400
    assert query.rstrip("=") in response.json()["error"]["fields"]


def test_brand_list_query_count_does_not_grow_with_orders(django_assert_max_num_queries):
    brand_a = BrandFactory.create()
    brand_b = BrandFactory.create()
    va, vb = variant_of(brand_a), variant_of(brand_b)
    owner = member(brand_a)
    for _ in range(12):
        paid_order((va, 2), (vb, 1))
    client = client_for(owner)
    for order in Order.objects.all()[:4]:
        client.post(
            f"/api/v1/brand/orders/{order.pk}/shipments/", {"carrier": "UPS"}, format="json"
        )
        client.post(f"/api/v1/brand/orders/{order.pk}/refunds/", {"shipping": True}, format="json")
    # 10: one more than before disputes, for the page's disputes (their lines when any).
    with django_assert_max_num_queries(10):
        response = client.get(BRAND_LIST + "?page_size=50")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 12


def test_shoppers_see_their_orders_and_every_brands_part():
    fan = shopper()
    t = two_brand_order(user=fan)
    client = client_for(fan)
    listed = client.get(SHOPPER_LIST).json()["results"]
    assert [o["id"] for o in listed] == [t.order.pk]
    detail = client.get(f"{SHOPPER_LIST}{t.order.pk}/").json()
    assert skus(detail) == {t.line_a.sku, t.line_b.sku}
    assert detail["grand_total"] == {"amount": "64.00", "currency": "USD"}
    assert detail["status_url"].endswith(f"/orders/{t.order.token}/")


def test_another_shopper_gets_404_and_an_empty_list():
    t = two_brand_order(user=shopper())
    other = client_for(shopper())
    response = other.get(f"{SHOPPER_LIST}{t.order.pk}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "order_not_found"
    assert other.get(SHOPPER_LIST).json()["results"] == []
    assert APIClient().get(SHOPPER_LIST).status_code == 401
    assert client_for(t.owner_a).get(f"{SHOPPER_LIST}{t.order.pk}/").status_code == 404


def test_shopper_list_query_count_does_not_grow_with_orders(django_assert_max_num_queries):
    fan = shopper()
    brand_a, brand_b = BrandFactory.create(), BrandFactory.create()
    va, vb = variant_of(brand_a), variant_of(brand_b)
    for _ in range(12):
        paid_order((va, 1), (vb, 2), user=fan)
    client = client_for(fan)
    # 8: one more than before disputes, for the page's disputes (their lines when any).
    with django_assert_max_num_queries(8):
        response = client.get(SHOPPER_LIST + "?page_size=50")
    assert len(response.json()["results"]) == 12


def test_the_guest_status_page_shows_lines_by_brand_tracking_and_refunds(client):
    t = two_brand_order()
    t.client_a().post(
        f"/api/v1/brand/orders/{t.order.pk}/shipments/",
        {"carrier": "UPS", "tracking_number": "1ZTRACK"},
        format="json",
    )
    t.client_b().post(
        f"/api/v1/brand/orders/{t.order.pk}/refunds/", {"shipping": True}, format="json"
    )
    response = client.get(f"/orders/{t.order.token}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert t.brand_a.name in html
    assert t.brand_b.name in html
    assert "https://www.ups.com/track?tracknum=1ZTRACK" in html
    assert 'id="refunds"' in html
    assert "$4.00" in html
    assert response["X-Robots-Tag"] == "noindex"


def test_an_unknown_order_token_is_a_404_page(client):
    two_brand_order()
    response = client.get("/orders/not-a-token/")
    assert response.status_code == 404
    assert b"could not find that order" in response.content
