"""The shop admin: every admin here is scoped to the signed-in user's brands.

Scoping comes from `shop.admin.scoping`; stock edits go through the stock service so
each one is an audited StockMovement.

Modules: `scoping` (the brand-scoping mixins every brand-owned admin uses), `forms` (forms,
formsets, list filters), `resources` and `import_export` (CSV import and export of products
and variants), `feeds` (inventory feeds and their runs), `discounts` (brand discounts); the
other model admins are here.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count, Exists, F, Max, Min, OuterRef, QuerySet, Sum
from django.db.models.functions import Greatest
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html
from import_export.admin import ImportExportMixin
from import_export.formats import base_formats
from unfold.admin import ModelAdmin, StackedInline, TabularInline
from unfold.contrib.import_export.forms import SelectableFieldsExportForm
from unfold.widgets import UnfoldAdminSelectWidget

from common.admin_mixins import ReadOnlyAdminMixin
from common.errors import ApplicationError
from common.money import format_money
from shop.admin.forms import (
    AVAILABLE,
    BrandMemberForm,
    BrandMemberFormSet,
    ProductAdminForm,
    ProductStockLevelFilter,
    VariantAdminForm,
    VariantInlineFormSet,
    VariantStockLevelFilter,
    stock_level_label,
    variant_save_from_admin,
)
from shop.admin.images import ProductImageAdminForm, image_formset_save, image_preview
from shop.admin.import_export import BrandCsvImportMixin
from shop.admin.resources import ProductVariantResource
from shop.admin.scoping import (
    BrandScopedAdminMixin,
    BrandScopedInlineMixin,
    is_unrestricted,
)
from shop.admin.variant_matrix import variant_matrix_view
from shop.models import (
    Brand,
    BrandMember,
    Product,
    ProductImage,
    StockMovement,
    Variant,
    available_timezone_names,
)
from shop.selectors import low_stock_filter
from shop.services.catalog import product_set_status

# --- Brand ------------------------------------------------------------------------


class BrandMemberInline(BrandScopedInlineMixin, TabularInline):
    """Owners manage their brand's members; managers and viewers see them read-only."""

    model = BrandMember
    brand_path = "brand"
    write_roles = (BrandMember.Role.OWNER,)
    form = BrandMemberForm
    formset = BrandMemberFormSet
    fields = ("email", "role")
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[BrandMember]:
        return super().get_queryset(request).select_related("user")

    @admin.display(description="User email")
    def email(self, obj: BrandMember) -> str:
        return obj.user.email


@admin.register(Brand)
class BrandAdmin(BrandScopedAdminMixin, ModelAdmin):
    brand_path = "pk"
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ("name", "slug", "currency", "default_commission_rate", "products", "is_active")
    list_filter = ("is_active", "currency")
    search_fields = ("name", "slug")
    inlines = (BrandMemberInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Brand]:
        # Aggregates drop Meta.ordering, which autocomplete's paginator needs.
        return (
            super()
            .get_queryset(request)
            .annotate(product_count=Count("products"))
            .order_by(*Brand._meta.ordering)
        )

    @admin.display(description="Products", ordering="product_count")
    def products(self, obj: Any) -> int:
        return obj.product_count

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        if not is_unrestricted(request):
            # Identity, currency and listing status are the platform's to change.
            readonly += ["slug", "currency", "is_active"]
        return readonly

    def get_prepopulated_fields(self, request: HttpRequest, obj: Any = None) -> dict[str, Any]:
        return {"slug": ("name",)} if is_unrestricted(request) else {}

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "timezone":
            # A list of the tz database's names rather than free text.
            kwargs["widget"] = UnfoldAdminSelectWidget(
                choices=[(name, name) for name in sorted(available_timezone_names())]
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_unrestricted(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_unrestricted(request)


# --- Product ----------------------------------------------------------------------


class VariantInline(BrandScopedInlineMixin, TabularInline):
    model = Variant
    brand_path = "product__brand"
    form = VariantAdminForm
    formset = VariantInlineFormSet
    fields = (
        "sku",
        "title",
        "options",
        "price",
        "compare_at_price",
        "on_hand",
        "available",
        "position",
    )
    readonly_fields = ("available",)
    # Rows are dragged into order; the position column itself is hidden. Reserved units
    # and the low-stock threshold are on the variant's own page (the row's link), so the
    # table fits a 1280 px screen.
    ordering_field = "position"
    hide_ordering_field = True
    show_change_link = True
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[Variant]:
        # Each row shows its prices in the brand's currency.
        return super().get_queryset(request).select_related("product__brand")

    @admin.display(description="Available")
    def available(self, obj: Variant) -> int | str:
        return obj.available if obj.pk else "-"


class ProductImageInline(BrandScopedInlineMixin, StackedInline):
    model = ProductImage
    brand_path = "product__brand"
    form = ProductImageAdminForm
    fields = ("preview", "upload", "url", ("width", "height"), "alt", "position")
    readonly_fields = ("preview",)
    ordering_field = "position"
    hide_ordering_field = True
    extra = 0

    @admin.display(description="Preview")
    def preview(self, obj: ProductImage) -> str:
        return image_preview(obj)


@admin.register(Product)
class ProductAdmin(BrandScopedAdminMixin, BrandCsvImportMixin, ImportExportMixin, ModelAdmin):
    brand_path = "brand"
    form = ProductAdminForm
    list_display = (
        "title",
        "brand",
        "status",
        "variant_count",
        "price_range",
        "on_hand_total",
        "available_total",
        "stock_level",
        "created_at",
    )
    list_select_related = ("brand",)
    list_filter = ("status", "brand", ProductStockLevelFilter)
    search_fields = ("title", "slug", "category", "variants__sku")
    autocomplete_fields = ("brand",)
    prepopulated_fields = {"slug": ("title",)}
    fields = (
        "brand",
        "title",
        "slug",
        "status",
        "category",
        "tags",
        "description",
        "commission_rate",
        "variant_matrix",
    )
    readonly_fields = ("variant_matrix",)
    inlines = (VariantInline, ProductImageInline)
    actions = ("activate", "archive", "add_variant_matrix")
    resource_classes = [ProductVariantResource]
    import_formats = [base_formats.CSV]
    export_formats = [base_formats.CSV]
    import_template_name = "admin/shop/product/import.html"
    export_form_class = SelectableFieldsExportForm

    def get_queryset(self, request: HttpRequest) -> QuerySet[Product]:
        variants = Variant.objects.filter(product_id=OuterRef("pk"))
        return (
            super()
            .get_queryset(request)
            .annotate(
                variant_count=Count("variants"),
                on_hand_total=Sum("variants__on_hand"),
                available_total=Sum(Greatest(F("variants__on_hand") - F("variants__reserved"), 0)),
                min_price=Min("variants__price"),
                max_price=Max("variants__price"),
                any_available=Exists(variants.filter(AVAILABLE)),
                any_low=Exists(variants.filter(low_stock_filter())),
            )
            .order_by(*Product._meta.ordering)
        )

    @admin.display(description="Variants", ordering="variant_count")
    def variant_count(self, obj: Any) -> int:
        return obj.variant_count

    @admin.display(description="Price", ordering="min_price")
    def price_range(self, obj: Any) -> str:
        if obj.min_price is None:
            return "-"
        currency = obj.brand.currency
        low, high = (format_money(p, currency) for p in (obj.min_price, obj.max_price))
        return low if low == high else f"{low} to {high}"

    @admin.display(description="On hand", ordering="on_hand_total")
    def on_hand_total(self, obj: Any) -> int:
        return obj.on_hand_total or 0

    @admin.display(description="Available", ordering="available_total")
    def available_total(self, obj: Any) -> int:
        return obj.available_total or 0

    @admin.display(description="Stock")
    def stock_level(self, obj: Any) -> str:
        return stock_level_label(available=obj.any_available, low=obj.any_low)

    @admin.display(description="Variants by size and colour")
    def variant_matrix(self, obj: Product) -> str:
        if obj.pk is None:
            return "Save the product first, then add its sizes and colours in one go."
        url = reverse("admin:shop_product_variant_matrix", args=[obj.pk])
        return format_html(
            '<a class="button font-medium text-primary-600" href="{}">'
            "Add variants by size and colour…</a>",
            url,
        )

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.variant_matrix_view)
        return [
            path("<int:product_id>/variant-matrix/", view, name="shop_product_variant_matrix"),
            *super().get_urls(),
        ]

    def variant_matrix_view(self, request: HttpRequest, product_id: int) -> HttpResponse:
        """Create variants for every size and colour given, through the matrix service."""
        product = self.get_queryset(request).filter(pk=product_id).first()
        if product is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, str(product_id))
        if not self.has_change_permission(request, product):
            raise PermissionDenied
        return variant_matrix_view(self, request, product)

    # --- saving: variants through the stock service ---------------------------
    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is ProductImage:
            image_formset_save(formset)
            return
        if formset.model is not Variant:
            super().save_formset(request, form, formset, change)
            return
        formset.save(commit=False)
        for variant in formset.deleted_objects:
            variant.delete()
        for variant_form in formset.forms:
            if variant_form in formset.deleted_forms or not variant_form.has_changed():
                continue
            variant_save_from_admin(request=request, form=variant_form)

    # --- actions ------------------------------------------------------------
    @admin.action(description="Activate selected products", permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        self._set_status(request, queryset, Product.Status.ACTIVE)

    @admin.action(description="Archive selected products", permissions=["change"])
    def archive(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        self._set_status(request, queryset, Product.Status.ARCHIVED)

    @admin.action(description="Add variants by size and colour", permissions=["change"])
    def add_variant_matrix(
        self, request: HttpRequest, queryset: QuerySet[Product]
    ) -> HttpResponse | None:
        ids = list(queryset.values_list("pk", flat=True)[:2])
        if len(ids) != 1:
            self.message_user(
                request, "Select one product to add its sizes and colours.", messages.WARNING
            )
            return None
        return HttpResponseRedirect(reverse("admin:shop_product_variant_matrix", args=ids))

    def _set_status(self, request: HttpRequest, queryset: QuerySet[Product], status: str) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        try:
            changed = product_set_status(user=request.user, product_ids=ids, status=status)  # type: ignore[arg-type]
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        self.message_user(request, f"{changed} product(s) set to {status}.", messages.SUCCESS)

    # --- CSV import / export ----------------------------------------------------
    def get_resource_kwargs(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return {"user": request.user}

    def has_export_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)


# --- Variant ----------------------------------------------------------------------


@admin.register(Variant)
class VariantAdmin(BrandScopedAdminMixin, ModelAdmin):
    brand_path = "product__brand"
    form = VariantAdminForm
    list_display = (
        "sku",
        "product",
        "brand",
        "price_display",
        "on_hand",
        "reserved",
        "available",
        "low_stock_threshold",
        "stock_level",
    )
    list_select_related = ("product__brand",)
    list_filter = (VariantStockLevelFilter, "product__brand", "product__status")
    search_fields = ("sku", "title", "product__title")
    autocomplete_fields = ("product",)
    fields = (
        "product",
        "sku",
        "title",
        "options",
        "price",
        "compare_at_price",
        "on_hand",
        "reserved",
        "low_stock_threshold",
        "position",
    )
    readonly_fields = ("reserved",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "product"] if obj is not None else readonly

    @admin.display(description="Brand", ordering="product__brand__name")
    def brand(self, obj: Variant) -> str:
        return str(obj.product.brand)

    @admin.display(description="Available")
    def available(self, obj: Variant) -> int:
        return obj.available

    @admin.display(description="Price", ordering="price")
    def price_display(self, obj: Variant) -> str:
        return format_money(obj.price, obj.product.brand.currency)

    @admin.display(description="Stock")
    def stock_level(self, obj: Variant) -> str:
        available = obj.available > 0
        return stock_level_label(
            available=available, low=obj.on_hand <= obj.reserved + obj.low_stock_threshold
        )

    def save_model(self, request: HttpRequest, obj: Variant, form: Any, change: bool) -> None:
        self.require_writable(request, obj)
        variant_save_from_admin(request=request, form=form)


# --- Stock movements --------------------------------------------------------------


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdminMixin, BrandScopedAdminMixin, ModelAdmin):
    """The stock ledger: read-only for everyone, superusers included."""

    brand_path = "variant__product__brand"
    list_display = (
        "created_at",
        "variant",
        "product",
        "delta",
        "reason",
        "on_hand_after",
        "actor",
        "reference",
    )
    list_select_related = ("variant__product__brand", "actor")
    list_filter = ("reason", "variant__product__brand")
    search_fields = ("variant__sku", "reference")
    date_hierarchy = "created_at"

    @admin.display(description="Product", ordering="variant__product__title")
    def product(self, obj: StockMovement) -> str:
        return str(obj.variant.product)


from shop.admin import audit, discounts, feeds  # noqa: E402, F401  (registers their admins)
