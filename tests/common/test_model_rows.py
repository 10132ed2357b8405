"""Rows read by a fixed statement become the instances the ORM would have made."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.forms.models import model_to_dict

from common.db import model_columns, model_from_row
from shop.models import Brand, Product, Variant
from tests.shop.factories import VariantFactory

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
