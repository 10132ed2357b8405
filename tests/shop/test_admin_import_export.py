"""CSV export and import of products and variants in the admin, scoped to the user's brands."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum
from django.test import Client

from shop.admin.resources import ProductVariantResource
from shop.models import Brand, BrandMember, Product, StockMovement, Variant
from tests.factories import UserFactory
from tests.shop.factories import BrandFactory, BrandMemberFactory, ProductFactory
from tests.shop.test_admin_scoping import stocked_variant

pytestmark = pytest.mark.django_db

IMPORT_URL = "/admin/shop/product/import/"
CONFIRM_URL = "/admin/shop/product/process_import/"
EXPORT_URL = "/admin/shop/product/export/"
HEADER = [
    "brand",
    "product_slug",
    "product_title",
    "status",
    "sku",
    "variant_title",
    "price",
    "on_hand",
]


def ledger_sum(variant: Variant) -> int:
    return StockMovement.objects.filter(variant=variant).aggregate(s=Sum("delta"))["s"] or 0


def csv_file(rows: list[list[object]], header: list[str] = HEADER) -> SimpleUploadedFile:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return SimpleUploadedFile("catalog.csv", out.getvalue().encode(), content_type="text/csv")


def preview(client: Client, rows: list[list[object]], header: list[str] = HEADER):
    response = client.post(
        IMPORT_URL, {"resource": "0", "format": "0", "import_file": csv_file(rows, header)}
    )
    assert response.status_code == 200
    return response


def confirm(client: Client, preview_response) -> None:
    confirm_form = preview_response.context["confirm_form"]
    response = client.post(CONFIRM_URL, {**confirm_form.initial, "confirm": "Confirm import"})
    assert response.status_code == 302


def errors_by_row(result) -> dict[int, set[str]]:
    return {row.number: set(row.field_specific_errors) for row in result.invalid_rows}


def export_rows(client: Client) -> list[dict[str, str]]:
    fields = {
        f"productvariantresource_{name}": "on"
        for name in ProductVariantResource().get_export_order()
    }
    response = client.post(EXPORT_URL, {"format": "0", "resource": "0", **fields})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


@pytest.fixture
def brand_a() -> Brand:
    return BrandFactory.create(slug="alpha", currency="USD")


@pytest.fixture
def brand_b() -> Brand:
    return BrandFactory.create(slug="bravo", currency="USD")


@pytest.fixture
def catalog(brand_a: Brand, brand_b: Brand) -> dict[str, Variant]:
    tee = ProductFactory.create(brand=brand_a, slug="tee", title="Tee")
    boot = ProductFactory.create(brand=brand_b, slug="boot", title="Boot")
    return {
        "a1": stocked_variant(tee, "ALPHA-M", on_hand=10),
        "a2": stocked_variant(tee, "ALPHA-L", on_hand=4),
        "b": stocked_variant(boot, "BRAVO-1", on_hand=8),
    }


@pytest.fixture
def manager(brand_a: Brand) -> BrandMember:
    return BrandMemberFactory.create(brand=brand_a, role=BrandMember.Role.MANAGER)


@pytest.fixture
def client_a(client: Client, manager: BrandMember) -> Client:
    client.force_login(manager.user)
    return client


# --- export --------------------------------------------------------------------------


def test_csv_export_contains_only_own_brand_rows(client_a, catalog):
    rows = export_rows(client_a)
    assert sorted(row["sku"] for row in rows) == ["ALPHA-L", "ALPHA-M"]
    assert {row["brand"] for row in rows} == {"alpha"}
    by_sku = {row["sku"]: row for row in rows}
    assert (by_sku["ALPHA-M"]["price"], by_sku["ALPHA-M"]["on_hand"]) == ("19.99", "10")


def test_csv_export_for_superuser_contains_every_brand(client, catalog):
    client.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    assert sorted(row["sku"] for row in export_rows(client)) == ["ALPHA-L", "ALPHA-M", "BRAVO-1"]


def test_reimporting_an_export_changes_nothing(client_a, catalog):
    rows = export_rows(client_a)
    header = list(rows[0])
    response = preview(client_a, [[row[c] for c in header] for row in rows], header)
    result = response.context["result"]
    assert not result.has_errors()
    assert not result.has_validation_errors()
    assert [row.import_type for row in result.rows] == ["skip", "skip"]


# --- import: preview, errors, confirm ---------------------------------------------------


def test_import_preview_shows_changes_and_saves_nothing(client_a, catalog):
    movements = StockMovement.objects.count()
    response = preview(
        client_a,
        [
            ["alpha", "hoodie", "Hoodie", "draft", "HOOD-M", "Medium", "49.00", 5],
            ["alpha", "tee", "Tee", "active", "ALPHA-M", "Default", "19.99", 3],
        ],
    )
    result = response.context["result"]
    assert [row.import_type for row in result.rows] == ["new", "update"]
    assert "confirm_form" in response.context
    assert not Product.objects.filter(slug="hoodie").exists()
    assert not Variant.objects.filter(sku="HOOD-M").exists()
    catalog["a1"].refresh_from_db()
    assert catalog["a1"].on_hand == 10
    assert StockMovement.objects.count() == movements


def test_import_rows_for_other_brands_or_unknown_brands_are_row_errors(client_a, catalog):
    response = preview(
        client_a,
        [
            ["alpha", "boot", "Boot", "active", "BRAVO-1", "Hijack", "1.00", 0],
            ["bravo", "boot", "Boot", "active", "BRAVO-1", "Hijack", "1.00", 0],
            ["bravo", "new-boot", "New Boot", "active", "BRAVO-2", "", "1.00", 0],
            ["nowhere", "thing", "Thing", "active", "NOPE-1", "", "1.00", 0],
            ["alpha", "tee", "Tee", "active", "ALPHA-M", "Default", "19.99", 7],
        ],
    )
    result = response.context["result"]
    assert errors_by_row(result) == {1: {"sku"}, 2: {"brand"}, 3: {"brand"}, 4: {"brand"}}
    assert [row.import_type for row in result.valid_rows()] == ["update"]
    body = response.content.decode()
    assert "Unknown brand" in body
    assert "belongs to another brand" in body
    assert "confirm_form" in response.context


def test_confirm_saves_only_the_valid_rows(client_a, manager, catalog, brand_b):
    response = preview(
        client_a,
        [
            ["bravo", "boot", "Boot", "active", "BRAVO-1", "Hijack", "1.00", 0],
            ["alpha", "hoodie", "Hoodie", "draft", "HOOD-M", "Medium", "49.00", 5],
            ["alpha", "tee", "Tee", "active", "ALPHA-M", "Default", "19.99", 3],
            ["alpha", "cap", "Cap", "active", "CAP-1", "", "9.999", 1],
        ],
    )
    assert errors_by_row(response.context["result"]) == {1: {"brand"}, 4: {"price"}}
    confirm(client_a, response)

    hoodie = Variant.objects.select_related("product").get(sku="HOOD-M")
    assert (hoodie.product.brand_id, hoodie.product.title, hoodie.on_hand) == (
        catalog["a1"].product.brand_id,
        "Hoodie",
        5,
    )
    assert not Product.objects.filter(slug="cap").exists()
    other = catalog["b"]
    other.refresh_from_db()
    assert (other.title, other.on_hand, str(other.price)) == ("Default", 8, "19.990")
    assert Product.objects.filter(brand=brand_b).count() == 1
    for variant in (hoodie, catalog["a1"]):
        variant.refresh_from_db()
        last = StockMovement.objects.filter(variant=variant).order_by("-id").first()
        assert last is not None
        assert (last.reason, last.actor_id) == (StockMovement.Reason.IMPORT, manager.user_id)
        assert variant.on_hand == ledger_sum(variant)
    assert catalog["a1"].on_hand == 3


def test_import_with_only_errors_offers_no_confirm(client_a, catalog):
    response = preview(client_a, [["bravo", "boot", "Boot", "active", "BRAVO-1", "", "1.00", 0]])
    assert response.context["result"].has_validation_errors()
    assert "confirm_form" not in response.context


def test_several_rows_of_one_new_product_create_one_product(client_a, brand_a):
    response = preview(
        client_a,
        [
            ["alpha", "sock", "Sock", "active", "SOCK-S", "S", "5.00", 1],
            ["alpha", "sock", "Sock", "active", "SOCK-L", "L", "5.00", 2],
        ],
    )
    confirm(client_a, response)
    product = Product.objects.get(brand=brand_a, slug="sock")
    assert sorted(product.variants.values_list("sku", flat=True)) == ["SOCK-L", "SOCK-S"]


def test_viewer_cannot_import(client, brand_a, catalog):
    viewer = BrandMemberFactory.create(brand=brand_a, role=BrandMember.Role.VIEWER)
    client.force_login(viewer.user)
    assert client.get(IMPORT_URL).status_code == 403
    assert len(export_rows(client)) == 2
