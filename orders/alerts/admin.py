"""Sell-out alerts in the brand admin: read-only, each brand sees only its own."""

from __future__ import annotations

from django.contrib import admin
from unfold.admin import ModelAdmin

from common.admin_mixins import ReadOnlyAdminMixin
from orders.models.alerts import SellOutAlert
from shop.admin.scoping import BrandScopedAdminMixin


@admin.register(SellOutAlert)
class SellOutAlertAdmin(ReadOnlyAdminMixin, BrandScopedAdminMixin, ModelAdmin):
    brand_path = "brand"
    list_display = (
        "variant",
        "brand",
        "units_last_hour",
        "available_at_alert",
        "minutes_to_sell_out",
        "opened_at",
        "sold_out_at",
        "resolved_at",
    )
    list_filter = ("brand", "opened_at")
    list_select_related = ("variant", "brand")
    search_fields = ("variant__sku", "variant__product__title")
    date_hierarchy = "opened_at"
    readonly_fields = (
        "brand",
        "variant",
        "units_last_hour",
        "available_at_alert",
        "minutes_to_sell_out",
        "link_ids",
        "creator_ids",
        "opened_at",
        "sold_out_at",
        "resolved_at",
    )

    # Alerts are facts the scan records: nobody adds, edits or deletes them by hand.
