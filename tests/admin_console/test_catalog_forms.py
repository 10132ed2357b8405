"""Product tags, variant options and a size and colour matrix, typed the way people type them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from common.errors import Forbidden, ValidationFailed
from shop.models import Brand, BrandMember, Product, StockMovement, Variant
from shop.services.variant_matrix import variant_matrix_create
from tests.shop.factories import BrandFactory, BrandMemberFactory, ProductFactory
from tests.shop.test_admin_scoping import form_data, stocked_variant

pytestmark = pytest.mark.django_db


@pytest.fixture
def brand() -> Brand:
    return BrandFactory.create(currency="USD")


@pytest.fixture
def manager(brand: Brand) -> BrandMember:
    return BrandMemberFactory.create(brand=brand, role=BrandMember.Role.MANAGER)


@pytest.fixture
def staff(client: Client, manager: BrandMember) -> Client:
    client.force_login(manager.user)
    return client


@pytest.fixture
def product(brand: Brand) -> Product:
    return ProductFactory.create(brand=brand, title="Tee", slug="tee")


def product_url(product: Product) -> str:
    return f"/admin/shop/product/{product.pk}/change/"


# --- tags -----------------------------------------------------------------------------


def test_comma_separated_tags_are_stored_as_a_list(staff, product):
    data = form_data(staff.get(product_url(product)))
    data["tags"] = "summer,  skincare , Summer,"

    response = staff.post(product_url(product), data)

    assert response.status_code == 302
    product.refresh_from_db()
    assert product.tags == ["summer", "skincare"]


def test_stored_tags_are_shown_as_comma_separated_text(staff, product):
    product.tags = ["summer", "skincare"]
    product.save()

    form = staff.get(product_url(product)).context["adminform"].form

    assert form["tags"].value() == "summer, skincare"
    assert 'value="summer, skincare"' in str(form["tags"])


def test_a_tag_longer_than_the_api_allows_is_a_form_error_in_words(staff, product):
    data = form_data(staff.get(product_url(product)))
    data["tags"] = "summer, " + "x" * 51

    response = staff.post(product_url(product), data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["tags"]
    assert errors == [f"A tag has at most 50 characters: shorten “{'x' * 51}”."]


# --- options --------------------------------------------------------------------------


def variant_url(variant: Variant) -> str:
    return f"/admin/shop/variant/{variant.pk}/change/"


def test_variant_options_are_edited_as_name_and_value_fields(staff, product):
    variant = stocked_variant(product, "TEE-M")
    data = form_data(staff.get(variant_url(variant)))
    assert "options" not in data
    data.update({"options_name_0": "size", "options_value_0": "M"})
    data.update({"options_name_1": "colour", "options_value_1": "sand"})

    response = staff.post(variant_url(variant), data)

    assert response.status_code == 302
    variant.refresh_from_db()
    assert variant.options == {"size": "M", "colour": "sand"}


def test_stored_options_fill_the_name_and_value_fields(staff, product):
    variant = stocked_variant(product, "TEE-M")
    Variant.objects.filter(pk=variant.pk).update(options={"size": "M", "colour": "sand"})

    page = staff.get(variant_url(variant)).content.decode()

    assert 'name="options_name_0" value="size"' in page
    assert 'name="options_value_1" value="sand"' in page


def test_an_option_value_without_a_name_is_a_form_error(staff, product):
    variant = stocked_variant(product, "TEE-M")
    data = form_data(staff.get(variant_url(variant)))
    data.update({"options_name_0": "", "options_value_0": "M"})

    response = staff.post(variant_url(variant), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["options"] == [
        "Give the value “M” a name, such as size or colour."
    ]


def test_a_variant_with_more_options_than_the_default_pairs_keeps_them_all(staff, product):
    variant = stocked_variant(product, "TEE-M")
    many = {"size": "M", "colour": "sand", "fit": "loose", "fabric": "linen"}
    Variant.objects.filter(pk=variant.pk).update(options=many)
    data = form_data(staff.get(variant_url(variant)))
    data["title"] = "Renamed"

    assert staff.post(variant_url(variant), data).status_code == 302

    variant.refresh_from_db()
    assert variant.options == many
    assert variant.title == "Renamed"


# --- size and colour matrix -------------------------------------------------------------


def test_matrix_creates_one_variant_per_size_and_colour_with_initial_stock(manager, product):
    result = variant_matrix_create(
        user=manager.user,
        product_id=product.pk,
        sizes=["S", "M"],
        colours=["black", "sand stone"],
        price=Decimal("20.00"),
        sku_prefix="tee",
        on_hand=4,
    )

    assert sorted(v.sku for v in result.created) == [
        "TEE-M-BLACK",
        "TEE-M-SAND-STONE",
        "TEE-S-BLACK",
        "TEE-S-SAND-STONE",
    ]
    sand = Variant.objects.get(sku="TEE-S-SAND-STONE")
    assert sand.options == {"size": "S", "colour": "sand stone"}
    assert sand.title == "S / sand stone"
    assert sand.price == Decimal("20.00")
    assert sand.on_hand == 4
    movement = StockMovement.objects.get(variant=sand)
    assert (movement.reason, movement.delta, movement.actor_id) == ("initial", 4, manager.user_id)


def test_running_the_matrix_again_adds_only_the_missing_combinations(manager, product):
    common = {"user": manager.user, "product_id": product.pk, "price": Decimal("5")}
    variant_matrix_create(sizes=["S"], colours=["black"], sku_prefix="T", **common)

    result = variant_matrix_create(sizes=["S", "M"], colours=["Black"], sku_prefix="T", **common)

    assert [v.sku for v in result.created] == ["T-M-BLACK"]
    assert result.skipped == [("S", "Black")]
    assert product.variants.count() == 2


def test_a_viewer_cannot_run_the_matrix(brand, product):
    viewer = BrandMemberFactory.create(brand=brand, role=BrandMember.Role.VIEWER)
    with pytest.raises(Forbidden):
        variant_matrix_create(
            user=viewer.user,
            product_id=product.pk,
            sizes=["S"],
            colours=["red"],
            price=Decimal(1),
            sku_prefix="X",
        )
    assert not product.variants.exists()


def test_a_matrix_whose_sku_is_taken_creates_nothing(manager, product):
    stocked_variant(ProductFactory.create(), "TEE-M-RED")
    with pytest.raises(ValidationFailed):
        variant_matrix_create(
            user=manager.user,
            product_id=product.pk,
            sizes=["S", "M"],
            colours=["red"],
            price=Decimal(1),
            sku_prefix="TEE",
        )
    assert not product.variants.exists()


def test_the_matrix_page_creates_variants_and_returns_to_the_product(staff, product):
    url = f"/admin/shop/product/{product.pk}/variant-matrix/"
    page = staff.get(url)
    assert page.status_code == 200
    assert page.context["form"]["sku_prefix"].value() == "TEE"

    response = staff.post(
        url,
        {
            "sizes": "S, M, L",
            "colours": "black, white",
            "price": "18.00",
            "sku_prefix": "TEE",
            "on_hand": "2",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == product_url(product)
    assert product.variants.count() == 6
    assert Variant.objects.get(sku="TEE-L-WHITE").on_hand == 2


def test_the_matrix_page_shows_a_price_with_too_many_decimals_in_words(staff, product):
    url = f"/admin/shop/product/{product.pk}/variant-matrix/"
    response = staff.post(
        url,
        {"sizes": "S", "colours": "red", "price": "1.005", "sku_prefix": "TEE", "on_hand": "0"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["price"] == ["USD amounts have at most 2 decimals."]
    assert not product.variants.exists()


def test_another_brands_matrix_page_is_not_found(staff):
    other = ProductFactory.create()
    response = staff.get(f"/admin/shop/product/{other.pk}/variant-matrix/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert not other.variants.exists()


def test_the_product_list_action_sends_one_product_to_its_matrix_page(staff, product):
    response = staff.post(
        "/admin/shop/product/",
        {"action": "add_variant_matrix", "_selected_action": [product.pk]},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/admin/shop/product/{product.pk}/variant-matrix/"
