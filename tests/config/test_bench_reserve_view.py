"""The reserve view the benchmark loads: checkout's reserve service behind the bench URLs only."""

import pytest
from django.test import Client, override_settings

from orders.models import StockReservation
from tests.orders.helpers import variant_in_stock
from tests.orders.hold_helpers import order_lines


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="config.bench_urls")
def test_bench_reserve_holds_a_unit_per_line_then_answers_409_out_of_stock():
    variant = variant_in_stock(on_hand=1)
    first, second = order_lines(variant, 2)
    client = Client()
    held = client.post(f"/bench/reserve/{variant.pk}/{first.pk}/")
    refused = client.post(f"/bench/reserve/{variant.pk}/{second.pk}/")
    assert held.status_code == 201
    assert held.json()["reservation_id"] == StockReservation.objects.get(order_line=first).pk
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "out_of_stock"
    variant.refresh_from_db()
    assert variant.reserved == 1


@pytest.mark.django_db
def test_the_service_urls_do_not_mount_the_bench_reserve_view():
    variant = variant_in_stock(on_hand=1)
    (line,) = order_lines(variant, 1)
    assert Client().post(f"/bench/reserve/{variant.pk}/{line.pk}/").status_code == 404
    assert not StockReservation.objects.exists()


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="config.bench_urls")
def test_bench_reserve_with_a_code_takes_a_use_with_the_hold_and_gives_it_back_when_sold_out():
    from bench.reserve_data import code_seed
    from shop.models import Discount, DiscountUse

    variant = variant_in_stock(on_hand=1)
    code_seed(variant.pk)
    first, second = order_lines(variant, 2)
    client = Client()

    held = client.post(f"/bench/reserve-code/{variant.pk}/{first.pk}/")
    refused = client.post(f"/bench/reserve-code/{variant.pk}/{second.pk}/")

    assert held.status_code == 201
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "out_of_stock"
    assert list(DiscountUse.objects.values_list("order_id", flat=True)) == [first.pk]
    assert Discount.objects.get().uses == 1
