"""`ProductPlenty`: which products the live stock read sums, kept by triggers on every write path.

The meaning they must keep is the one the live read had when it summed every variant: a
product is scarce when its variants' units (`max(0, on_hand - reserved)`) add up to no more
than the largest of their thresholds, and a product without variants is scarce with none.
A state machine runs catalog writes (Django saves, stale saves, bulk and queryset writes,
moves and deletes) and stock moves through the stock services, and after every step checks
the read against that sum, and the counts and the thresholds copied onto the variants
against what they should be. Fixed seed and budget (derandomize, MAX_EXAMPLES x STEPS): CI
runs the same sequences every time.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection, transaction
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
    run_state_machine_as_test,
)

from shop.models import Product, ProductPlenty, Variant
from shop.selectors import IdArray, StockLevel, stock_live_get, stock_live_statement
from shop.services.stock import stock_release, stock_reserve
from tests.hypothesis_budget import state_machine_budget
from tests.shop.factories import BrandFactory, ProductFactory, VariantFactory
from tests.shop.test_feeds_concurrency import run_threads

MAX_EXAMPLES = 12
STEPS = 30

units = st.integers(min_value=0, max_value=12)
thresholds = st.integers(min_value=0, max_value=8)


def scarce_by_summing(product_ids: list[int]) -> dict[int, StockLevel]:
    """Every variant of every product summed: the meaning, read the slow way. An id of no
    product is not reported (a page that shows one is stale: deleting a product changes
    the catalog's version at the same commit, and the page reads both in one statement)."""
    totals = {
        pk: [0, 0] for pk in Product.objects.filter(pk__in=product_ids).values_list("pk", flat=True)
    }
    for product_id, on_hand, reserved, threshold in Variant.objects.filter(
        product_id__in=product_ids
    ).values_list("product_id", "on_hand", "reserved", "low_stock_threshold"):
        totals[product_id][0] += max(0, on_hand - reserved)
        totals[product_id][1] = max(totals[product_id][1], threshold)
    return {pk: StockLevel(u, t) for pk, (u, t) in totals.items() if u <= t}


def largest_thresholds() -> dict[int, int]:
    largest = dict.fromkeys(Product.objects.values_list("pk", flat=True), 0)
    for product_id, threshold in Variant.objects.values_list("product_id", "low_stock_threshold"):
        largest[product_id] = max(largest[product_id], threshold)
    return largest


def counts_expected() -> dict[int, int]:
    """Each product's variants with more units than its largest threshold."""
    largest = largest_thresholds()
    counts = dict.fromkeys(largest, 0)
    for product_id, on_hand, reserved in Variant.objects.values_list(
        "product_id", "on_hand", "reserved"
    ):
        counts[product_id] += on_hand - reserved > largest[product_id]
    return counts


def counts_held() -> dict[int, int]:
    return dict(ProductPlenty.objects.values_list("product_id", "variants_in_plenty"))


class PlentyMachine(RuleBasedStateMachine):
    products = Bundle("products")
    variants = Bundle("variants")

    def __init__(self) -> None:
        super().__init__()
        self.savepoint = transaction.savepoint()  # each example starts from an empty catalog
        self.brand = BrandFactory.create()
        self.gone: list[int] = []

    def teardown(self) -> None:
        transaction.savepoint_rollback(self.savepoint)

    @rule(target=products)
    def add_product(self) -> int:
        return ProductFactory.create(brand=self.brand).pk

    @rule(target=variants, product=products, stock=units, threshold=thresholds)
    def add_variant(self, product: int, stock: int, threshold: int) -> int:
        return VariantFactory.create(
            product_id=product, on_hand=stock, low_stock_threshold=threshold
        ).pk

    @rule(product=products, stock=st.lists(st.tuples(units, thresholds), min_size=2, max_size=3))
    def add_variants_in_one_statement(self, product: int, stock: list[tuple[int, int]]) -> None:
        Variant.objects.bulk_create(
            VariantFactory.build(product_id=product, on_hand=on_hand, low_stock_threshold=t)
            for on_hand, t in stock
        )

    @rule(variant=variants, quantity=st.integers(min_value=1, max_value=4))
    def reserve(self, variant: int, quantity: int) -> None:
        with transaction.atomic():
            stock_reserve(variant_id=variant, quantity=quantity)

    @rule(variant=variants, quantity=st.integers(min_value=1, max_value=4))
    def release(self, variant: int, quantity: int) -> None:
        with transaction.atomic():
            stock_release(variant_id=variant, quantity=quantity)

    @rule(variant=variants, stock=units)
    def set_on_hand(self, variant: int, stock: int) -> None:
        Variant.objects.filter(pk=variant, reserved__lte=stock).update(on_hand=stock)

    @rule(variant=variants, threshold=thresholds)
    def save_threshold(self, variant: int, threshold: int) -> None:
        row = Variant.objects.filter(pk=variant).first()
        if row is not None:
            row.low_stock_threshold = threshold
            row.save()

    @rule(variant=variants, other=variants, threshold=thresholds)
    def save_a_stale_variant(self, variant: int, other: int, threshold: int) -> None:
        """A form loaded before a sibling's threshold changed still saves every column."""
        stale = Variant.objects.filter(pk=variant).first()
        Variant.objects.filter(pk=other).update(low_stock_threshold=threshold)
        if stale is not None:
            stale.title = "Saved from a stale form"
            stale.save()

    @rule(product=products, threshold=thresholds)
    def set_every_threshold(self, product: int, threshold: int) -> None:
        Variant.objects.filter(product_id=product).update(low_stock_threshold=threshold)

    @rule(variant=variants, product=products)
    def move(self, variant: int, product: int) -> None:
        if Product.objects.filter(pk=product).exists():
            Variant.objects.filter(pk=variant).update(product_id=product)

    @rule(variant=consumes(variants))
    def delete_variant(self, variant: int) -> None:
        Variant.objects.filter(pk=variant).delete()

    @rule(product=consumes(products))
    def delete_product(self, product: int) -> None:
        Product.objects.filter(pk=product).delete()
        self.gone.append(product)

    @invariant()
    def the_read_matches_the_sum_of_every_variant(self) -> None:
        ids = [*Product.objects.filter(brand=self.brand).values_list("pk", flat=True), *self.gone]
        assert stock_live_get(product_ids=ids).scarce == scarce_by_summing(ids)

    @invariant()
    def the_counts_and_the_copied_thresholds_are_what_the_rows_say(self) -> None:
        assert counts_held() == counts_expected()
        largest = largest_thresholds()
        copied = Variant.objects.values_list("product_id", "product_low_stock_threshold")
        assert [threshold for _, threshold in copied] == [largest[pk] for pk, _ in copied]


@pytest.mark.django_db
def test_every_write_path_keeps_the_rows_and_the_read_means_what_it_did():
    run_state_machine_as_test(
        PlentyMachine, settings=state_machine_budget(examples=MAX_EXAMPLES, steps=STEPS)
    )


def _row_version(product: Product) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ctid::text FROM shop_productplenty WHERE product_id = %s", [product.pk]
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_a_reserve_that_crosses_no_threshold_leaves_the_count_alone():
    product = ProductFactory.create()
    plenty = VariantFactory.create(product=product, on_hand=7, low_stock_threshold=5)
    VariantFactory.create(product=product, on_hand=3, low_stock_threshold=2)
    before = _row_version(product)

    with transaction.atomic():
        assert stock_reserve(variant_id=plenty.pk, quantity=1)  # 6 left, over 5
    assert _row_version(product) == before  # no new row version: the trigger did not fire

    with transaction.atomic():
        assert stock_reserve(variant_id=plenty.pk, quantity=1)  # 5 left: no longer in plenty
    assert _row_version(product) != before
    assert counts_held()[product.pk] == 0
    # Summed now, and 5 + 3 units are more than the threshold: not scarce.
    assert stock_live_get(product_ids=[product.pk]).scarce == {}


@pytest.mark.django_db
def test_a_sibling_in_plenty_under_its_own_threshold_still_counts():
    """3 + 2 units against a largest threshold of 5: scarce, though the variant with 3 has a
    threshold of 1 and is nowhere near its own."""
    product = ProductFactory.create()
    VariantFactory.create(product=product, on_hand=2, low_stock_threshold=5)
    VariantFactory.create(product=product, on_hand=3, low_stock_threshold=1)

    assert stock_live_get(product_ids=[product.pk]).scarce == {product.pk: StockLevel(5, 5)}


@pytest.mark.django_db(transaction=True)
def test_two_checkouts_selling_out_two_sizes_at_once_sell_out_the_product():
    """Each takes its size's last unit; the second's count waits for the first to commit."""
    product = ProductFactory.create()
    small = VariantFactory.create(product=product, on_hand=1, low_stock_threshold=0)
    large = VariantFactory.create(product=product, on_hand=1, low_stock_threshold=0)
    first_held = threading.Event()

    def first() -> None:
        with transaction.atomic():
            assert stock_reserve(variant_id=small.pk, quantity=1)
            first_held.set()
            time.sleep(0.5)  # the second reserves while this is open

    def second() -> None:
        assert first_held.wait(timeout=30)
        with transaction.atomic():
            assert stock_reserve(variant_id=large.pk, quantity=1)

    run_threads([first, second])

    assert counts_held()[product.pk] == 0
    assert stock_live_get(product_ids=[product.pk]).scarce == {product.pk: StockLevel(0, 0)}


@pytest.mark.django_db(transaction=True)
def test_two_writers_deleting_a_products_last_two_variants_at_once_leave_it_sold_out():
    product = ProductFactory.create()
    first, second = VariantFactory.create_batch(2, product=product, on_hand=9)
    first_deleted = threading.Event()

    def delete_first() -> None:
        with transaction.atomic():
            Variant.objects.filter(pk=first.pk).delete()
            first_deleted.set()
            time.sleep(0.5)  # the second writer reaches its check while this is open

    def delete_second() -> None:
        assert first_deleted.wait(timeout=30)
        with transaction.atomic():
            Variant.objects.filter(pk=second.pk).delete()

    run_threads([delete_first, delete_second])

    assert stock_live_get(product_ids=[product.pk]).scarce == {product.pk: StockLevel(0, 0)}
    assert counts_held()[product.pk] == 0


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(node for child in plan.get("Plans", []) for node in _nodes(child))]


@pytest.mark.django_db
def test_the_read_sums_the_variants_of_products_with_none_in_plenty_only():
    """30 products, each with a variant in plenty but the first, which is low: the read sums
    the variants of that one, where summing every product's variants probed 30 times."""
    products = ProductFactory.create_batch(30)
    for product in products[1:]:
        VariantFactory.create(product=product, on_hand=40, low_stock_threshold=5)
        VariantFactory.create(product=product, on_hand=1, low_stock_threshold=5)
    VariantFactory.create(product=products[0], on_hand=2, low_stock_threshold=5)
    VariantFactory.create(product=products[0], on_hand=1, low_stock_threshold=5)
    sql, params = stock_live_statement(
        product_ids=IdArray.of(p.pk for p in products), variant_product_ids=IdArray.of(())
    )
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
        (plan,) = cursor.fetchone()[0]

    on_variants = [n for n in _nodes(plan["Plan"]) if n.get("Relation Name") == "shop_variant"]
    # The low product's two variants summed, and the page's own variants (none asked here).
    assert [(n["Actual Loops"], n["Actual Rows"]) for n in on_variants] == [(1, 2), (1, 0)]
    scarce = stock_live_get(product_ids=[p.pk for p in products]).scarce
    assert scarce == {products[0].pk: StockLevel(3, 5)}
