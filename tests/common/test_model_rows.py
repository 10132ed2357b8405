"""Rows read by a fixed statement become the instances the ORM would have made, and instances
written by one become the rows the ORM would have written."""

from __future__ import annotations

from decimal import Decimal
from typing import TypeVar

import pytest
from django.db import connection
from django.db.models import Model
from django.forms.models import model_to_dict
from django.utils import timezone

from common import db
from common.db import model_columns, model_from_row, models_insert
from orders.models import Cart, Order, OrderEvent
from shop.models import Brand, Product, Variant
from tests.shop.factories import VariantFactory

M = TypeVar("M", bound=Model)

pytestmark = pytest.mark.django_db


def test_a_joined_row_gives_each_model_its_fields_converted_as_the_orm_does():
    made = VariantFactory.create(
        options={"size": "L", "colour": "ink"}, price=Decimal("24.50"), product__tags=["new"]
    )
    sql = (
        f"SELECT {model_columns(Variant, 'v')}, {model_columns(Product, 'p')}, "
        f"{model_columns(Brand, 'b')} FROM shop_variant v "
        "JOIN shop_product p ON p.id = v.product_id JOIN shop_brand b ON b.id = p.brand_id "
        "WHERE v.id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [made.pk])
        row = cursor.fetchone()

    variant = model_from_row(Variant, row)
    product = model_from_row(Product, row, len(Variant._meta.concrete_fields))
    brand = model_from_row(
        Brand, row, len(Variant._meta.concrete_fields) + len(Product._meta.concrete_fields)
    )

    expected = Variant.objects.select_related("product__brand").get(pk=made.pk)
    assert variant.options == {"size": "L", "colour": "ink"}  # JSON, decoded
    assert product.tags == ["new"]
    assert variant.price == Decimal("24.50")
    for got, orm in (
        (variant, expected),
        (product, expected.product),
        (brand, expected.product.brand),
    ):
        assert type(got) is type(orm)
        assert got.pk == orm.pk
        assert not got._state.adding
        assert got.get_deferred_fields() == set()
        assert model_to_dict(got) == model_to_dict(orm)
        for field in type(orm)._meta.concrete_fields:
            assert getattr(got, field.attname) == getattr(orm, field.attname), field.name


def _row(instance: Model) -> dict:
    model = type(instance)
    return model._default_manager.filter(pk=instance.pk).values(
        *(field.attname for field in model._meta.concrete_fields)
    )[0]


def _written_alike(model: type[M], unique: dict[str, object], **values: object) -> M:
    """Insert `values` both ways (the ORM's with `unique` instead, for unique columns);
    assert the two rows differ only there and where each call makes its own (id, token,
    times); return the instance written by `models_insert`."""
    ours, orm = model(**values), model._default_manager.create(**{**values, **unique})

    assert models_insert([ours]) == [ours]

    assert ours.pk is not None
    assert ours.pk != orm.pk
    assert not ours._state.adding
    assert ours._state.db == "default"
    written, expected = _row(ours), _row(orm)
    for name in unique:
        assert (written.pop(name), expected.pop(name)) == (values[name], unique[name])
    for own in ("id", "token", "created_at", "updated_at"):
        if own in written:
            assert written.pop(own) == getattr(ours, own), own  # set on the instance too
            assert expected.pop(own) is not None
    assert written == expected
    return ours


def test_an_inserted_instance_is_the_row_the_orm_would_have_written():
    address = {"name": "Fan", "line1": "1 Main St", "city": "Springfield", "country": "US"}
    order = _written_alike(
        Order,
        {"checkout_key": "the ORM's key"},
        checkout_scope="test",
        checkout_key="key",
        email="fan@example.com",
        shipping_address=address,
        currency="JPY",
        items_total=Decimal("1999"),
        shipping_total=Decimal("0"),
        grand_total=Decimal("1999"),
        reservation_expires_at=timezone.now(),
    )
    assert Order.objects.get(pk=order.pk).shipping_address == address  # JSON, decoded

    data = {"hold_until": "2026-12-07T10:00:00+00:00", "nested": [1, "two"]}
    event = _written_alike(
        OrderEvent, {}, order=order, kind="created", from_status="a", to_status="b", data=data
    )
    assert event.created_at is not None  # auto_now_add, filled as save() fills it
    assert OrderEvent.objects.get(pk=event.pk).data == data


def test_several_instances_get_their_own_ids_in_order_in_one_statement(
    django_assert_num_queries,
):
    carts = [Cart(currency="USD"), Cart(currency="EUR"), Cart(currency="JPY")]

    with django_assert_num_queries(1):
        models_insert(carts)

    assert len({cart.pk for cart in carts}) == 3
    for cart in carts:
        assert Cart.objects.get(pk=cart.pk).currency == cart.currency
    assert models_insert([]) == []


def test_a_model_whose_database_fills_a_column_is_refused(monkeypatch):
    monkeypatch.setattr(Cart._meta.get_field("currency"), "db_default", "USD")
    db._insert_plan.cache_clear()
    try:
        with pytest.raises(TypeError, match="the database fills"):
            models_insert([Cart()])
    finally:
        monkeypatch.undo()
        db._insert_plan.cache_clear()
