"""The brand order desk in the admin: each brand sees and ships only its own part of orders."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from orders.admin.resources import OrderDeskResource
from orders.models import Fulfilment, Order, OrderLine, Refund, Shipment
from shop.models import BrandMember, Variant
from tests.orders.aftersale_helpers import (
    TwoBrands,
    intent_of,
    member,
    paid_order,
    two_brand_order,
)
from tests.orders.helpers import stripe_test_client
from tests.shop.factories import BrandFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_emulator")]

DESK = "/admin/orders/fulfilment/"
SHIPMENTS = "/admin/orders/shipment/"


def login(client: Client, user) -> Client:
    client.force_login(user)
    return client


def desk_rows(client: Client, query: str = "") -> list[Fulfilment]:
    response = client.get(DESK + query)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def fulfilment(t: TwoBrands, brand) -> Fulfilment:
    return Fulfilment.objects.get(order=t.order, brand=brand)


def test_each_brand_sees_only_its_part_of_a_shared_order(client):
    t = two_brand_order()
    login(client, t.owner_a)
    rows = desk_rows(client)
    assert [(r.order_id, r.brand_id) for r in rows] == [(t.order.pk, t.brand_a.pk)]
    page = client.get(f"{DESK}{fulfilment(t, t.brand_a).pk}/change/").content.decode()
    assert t.line_a.sku in page
    assert t.line_b.sku not in page
    other = client.get(f"{DESK}{fulfilment(t, t.brand_b).pk}/change/", follow=True)
    assert other.redirect_chain[0][0] == "/admin/"


def test_desk_filters_and_search_stay_within_the_brand(client):
    t = two_brand_order()
    login(client, t.owner_a)
    assert len(desk_rows(client, "?status__exact=unfulfilled")) == 1
    assert desk_rows(client, "?status__exact=shipped") == []
    assert len(desk_rows(client, f"?q={t.line_a.sku}")) == 1
    # Another brand's SKU does not reveal the shared order.
    assert desk_rows(client, f"?q={t.line_b.sku}") == []
    assert len(desk_rows(client, f"?q={t.order.pk}")) == 1
    brand_c = BrandFactory.create()
    BrandMember.objects.create(brand=brand_c, user=t.owner_a, role=BrandMember.Role.VIEWER)
    specs = client.get(DESK).context["cl"].filter_specs
    brand_filter = next(f for f in specs if getattr(f, "field_path", "") == "brand")
    assert {pk for pk, _ in brand_filter.lookup_choices} == {t.brand_a.pk, brand_c.pk}


def test_desk_changelist_queries_do_not_grow_with_orders(client, django_assert_max_num_queries):
    brand_a, brand_b = BrandFactory.create(), BrandFactory.create()
    from tests.orders.aftersale_helpers import variant_of

    va, vb = variant_of(brand_a), variant_of(brand_b)
    owner = member(brand_a)
    for _ in range(12):
        paid_order((va, 1), (vb, 1))
    login(client, owner)
    # 10: the page's 9, and the session's verified one-time-code device (owners can refund).
    with django_assert_max_num_queries(10):
        rows = desk_rows(client)
    assert len(rows) == 12


def export_rows(client: Client) -> list[dict[str, str]]:
    fields = {f"orderdeskresource_{name}": "on" for name in OrderDeskResource().get_export_order()}
    response = client.post(f"{DESK}export/", {"format": "0", "resource": "0", **fields})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_csv_export_holds_only_the_brands_lines(client):
    t = two_brand_order()
    login(client, t.owner_b)
    rows = export_rows(client)
    assert [(r["order_id"], r["sku"], r["brand"]) for r in rows] == [
        (str(t.order.pk), t.line_b.sku, t.brand_b.slug)
    ]
    assert rows[0]["ship_to_name"] == "Fan One"


def test_a_manager_ships_by_hand_and_a_viewer_cannot(client):
    t = two_brand_order(qty_a=2)
    viewer = member(t.brand_a, BrandMember.Role.VIEWER)
    url = f"{DESK}{fulfilment(t, t.brand_a).pk}/ship/"
    login(client, viewer)
    assert client.get(url, follow=True).redirect_chain[0][0] == "/admin/"
    login(client, t.owner_a)
    form = client.get(url)
    assert form.status_code == 200
    response = client.post(
        url, {"carrier": "UPS", "tracking_number": "1ZHAND", f"qty_{t.line_a.pk}": "1"}
    )
    assert response.status_code == 302
    shipment = Shipment.objects.get()
    assert (shipment.tracking_number, shipment.brand_id) == ("1ZHAND", t.brand_a.pk)
    assert fulfilment(t, t.brand_a).status == "partially_shipped"
    # The other brand's fulfilment cannot be shipped from brand A's login.
    other = client.get(f"{DESK}{fulfilment(t, t.brand_b).pk}/ship/", follow=True)
    assert other.redirect_chain[0][0] == "/admin/"


def test_shipping_by_hand_more_than_is_left_shows_the_error_and_saves_nothing(client):
    t = two_brand_order(qty_a=2)
    login(client, t.owner_a)
    url = f"{DESK}{fulfilment(t, t.brand_a).pk}/ship/"
    response = client.post(url, {"carrier": "UPS", f"qty_{t.line_a.pk}": "3"})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not Shipment.objects.exists()


def csv_upload(rows: list[list[object]], header: list[str]) -> SimpleUploadedFile:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return SimpleUploadedFile("tracking.csv", out.getvalue().encode(), content_type="text/csv")


def test_tracking_import_previews_row_errors_and_saves_only_when_confirmed(client):
    t = two_brand_order(qty_a=2)
    foreign = two_brand_order()
    login(client, t.owner_a)
    header = ["order_id", "carrier", "tracking_number", "tracking_url", "sku", "quantity"]
    rows: list[list[object]] = [
        [t.order.pk, "UPS", "1ZONE", "", t.line_a.sku, 1],
        [t.order.pk, "UPS", "1ZBAD", "", t.line_b.sku, 1],  # brand B's line
        [foreign.order.pk, "UPS", "1ZFOREIGN", "", "", ""],  # an order without our lines
        [t.order.pk, "", "1ZNOCARRIER", "", "", ""],
        [t.order.pk, "UPS", "1ZHTTP", "http://track.example.com", "", ""],
    ]
    preview = client.post(
        f"{SHIPMENTS}import/",
        {"resource": "0", "format": "0", "import_file": csv_upload(rows, header)},
    )
    assert preview.status_code == 200
    result = preview.context["result"]
    assert len(result.valid_rows()) == 1
    assert len(result.invalid_rows) == 4
    assert not Shipment.objects.exists()  # the preview was rolled back
    assert OrderLine.objects.get(pk=t.line_a.pk).shipped_quantity == 0
    confirm_form = preview.context["confirm_form"]
    done = client.post(
        f"{SHIPMENTS}process_import/", {**confirm_form.initial, "confirm": "Confirm import"}
    )
    assert done.status_code == 302
    shipment = Shipment.objects.get()
    assert (shipment.order_id, shipment.tracking_number) == (t.order.pk, "1ZONE")
    assert shipment.tracking_url == "https://www.ups.com/track?tracknum=1ZONE"
    assert OrderLine.objects.get(pk=t.line_a.pk).shipped_quantity == 1
    assert Order.objects.get(pk=t.order.pk).status == "partially_fulfilled"


def test_shipments_list_and_delivery_action_are_scoped(client):
    t = two_brand_order()
    t.client_a().post(
        f"/api/v1/brand/orders/{t.order.pk}/shipments/", {"carrier": "UPS"}, format="json"
    )
    t.client_b().post(
        f"/api/v1/brand/orders/{t.order.pk}/shipments/", {"carrier": "DHL"}, format="json"
    )
    login(client, t.owner_a)
    response = client.get(SHIPMENTS)
    assert [s.brand_id for s in response.context["cl"].result_list] == [t.brand_a.pk]
    all_ids = list(Shipment.objects.values_list("pk", flat=True))
    client.post(SHIPMENTS, {"action": "mark_delivered", "_selected_action": all_ids})
    delivered = dict(Shipment.objects.values_list("brand_id", "delivered_at"))
    assert delivered[t.brand_a.pk] is not None
    assert delivered[t.brand_b.pk] is None


def test_members_do_not_see_the_plain_order_admin(client):
    t = two_brand_order()
    login(client, t.owner_a)
    assert client.get("/admin/orders/order/").status_code == 403
    assert client.get("/admin/orders/refund/").status_code == 403


# --- refunds from the desk ------------------------------------------------------------


def refund_url(t: TwoBrands, brand) -> str:
    return f"{DESK}{fulfilment(t, brand).pk}/refund/"


def stripe_refunded(order: Order) -> list[int]:
    listed = stripe_test_client().v1.refunds.list(params={"payment_intent": intent_of(order)})
    return sorted(r.amount for r in listed.data)


def nothing_refunded(t: TwoBrands) -> None:
    assert not Refund.objects.exists()
    for line in (t.line_a, t.line_b):
        line.refresh_from_db()
        assert (line.refunded_amount, line.refunded_quantity) == (0, 0)
    t.order.refresh_from_db()
    assert (t.order.refunded_total, t.order.status) == (0, Order.Status.PAID)
    assert stripe_refunded(t.order) == []


def test_an_owner_refunds_a_unit_and_shipping_of_its_own_line_through_stripe(client):
    t = two_brand_order(qty_a=2, price_a="20.00")
    on_hand = Variant.objects.get(pk=t.line_a.variant_id).on_hand
    login(client, t.owner_a)
    page = client.get(refund_url(t, t.brand_a))
    assert page.status_code == 200
    assert set(page.context["form"].fields) >= {f"qty_{t.line_a.pk}", "shipping"}
    assert f"qty_{t.line_b.pk}" not in page.context["form"].fields
    response = client.post(
        refund_url(t, t.brand_a),
        {f"qty_{t.line_a.pk}": "1", "shipping": "on", "restock": "on", "reason": "duplicate"},
    )
    assert response.status_code == 302
    refund = Refund.objects.get()
    assert (refund.brand_id, refund.amount, refund.status) == (
        t.brand_a.pk,
        Decimal("25.00"),
        Refund.Status.SUCCEEDED,
    )
    assert stripe_refunded(t.order) == [2500]
    t.line_a.refresh_from_db()
    assert (t.line_a.refunded_amount, t.line_a.refunded_quantity) == (Decimal("20.00"), 1)
    assert Variant.objects.get(pk=t.line_a.variant_id).on_hand == on_hand + 1
    t.order.refresh_from_db()
    assert t.order.status == Order.Status.PARTIALLY_REFUNDED


def test_a_brand_cannot_reach_or_refund_another_brands_line(client):
    t = two_brand_order()
    login(client, t.owner_a)
    other = client.get(refund_url(t, t.brand_b), follow=True)
    assert other.redirect_chain[0][0] == "/admin/"
    posted = client.post(refund_url(t, t.brand_b), {f"qty_{t.line_b.pk}": "1"})
    assert posted.status_code == 302
    # Brand B's line smuggled into brand A's own page is not one of its fields.
    mine = client.post(refund_url(t, t.brand_a), {f"qty_{t.line_b.pk}": "1"})
    assert mine.status_code == 200
    assert mine.context["form"].non_field_errors()
    nothing_refunded(t)


def test_a_viewer_may_not_refund_from_the_desk(client):
    t = two_brand_order()
    login(client, member(t.brand_a, BrandMember.Role.VIEWER))
    assert client.get(refund_url(t, t.brand_a)).status_code == 403
    response = client.post(refund_url(t, t.brand_a), {f"qty_{t.line_a.pk}": "1"})
    assert response.status_code == 403
    nothing_refunded(t)


def test_refunding_more_than_was_paid_from_the_desk_is_refused_in_words_code_in_the_log(
    client, caplog
):
    t = two_brand_order(qty_a=2, price_a="20.00")
    login(client, t.owner_a)
    with caplog.at_level("INFO", logger="orders.admin.refunds"):
        response = client.post(refund_url(t, t.brand_a), {f"amount_{t.line_a.pk}": "40.01"})
    assert response.status_code == 409
    assert response.context["error_code"] == "refund_exceeds_paid"
    assert response.context["form"].non_field_errors() == ["That is more than is left to refund."]
    assert "refund_exceeds_paid" not in response.content.decode()
    assert "refund_exceeds_paid" in caplog.text
    nothing_refunded(t)
