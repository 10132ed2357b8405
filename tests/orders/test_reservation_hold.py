"""Holding stock for an order line: the counter and the reservation row move together or not at all.

The hold is one statement (a conditional UPDATE of the counter with the reservation insert in
a data-modifying CTE), prepared by psycopg once a connection has run it a few times.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from common.errors import ValidationFailed
from orders.models import StockReservation
from orders.services.reservations import reservation_hold
from shop.models import Variant
from tests.orders.helpers import variant_in_stock
from tests.orders.hold_helpers import hold, live_units, order_lines


@pytest.mark.django_db(transaction=True)
def test_hold_in_autocommit_takes_the_units_and_writes_the_row_in_one_query(
    django_assert_num_queries,
):
    variant = variant_in_stock(on_hand=5)
    (line,) = order_lines(variant, 1, quantity=2)
    assert not connection.in_atomic_block
    with django_assert_num_queries(1):
        reservation = hold(line)
    assert reservation is not None
    stored = StockReservation.objects.get(pk=reservation.pk)
    assert (stored.order_line_id, stored.quantity, stored.status) == (line.pk, 2, "active")
    variant.refresh_from_db()
    assert variant.reserved == 2


@pytest.mark.django_db(transaction=True)
def test_sold_out_miss_costs_one_query_and_changes_nothing(django_assert_num_queries):
    variant = variant_in_stock(on_hand=1)
    first, second = order_lines(variant, 2)
    assert hold(first) is not None
    with django_assert_num_queries(1):
        assert hold(second) is None
    variant.refresh_from_db()
    assert variant.reserved == 1
    assert list(StockReservation.objects.values_list("order_line_id", flat=True)) == [first.pk]


@pytest.mark.django_db
def test_hold_never_takes_more_than_is_available():
    variant = variant_in_stock(on_hand=2)
    (big,) = order_lines(variant, 1, quantity=3)
    (fits,) = order_lines(variant, 1, quantity=2)
    assert hold(big) is None
    assert hold(fits) is not None
    variant.refresh_from_db()
    assert (variant.on_hand, variant.reserved) == (2, 2)
    assert StockReservation.objects.get().order_line_id == fits.pk


@pytest.mark.django_db
def test_miss_reclaims_the_variants_lapsed_holds_and_retries_once():
    variant = variant_in_stock(on_hand=2)
    abandoned, newcomer = order_lines(variant, 2)
    lapsed = hold(abandoned, expires_at=timezone.now() - timedelta(seconds=1))
    assert lapsed is not None
    (big,) = order_lines(variant, 1, quantity=2)
    reservation = hold(big)
    assert reservation is not None
    lapsed.refresh_from_db()
    assert lapsed.status == "released"
    variant.refresh_from_db()
    assert variant.reserved == live_units(variant) == 2
    assert hold(newcomer) is None


@pytest.mark.django_db
def test_live_holds_are_never_reclaimed():
    variant = variant_in_stock(on_hand=1)
    first, second = order_lines(variant, 2)
    live = hold(first)
    assert live is not None
    assert hold(second) is None
    live.refresh_from_db()
    assert live.status == "active"
    variant.refresh_from_db()
    assert variant.reserved == live_units(variant) == 1


@pytest.mark.django_db(transaction=True)
def test_hold_inside_an_outer_transaction_that_rolls_back_leaves_nothing():
    variant = variant_in_stock(on_hand=3)
    (line,) = order_lines(variant, 1, quantity=2)

    class Abandon(Exception):
        pass

    def checkout_that_fails_after_holding() -> None:
        with transaction.atomic():
            assert hold(line) is not None
            assert Variant.objects.get(pk=variant.pk).reserved == 2
            raise Abandon

    with pytest.raises(Abandon):
        checkout_that_fails_after_holding()
    variant.refresh_from_db()
    assert variant.reserved == 0
    assert not StockReservation.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_hold_inside_an_outer_transaction_commits_with_it():
    variant = variant_in_stock(on_hand=3)
    (line,) = order_lines(variant, 1, quantity=2)
    with transaction.atomic():
        reservation = hold(line)
    assert reservation is not None
    variant.refresh_from_db()
    assert variant.reserved == live_units(variant) == 2


@pytest.mark.django_db
def test_hold_of_less_than_one_unit_is_refused_and_changes_nothing():
    variant = variant_in_stock(on_hand=3)
    (line,) = order_lines(variant, 1)
    with pytest.raises(ValidationFailed) as refused:
        reservation_hold(
            order_line_id=line.pk,
            variant_id=variant.pk,
            quantity=0,
            expires_at=timezone.now() + timedelta(minutes=15),
        )
    assert refused.value.code == "invalid_quantity"
    variant.refresh_from_db()
    assert variant.reserved == 0
    assert not StockReservation.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_holds_on_a_new_connection_are_one_query_each_and_prepared_once_run_often(
    django_assert_num_queries,
):
    variant = variant_in_stock(on_hand=10)
    lines = order_lines(variant, 7)
    connection.close()
    for line in lines:
        with django_assert_num_queries(1):
            assert hold(line) is not None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%orders_stockreservation%"],
        )
        assert cursor.fetchone()[0] == 1  # psycopg prepared it after the threshold's runs
    variant.refresh_from_db()
    assert variant.reserved == live_units(variant) == 7


@pytest.mark.django_db(transaction=True)
def test_first_hold_that_fails_after_preparing_leaves_the_next_hold_working():
    variant = variant_in_stock(on_hand=5)
    (line,) = order_lines(variant, 1)
    missing_line_id = line.pk + 1_000_000
    connection.close()
    with pytest.raises(IntegrityError):
        # The order line does not exist: the deferred foreign key fails at commit, after the
        # statement ran on this connection.
        reservation_hold(
            order_line_id=missing_line_id,
            variant_id=variant.pk,
            quantity=1,
            expires_at=timezone.now() + timedelta(minutes=15),
        )
    assert hold(line) is not None
    variant.refresh_from_db()
    assert variant.reserved == live_units(variant) == 1
    assert list(StockReservation.objects.values_list("order_line_id", flat=True)) == [line.pk]
