from decimal import Decimal

import pytest
from django.db.models import Sum

from shop.models import MAX_ON_HAND, BrandMember, Product, StockMovement, Variant
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.shop.factories import BrandFactory, BrandMemberFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/brand/products/"


@pytest.fixture
def brand():
    return BrandFactory.create(slug="glow", currency="USD")


@pytest.fixture
def owner(brand):
    return BrandMemberFactory.create(brand=brand, role=BrandMember.Role.OWNER).user


@pytest.fixture
def owner_client(owner):
    return client_for(owner)


def product_body(**overrides):
    body = {
        "brand": "glow",
        "title": "Glow serum",
        "status": "active",
        "commission_rate": "15.00",
        "images": [{"url": "https://cdn.example.com/a.jpg", "width": 1000, "height": 1250}],
        "variants": [
            {"sku": "GLOW-30", "price": "24.00", "on_hand": 40, "options": {"size": "30ml"}},
            {"sku": "GLOW-50", "price": "34.50", "on_hand": 10, "options": {"size": "50ml"}},
        ],
    }
    body.update(overrides)
    return body


def test_owner_creates_a_product_with_variants_and_audited_stock(owner_client):
    response = owner_client.post(PRODUCTS, product_body(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["open_rate"] == "15.00"
    assert {v["sku"]: v["on_hand"] for v in body["variants"]} == {"GLOW-30": 40, "GLOW-50": 10}
    variant = Variant.objects.get(sku="GLOW-30")
    ledger = StockMovement.objects.filter(variant=variant).aggregate(s=Sum("delta"))["s"]
    assert ledger == 40


@pytest.mark.parametrize(
    ("override", "field", "code"),
    [
        ({"commission_rate": "150"}, "commission_rate", "max_value"),
        (
            {"variants": [{"sku": "X-1", "price": "-1.00"}]},
            "variants",
            None,
        ),
        ({"variants": [{"sku": "X-2", "price": "5.00", "on_hand": -3}]}, "variants", None),
        (
            {"variants": [{"sku": "X-3", "price": "5.00", "currency": "EUR"}]},
            "variants[0].currency",
            "currency_mismatch",
        ),
        (
            {"variants": [{"sku": "X-4", "price": "5.001"}]},
            "variants[0].price",
            "max_decimal_places",
        ),
    ],
)
def test_bad_product_input_is_400_with_field_errors_and_saves_nothing(
    owner_client, override, field, code
):
    response = owner_client.post(PRODUCTS, product_body(**override), format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert field in error["fields"]
    if code:
        assert error["fields"][field][0]["code"] == code
    assert not Product.objects.exists()
    assert not Variant.objects.exists()


def test_duplicate_sku_is_400_and_nothing_is_saved(owner_client):
    VariantFactory.create(sku="GLOW-30")
    response = owner_client.post(PRODUCTS, product_body(), format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["variants[0].sku"][0]["code"] == "sku_taken"
    assert Product.objects.count() == 1  # only the factory's


def test_viewer_can_read_but_not_write(brand):
    viewer = BrandMemberFactory.create(brand=brand, role=BrandMember.Role.VIEWER).user
    product = ProductFactory.create(brand=brand)
    client = client_for(viewer)
    assert client.get(f"{PRODUCTS}{product.pk}/").status_code == 200
    response = client.post(PRODUCTS, product_body(), format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "role_read_only"
    assert client.post(f"{PRODUCTS}{product.pk}/archive/").status_code == 403
    product.refresh_from_db()
    assert product.status == Product.Status.ACTIVE


def test_member_of_brand_a_gets_404_for_brand_b_everywhere(owner_client):
    other_product = ProductFactory.create(brand=BrandFactory.create(slug="other"))
    other_variant = VariantFactory.create(product=other_product, on_hand=5)
    assert owner_client.get(f"{PRODUCTS}{other_product.pk}/").status_code == 404
    assert owner_client.patch(f"{PRODUCTS}{other_product.pk}/", {"title": "x"}).status_code == 404
    assert owner_client.post(f"{PRODUCTS}{other_product.pk}/archive/").status_code == 404
    assert (
        owner_client.post(
            f"{PRODUCTS}{other_product.pk}/variants/", {"sku": "Z", "price": "1"}
        ).status_code
        == 404
    )
    variant_url = f"/api/v1/brand/variants/{other_variant.pk}/"
    assert owner_client.get(variant_url).status_code == 404
    assert owner_client.post(f"{variant_url}stock/", {"delta": -5}).status_code == 404
    assert owner_client.get(f"{variant_url}movements/").status_code == 404
    response = owner_client.post(PRODUCTS, product_body(brand="other"), format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "brand_not_found"
    other_variant.refresh_from_db()
    assert other_variant.on_hand == 5
    assert owner_client.get(PRODUCTS).json()["results"] == []


def test_archive_takes_a_product_out_of_the_public_catalog(owner_client, brand, api_client):
    product = ProductFactory.create(brand=brand)
    VariantFactory.create(product=product)
    assert api_client.get(f"/api/v1/products/{product.pk}/").status_code == 200
    response = owner_client.post(f"{PRODUCTS}{product.pk}/archive/")
    assert response.json()["status"] == "archived"
    assert api_client.get(f"/api/v1/products/{product.pk}/").status_code == 404


def test_stock_adjustments_go_through_the_ledger(owner_client, brand):
    variant = VariantFactory.create(product=ProductFactory.create(brand=brand), on_hand=0)
    url = f"/api/v1/brand/variants/{variant.pk}/stock/"
    assert owner_client.post(url, {"on_hand": 20, "reference": "count"}).status_code == 201
    assert owner_client.post(url, {"delta": -4}).status_code == 201
    too_many = owner_client.post(url, {"delta": -100})
    assert too_many.status_code == 409
    assert too_many.json()["error"]["code"] == "insufficient_on_hand"
    both = owner_client.post(url, {"delta": 1, "on_hand": 3})
    assert both.status_code == 400
    variant.refresh_from_db()
    assert variant.on_hand == 16
    movements = owner_client.get(f"/api/v1/brand/variants/{variant.pk}/movements/").json()
    assert [m["delta"] for m in movements["results"]] == [-4, 20]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"delta": 10_000_000_000}, "delta"),
        ({"delta": -10_000_000_000}, "delta"),
        ({"on_hand": 10_000_000_000}, "on_hand"),
        ({"delta": 2**63}, "delta"),
    ],
)
def test_stock_beyond_the_range_is_400_with_a_code(owner_client, brand, body, field):
    variant = VariantFactory.create(product=ProductFactory.create(brand=brand), on_hand=5)
    response = owner_client.post(f"/api/v1/brand/variants/{variant.pk}/stock/", body)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"][field][0]["code"] in {"max_value", "min_value"}
    variant.refresh_from_db()
    assert variant.on_hand == 5


def test_an_adjustment_that_would_overflow_the_level_is_409_and_changes_nothing(
    owner_client, brand
):
    variant = VariantFactory.create(product=ProductFactory.create(brand=brand), on_hand=0)
    url = f"/api/v1/brand/variants/{variant.pk}/stock/"
    assert owner_client.post(url, {"on_hand": MAX_ON_HAND}).status_code == 201

    response = owner_client.post(url, {"delta": 1})

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "on_hand_too_high"
    variant.refresh_from_db()
    assert variant.on_hand == MAX_ON_HAND


@pytest.mark.parametrize(
    ("field", "value"),
    [("on_hand", 10**10), ("low_stock_threshold", 10**10), ("position", 40_000)],
)
def test_a_new_variant_with_a_number_out_of_range_is_400(owner_client, brand, field, value):
    product = ProductFactory.create(brand=brand)
    response = owner_client.post(
        f"{PRODUCTS}{product.pk}/variants/",
        {"sku": "BIG", "price": "1.00", field: value},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"][field][0]["code"] == "max_value"
    assert not Variant.objects.filter(sku="BIG").exists()


def test_variant_update_cannot_touch_stock_or_sku(owner_client, brand):
    variant = VariantFactory.create(
        product=ProductFactory.create(brand=brand), on_hand=7, sku="KEEP"
    )
    url = f"/api/v1/brand/variants/{variant.pk}/"
    response = owner_client.patch(url, {"price": "9.50", "on_hand": 999})
    assert response.status_code == 200
    assert response.json()["price"] == {"amount": "9.50", "currency": "USD"}
    assert owner_client.patch(url, {"sku": "NEW"}).json()["error"]["fields"]["sku"][0]["code"] == (
        "immutable"
    )
    variant.refresh_from_db()
    assert (variant.on_hand, variant.sku, variant.price) == (7, "KEEP", Decimal("9.50"))


def test_brand_product_list_query_count_is_pinned(
    owner_client, brand, django_assert_max_num_queries
):
    for _ in range(30):
        product = ProductFactory.create(brand=brand)
        VariantFactory.create_batch(3, product=product)
    with django_assert_max_num_queries(5):
        response = owner_client.get(PRODUCTS, {"page_size": 30})
    assert len(response.json()["results"]) == 30


def test_anonymous_gets_401_on_the_brand_api(api_client):
    assert api_client.get(PRODUCTS).status_code == 401


def test_non_member_sees_an_empty_list(brand):
    ProductFactory.create(brand=brand)
    client = client_for(UserFactory.create())
    assert client.get(PRODUCTS).json()["results"] == []
