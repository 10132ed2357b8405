"""The brand's order desk in the admin, scoped to the signed-in user's brands.

A brand works from `Fulfilment` rows, its part of each paid order: it sees only orders
holding its lines, and of them only its own lines, shipping, shipments and refund shares.
Shipments and refunds go through the same services as the API (the "Ship" and "Refund"
pages of a brand order, or a CSV import of tracking numbers on the shipments list).
Superusers also get the plain order, refund and notification admins.

Modules: `forms` (the "Ship" page), `refunds` (the "Refund" page), `shipments` (the
shipments list and tracking-number import), `resources` (CSV export of the desk and import
of tracking numbers), `webhooks` (brands' endpoints and the delivery log), `disputes`
(chargebacks and their evidence); the desk is here.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import DecimalField, Exists, OuterRef, QuerySet, Subquery, Sum
from django.http import HttpRequest, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from import_export.admin import ExportMixin
from import_export.formats import base_formats
from unfold.admin import ModelAdmin, TabularInline
from unfold.contrib.import_export.forms import SelectableFieldsExportForm

from common.admin_mixins import ReadOnlyAdminMixin, local_datetime, titled_filter
from common.money import format_money
from orders.admin.disputes import DisputeAdmin
from orders.admin.forms import ShipForm, ship_view
from orders.admin.refunds import RefundForm, refund_view
from orders.admin.resources import OrderDeskResource
from orders.admin.shipments import ShipmentAdmin
from orders.admin.webhooks import WebhookDeliveryAdmin, WebhookEndpointAdmin
from orders.models import (
    DisputeLine,
    Fulfilment,
    Notification,
    Order,
    OrderEvent,
    OrderLine,
    OrderShipping,
    Refund,
    RefundLine,
    Shipment,
)
from shop.admin.scoping import (
    WRITE_ROLES,
    BrandScopedAdminMixin,
    BrandScopedInlineMixin,
    brand_ids_for_request,
    is_unrestricted,
)

MONEY: DecimalField = DecimalField(max_digits=14, decimal_places=3)


def _sum_of(queryset: QuerySet[Any], field: str) -> Subquery:
    """A correlated subquery summing `field` over `queryset` (one row per outer row)."""
    return Subquery(
        queryset.order_by().values("brand_id").annotate(total=Sum(field)).values("total")[:1],
        output_field=MONEY,
    )


class ShipmentInline(BrandScopedInlineMixin, TabularInline):
    """The brand's shipments of this order, read-only here (add them with "Ship")."""

    model = Shipment
    brand_path = "brand"
    fields = ("carrier", "tracking_link", "shipped_at", "delivered_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any) -> bool:  # type: ignore[override]
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Tracking")
    def tracking_link(self, obj: Shipment) -> str:
        if obj.tracking_url:
            return format_html(
                '<a href="{}" rel="noopener">{}</a>',
                obj.tracking_url,
                obj.tracking_number or "track",
            )
        return obj.tracking_number


@admin.register(Fulfilment)
class OrderDeskAdmin(ReadOnlyAdminMixin, BrandScopedAdminMixin, ExportMixin, ModelAdmin):
    # Read-only: shipments go through "Ship", refunds through "Refund".
    brand_path = "brand"
    list_display = (
        "order_number",
        "ordered_at",
        "brand",
        "status",
        "order_status",
        "ship_to",
        "items",
        "shipping",
        "refunded",
    )
    list_select_related = ("order", "brand")
    list_filter = (
        # Both fields are called "status": the brand's shipping and the order's payment.
        ("status", titled_filter("shipping status")),
        ("order__status", titled_filter("order status")),
        "brand",
        ("order__created_at", admin.DateFieldListFilter),
    )
    search_fields = (
        "=order__id",
        "order__email",
        "order__shipping_address__name",
        "shipments__tracking_number",
    )
    search_help_text = "Order number, email, name, tracking number or one of your SKUs."
    fields = (
        "order_number",
        "brand",
        "status",
        "order_status",
        "ordered_at",
        "email",
        "ship_to_address",
        "lines_table",
        "refunds_table",
        "disputes_table",
        "ship_action",
        "refund_action",
    )
    readonly_fields = fields
    inlines = (ShipmentInline,)
    resource_classes = [OrderDeskResource]
    export_formats = [base_formats.CSV]
    export_form_class = SelectableFieldsExportForm

    def get_queryset(self, request: HttpRequest) -> QuerySet[Fulfilment]:
        mine = {"order_id": OuterRef("order_id"), "brand_id": OuterRef("brand_id")}
        refunds = RefundLine.objects.filter(
            refund__order_id=OuterRef("order_id"),
            brand_id=OuterRef("brand_id"),
            refund__status=Refund.Status.SUCCEEDED,
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                items_total=_sum_of(OrderLine.objects.filter(**mine), "line_total"),
                shipping_amount=_sum_of(OrderShipping.objects.filter(**mine), "amount"),
                refunded_total=_sum_of(refunds, "amount"),
            )
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        found, duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term:
            # Only the brand's own lines: another brand's SKU must not reveal shared orders.
            own_sku = OrderLine.objects.filter(
                order_id=OuterRef("order_id"), brand_id=OuterRef("brand_id"), sku__iexact=term
            )
            found = found | queryset.filter(Exists(own_sku))
        return found, duplicates

    def has_export_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        fulfilment = self.get_object(request, object_id)
        if fulfilment is not None:
            # "Order #12", with the brand and the moment it was placed under it.
            extra_context = {
                "title": str(fulfilment),
                "subtitle": f"{fulfilment.brand.name} · ordered "
                f"{local_datetime(fulfilment.order.created_at)}",
                **(extra_context or {}),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_export_resource_kwargs(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        return {"user": request.user}

    def get_urls(self) -> list[Any]:
        # Custom views, not change forms: Django wraps those in a transaction, and the
        # refund service must call Stripe with none open.
        ship = self.admin_site.admin_view(self.ship_view)
        refund = self.admin_site.admin_view(self.refund_view)
        return [
            path("<int:fulfilment_id>/ship/", ship, name="orders_fulfilment_ship"),
            path("<int:fulfilment_id>/refund/", refund, name="orders_fulfilment_refund"),
            *super().get_urls(),
        ]

    def ship_view(self, request: HttpRequest, fulfilment_id: int) -> HttpResponse:
        """A form with one quantity per line still to ship; saved by the shipment service."""
        fulfilment = self.get_queryset(request).filter(pk=fulfilment_id).first()
        if fulfilment is None or not self._may_ship(request, fulfilment):
            return self._get_obj_does_not_exist_redirect(request, self.opts, str(fulfilment_id))
        return ship_view(self, request, fulfilment)

    def refund_view(self, request: HttpRequest, fulfilment_id: int) -> HttpResponse:
        """Refund the brand's lines, whole or partly, and its shipping, by the refund service."""
        fulfilment = self.get_queryset(request).filter(pk=fulfilment_id).first()
        if fulfilment is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, str(fulfilment_id))
        if not self._may_ship(request, fulfilment):
            raise PermissionDenied("Only the brand's owners and managers may refund.")
        return refund_view(self, request, fulfilment)

    def _may_ship(self, request: HttpRequest, fulfilment: Fulfilment) -> bool:
        return is_unrestricted(request) or fulfilment.brand_id in brand_ids_for_request(
            request, WRITE_ROLES
        )

    # --- columns ------------------------------------------------------------------
    @admin.display(description="Order", ordering="order_id")
    def order_number(self, obj: Fulfilment) -> str:
        return f"#{obj.order_id}"

    @admin.display(description="Ordered", ordering="order__created_at")
    def ordered_at(self, obj: Fulfilment) -> str:
        return local_datetime(obj.order.created_at)

    @admin.display(description="Order status", ordering="order__status")
    def order_status(self, obj: Fulfilment) -> str:
        return obj.order.get_status_display()

    @admin.display(description="Ship to")
    def ship_to(self, obj: Fulfilment) -> str:
        return str(obj.order.shipping_address.get("name", ""))

    @admin.display(description="Email")
    def email(self, obj: Fulfilment) -> str:
        return obj.order.email

    def _money(self, obj: Fulfilment, amount: Any) -> str:
        return format_money(amount or 0, obj.order.currency)

    @admin.display(description="Items", ordering="items_total")
    def items(self, obj: Any) -> str:
        return self._money(obj, obj.items_total)

    @admin.display(description="Shipping", ordering="shipping_amount")
    def shipping(self, obj: Any) -> str:
        return self._money(obj, obj.shipping_amount)

    @admin.display(description="Refunded", ordering="refunded_total")
    def refunded(self, obj: Any) -> str:
        return self._money(obj, obj.refunded_total)

    @admin.display(description="Address")
    def ship_to_address(self, obj: Fulfilment) -> SafeString:
        address = obj.order.shipping_address
        parts = [
            address.get(k, "")
            for k in ("name", "line1", "line2", "postal_code", "city", "region", "country", "phone")
        ]
        return format_html_join(mark_safe("<br>"), "{}", ((p,) for p in parts if p))

    @admin.display(description="Lines")
    def lines_table(self, obj: Fulfilment) -> SafeString:
        lines = OrderLine.objects.filter(order_id=obj.order_id, brand_id=obj.brand_id)
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    line.sku,
                    line.title,
                    line.quantity,
                    format_money(line.line_total, line.currency),
                    line.shipped_quantity,
                    line.refunded_quantity,
                )
                for line in lines.order_by("pk")
            ),
        )
        return format_html(
            "<table><tr><th>SKU</th><th>Title</th><th>Qty</th><th>Total</th><th>Shipped</th>"
            "<th>Refunded</th></tr>{}</table>",
            rows,
        )

    @admin.display(description="Refunds")
    def refunds_table(self, obj: Fulfilment) -> SafeString:
        parts = RefundLine.objects.filter(refund__order_id=obj.order_id, brand_id=obj.brand_id)
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    p.refund_id,
                    p.refund.get_status_display(),
                    p.refund.get_source_display(),
                    p.order_line.sku if p.order_line else "shipping",
                    format_money(p.amount, p.refund.currency),
                )
                for p in parts.select_related("refund", "order_line").order_by("pk")
            ),
        )
        return format_html(
            "<table><tr><th>Refund</th><th>Status</th><th>By</th><th>Line</th><th>Amount</th>"
            "</tr>{}</table>",
            rows,
        )

    @admin.display(description="Disputes")
    def disputes_table(self, obj: Fulfilment) -> SafeString:
        """The brand's shares of the payment's disputes, each linked to its evidence page."""
        parts = DisputeLine.objects.filter(dispute__order_id=obj.order_id, brand_id=obj.brand_id)
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    reverse("admin:orders_dispute_change", args=[p.dispute_id]),
                    p.dispute_id,
                    p.dispute.get_status_display(),
                    local_datetime(p.dispute.evidence_due_by),
                    p.order_line.sku if p.order_line else "shipping",
                    format_money(p.amount, p.dispute.currency),
                )
                for p in parts.select_related("dispute", "order_line").order_by("pk")
            ),
        )
        if not rows:
            return mark_safe("None")
        return format_html(
            "<table><tr><th>Dispute</th><th>Status</th><th>Evidence due</th><th>Line</th>"
            "<th>Amount</th></tr>{}</table>",
            rows,
        )

    @admin.display(description="Ship")
    def ship_action(self, obj: Fulfilment) -> SafeString:
        url = reverse("admin:orders_fulfilment_ship", args=[obj.pk])
        return format_html('<a class="button" href="{}">Ship lines…</a>', url)

    @admin.display(description="Refund")
    def refund_action(self, obj: Fulfilment) -> SafeString:
        url = reverse("admin:orders_fulfilment_refund", args=[obj.pk])
        return format_html('<a class="button" href="{}">Refund…</a>', url)


# --- superusers only ---------------------------------------------------------------


class _SuperuserOnly(ReadOnlyAdminMixin, ModelAdmin):
    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_unrestricted(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_unrestricted(request)


class OrderEventInline(TabularInline):
    model = OrderEvent
    fields = ("created_at", "kind", "from_status", "to_status", "data")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(_SuperuserOnly):
    list_display = (
        "id",
        "created_at",
        "status",
        "email",
        "total",
        "refunded",
    )
    list_filter = ("status", ("created_at", admin.DateFieldListFilter))
    search_fields = ("=id", "email", "stripe_payment_intent_id")
    inlines = (OrderEventInline,)

    @admin.display(description="Total", ordering="grand_total")
    def total(self, obj: Order) -> str:
        return format_money(obj.grand_total, obj.currency)

    @admin.display(description="Refunded", ordering="refunded_total")
    def refunded(self, obj: Order) -> str:
        return format_money(obj.refunded_total, obj.currency)


@admin.register(Refund)
class RefundAdmin(_SuperuserOnly):
    list_display = (
        "id",
        "order_id",
        "brand",
        "refund_amount",
        "status",
        "source",
        "stripe_refund_id",
        "created_at",
    )
    list_filter = ("status", "source")
    search_fields = ("=order__id", "stripe_refund_id")

    @admin.display(description="Amount", ordering="amount")
    def refund_amount(self, obj: Refund) -> str:
        return format_money(obj.amount, obj.currency)


@admin.register(Notification)
class NotificationAdmin(_SuperuserOnly):
    list_display = ("key", "order_id", "sent_at", "created_at")
    search_fields = ("key",)


__all__ = [
    "DisputeAdmin",
    "OrderDeskAdmin",
    "RefundForm",
    "ShipForm",
    "ShipmentAdmin",
    "WebhookDeliveryAdmin",
    "WebhookEndpointAdmin",
]
