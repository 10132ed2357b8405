"""CSV import and export of products and their variants (one row per variant) for the admin.

Every write goes through the catalog services (`product_upsert`, `variant_upsert`) and stock
changes through the stock service with reason `import`, inside import-export's transaction:
the preview is a real run that is rolled back, and the confirmed run re-validates every row.
Rows are scoped to the importing user's writable brands; anything else is a row error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils.text import slugify
from import_export import fields, resources, widgets

from accounts.models import User
from common.errors import ApplicationError, ValidationFailed
from common.money import currency_exponent
from shop.admin.scoping import WRITE_ROLES
from shop.models import Brand, BrandMember, Product, StockMovement, Variant
from shop.services.catalog import product_upsert, variant_upsert

# Service field name -> CSV column, per service.
PRODUCT_COLUMNS = {"title": "product_title", "slug": "product_slug"}
VARIANT_COLUMNS = {"title": "variant_title"}
_MISSING = object()


def _text(attribute: str, column: str) -> fields.Field:
    return fields.Field(attribute=attribute, column_name=column, widget=widgets.CharWidget())


@dataclass
class _RowPlan:
    brand: Brand
    product: Product | None
    product_data: dict[str, Any] = field(default_factory=dict)
    variant_data: dict[str, Any] = field(default_factory=dict)
    on_hand: int | None = None
    currency: str | None = None


class ProductVariantResource(resources.ModelResource):
    """One CSV row per variant, with its product's columns repeated."""

    brand = _text("product__brand__slug", "brand")
    product_slug = _text("product__slug", "product_slug")
    product_title = _text("product__title", "product_title")
    status = _text("product__status", "status")
    category = _text("product__category", "category")
    description = _text("product__description", "description")
    commission_rate = fields.Field(
        attribute="product__commission_rate",
        column_name="commission_rate",
        widget=widgets.DecimalWidget(),
    )
    sku = _text("sku", "sku")
    variant_title = _text("title", "variant_title")
    options = fields.Field(attribute="options", column_name="options", widget=widgets.JSONWidget())
    currency = _text("product__brand__currency", "currency")
    price = fields.Field(attribute="price", column_name="price", widget=widgets.DecimalWidget())
    compare_at_price = fields.Field(
        attribute="compare_at_price", column_name="compare_at_price", widget=widgets.DecimalWidget()
    )
    on_hand = fields.Field(
        attribute="on_hand", column_name="on_hand", widget=widgets.IntegerWidget()
    )
    low_stock_threshold = fields.Field(
        attribute="low_stock_threshold",
        column_name="low_stock_threshold",
        widget=widgets.IntegerWidget(),
    )
    position = fields.Field(
        attribute="position", column_name="position", widget=widgets.IntegerWidget()
    )

    class Meta:
        model = Variant
        fields = (
            "brand",
            "product_slug",
            "product_title",
            "status",
            "category",
            "description",
            "commission_rate",
            "sku",
            "variant_title",
            "options",
            "currency",
            "price",
            "compare_at_price",
            "on_hand",
            "low_stock_threshold",
            "position",
        )
        import_order = fields
        export_order = fields
        import_id_fields = ("sku",)
        use_transactions = True
        clean_model_instances = False

    def __init__(self, user: User | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.user = user
        self._writable: dict[str, Brand] | None = None

    # --- scope ----------------------------------------------------------------
    def _unrestricted(self) -> bool:
        return bool(self.user and self.user.is_active and self.user.is_superuser)

    def writable_brands(self) -> dict[str, Brand]:
        """Slug -> brand for every brand this import may write to."""
        if self._writable is None:
            brands = Brand.objects.all()
            if not self._unrestricted():
                brands = brands.filter(
                    members__user_id=self._user_pk(), members__role__in=WRITE_ROLES
                )
            self._writable = {brand.slug: brand for brand in brands}
        return self._writable

    def _user_pk(self) -> int:
        return self.user.pk if self.user is not None and self.user.pk else 0

    def visible_brand_ids(self) -> list[int]:
        memberships = BrandMember.objects.filter(user_id=self._user_pk())
        return list(memberships.values_list("brand_id", flat=True))

    def get_queryset(self) -> QuerySet[Variant]:
        # Every SKU, so a row naming another brand's SKU is reported instead of re-created.
        return Variant.objects.select_related("product__brand")

    # --- export ---------------------------------------------------------------
    def filter_export(self, queryset: Any, **kwargs: Any) -> QuerySet[Variant]:
        """Turn the admin's product queryset into its variants, within the user's brands."""
        variants = Variant.objects.select_related("product__brand")
        if isinstance(queryset, QuerySet) and queryset.model is Product:
            variants = variants.filter(product_id__in=queryset.values("pk"))
        elif isinstance(queryset, QuerySet) and queryset.model is Variant:
            variants = variants.filter(pk__in=queryset.values("pk"))
        if not self._unrestricted():
            variants = variants.filter(product__brand_id__in=self.visible_brand_ids())
        return variants.order_by("product__brand__slug", "product__slug", "position", "id")

    def _money(self, variant: Variant, amount: Decimal | None) -> str:
        if amount is None:
            return ""
        exponent = currency_exponent(variant.product.brand.currency)
        return str(amount.quantize(Decimal(1).scaleb(-exponent)))

    def dehydrate_price(self, variant: Variant) -> str:
        return self._money(variant, variant.price)

    def dehydrate_compare_at_price(self, variant: Variant) -> str:
        return self._money(variant, variant.compare_at_price)

    # --- import ---------------------------------------------------------------
    def before_import(self, dataset: Any, **kwargs: Any) -> None:
        missing = [c for c in ("brand", "sku") if c not in (dataset.headers or [])]
        if missing:
            raise ValueError(f"The file needs the column(s): {', '.join(missing)}.")

    def _read(self, row: dict[str, Any], name: str, errors: dict[str, list[str]]) -> Any:
        column = self.fields[name].column_name
        if column not in row:
            return _MISSING
        widget = self.fields[name].widget
        try:
            value = widget.clean(row[column], row=row)
        except (ValueError, InvalidOperation, TypeError):
            errors.setdefault(column, []).append(f"'{row[column]}' is not a valid value.")
            return _MISSING
        return value.strip() if isinstance(value, str) else value

    def import_instance(self, instance: Variant, row: dict[str, Any], **kwargs: Any) -> None:
        """Check the row against the user's brands and parse it into a plan for saving."""
        errors: dict[str, list[str]] = {}

        def error(column: str, message: str) -> None:
            errors.setdefault(column, []).append(message)

        slug = self._read(row, "brand", errors)
        brand = self.writable_brands().get(slug) if isinstance(slug, str) else None
        if brand is None:
            error("brand", f"Unknown brand '{slug or ''}', or one you cannot edit.")
            raise ValidationError(errors)

        if instance.pk:
            existing_brand_id = instance.product.brand_id
            if existing_brand_id not in {b.pk for b in self.writable_brands().values()}:
                error("sku", "This SKU belongs to another brand.")
                raise ValidationError(errors)
            if existing_brand_id != brand.pk:
                error("brand", "A SKU cannot move between brands.")
        plan = _RowPlan(brand=brand, product=instance.product if instance.pk else None)

        product_slug = self._read(row, "product_slug", errors)
        title = self._read(row, "product_title", errors)
        if plan.product is not None:
            if product_slug not in (_MISSING, "", plan.product.slug):
                error("product_slug", f"This SKU belongs to product '{plan.product.slug}'.")
        else:
            wanted = product_slug if product_slug not in (_MISSING, "") else None
            wanted = wanted or (slugify(title) if title not in (_MISSING, "") else None)
            if not wanted:
                error("product_slug", "Give a product_slug or a product_title.")
            else:
                plan.product = (
                    Product.objects.select_related("brand").filter(brand=brand, slug=wanted).first()
                )
                if plan.product is None:
                    plan.product_data["slug"] = wanted
                    if title in (_MISSING, ""):
                        error("product_title", "A new product needs a title.")
        if title not in (_MISSING, ""):
            plan.product_data["title"] = title
        for name, key in (("status", "status"), ("category", "category")):
            value = self._read(row, name, errors)
            if value not in (_MISSING, ""):
                plan.product_data[key] = value.lower() if key == "status" else value
        description = self._read(row, "description", errors)
        if description is not _MISSING:
            plan.product_data["description"] = description
        rate = self._read(row, "commission_rate", errors)
        if rate is not _MISSING:
            plan.product_data["commission_rate"] = rate

        sku = self._read(row, "sku", errors)
        if not instance.pk:
            if sku in (_MISSING, ""):
                error("sku", "A variant needs a SKU.")
            plan.variant_data["sku"] = sku
        variant_title = self._read(row, "variant_title", errors)
        if variant_title is not _MISSING:
            plan.variant_data["title"] = variant_title
        options = self._read(row, "options", errors)
        if options is not _MISSING:
            if options is not None and not isinstance(options, dict):
                error("options", 'Options are a JSON object, e.g. {"size": "M"}.')
            plan.variant_data["options"] = options or {}
        price = self._read(row, "price", errors)
        if price not in (_MISSING, None):
            plan.variant_data["price"] = price
        elif not instance.pk and "price" not in errors:
            error("price", "A new variant needs a price.")
        compare_at = self._read(row, "compare_at_price", errors)
        if compare_at is not _MISSING:
            plan.variant_data["compare_at_price"] = compare_at
        for name in ("low_stock_threshold", "position"):
            value = self._read(row, name, errors)
            if value not in (_MISSING, None):
                if value < 0:
                    error(name, "Must be 0 or more.")
                plan.variant_data[name] = value
        on_hand = self._read(row, "on_hand", errors)
        if on_hand not in (_MISSING, None):
            if on_hand < 0:
                error("on_hand", "Must be 0 or more.")
            plan.on_hand = on_hand
        currency = self._read(row, "currency", errors)
        if currency not in (_MISSING, ""):
            plan.currency = currency.upper()
        if errors:
            raise ValidationError(errors)
        instance._import_plan = plan  # type: ignore[attr-defined]

    def skip_row(
        self,
        instance: Variant,
        original: Any,
        row: dict[str, Any],
        import_validation_errors: Any = None,
    ) -> bool:
        """Rows that would change nothing are reported as skipped."""
        plan: _RowPlan | None = getattr(instance, "_import_plan", None)
        if import_validation_errors or plan is None or not instance.pk or plan.product is None:
            return False
        if plan.currency and plan.currency != plan.brand.currency:
            return False
        product, variant = plan.product, instance
        same_product = all(getattr(product, k) == v for k, v in plan.product_data.items())
        same_variant = all(getattr(variant, k) == v for k, v in plan.variant_data.items())
        same_stock = plan.on_hand is None or plan.on_hand == variant.on_hand
        return same_product and same_variant and same_stock

    def save_instance(self, instance: Variant, is_create: bool, row: Any, **kwargs: Any) -> None:
        """Write the row through the catalog and stock services, all or nothing for the row."""
        plan: _RowPlan = instance._import_plan  # type: ignore[attr-defined]
        with transaction.atomic():
            try:
                product = product_upsert(
                    brand=plan.brand, product=plan.product, actor=self.user, **plan.product_data
                )
            except ApplicationError as exc:
                raise _as_validation_error(exc, PRODUCT_COLUMNS) from None
            try:
                variant = variant_upsert(
                    product=product,
                    variant=None if is_create else instance,
                    actor=self.user,
                    currency=plan.currency,
                    on_hand=plan.on_hand,
                    stock_reason=StockMovement.Reason.IMPORT,
                    **plan.variant_data,
                )
            except ApplicationError as exc:
                raise _as_validation_error(exc, VARIANT_COLUMNS) from None
        if is_create:
            for model_field in Variant._meta.concrete_fields:
                setattr(instance, model_field.attname, getattr(variant, model_field.attname))
            instance.product = product
            instance._state.adding = False


def _as_validation_error(exc: ApplicationError, columns: dict[str, str]) -> ValidationError:
    if isinstance(exc, ValidationFailed) and exc.fields:
        return ValidationError(
            {
                columns.get(name, name): [
                    item.get("message", str(item)) if isinstance(item, dict) else str(item)
                    for item in (problems if isinstance(problems, list) else [problems])
                ]
                for name, problems in exc.fields.items()
            }
        )
    return ValidationError({NON_FIELD_ERRORS: [exc.message]})
