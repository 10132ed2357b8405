import threading

import pytest
from django.db import connection, transaction
from django.db.models import Sum

from common.errors import Conflict, NotFound
from shop.models import StockMovement, Variant
from shop.services.stock import (
    stock_adjust,
    stock_release,
    stock_reserve,
    stock_reserve_sql,
    stock_sell_reserved,
    stock_set,
)
from tests.shop.factories import VariantFactory


def movements_sum(variant: Variant) -> int:
    return StockMovement.objects.filter(variant=variant).aggregate(s=Sum("delta"))["s"] or 0


@pytest.mark.django_db(transaction=True)
def test_stock_services_refuse_to_run_outside_a_transaction():
    variant = VariantFactory.create(on_hand=0)
    with pytest.raises(RuntimeError):
        stock_adjust(variant_id=variant.pk, delta=1, reason="correction")


@pytest.mark.django_db
def test_every_on_hand_change_leaves_a_movement_so_level_equals_their_sum():
    variant = VariantFactory.create(on_hand=0)
    with transaction.atomic():
        stock_set(variant_id=variant.pk, on_hand=12, reason="initial")
        stock_adjust(variant_id=variant.pk, delta=-5, reason="correction", reference="count")
        stock_set(variant_id=variant.pk, on_hand=20, reason="feed_sync")
        assert stock_set(variant_id=variant.pk, on_hand=20, reason="feed_sync") is None
    variant.refresh_from_db()
    assert variant.on_hand == 20
    assert movements_sum(variant) == 20
    latest = StockMovement.objects.filter(variant=variant).first()
    assert latest is not None
    assert latest.on_hand_after == 20


@pytest.mark.django_db
def test_adjustment_below_zero_is_refused_and_changes_nothing():
    variant = VariantFactory.create(on_hand=2)
    with pytest.raises(Conflict) as caught, transaction.atomic():
        stock_adjust(variant_id=variant.pk, delta=-3, reason="correction")
    assert caught.value.code == "insufficient_on_hand"
    variant.refresh_from_db()
    assert variant.on_hand == 2
    assert not StockMovement.objects.filter(variant=variant).exists()


@pytest.mark.django_db
def test_reserve_holds_only_available_units():
    variant = VariantFactory.create(on_hand=3)
    with transaction.atomic():
        assert stock_reserve(variant_id=variant.pk, quantity=2)
        assert not stock_reserve(variant_id=variant.pk, quantity=2)
        assert stock_reserve(variant_id=variant.pk, quantity=1)
    variant.refresh_from_db()
    assert (variant.on_hand, variant.reserved, variant.available) == (3, 3, 0)


@pytest.mark.django_db
def test_reserve_sql_holds_only_available_units_and_returns_the_variant_when_it_held():
    variant = VariantFactory.create(on_hand=3)
    sql = stock_reserve_sql(variant="%(variant)s", quantity="%(quantity)s")
    answers = []
    for quantity in (2, 2, 1):
        with connection.cursor() as cursor:
            cursor.execute(sql, {"variant": variant.pk, "quantity": quantity})
            answers.append(cursor.fetchall())
    assert answers == [[(variant.pk,)], [], [(variant.pk,)]]
    variant.refresh_from_db()
    assert (variant.on_hand, variant.reserved, variant.available) == (3, 3, 0)


@pytest.mark.django_db
def test_reserve_sql_never_holds_less_than_one_unit():
    variant = VariantFactory.create(on_hand=3)
    Variant.objects.filter(pk=variant.pk).update(reserved=2)
    sql = stock_reserve_sql(variant="%(variant)s", quantity="%(quantity)s")
    for quantity in (0, -1):
        with connection.cursor() as cursor:
            cursor.execute(sql, {"variant": variant.pk, "quantity": quantity})
            assert cursor.fetchall() == []
    variant.refresh_from_db()
    assert (variant.on_hand, variant.reserved) == (3, 2)


@pytest.mark.django_db
def test_feed_below_reserved_leaves_nothing_available_and_keeps_reservations():
    variant = VariantFactory.create(on_hand=5)
    with transaction.atomic():
        stock_reserve(variant_id=variant.pk, quantity=4)
        stock_set(variant_id=variant.pk, on_hand=2, reason="feed_sync")
    variant.refresh_from_db()
    assert (variant.on_hand, variant.reserved, variant.available) == (2, 4, 0)


@pytest.mark.django_db
def test_sale_turns_reserved_units_into_sold_units():
    variant = VariantFactory.create(on_hand=5)
    with transaction.atomic():
        stock_reserve(variant_id=variant.pk, quantity=2)
        result = stock_sell_reserved(variant_id=variant.pk, quantity=2, reference="order:1")
    variant.refresh_from_db()
    assert (variant.on_hand, variant.reserved) == (3, 0)
    assert (result.sold_from_stock, result.shortfall) == (2, 0)
    movement = StockMovement.objects.get(variant=variant)
    assert (movement.reason, movement.delta, movement.on_hand_after) == ("sale", -2, 3)
    assert (movement.reference, movement.actor_id) == ("order:1", None)
    assert variant.product.units_sold == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("held", "cut_to", "sold_movement"),
    [(3, 1, -1), (2, 0, None)],  # some units left to take; none left: no movement written
)
def test_sale_after_feed_cut_stops_at_zero_and_reports_the_shortfall(held, cut_to, sold_movement):
    variant = VariantFactory.create(on_hand=held)
    with transaction.atomic():
        stock_reserve(variant_id=variant.pk, quantity=held)
        stock_set(variant_id=variant.pk, on_hand=cut_to, reason="feed_sync")
        result = stock_sell_reserved(variant_id=variant.pk, quantity=held, reference="order:2")
    variant.refresh_from_db()
    assert (variant.on_hand, variant.reserved) == (0, 0)
    assert (result.sold_from_stock, result.shortfall) == (cut_to, held - cut_to)
    sales = StockMovement.objects.filter(variant=variant, reason="sale")
    assert [(m.delta, m.on_hand_after) for m in sales] == (
        [] if sold_movement is None else [(sold_movement, 0)]
    )
    # Units sold count what the shopper bought, the shortfall included.
    assert variant.product.units_sold == held


@pytest.mark.django_db
def test_a_sale_of_an_unknown_variant_is_not_found_and_changes_nothing():
    with transaction.atomic(), pytest.raises(NotFound):
        stock_sell_reserved(variant_id=987_654_321, quantity=1, reference="order:4")
    assert not StockMovement.objects.filter(reference="order:4").exists()


@pytest.mark.django_db
def test_release_never_takes_reserved_below_zero():
    variant = VariantFactory.create(on_hand=3)
    with transaction.atomic():
        stock_reserve(variant_id=variant.pk, quantity=1)
        stock_release(variant_id=variant.pk, quantity=5)
    variant.refresh_from_db()
    assert variant.reserved == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_adjustments_of_one_variant_all_apply():
    variant = VariantFactory.create(on_hand=0)
    threads_n, per_thread = 8, 10
    barrier = threading.Barrier(threads_n)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            for _ in range(per_thread):
                with transaction.atomic():
                    stock_adjust(variant_id=variant.pk, delta=1, reason="correction")
        except BaseException as exc:  # pragma: no cover - surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    variant.refresh_from_db()
    assert variant.on_hand == threads_n * per_thread
    assert movements_sum(variant) == threads_n * per_thread


@pytest.mark.django_db(transaction=True)
def test_concurrent_set_and_adjust_lose_no_update():
    variant = VariantFactory.create(on_hand=0)
    with transaction.atomic():
        stock_set(variant_id=variant.pk, on_hand=50, reason="initial")
    barrier = threading.Barrier(2)

    def setter() -> None:
        barrier.wait()
        with transaction.atomic():
            stock_set(variant_id=variant.pk, on_hand=100, reason="feed_sync")
        connection.close()

    def adjuster() -> None:
        barrier.wait()
        with transaction.atomic():
            stock_adjust(variant_id=variant.pk, delta=-1, reason="correction")
        connection.close()

    threads = [threading.Thread(target=setter), threading.Thread(target=adjuster)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    variant.refresh_from_db()
    # Whatever order they ran in, the ledger explains the level exactly.
    assert variant.on_hand in {99, 100}
    assert movements_sum(variant) == variant.on_hand
