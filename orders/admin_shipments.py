"""Shipments in the admin: the brand's list, delivery, and CSV import of tracking numbers."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from import_export.admin import ImportMixin
from import_export.formats import base_formats

from common.errors import ApplicationError
from orders.admin_resources import TrackingImportResource
from orders.models import Shipment
from orders.services.fulfilment import shipment_mark_delivered
from shop.admin_scoping import (
    WRITE_ROLES,
    BrandScopedAdminMixin,
    brand_ids_for_request,
    is_unrestricted,
)


@admin.register(Shipment)
class ShipmentAdmin(BrandScopedAdminMixin, ImportMixin, admin.ModelAdmin):
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

    def has_import_permission(self, request: HttpRequest) -> bool:
        return is_unrestricted(request) or bool(brand_ids_for_request(request, WRITE_ROLES))

    def get_import_resource_kwargs(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        return {"user": request.user}

    def import_action(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        """Preview every row; offer to import the valid ones even when others have errors."""
        response = super().import_action(request, **kwargs)
        context = getattr(response, "context_data", None)
        if isinstance(response, TemplateResponse) and context is not None:
            result = context.get("result")
            if (
                result is not None
                and "confirm_form" not in context
                and not result.has_errors()
                and result.has_validation_errors()
                and result.valid_rows()
            ):
                context["confirm_form"] = self.create_confirm_form(
                    request, import_form=context["form"]
                )
        return response

    def process_result(self, result: Any, request: HttpRequest) -> HttpResponse:
        response = super().process_result(result, request)
        if result.has_validation_errors():
            self.message_user(
                request,
                f"{len(result.invalid_rows)} row(s) had errors and were not imported.",
                messages.WARNING,
            )
        return response

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
