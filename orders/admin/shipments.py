"""Shipments in the admin: the brand's list, delivery, and CSV import of tracking numbers."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from import_export.admin import ImportMixin
from import_export.formats import base_formats
from unfold.admin import ModelAdmin

from common.errors import ApplicationError
from orders.admin.resources import TrackingImportResource
from orders.models import Shipment
from orders.services.fulfilment import shipment_mark_delivered
from shop.admin.import_export import BrandCsvImportMixin
from shop.admin.scoping import (
    BrandScopedAdminMixin,
)


@admin.register(Shipment)
class ShipmentAdmin(BrandScopedAdminMixin, BrandCsvImportMixin, ImportMixin, ModelAdmin):
    """Every shipment of the brand; tracking numbers can be imported from a CSV file."""

    brand_path = "brand"
    list_display = (
        "id",
        "order_id",
        "brand",
        "carrier",
        "tracking_number",
        "shipped_at",
        "delivered_at",
    )
    list_select_related = ("brand",)
    list_filter = ("carrier", "brand", ("delivered_at", admin.EmptyFieldListFilter))
    search_fields = ("tracking_number", "=order__id")
    fields = (
        "order",
        "brand",
        "carrier",
        "tracking_number",
        "tracking_url",
        "shipped_at",
        "delivered_at",
        "created_by",
    )
    readonly_fields = fields
    actions = ("mark_delivered",)
    resource_classes = [TrackingImportResource]
    import_formats = [base_formats.CSV]
    import_template_name = "admin/orders/shipment/import.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # add through a brand order's "Ship" page or the CSV import

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_import_resource_kwargs(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        return {"user": request.user}

    @admin.action(description="Mark selected shipments delivered", permissions=["change"])
    def mark_delivered(self, request: HttpRequest, queryset: QuerySet[Shipment]) -> None:
        done = 0
        for shipment in queryset.filter(delivered_at__isnull=True).order_by("pk"):
            try:
                shipment_mark_delivered(
                    order_id=shipment.order_id,
                    shipment_id=shipment.pk,
                    user=request.user,  # type: ignore[arg-type]
                )
            except ApplicationError as exc:
                self.message_user(request, f"Shipment {shipment.pk}: {exc.message}", messages.ERROR)
                continue
            done += 1
        self.message_user(request, f"{done} shipment(s) marked delivered.", messages.SUCCESS)
