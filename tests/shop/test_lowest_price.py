"""The product's stored lowest price follows every variant write, and price lists read it."""

from decimal import Decimal

import pytest
from django.db import connection
from rest_framework.test import APIClient

from shop.models import Product, Variant
from tests.shop.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


def _lowest(product: Product) -> Decimal | None:
    return Product.objects.values_list("lowest_price", flat=True).get(pk=product.pk)


def test_a_new_product_has_no_price_until_it_has_variants():
    product = ProductFactory.create()
    assert _lowest(product) is None


def test_inserting_variants_stores_the_lowest_of_their_prices():
    product = ProductFactory.create()
    Variant.objects.bulk_create(
        VariantFactory.build(product=product, price=Decimal(price)) for price in ("30", "12.5")
    )
    assert _lowest(product) == Decimal("12.5")


def test_a_price_change_raises_or_lowers_it():
    product = ProductFactory.create()
    cheap = VariantFactory.create(product=product, price=Decimal("10"))
    VariantFactory.create(product=product, price=Decimal("20"))

    Variant.objects.filter(pk=cheap.pk).update(price=Decimal("25"))
    assert _lowest(product) == Decimal("20")

    Variant.objects.filter(pk=cheap.pk).update(price=Decimal("5"))
    assert _lowest(product) == Decimal("5")


def test_deleting_or_moving_the_cheapest_variant_updates_both_products():
    first, second = ProductFactory.create(), ProductFactory.create()
    cheap = VariantFactory.create(product=first, price=Decimal("3"))
    VariantFactory.create(product=first, price=Decimal("8"))
    VariantFactory.create(product=second, price=Decimal("9"))

    Variant.objects.filter(pk=cheap.pk).update(product=second)
    assert (_lowest(first), _lowest(second)) == (Decimal("8"), Decimal("3"))

    Variant.objects.filter(pk=cheap.pk).delete()
    assert _lowest(second) == Decimal("9")


def test_saving_a_product_with_a_stale_price_in_memory_keeps_the_true_one():
    product = ProductFactory.create()
    VariantFactory.create(product=product, price=Decimal("10"))
    stale = Product.objects.get(pk=product.pk)
    Variant.objects.filter(product=product).update(price=Decimal("4"))

    stale.title = "Renamed"
    stale.save()

    assert _lowest(product) == Decimal("4")


def test_stock_updates_leave_the_product_row_alone():
    product = ProductFactory.create()
    variant = VariantFactory.create(product=product, price=Decimal("10"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT ctid::text FROM shop_product WHERE id = %s", [product.pk])
        before = cursor.fetchone()
        Variant.objects.filter(pk=variant.pk).update(on_hand=7, reserved=2)
        cursor.execute("SELECT ctid::text FROM shop_product WHERE id = %s", [product.pk])
        assert cursor.fetchone() == before  # no new row version
        Variant.objects.filter(pk=variant.pk).update(price=Decimal("9"))
        cursor.execute("SELECT ctid::text FROM shop_product WHERE id = %s", [product.pk])
        assert cursor.fetchone() != before  # while a price change does write one


def test_the_list_ordered_by_price_follows_the_stored_price():
    prices = {"b": "7", "a": "3", "c": "11"}
    for slug, price in prices.items():
        product = ProductFactory.create(slug=slug, status=Product.Status.ACTIVE)
        VariantFactory.create(product=product, price=Decimal(price))

    ascending = APIClient().get("/api/v1/products/?ordering=price").json()["results"]
    descending = APIClient().get("/api/v1/products/?ordering=-price").json()["results"]

    assert [item["slug"] for item in ascending] == ["a", "b", "c"]
    assert [item["slug"] for item in descending] == ["c", "b", "a"]
