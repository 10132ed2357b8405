"""Public catalog filtering and the whitelisted orderings."""

from __future__ import annotations

import copy
import functools
from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.filters import BaseFilterBackend
from rest_framework.request import Request

from common.errors import ValidationFailed
from common.filters import StrictFilterSet
from shop.models import Product


class ProductFilter(StrictFilterSet):
    brand = django_filters.CharFilter(field_name="brand__slug", help_text="Brand slug.")
    category = django_filters.CharFilter(field_name="category")
    price_min = django_filters.NumberFilter(field_name="min_price", lookup_expr="gte")
    price_max = django_filters.NumberFilter(field_name="min_price", lookup_expr="lte")
    in_stock = django_filters.BooleanFilter(field_name="in_stock")
    q = django_filters.CharFilter(method="search", help_text="Words in title, description, brand.")

    class Meta:
        model = Product
        fields: list[str] = []

    @classmethod
    @functools.cache
    def form_class(cls) -> type[forms.Form]:
        """The form django-filter would build for every request, built once.

        Its fields depend only on the declared filters; each form instance copies them.
        """
        fields = {}
        for name, filter_ in copy.deepcopy(cls.base_filters).items():
            filter_.model = cls._meta.model
            fields[name] = filter_.field
        return type(f"{cls.__name__}Form", (cls._meta.form,), fields)

    @classmethod
    @functools.cache
    def parameter_names(cls) -> frozenset[str]:
        """The query parameters the filters read (a multi-widget field reads several)."""
        names: set[str] = set()
        for name, field in cls.form_class().base_fields.items():
            widget = field.widget
            if isinstance(widget, forms.MultiWidget):
                suffixes: list[str] = widget.widgets_names  # type: ignore[attr-defined]
                names.update(f"{name}{suffix}" for suffix in suffixes)
            else:
                names.add(name)
        return frozenset(names)

    def get_form_class(self) -> type[forms.Form]:
        return self.form_class()

    def search(self, queryset: QuerySet[Product], name: str, value: str) -> QuerySet[Product]:
        for word in value.split()[:8]:
            queryset = queryset.filter(
                Q(title__icontains=word)
                | Q(description__icontains=word)
                | Q(brand__name__icontains=word)
                | Q(category__iexact=word)
            )
        return queryset


class ProductFilterBackend(DjangoFilterBackend):
    """django-filter's backend, skipping the FilterSet when no filter parameter is given.

    The unfiltered list is the most requested page, and an empty form filters nothing.
    """

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        filterset_class = self.get_filterset_class(view, queryset)
        if (
            filterset_class is not None
            and issubclass(filterset_class, ProductFilter)
            and filterset_class.parameter_names().isdisjoint(request.query_params)
        ):
            return queryset
        return super().filter_queryset(request, queryset, view)


class WhitelistOrdering(BaseFilterBackend):
    """`?ordering=` takes only names from the view's `ordering_map`; ties break on id.

    The cursor paginator reads `get_ordering`, so pages stay stable for every ordering.
    """

    param = "ordering"

    def get_ordering(self, request: Request, queryset: QuerySet, view: Any) -> tuple[str, ...]:
        return self.ordering_for(request, view)

    @classmethod
    def ordering_for(cls, request: Request, view: Any) -> tuple[str, ...]:
        """The order by fields the request asks of the view; 400 for a name not offered."""
        ordering_map: dict[str, tuple[str, ...]] = view.ordering_map
        value = request.query_params.get(cls.param) or view.default_ordering
        if value not in ordering_map:
            raise ValidationFailed(
                "Unknown ordering.",
                code="invalid_ordering",
                fields={
                    cls.param: [
                        {
                            "code": "invalid_choice",
                            "message": f"Choose one of: {', '.join(ordering_map)}.",
                        }
                    ]
                },
            )
        return ordering_map[value]

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        return queryset.order_by(*self.get_ordering(request, queryset, view))

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.param,
                "required": False,
                "in": "query",
                "description": "Sort order.",
                "schema": {"type": "string", "enum": list(view.ordering_map)},
            }
        ]
