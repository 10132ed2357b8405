"""`stock_live_get`: the live stock a stored page reads in one statement."""

from __future__ import annotations

import pytest

from shop.selectors import IdArray, StockLevel, stock_live_get
from tests.shop.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


def product_with(*stock: tuple[int, int, int]):
    """A product with a variant per (on_hand, reserved, low_stock_threshold)."""
    product = ProductFactory.create()
    for on_hand, reserved, threshold in stock:
        VariantFactory.create(
            product=product, on_hand=on_hand, reserved=reserved, low_stock_threshold=threshold
        )
    return product


def test_only_scarce_products_come_back_summed_over_their_variants():
    plenty = product_with((9, 0, 5), (9, 9, 5))
    low = product_with((2, 0, 5), (4, 3, 2))  # 2 + 1 left, under the larger threshold
    sold_out = product_with((3, 3, 5), (0, 0, 1))
    bare = ProductFactory.create()  # no variant at all: nothing to sell

    stock = stock_live_get(product_ids=[plenty.pk, low.pk, sold_out.pk, bare.pk])

    assert stock.scarce == {
        low.pk: StockLevel(3, 5),
        sold_out.pk: StockLevel(0, 5),
        bare.pk: StockLevel(0, 0),
    }
    assert stock.variants == {}


def test_a_stored_id_array_asks_the_same_as_a_list_and_every_variant_comes_back():
    low = product_with((1, 0, 5))
    shown = product_with((9, 2, 5), (0, 0, 5))
    ids = IdArray.of([low.pk, low.pk, shown.pk])

    from_array = stock_live_get(product_ids=ids, variant_product_ids=[shown.pk])
    from_list = stock_live_get(product_ids=[shown.pk, low.pk], variant_product_ids=[shown.pk])

    assert ids.literal == "{" + f"{min(low.pk, shown.pk)},{max(low.pk, shown.pk)}" + "}"
    assert from_array == from_list
    assert from_array.scarce == {low.pk: StockLevel(1, 5)}
    assert sorted(level.available for level in from_array.variants.values()) == [0, 7]


def test_ids_added_to_a_stored_array_are_asked_about_too():
    in_stock = product_with((9, 0, 5))
    fallback = product_with((0, 0, 5))

    stock = stock_live_get(product_ids=IdArray.of([in_stock.pk]).plus([fallback.pk]))

    assert stock.scarce == {fallback.pk: StockLevel(0, 5)}
    assert IdArray.of([in_stock.pk]).plus([in_stock.pk]) == IdArray.of([in_stock.pk])
