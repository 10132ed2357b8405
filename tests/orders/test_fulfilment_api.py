"""Per-brand fulfilment: shipments with tracking through the brand API, statuses that follow."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives

from orders.models import Fulfilment, Order, OrderEvent, OrderLine, Shipment
from shop.models import BrandMember
from tests.conftest import client_for
from tests.orders.aftersale_helpers import TwoBrands, member, two_brand_order
from tests.shop.factories import BrandFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_emulator")]


def ship_url(order: Order) -> str:
    return f"/api/v1/brand/orders/{order.pk}/shipments/"


def status_of(t: TwoBrands) -> tuple[str, str, str]:
    t.order.refresh_from_db()
    a = Fulfilment.objects.get(order=t.order, brand=t.brand_a).status
    b = Fulfilment.objects.get(order=t.order, brand=t.brand_b).status
    return t.order.status, a, b


def nothing_shipped(t: TwoBrands) -> None:
    assert not Shipment.objects.exists()
    assert set(OrderLine.objects.values_list("shipped_quantity", flat=True)) == {0}
    assert status_of(t) == ("paid", "unfulfilled", "unfulfilled")


def test_a_paid_order_gets_one_unfulfilled_fulfilment_per_brand():
    t = two_brand_order()
    assert status_of(t) == ("paid", "unfulfilled", "unfulfilled")


def test_shipping_everything_of_one_brand_makes_the_order_partially_fulfilled(
    django_capture_on_commit_callbacks,
):
    t = two_brand_order()
    with django_capture_on_commit_callbacks(execute=True):
        response = t.client_a().post(
            ship_url(t.order), {"carrier": "UPS", "tracking_number": "1Z999"}, format="json"
        )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["tracking_url"] == "https://www.ups.com/track?tracknum=1Z999"
    assert body["lines"] == [{"line_id": t.line_a.pk, "quantity": 2}]
    assert status_of(t) == ("partially_fulfilled", "shipped", "unfulfilled")
    assert OrderEvent.objects.filter(order=t.order, kind="shipment_created").exists()
    assert OrderEvent.objects.filter(order=t.order, to_status="partially_fulfilled").exists()
    shipped = [m for m in mail.outbox if "on its way" in m.subject]
    assert len(shipped) == 1
    assert shipped[0].to == ["fan@example.com"]
    assert "https://www.ups.com/track?tracknum=1Z999" in shipped[0].body
    assert isinstance(shipped[0], EmailMultiAlternatives)
    html, mime = shipped[0].alternatives[0]
    assert mime == "text/html"
    assert "1Z999" in str(html)


def test_both_brands_shipping_and_delivering_takes_the_order_to_fulfilled():
    t = two_brand_order()
    first = t.client_a().post(ship_url(t.order), {"carrier": "dhl"}, format="json")
    second = t.client_b().post(ship_url(t.order), {"carrier": "usps"}, format="json")
    assert (first.status_code, second.status_code) == (201, 201)
    assert status_of(t) == ("fulfilled", "shipped", "shipped")
    delivered = t.client_a().post(
        f"{ship_url(t.order)}{first.json()['id']}/delivered/", {}, format="json"
    )
    assert delivered.status_code == 200, delivered.json()
    assert delivered.json()["delivered_at"] is not None
    assert status_of(t) == ("fulfilled", "delivered", "shipped")


def test_shipping_some_units_leaves_the_fulfilment_partially_shipped():
    t = two_brand_order(qty_a=2)
    response = t.client_a().post(
        ship_url(t.order),
        {"carrier": "UPS", "lines": [{"line_id": t.line_a.pk, "quantity": 1}]},
        format="json",
    )
    assert response.status_code == 201
    assert status_of(t)[1] == "partially_shipped"
    t.line_a.refresh_from_db()
    assert t.line_a.shipped_quantity == 1


def test_shipping_a_refunded_line_is_409_and_changes_nothing():
    t = two_brand_order(qty_a=2)
    refund = t.client_a().post(
        f"/api/v1/brand/orders/{t.order.pk}/refunds/",
        {"lines": [{"line_id": t.line_a.pk, "quantity": 2}]},
        format="json",
    )
    assert refund.status_code == 201
    response = t.client_a().post(
        ship_url(t.order),
        {"carrier": "UPS", "lines": [{"line_id": t.line_a.pk}]},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "order_line_refunded"
    assert not Shipment.objects.exists()
    # Refunded in full before shipping: the brand has nothing left to do.
    assert Fulfilment.objects.get(order=t.order, brand=t.brand_a).status == "canceled"


def test_shipping_refunded_units_of_a_partly_refunded_line_is_409():
    t = two_brand_order(qty_a=2)
    t.client_a().post(
        f"/api/v1/brand/orders/{t.order.pk}/refunds/",
        {"lines": [{"line_id": t.line_a.pk, "quantity": 1}]},
        format="json",
    )
    response = t.client_a().post(
        ship_url(t.order),
        {"carrier": "UPS", "lines": [{"line_id": t.line_a.pk, "quantity": 2}]},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "order_line_refunded"
    ok = t.client_a().post(ship_url(t.order), {"carrier": "UPS"}, format="json")
    assert ok.status_code == 201
    assert ok.json()["lines"] == [{"line_id": t.line_a.pk, "quantity": 1}]


def test_shipping_more_than_is_left_is_409():
    t = two_brand_order(qty_a=2)
    t.client_a().post(ship_url(t.order), {"carrier": "UPS"}, format="json")
    response = t.client_a().post(
        ship_url(t.order),
        {"carrier": "UPS", "lines": [{"line_id": t.line_a.pk, "quantity": 1}]},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "shipment_exceeds_outstanding"
    again = t.client_a().post(ship_url(t.order), {"carrier": "UPS"}, format="json")
    assert again.json()["error"]["code"] == "nothing_to_ship"


def test_a_tracking_number_is_recorded_once():
    t = two_brand_order(qty_a=2)
    body = {
        "carrier": "UPS",
        "tracking_number": "1Z1",
        "lines": [{"line_id": t.line_a.pk, "quantity": 1}],
    }
    assert t.client_a().post(ship_url(t.order), body, format="json").status_code == 201
    response = t.client_a().post(ship_url(t.order), body, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "shipment_duplicate_tracking"
    assert Shipment.objects.count() == 1


def test_shipping_another_brands_line_is_404_and_a_stranger_gets_404():
    t = two_brand_order()
    response = t.client_a().post(
        ship_url(t.order), {"carrier": "UPS", "lines": [{"line_id": t.line_b.pk}]}, format="json"
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "order_line_not_found"
    stranger = client_for(member(BrandFactory.create()))
    response = stranger.post(ship_url(t.order), {"carrier": "UPS"}, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "order_not_found"
    nothing_shipped(t)


def test_a_viewer_may_not_ship():
    t = two_brand_order()
    viewer = client_for(member(t.brand_a, BrandMember.Role.VIEWER))
    response = viewer.post(ship_url(t.order), {"carrier": "UPS"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "brand_write_required"
    nothing_shipped(t)


def test_another_brand_cannot_mark_a_shipment_delivered():
    t = two_brand_order()
    shipped = t.client_a().post(ship_url(t.order), {"carrier": "UPS"}, format="json")
    response = t.client_b().post(
        f"{ship_url(t.order)}{shipped.json()['id']}/delivered/", {}, format="json"
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "shipment_not_found"
    assert Shipment.objects.get().delivered_at is None


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "invalid"),
        ({"carrier": " "}, "invalid"),
        ({"carrier": "UPS", "tracking_url": "http://track.example.com/1"}, "invalid"),
        ({"carrier": "UPS", "tracking_url": "javascript:alert(1)"}, "invalid"),
        ({"carrier": "UPS", "lines": [{"line_id": 1, "quantity": 0}]}, "invalid"),
        ({"carrier": "UPS", "shipped_at": "yesterday"}, "invalid"),
    ],
)
def test_bad_shipment_input_is_400_and_changes_nothing(body, code):
    t = two_brand_order()
    response = t.client_a().post(ship_url(t.order), body, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["code"] == code
    nothing_shipped(t)


def test_a_member_of_both_brands_must_name_the_brand_to_ship_everything():
    t = two_brand_order()
    BrandMember.objects.create(brand=t.brand_b, user=t.owner_a, role=BrandMember.Role.MANAGER)
    response = t.client_a().post(ship_url(t.order), {"carrier": "UPS"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "brand_required"
    named = t.client_a().post(
        ship_url(t.order), {"carrier": "UPS", "brand": t.brand_b.slug}, format="json"
    )
    assert named.status_code == 201
    assert named.json()["lines"] == [{"line_id": t.line_b.pk, "quantity": 1}]


def test_a_bad_delivery_time_is_400_and_changes_nothing():
    t = two_brand_order()
    shipped = t.client_a().post(ship_url(t.order), {"carrier": "UPS"}, format="json")
    url = f"{ship_url(t.order)}{shipped.json()['id']}/delivered/"
    response = t.client_a().post(url, {"delivered_at": "soon"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    early = t.client_a().post(url, {"delivered_at": "2000-01-01T00:00:00Z"}, format="json")
    assert early.status_code == 400
    assert early.json()["error"]["code"] == "delivered_before_shipped"
    assert Shipment.objects.get().delivered_at is None
    assert status_of(t)[1] == "shipped"
