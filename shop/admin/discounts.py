"""Brand discounts in the admin, scoped to the brands of the signed-in member."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from unfold.admin import ModelAdmin

from shop.admin.scoping import BrandScopedAdminMixin
from shop.models import Discount


class DiscountAdminForm(forms.ModelForm):
    class Meta:
        model = Discount
        fields = (
            "brand",
            "name",
            "kind",
            "value",
            "applies_to_all",
            "products",
            "collections",
            "minimum_subtotal",
            "starts_at",
            "ends_at",
            "max_uses",
            "max_uses_per_shopper",
            "status",
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        brand = data.get("brand") or getattr(self.instance, "brand", None)
        products = data.get("products")
        if (
            brand is not None
            and products is not None
            and any(product.brand_id != brand.pk for product in products)
        ):
            self.add_error("products", "Choose products of the discount's brand only.")
        if not data.get("applies_to_all", True) and not products and not data.get("collections"):
            self.add_error("products", "Choose products or collections, or apply to the brand.")
        return data


@admin.register(Discount)
class DiscountAdmin(BrandScopedAdminMixin, ModelAdmin):
    form = DiscountAdminForm
    list_display = ("name", "brand", "kind", "value", "uses", "max_uses", "status", "ends_at")
    list_select_related = ("brand",)
    list_filter = ("status", "kind", "brand")
    search_fields = ("name",)
    autocomplete_fields = ("products",)
    readonly_fields = ("uses",)
