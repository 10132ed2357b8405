"""The stored list entries (ProductListing): the list they render, and every way they are kept.

Each test changes the catalog through one write path and then holds the public list to
ProductPublicSerializer rendered from the database as it is now.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.renderers import JSONRenderer

from shop.api.serializers import ProductPublicSerializer
from shop.models import Brand, BrandMember, Product, ProductImage, ProductListing, Variant
from shop.selectors import product_public_queryset
from shop.services.catalog import product_set_status, product_update, variant_update
from shop.services.stock import stock_adjust, stock_reserve, stock_sell_reserved, stock_set
from tests.conftest import client_for
from tests.shop.factories import (
    BrandFactory,
    BrandMemberFactory,
    ProductFactory,
    ProductImageFactory,
    VariantFactory,
)
from tests.shop.test_admin_import_export import confirm, preview
from tests.shop.test_admin_scoping import form_data

pytestmark = pytest.mark.django_db

LIST = "/api/v1/products/"


def serialized(product_ids: list[int]) -> list[dict]:
    """What ProductPublicSerializer says the list holds for these products, now."""
    products = {p.pk: p for p in product_public_queryset().filter(pk__in=product_ids)}
    render = JSONRenderer().render
    return [json.loads(render(ProductPublicSerializer(products[pk]).data)) for pk in product_ids]


def listed(api_client, **params) -> list[dict]:
    response = api_client.get(LIST, {"page_size": 100, **params})
    assert response.status_code == 200, response.content
    return response.json()["results"]


def assert_list_is_current(api_client) -> list[dict]:
    items = listed(api_client)
    assert items == serialized([item["id"] for item in items])
    return items


def listing_version(product: Product) -> int:
    """The transaction id that last wrote the product's stored entry (PostgreSQL's xmin)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT xmin::text::bigint FROM shop_productlisting WHERE product_id = %s",
            [product.pk],
        )
        return int(cursor.fetchone()[0])


@pytest.fixture(autouse=True)
def _list_cache_off(settings):
    settings.CATALOG_LIST_CACHE_SECONDS = 0


@pytest.fixture
def brand() -> Brand:
    return BrandFactory.create(slug="glow", currency="USD")


@pytest.fixture
def product(brand: Brand) -> Product:
    product = ProductFactory.create(brand=brand, title="Serum", tags=["viral"])
    VariantFactory.create(product=product, sku="S-30", price=Decimal("24.00"), on_hand=40)
    VariantFactory.create(
        product=product,
        sku="S-50",
        price=Decimal("34.50"),
        compare_at_price=Decimal("40.00"),
        on_hand=3,
        position=1,
    )
    ProductImageFactory.create(product=product, alt="front")
    return product


# --- what the list renders ----------------------------------------------------------------


def test_list_matches_the_serializer_in_every_currency_and_shape(api_client):
    jpy = ProductFactory.create(brand=BrandFactory.create(currency="JPY"), tags=["a"])
    VariantFactory.create(product=jpy, price=Decimal("1500"), on_hand=1)
    kwd = ProductFactory.create(brand=BrandFactory.create(currency="KWD"))
    VariantFactory.create(product=kwd, price=Decimal("1.250"), compare_at_price=Decimal("2"))
    VariantFactory.create(product=kwd, price=Decimal("0.990"), on_hand=0)
    ProductImageFactory.create(product=kwd, alt='quote " and \\ backslash')
    ProductFactory.create(title="Tab\tand unicode é", description="line\nbreak")  # no variants
    # Percent signs everywhere the entry's literal text holds them (its slots are %s).
    percent = ProductFactory.create(title="100% cotton %s", description="%d %% %(x)s")
    VariantFactory.create(product=percent, title="50%s off", options={"cut": "%s"})
    ProductImageFactory.create(product=percent, alt="%", url="https://cdn.example.com/a%20b.jpg")
    Product.objects.filter(pk=jpy.pk).update(created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    items = assert_list_is_current(api_client)
    assert len(items) == 4
    by_id = {item["id"]: item for item in items}
    assert by_id[jpy.pk]["created_at"] == "2026-01-02T03:04:05Z"
    assert by_id[kwd.pk]["price"] == {"amount": "0.990", "currency": "KWD"}
    assert by_id[percent.pk]["title"] == "100% cotton %s"
    with CaptureQueriesContext(connection) as queries:
        listed(api_client)
    assert len(queries.captured_queries) == 1  # every stored entry was used, none rebuilt


def test_every_ordering_and_filter_renders_the_same_entries(api_client, product):
    other = ProductFactory.create(title="Balm")
    VariantFactory.create(product=other, on_hand=0)
    for params in (
        {"ordering": "price"},
        {"ordering": "-title"},
        {"ordering": "best_selling"},
        {"in_stock": "false"},
        {"q": "serum", "brand": "glow"},
        {"price_min": "20"},
    ):
        items = listed(api_client, **params)
        assert items, params
        assert items == serialized([item["id"] for item in items]), params


def test_a_page_is_one_query_whatever_its_size(api_client):
    for i in range(30):
        product = ProductFactory.create(title=f"Tee {i}")
        VariantFactory.create_batch(3, product=product)
        ProductImageFactory.create_batch(2, product=product)
    for page_size in (5, 30):
        with CaptureQueriesContext(connection) as queries:
            response = api_client.get(LIST, {"page_size": page_size, "ordering": "price"})
        assert len(response.json()["results"]) == page_size
        assert len(queries.captured_queries) == 1


def test_later_pages_send_one_statement_that_psycopg_prepares_once_run_often(api_client):
    for i in range(8):
        VariantFactory.create(product=ProductFactory.create(title=f"Tee {i}"))
    pages = [api_client.get(LIST, {"page_size": 1, "ordering": "title"}).json()]
    with CaptureQueriesContext(connection) as queries:
        for _ in range(7):
            pages.append(api_client.get(pages[-1]["next"]).json())
    # Every later page is one query: the same statement (a cursor position), its own values.
    assert len(queries.captured_queries) == 7
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%shop_productlisting%"],
        )
        assert cursor.fetchone()[0] >= 1
    titles = [item["title"] for page in pages for item in page["results"]]
    assert titles == [f"Tee {i}" for i in range(8)]


def test_a_product_without_a_stored_entry_is_rendered_in_one_more_query(api_client, product):
    ProductListing.objects.filter(product=product).delete()
    with CaptureQueriesContext(connection) as queries:
        items = listed(api_client)
    assert items == serialized([product.pk])
    assert len(queries.captured_queries) == 2


@pytest.mark.parametrize(
    "template",
    [
        '{"in_stock" : %s}',  # fewer slots than in_stock and two variants
        "%s %s %s %s",  # more
        "%s %s %s 100%x",  # an unescaped percent sign
    ],
)
def test_an_entry_that_disagrees_with_its_variants_is_rendered_afresh(
    api_client, product, template
):
    ProductListing.objects.filter(product=product).update(template=template)
    with CaptureQueriesContext(connection) as queries:
        items = listed(api_client)
    assert items == serialized([product.pk])
    assert len(items[0]["variants"]) == 2
    assert len(queries.captured_queries) == 2


def test_stock_is_live_and_never_rewrites_the_entry(api_client, product):
    variant = product.variants.get(sku="S-50")
    before = listing_version(product)
    with transaction.atomic():
        stock_reserve(variant_id=variant.pk, quantity=2)
        stock_sell_reserved(variant_id=variant.pk, quantity=1, reference="order 1")
        stock_adjust(variant_id=variant.pk, delta=-2, reason="correction")
    items = assert_list_is_current(api_client)
    states = {v["sku"]: (v["available"], v["stock_state"]) for v in items[0]["variants"]}
    assert states["S-50"] == (0, "sold_out")  # 3 on hand - 1 sold - 2 corrected, 1 reserved
    with transaction.atomic():
        stock_set(variant_id=variant.pk, on_hand=100, reason="feed_sync")
    items = assert_list_is_current(api_client)
    assert items[0]["variants"][1]["available"] == 99
    assert listing_version(product) == before


# --- every write path keeps the entry current -----------------------------------------------


def test_brand_api_updates_of_products_and_variants(api_client, brand, product):
    owner = BrandMemberFactory.create(brand=brand, role=BrandMember.Role.OWNER).user
    client = client_for(owner)
    response = client.patch(f"/api/v1/brand/products/{product.pk}/", {"title": "Serum Max"})
    assert response.status_code == 200, response.content
    variant = product.variants.get(sku="S-30")
    response = client.patch(f"/api/v1/brand/variants/{variant.pk}/", {"price": "19.00"})
    assert response.status_code == 200, response.content
    response = client.post(
        f"/api/v1/brand/products/{product.pk}/variants/",
        {"sku": "S-100", "price": "49.00", "on_hand": 2, "options": {"size": "100ml"}},
        format="json",
    )
    assert response.status_code == 201, response.content
    items = assert_list_is_current(api_client)
    assert items[0]["title"] == "Serum Max"
    assert items[0]["price"] == {"amount": "19.00", "currency": "USD"}
    assert [v["sku"] for v in items[0]["variants"]] == ["S-30", "S-100", "S-50"]


def test_catalog_services_and_status_changes(api_client, brand, product):
    owner = BrandMemberFactory.create(brand=brand, role=BrandMember.Role.OWNER).user
    product_update(
        user=owner,
        product=product,
        description="New words",
        images=[{"url": "https://cdn.example.com/b.jpg", "width": 10, "height": 20}],
    )
    variant_update(user=owner, variant=product.variants.get(sku="S-50"), position=0)
    items = assert_list_is_current(api_client)
    assert items[0]["images"] == [
        {"url": "https://cdn.example.com/b.jpg", "width": 10, "height": 20, "alt": ""}
    ]
    product_set_status(user=owner, product_ids=[product.pk], status=Product.Status.ARCHIVED)
    assert listed(api_client) == []
    product_set_status(user=owner, product_ids=[product.pk], status=Product.Status.ACTIVE)
    assert_list_is_current(api_client)


def test_admin_edits_of_product_variants_and_brand(api_client, client, brand, product):
    member = BrandMemberFactory.create(brand=brand, role=BrandMember.Role.MANAGER)
    client.force_login(member.user)
    url = f"/admin/shop/product/{product.pk}/change/"
    data = form_data(client.get(url))
    data["title"] = "Serum (admin)"
    data["variants-0-price"] = "22.00"
    data["variants-1-title"] = "Big bottle"
    assert client.post(url, data).status_code == 302
    items = assert_list_is_current(api_client)
    assert items[0]["title"] == "Serum (admin)"
    assert items[0]["variants"][1]["title"] == "Big bottle"
    Brand.objects.filter(pk=brand.pk).update(name="Glow Labs", logo_url="https://x.example/l.png")
    items = assert_list_is_current(api_client)
    assert items[0]["brand"]["name"] == "Glow Labs"


def test_admin_csv_import_of_new_and_changed_rows(api_client, client, brand, product):
    member = BrandMemberFactory.create(brand=brand, role=BrandMember.Role.MANAGER)
    client.force_login(member.user)
    product.slug = "serum"
    product.save()
    response = preview(
        client,
        [
            ["glow", "serum", "Serum (CSV)", "active", "S-30", "Small", "21.00", 5],
            ["glow", "mask", "Mask", "active", "MASK-1", "One", "12.00", 3],
        ],
    )
    confirm(client, response)
    items = assert_list_is_current(api_client)
    titles = {item["title"] for item in items}
    assert titles == {"Serum (CSV)", "Mask"}


def test_bulk_and_raw_writes(api_client, brand, product):
    other = ProductFactory.create(brand=brand, title="Balm")
    Variant.objects.bulk_create(
        [Variant(product=other, sku=f"B-{i}", price=Decimal(i + 1), position=i) for i in range(3)]
    )
    ProductImage.objects.bulk_create(
        [ProductImage(product=other, url="https://cdn.example.com/c.jpg", width=1, height=1)]
    )
    Product.objects.filter(brand=brand).update(category="skin")
    Variant.objects.filter(product=other, sku="B-0").update(price=Decimal("0.50"))
    ProductImage.objects.filter(product=product).update(alt="changed")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE shop_brand SET currency = 'EUR' WHERE id = %s", [brand.pk])
    items = assert_list_is_current(api_client)
    assert {item["category"] for item in items} == {"skin"}
    assert {item["price"]["currency"] for item in items} == {"EUR"}


def test_deleting_variants_images_and_products(api_client, brand, product):
    product.variants.get(sku="S-50").delete()
    product.images.all().delete()
    items = assert_list_is_current(api_client)
    assert [v["sku"] for v in items[0]["variants"]] == ["S-30"]
    assert items[0]["images"] == []
    product.delete()
    assert not ProductListing.objects.filter(product_id=product.pk).exists()
    connection.check_constraints()  # nothing left pointing at the deleted product
    assert listed(api_client) == []


def test_a_variant_moved_to_another_product_leaves_the_first(api_client, brand, product):
    other = ProductFactory.create(brand=brand, title="Balm")
    Variant.objects.filter(sku="S-50").update(product=other)
    items = assert_list_is_current(api_client)
    skus = {item["title"]: [v["sku"] for v in item["variants"]] for item in items}
    assert skus == {"Serum": ["S-30"], "Balm": ["S-50"]}


@pytest.mark.django_db(transaction=True)
def test_concurrent_edits_of_one_products_variants_both_reach_the_entry(api_client):
    product = ProductFactory.create()
    first = VariantFactory.create(product=product, price=Decimal("10.00"))
    second = VariantFactory.create(product=product, price=Decimal("20.00"), position=1)
    first_saved, second_started = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def edit_first() -> None:
        try:
            with transaction.atomic():
                Variant.objects.filter(pk=first.pk).update(price=Decimal("11.00"))
                first_saved.set()
                second_started.wait(5)
                threading.Event().wait(0.3)  # the other writer waits on the entry meanwhile
        except BaseException as exc:  # pragma: no cover - surfaced below
            errors.append(exc)
        finally:
            connection.close()

    def edit_second() -> None:
        try:
            first_saved.wait(5)
            with transaction.atomic():
                second_started.set()
                Variant.objects.filter(pk=second.pk).update(price=Decimal("21.00"))
        except BaseException as exc:  # pragma: no cover - surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=edit_first), threading.Thread(target=edit_second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    items = assert_list_is_current(api_client)
    assert [v["price"]["amount"] for v in items[0]["variants"]] == ["11.00", "21.00"]
