"""The money audit in the admin: read-only, each brand's staff see their brand's rows only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from unfold.admin import ModelAdmin

from accounts.models import MoneyAuditEntry
from common.admin_mixins import ReadOnlyAdminMixin, local_datetime
from common.money import format_money
from shop.admin.scoping import BrandScopedAdminMixin
from shop.models import Brand


@admin.register(MoneyAuditEntry)
class MoneyAuditAdmin(ReadOnlyAdminMixin, BrandScopedAdminMixin, ModelAdmin):
    brand_path = "brand_id"
    list_display = ("when", "brand_name", "action", "subject_label", "money", "actor_label")
    list_filter = ("action", ("created_at", admin.DateFieldListFilter))
    search_fields = ("subject_label", "actor_label", "=subject_id")
    search_help_text = "Refund, shipment or payout number, or who acted."
    fields = (
        "when",
        "brand_name",
        "action",
        "subject_label",
        "money",
        "actor_label",
        "detail_table",
    )
    readonly_fields = fields
    show_full_result_count = False

    def brand_id_of(self, obj: Model) -> int | None:
        return getattr(obj, "brand_id", None)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        # The brand is kept by id; its name comes in the same query.
        brand_name = Brand.objects.filter(pk=OuterRef("brand_id")).values("name")[:1]
        return (
            super()
            .get_queryset(request)
            .annotate(current_brand_name=Subquery(brand_name))
            .order_by("-created_at", "-id")
        )

    @admin.display(description="when", ordering="created_at")
    def when(self, obj: MoneyAuditEntry) -> str:
        return local_datetime(obj.created_at)

    @admin.display(description="brand")
    def brand_name(self, obj: MoneyAuditEntry) -> str:
        return getattr(obj, "current_brand_name", None) or f"brand {obj.brand_id}"

    @admin.display(description="amount", ordering="amount")
    def money(self, obj: MoneyAuditEntry) -> str:
        return format_money(obj.amount, obj.currency) if obj.amount is not None else "-"

    @admin.display(description="details")
    def detail_table(self, obj: MoneyAuditEntry) -> str:
        if not obj.detail:
            return "-"
        rows = format_html_join(
            "",
            "<tr><th>{}</th><td>{}</td></tr>",
            ((key.replace("_", " "), value) for key, value in sorted(obj.detail.items())),
        )
        return format_html("<table>{}</table>", rows)
