"""Serializer pieces shared by every app."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.money import Money


class StrictStringMixin:
    """Refuse a JSON number or boolean where the schema says string (DRF would coerce it),
    and a string longer than the schema's maxLength before whitespace is trimmed from it."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")  # type: ignore[attr-defined]
        # DRF checks the length after trimming, and Python's strip() also drops control
        # characters such as \x1c, so an over-long value with them at the ends got through.
        max_length = getattr(self, "max_length", None)
        if max_length is not None and len(data) > max_length:
            self.fail("max_length", max_length=max_length, length=len(data))  # type: ignore[attr-defined]
        return super().to_internal_value(data)  # type: ignore[misc]


class StrictCharField(StrictStringMixin, serializers.CharField):
    """A request's text field: a string, never a number turned into one."""


class StrictSlugField(StrictStringMixin, serializers.SlugField):
    """A request's slug field: a string, never a number turned into one."""


@extend_schema_field({"type": "string", "anyOf": [{"format": "uri"}, {"maxLength": 0}]})
class URLOrEmptyField(serializers.CharField):
    """A stored URL sent as "" when there is none: v1 has always sent "", so the schema says
    "a URI or empty" rather than the bare URI format drf-spectacular gives a URLField."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)


class MoneySchema(serializers.Serializer):
    amount = serializers.DecimalField(
        max_digits=14, decimal_places=3, coerce_to_string=True, help_text="Decimal string."
    )
    currency = serializers.CharField(min_length=3, max_length=3, help_text="ISO 4217 code.")


@extend_schema_field(MoneySchema)
class MoneyField(serializers.Field):
    """Read-only money object `{"amount": "19.99", "currency": "USD"}` from two attributes."""

    def __init__(self, *, amount: str, currency: str, **kwargs: Any) -> None:
        kwargs.setdefault("source", "*")
        kwargs["read_only"] = True
        self.amount_attr = amount
        self.currency_attr = currency
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> dict[str, str] | None:
        amount = _resolve(value, self.amount_attr)
        if amount is None:
            return None
        currency = _resolve(value, self.currency_attr)
        return Money(Decimal(amount), currency).as_dict()


def _resolve(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = obj.get(part) if isinstance(obj, dict) else getattr(obj, part)
        if obj is None:
            return None
    return obj


class ErrorDetailSchema(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField()  # type: ignore[assignment]
    details = serializers.DictField()
    request_id = serializers.CharField()
    retryable = serializers.BooleanField()


class ErrorSchema(serializers.Serializer):
    """The envelope every 4xx and 5xx answer uses."""

    error = ErrorDetailSchema()
