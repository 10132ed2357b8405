"""Filters refuse values they cannot read instead of answering the unfiltered list."""

from __future__ import annotations

import django_filters
import pytest
from django.http import QueryDict

from common.filters import StrictFilterSet
from shop.models import Product

pytestmark = pytest.mark.django_db


class Filters(StrictFilterSet):
    title = django_filters.CharFilter()
    featured = django_filters.BooleanFilter(field_name="status", method="noop")
    created = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    status = django_filters.ChoiceFilter(choices=Product.Status.choices)

    class Meta:
        model = Product
        fields: list[str] = []

    def noop(self, queryset, name, value):
        return queryset


def filters(query: str) -> Filters:
    return Filters(data=QueryDict(query), queryset=Product.objects.all())


@pytest.mark.parametrize("value", ["null", "", "1", "True", "yes"])
def test_a_boolean_other_than_true_or_false_is_an_error(value):
    given = filters(f"featured={value}")
    assert not given.is_valid()
    assert given.errors["featured"] == ["Must be true or false."]


@pytest.mark.parametrize("query", ["created=", "status=", "status=draft&status="])
def test_a_blank_typed_value_is_an_error_not_no_filter(query):
    given = filters(query)
    assert not given.is_valid()
    assert given.errors[query.split("=")[0]] == ["May not be blank."]


@pytest.mark.parametrize("query", ["", "title=", "featured=true&featured=false", "status=draft"])
def test_readable_values_and_a_blank_text_filter_are_valid(query):
    assert filters(query).is_valid()
