"""Stock edited in admin goes through the stock service and is audited as movements."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from django.test import Client

from shop.models import Brand, BrandMember, Product, StockMovement, Variant
from shop.services.stock import stock_adjust, stock_reserve
from tests.shop.factories import BrandFactory, BrandMemberFactory, ProductFactory
from tests.shop.test_admin_scoping import form_data, stocked_variant

pytestmark = pytest.mark.django_db


def ledger_sum(variant: Variant) -> int:
    return StockMovement.objects.filter(variant=variant).aggregate(s=Sum("delta"))["s"] or 0


@pytest.fixture
def brand() -> Brand:
    return BrandFactory.create(currency="USD")


@pytest.fixture
def manager(brand: Brand) -> BrandMember:
    return BrandMemberFactory.create(brand=brand, role=BrandMember.Role.MANAGER)


@pytest.fixture
def staff_client(client: Client, manager: BrandMember) -> Client:
    client.force_login(manager.user)
    return client


@pytest.fixture
def variant(brand: Brand) -> Variant:
    return stocked_variant(ProductFactory.create(brand=brand), "TEE-M", on_hand=10)


def variant_url(variant: Variant) -> str:
    return f"/admin/shop/variant/{variant.pk}/change/"


def product_url(product: Product) -> str:
    return f"/admin/shop/product/{product.pk}/change/"


def test_admin_stock_edit_records_admin_edit_movement_with_actor(staff_client, manager, variant):
    data = form_data(staff_client.get(variant_url(variant)))
    data["on_hand"] = 25
    response = staff_client.post(variant_url(variant), data)
    assert response.status_code == 302
    variant.refresh_from_db()
    movement = StockMovement.objects.filter(variant=variant).order_by("-id").first()
    assert movement is not None
    assert (movement.reason, movement.actor_id, movement.delta, movement.on_hand_after) == (
        StockMovement.Reason.ADMIN_EDIT,
        manager.user_id,
        15,
        25,
    )
    assert variant.on_hand == 25 == ledger_sum(variant)


def test_admin_edit_of_other_fields_records_no_movement(staff_client, variant):
    before = StockMovement.objects.count()
    data = form_data(staff_client.get(variant_url(variant)))
    data["price"] = "24.50"
    assert staff_client.post(variant_url(variant), data).status_code == 302
    variant.refresh_from_db()
    assert variant.price == Decimal("24.50")
    assert StockMovement.objects.count() == before
    assert variant.on_hand == 10 == ledger_sum(variant)


def test_saving_a_stale_form_keeps_sales_made_meanwhile(staff_client, variant):
    data = form_data(staff_client.get(variant_url(variant)))
    with transaction.atomic():
        stock_adjust(variant_id=variant.pk, delta=-3, reason=StockMovement.Reason.SALE)
    data["title"] = "Renamed"  # on_hand still shows the 10 the user saw
    assert staff_client.post(variant_url(variant), data).status_code == 302
    variant.refresh_from_db()
    assert (variant.title, variant.on_hand) == ("Renamed", 7)
    assert ledger_sum(variant) == 7


def test_changing_stock_that_moved_since_the_page_loaded_is_a_form_error(staff_client, variant):
    data = form_data(staff_client.get(variant_url(variant)))
    with transaction.atomic():
        stock_adjust(variant_id=variant.pk, delta=-3, reason=StockMovement.Reason.SALE)
    data["on_hand"] = 20
    response = staff_client.post(variant_url(variant), data)
    assert response.status_code == 200
    assert "on_hand" in response.context["adminform"].form.errors
    variant.refresh_from_db()
    assert variant.on_hand == 7 == ledger_sum(variant)


def test_reserved_is_never_editable_in_admin(staff_client, variant):
    with transaction.atomic():
        assert stock_reserve(variant_id=variant.pk, quantity=2)
    response = staff_client.get(variant_url(variant))
    assert "reserved" not in response.context["adminform"].form.fields
    data = form_data(response)
    data.update({"reserved": 0, "on_hand": 12})
    assert staff_client.post(variant_url(variant), data).status_code == 302
    variant.refresh_from_db()
    assert (variant.on_hand, variant.reserved) == (12, 2)


def test_negative_stock_is_a_form_error(staff_client, variant):
    data = form_data(staff_client.get(variant_url(variant)))
    data["on_hand"] = -1
    assert staff_client.post(variant_url(variant), data).status_code == 200
    variant.refresh_from_db()
    assert variant.on_hand == 10


def test_price_with_more_decimals_than_the_currency_is_a_form_error(staff_client, variant):
    data = form_data(staff_client.get(variant_url(variant)))
    data["price"] = "19.999"
    response = staff_client.post(variant_url(variant), data)
    assert response.status_code == 200
    assert "price" in response.context["adminform"].form.errors


def test_sku_cannot_change_in_admin(staff_client, variant):
    data = form_data(staff_client.get(variant_url(variant)))
    data["sku"] = "RENAMED-SKU"
    assert staff_client.post(variant_url(variant), data).status_code == 302
    variant.refresh_from_db()
    assert variant.sku == "TEE-M"


def test_stock_edit_in_the_product_inline_goes_through_the_stock_service(
    staff_client, manager, variant
):
    data = form_data(staff_client.get(product_url(variant.product)))
    assert data["variants-0-id"] == variant.pk
    data["variants-0-on_hand"] = 4
    response = staff_client.post(product_url(variant.product), data)
    assert response.status_code == 302
    variant.refresh_from_db()
    movement = StockMovement.objects.filter(variant=variant).order_by("-id").first()
    assert movement is not None
    assert (movement.reason, movement.actor_id, movement.delta) == (
        "admin_edit",
        manager.user_id,
        -6,
    )
    assert variant.on_hand == 4 == ledger_sum(variant)


def test_new_variant_in_the_product_inline_starts_with_an_initial_movement(
    staff_client, manager, variant
):
    data = form_data(staff_client.get(product_url(variant.product)))
    data["variants-TOTAL_FORMS"] = 2
    data.update(
        {
            "variants-1-sku": "TEE-L",
            "variants-1-title": "Large",
            "variants-1-options_name_0": "size",
            "variants-1-options_value_0": "L",
            "variants-1-price": "21.00",
            "variants-1-compare_at_price": "",
            "variants-1-on_hand": 6,
            "initial-variants-1-on_hand": 0,
            "variants-1-low_stock_threshold": 5,
            "variants-1-position": 1,
        }
    )
    response = staff_client.post(product_url(variant.product), data)
    assert response.status_code == 302
    created = Variant.objects.get(sku="TEE-L")
    assert created.options == {"size": "L"}
    movement = StockMovement.objects.get(variant=created)
    assert (movement.reason, movement.actor_id, movement.delta) == ("initial", manager.user_id, 6)
    assert created.on_hand == 6 == ledger_sum(created)


def test_variant_with_stock_history_cannot_be_deleted_from_the_inline(staff_client, variant):
    data = form_data(staff_client.get(product_url(variant.product)))
    data["variants-0-DELETE"] = "on"
    response = staff_client.post(product_url(variant.product), data)
    assert response.status_code == 200
    assert "has stock history" in response.content.decode()
    assert Variant.objects.filter(pk=variant.pk).exists()
    assert ledger_sum(variant) == 10


def test_adding_a_product_with_a_variant_pins_the_brand_and_records_initial_stock(
    staff_client, manager, brand
):
    data = form_data(staff_client.get("/admin/shop/product/add/"))
    assert data["brand"] == brand.pk
    data.update(
        {
            "title": "Hoodie",
            "slug": "hoodie",
            "variants-TOTAL_FORMS": 1,
            "variants-0-sku": "HOOD-M",
            "variants-0-price": "49.00",
            "variants-0-on_hand": 8,
            "initial-variants-0-on_hand": 0,
            "variants-0-low_stock_threshold": 5,
            "variants-0-position": 0,
        }
    )
    response = staff_client.post("/admin/shop/product/add/", data)
    assert response.status_code == 302
    created = Variant.objects.select_related("product").get(sku="HOOD-M")
    assert created.product.brand == brand
    movement = StockMovement.objects.get(variant=created)
    assert (movement.reason, movement.actor_id, movement.delta) == ("initial", manager.user_id, 8)
    assert created.on_hand == 8 == ledger_sum(created)


def test_low_stock_filter_lists_products_and_variants_at_or_under_their_threshold(
    staff_client, brand
):
    low = stocked_variant(ProductFactory.create(brand=brand, title="Low"), "LOW-1", on_hand=3)
    stocked_variant(ProductFactory.create(brand=brand, title="Plenty"), "MANY-1", on_hand=50)
    sold_out = stocked_variant(ProductFactory.create(brand=brand, title="Gone"), "GONE-1", 0)

    def pks(url: str) -> set[int]:
        return {obj.pk for obj in staff_client.get(url).context["cl"].result_list}

    assert pks("/admin/shop/product/?stock=low") == {low.product_id}
    assert pks("/admin/shop/variant/?stock=low") == {low.pk}
    assert pks("/admin/shop/product/?stock=sold_out") == {sold_out.product_id}
    assert pks("/admin/shop/variant/?stock=sold_out") == {sold_out.pk}
    assert low.product_id in pks("/admin/shop/product/?stock=in_stock")
