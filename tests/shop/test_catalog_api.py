import json
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from common import page_queries
from shop.api.public import PRODUCT_ORDERINGS
from shop.models import Product, Variant
from shop.selectors import product_public_ids_queryset
from tests.conftest import compiles
from tests.shop.factories import (
    BrandFactory,
    ProductFactory,
    ProductImageFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db

LIST = "/api/v1/products/"


def make_catalog(n_products=60, variants=3, images=2, brand=None):
    brand = brand or BrandFactory.create()
    products = []
    for i in range(n_products):
        product = ProductFactory.create(brand=brand, title=f"Tee {i:03d}")
        for v in range(variants):
            VariantFactory.create(product=product, price=Decimal("10.00") + v + i, on_hand=5)
        for _ in range(images):
            ProductImageFactory.create(product=product)
        products.append(product)
    return brand, products


def ids(response):
    return [p["id"] for p in response.json()["results"]]


def test_list_shows_only_active_products_of_active_brands(api_client):
    live = ProductFactory.create()
    VariantFactory.create(product=live)
    ProductFactory.create(status=Product.Status.DRAFT)
    ProductFactory.create(status=Product.Status.ARCHIVED)
    ProductFactory.create(brand=BrandFactory.create(is_active=False))
    assert ids(api_client.get(LIST)) == [live.pk]


def test_list_item_has_money_objects_images_and_availability(api_client):
    product = ProductFactory.create(brand=BrandFactory.create(currency="EUR"))
    VariantFactory.create(product=product, price=Decimal("19.90"), on_hand=3, sku="TEE-M")
    VariantFactory.create(product=product, price=Decimal("24.00"), on_hand=0, sku="TEE-L")
    ProductImageFactory.create(product=product, width=800, height=1000)
    item = api_client.get(LIST).json()["results"][0]
    assert item["price"] == {"amount": "19.90", "currency": "EUR"}
    assert item["images"][0] == {
        "url": item["images"][0]["url"],
        "width": 800,
        "height": 1000,
        "alt": "",
    }
    by_sku = {v["sku"]: v for v in item["variants"]}
    assert by_sku["TEE-M"]["available"] == 3
    assert by_sku["TEE-M"]["stock_state"] == "low_stock"
    assert by_sku["TEE-L"]["stock_state"] == "sold_out"
    assert item["in_stock"] is True


@pytest.mark.parametrize("page_size", [5, 50])
def test_list_page_costs_a_fixed_number_of_queries(api_client, page_size):
    make_catalog()
    with CaptureQueriesContext(connection) as ctx:
        response = api_client.get(LIST, {"page_size": page_size, "ordering": "price"})
    assert response.status_code == 200
    assert len(response.json()["results"]) == page_size
    # On PostgreSQL: one query reads the page's rows, stored list entries and live stock;
    # the same whatever the page size.
    assert len(ctx.captured_queries) == 1


def test_list_query_count_is_pinned_with_many_products(api_client, django_assert_max_num_queries):
    make_catalog(n_products=55, variants=4, images=3)
    with django_assert_max_num_queries(1):
        response = api_client.get(LIST, {"page_size": 50})
    assert len(response.json()["results"]) == 50


def test_cursor_pages_cover_every_product_once(api_client):
    _, products = make_catalog(n_products=25, variants=1, images=0)
    seen: list[int] = []
    url = f"{LIST}?page_size=7&ordering=title"
    while url:
        body = api_client.get(url).json()
        seen.extend(p["id"] for p in body["results"])
        url = body["next"]
    assert sorted(seen) == sorted(p.pk for p in products)
    assert len(seen) == len(set(seen))


def test_page_size_is_capped(api_client):
    make_catalog(n_products=105, variants=1, images=0)
    assert len(api_client.get(LIST, {"page_size": 1000}).json()["results"]) == 100


def test_filters_brand_category_price_and_stock(api_client):
    brand_a, brand_b = BrandFactory.create(slug="alpha"), BrandFactory.create(slug="beta")
    cheap = ProductFactory.create(brand=brand_a, category="mugs")
    VariantFactory.create(product=cheap, price=Decimal("8.00"), on_hand=0)
    pricey = ProductFactory.create(brand=brand_b, category="hoodies")
    VariantFactory.create(product=pricey, price=Decimal("80.00"), on_hand=4)
    assert ids(api_client.get(LIST, {"brand": "alpha"})) == [cheap.pk]
    assert ids(api_client.get(LIST, {"category": "hoodies"})) == [pricey.pk]
    assert ids(api_client.get(LIST, {"price_min": "50"})) == [pricey.pk]
    assert ids(api_client.get(LIST, {"price_max": "10"})) == [cheap.pk]
    assert ids(api_client.get(LIST, {"in_stock": "true"})) == [pricey.pk]
    assert ids(api_client.get(LIST, {"in_stock": "false"})) == [cheap.pk]


@pytest.mark.parametrize("value", ["null", "", "1"])
def test_in_stock_that_is_not_true_or_false_is_400_not_the_unfiltered_list(api_client, value):
    response = api_client.get(LIST, {"in_stock": value})
    assert response.status_code == 400
    assert "in_stock" in response.json()["error"]["fields"]


def test_text_search_matches_title_and_brand(api_client):
    brand = BrandFactory.create(name="Glow Labs")
    serum = ProductFactory.create(brand=brand, title="Vitamin C serum")
    VariantFactory.create(product=serum)
    other = ProductFactory.create(title="Canvas tote")
    VariantFactory.create(product=other)
    assert ids(api_client.get(LIST, {"q": "serum"})) == [serum.pk]
    assert ids(api_client.get(LIST, {"q": "glow"})) == [serum.pk]


def test_orderings_by_price_title_and_newest(api_client):
    a = ProductFactory.create(title="B")
    VariantFactory.create(product=a, price=Decimal("30"))
    b = ProductFactory.create(title="A")
    VariantFactory.create(product=b, price=Decimal("10"))
    assert ids(api_client.get(LIST, {"ordering": "price"})) == [b.pk, a.pk]
    assert ids(api_client.get(LIST, {"ordering": "-price"})) == [a.pk, b.pk]
    assert ids(api_client.get(LIST, {"ordering": "title"})) == [b.pk, a.pk]
    assert ids(api_client.get(LIST, {"ordering": "newest"})) == [b.pk, a.pk]


def test_unknown_ordering_is_a_400_with_a_code(api_client):
    response = api_client.get(LIST, {"ordering": "password"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_ordering"


def test_bad_filter_value_is_a_400_not_a_500(api_client):
    response = api_client.get(LIST, {"price_min": "cheap"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_cached_list_is_invalidated_when_a_product_changes(
    api_client, django_capture_on_commit_callbacks
):
    product = ProductFactory.create(title="Old title")
    VariantFactory.create(product=product)
    assert api_client.get(LIST).json()["results"][0]["title"] == "Old title"
    with django_capture_on_commit_callbacks(execute=True):
        product.title = "New title"
        product.save()
    assert api_client.get(LIST).json()["results"][0]["title"] == "New title"


def test_second_list_request_is_served_from_cache_without_queries(
    api_client, django_assert_num_queries
):
    make_catalog(n_products=5, variants=1, images=1)
    first = api_client.get(LIST)
    with django_assert_num_queries(0):
        second = api_client.get(LIST)
    assert second.json() == first.json()


def test_detail_reads_live_stock_even_when_the_list_is_cached(api_client):
    product = ProductFactory.create()
    variant = VariantFactory.create(product=product, on_hand=5)
    api_client.get(LIST)
    Variant.objects.filter(pk=variant.pk).update(reserved=5)
    detail = api_client.get(f"{LIST}{product.pk}/").json()
    assert detail["variants"][0]["available"] == 0
    assert detail["in_stock"] is False


def test_detail_of_draft_product_is_404(api_client):
    product = ProductFactory.create(status=Product.Status.DRAFT)
    response = api_client.get(f"{LIST}{product.pk}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "product_not_found"


def test_brand_detail_by_slug_and_inactive_brand_is_404(api_client):
    BrandFactory.create(slug="glow", name="Glow")
    BrandFactory.create(slug="gone", is_active=False)
    assert api_client.get("/api/v1/brands/glow/").json()["name"] == "Glow"
    assert api_client.get("/api/v1/brands/gone/").status_code == 404


def test_best_selling_ordering_follows_paid_units(api_client):
    from django.db import transaction

    from shop.services.stock import stock_reserve, stock_sell_reserved

    slow, hit = ProductFactory.create(title="Slow"), ProductFactory.create(title="Hit")
    slow_variant = VariantFactory.create(product=slow, on_hand=10)
    hit_variant = VariantFactory.create(product=hit, on_hand=10)
    with transaction.atomic():
        for variant, units in ((slow_variant, 1), (hit_variant, 4)):
            stock_reserve(variant_id=variant.pk, quantity=units)
            stock_sell_reserved(variant_id=variant.pk, quantity=units, reference="t")
    assert ids(api_client.get(LIST, {"ordering": "best_selling"})) == [hit.pk, slow.pk]


def test_list_fast_path_matches_the_serializer_contract():
    from rest_framework.renderers import JSONRenderer

    from shop.api.serializers import ProductPublicSerializer, product_public_data
    from shop.selectors import product_public_queryset

    product = ProductFactory.create(tags=["viral", "summer"])
    VariantFactory.create(product=product, compare_at_price=Decimal("30.00"), on_hand=2)
    VariantFactory.create(product=product, on_hand=0)
    ProductImageFactory.create(product=product)
    loaded = product_public_queryset().get(pk=product.pk)
    render = JSONRenderer().render
    assert render(product_public_data(loaded)) == render(ProductPublicSerializer(loaded).data)


def test_browsable_api_pages_are_not_cached_as_json(client):
    ProductFactory.create()
    html = client.get(LIST, HTTP_ACCEPT="text/html")
    assert html["Content-Type"].startswith("text/html")
    json_response = client.get(LIST, HTTP_ACCEPT="application/json")
    assert json_response["Content-Type"].startswith("application/json")


def test_postgres_page_json_matches_the_serializer_contract(api_client, settings):
    from shop.api.serializers import product_public_data
    from shop.selectors import product_public_queryset

    settings.CATALOG_LIST_CACHE_SECONDS = 0
    jpy = ProductFactory.create(brand=BrandFactory.create(currency="JPY"), tags=["a"])
    VariantFactory.create(product=jpy, price=Decimal("1500"), on_hand=1)
    kwd = ProductFactory.create(brand=BrandFactory.create(currency="KWD"))
    VariantFactory.create(product=kwd, price=Decimal("1.250"), compare_at_price=Decimal("2"))
    VariantFactory.create(product=kwd, price=Decimal("0.990"), on_hand=0)
    ProductImageFactory.create(product=kwd, alt="front")
    bare = ProductFactory.create()  # no variants, no images
    ids = [bare.pk, kwd.pk, jpy.pk]  # newest first
    expected = [product_public_data(product_public_queryset().get(pk=pk)) for pk in ids]
    results = api_client.get(LIST).json()["results"]
    assert results == json.loads(json.dumps(expected))


def test_with_the_list_cache_off_the_cache_is_neither_read_nor_written(api_client, settings):

    settings.CATALOG_LIST_CACHE_SECONDS = 0
    make_catalog(n_products=3, variants=1, images=0)
    with mock.patch("shop.api.public.cache") as list_cache:
        assert len(api_client.get(LIST).json()["results"]) == 3
    assert list_cache.mock_calls == []


def test_filter_parameters_are_the_declared_filters_and_any_one_applies(api_client):
    from shop.api.filters import ProductFilter

    assert ProductFilter.parameter_names() == set(ProductFilter.base_filters)
    make_catalog(n_products=3, variants=1, images=0)
    assert len(ids(api_client.get(LIST, {"price_max": "0"}))) == 0
    assert len(ids(api_client.get(LIST, {"unrelated": "x"}))) == 3
    assert len(ids(api_client.get(LIST, {"in_stock": "false"}))) == 0


@pytest.fixture
def uncached(settings):
    settings.CATALOG_LIST_CACHE_SECONDS = 0
    page_queries.forget_all()
    yield
    page_queries.forget_all()


def test_a_repeated_page_compiles_no_sql_and_still_reads_live_stock(api_client, uncached):
    product = ProductFactory.create()
    variant = VariantFactory.create(product=product, on_hand=5)
    first = compiles(lambda: api_client.get(LIST, {"page_size": 5}))
    Variant.objects.filter(pk=variant.pk).update(on_hand=2)
    second = compiles(lambda: api_client.get(LIST, {"page_size": 5}))
    assert first[0] == 1
    assert second[0] == 0
    assert first[1].json()["results"][0]["variants"][0]["available"] == 5
    assert second[1].json()["results"][0]["variants"][0]["available"] == 2


@pytest.mark.parametrize("ordering", sorted(PRODUCT_ORDERINGS))
def test_every_ordering_walks_its_pages_the_same_from_remembered_statements(
    api_client, uncached, ordering
):
    _, products = make_catalog(n_products=11, variants=1, images=0)
    # Ties on the first ordering field, so cursors need their offsets.
    Product.objects.filter(pk__in=[p.pk for p in products[:6]]).update(title="Same")
    expected = list(
        product_public_ids_queryset()
        .order_by(*PRODUCT_ORDERINGS[ordering])
        .values_list("id", flat=True)
    )
    walks = []
    for _ in range(2):  # the second walk reads every page from remembered statements
        seen: list[int] = []
        url = f"{LIST}?page_size=4&ordering={ordering}"
        while url:
            body = api_client.get(url).json()
            seen.extend(item["id"] for item in body["results"])
            url = body["next"]
        back: list[int] = []
        url = body["previous"]
        while url:
            body = api_client.get(url).json()
            back[:0] = [item["id"] for item in body["results"]]
            url = body["previous"]
        walks.append((seen, back))
    assert walks[0] == walks[1]
    assert walks[0][0] == expected
    assert walks[0][1] == expected[: len(walks[0][1])]


def test_filter_values_keep_their_own_statements(api_client, uncached):
    one, _ = make_catalog(n_products=2, variants=1, images=0)
    two, _ = make_catalog(n_products=3, variants=1, images=0)
    for _ in range(2):
        assert len(api_client.get(LIST, {"brand": one.slug}).json()["results"]) == 2
        assert len(api_client.get(LIST, {"brand": two.slug}).json()["results"]) == 3
        response = api_client.get(LIST, {"brand": one.slug, "price_min": "cheap"})
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid"
