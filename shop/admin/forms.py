"""Forms, formsets, list filters and the stock-aware variant save used by the shop admin."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from accounts.models import User
from common.errors import ValidationFailed
from common.money import quantize
from shop.admin.fields import OPTION_PAIRS, OptionsField, TagsField
from shop.models import MAX_ON_HAND, BrandMember, Product, StockMovement, Variant
from shop.selectors import in_stock_filter, low_stock_filter
from shop.services.catalog import validate_price
from shop.services.stock import stock_set

AVAILABLE = in_stock_filter()
VARIANT_STOCK_FIELDS = ("on_hand", "reserved")


def variant_save_from_admin(*, request: HttpRequest, form: ModelForm) -> Variant:
    """Save a variant edited in admin; its stock level changes only through `stock_set`.

    Runs inside the admin view's transaction: the other fields are saved with `on_hand` and
    `reserved` left at their database values, then a changed level becomes a movement.
    """
    variant: Variant = form.instance
    wanted = form.cleaned_data.get("on_hand")
    with transaction.atomic():
        if variant.pk is None:
            variant.on_hand, variant.reserved = 0, 0
            variant.save()
            reason = StockMovement.Reason.INITIAL
            changed = bool(wanted)
        else:
            variant.save(
                update_fields=[
                    f.attname
                    for f in Variant._meta.concrete_fields
                    if not f.primary_key and f.name not in (*VARIANT_STOCK_FIELDS, "created_at")
                ]
            )
            reason = StockMovement.Reason.ADMIN_EDIT
            changed = "on_hand" in form.changed_data
        if changed and wanted is not None:
            stock_set(
                variant_id=variant.pk,
                on_hand=wanted,
                reason=reason,
                actor_id=request.user.pk,
                reference=f"admin:{variant.sku}",
            )
        variant.refresh_from_db(fields=list(VARIANT_STOCK_FIELDS))
    return variant


class ProductAdminForm(forms.ModelForm):
    tags = TagsField()

    class Meta:
        model = Product
        fields = (
            "brand",
            "title",
            "slug",
            "status",
            "category",
            "tags",
            "description",
            "commission_rate",
        )

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        brand = cleaned.get("brand") or getattr(self.instance, "brand", None)
        slug = cleaned.get("slug")
        if brand is not None and slug:
            # The (brand, slug) constraint is skipped by the form when brand is read-only.
            taken = Product.objects.filter(brand=brand, slug=slug).exclude(pk=self.instance.pk)
            if taken.exists():
                self.add_error("slug", f"{brand} already has a product with this slug.")
        return cleaned


class VariantAdminForm(forms.ModelForm):
    """Stock is edited as a level; the form remembers the level the user saw.

    `on_hand` renders a hidden copy of its initial value, so `changed_data` says whether the
    user typed a new level, and a level changed by someone else meanwhile is a form error
    rather than a silent overwrite.
    """

    on_hand = forms.IntegerField(
        min_value=0,
        max_value=MAX_ON_HAND,
        initial=0,
        show_hidden_initial=True,
        help_text="Units the brand can ship; each change is recorded as a stock movement.",
    )
    options = OptionsField()

    class Meta:
        model = Variant
        fields = (
            "product",
            "sku",
            "title",
            "options",
            "price",
            "compare_at_price",
            "on_hand",
            "low_stock_threshold",
            "position",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and "sku" in self.fields:
            self.fields["sku"].disabled = True  # a SKU never changes; create a new variant
        self._show_prices_in_currency()
        stored = len(self.instance.options or {})
        if stored > OPTION_PAIRS and "options" in self.fields:
            # One pair more than stored, so no option set through the API is cut off here.
            self.fields["options"] = OptionsField(pairs=stored + 1)

    def _show_prices_in_currency(self) -> None:
        """Prices are stored with three decimals; show them with the currency's own."""
        if not self.instance.pk:
            return
        currency = self.instance.product.brand.currency
        for name in ("price", "compare_at_price"):
            value = self.initial.get(name)
            if value is not None:
                self.initial[name] = quantize(value, currency)

    def _product(self) -> Product | None:
        product = self.cleaned_data.get("product")
        if product is None:
            try:
                product = self.instance.product
            except ObjectDoesNotExist:
                return None
        return product

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        product = self._product()
        if product is not None and product.brand_id is not None:
            currency = product.brand.currency
            for name in ("price", "compare_at_price"):
                if cleaned.get(name) is not None:
                    try:
                        cleaned[name] = validate_price(cleaned[name], currency=currency, field=name)
                    except ValidationFailed as exc:
                        self.add_error(name, exc.message)
        if self.instance.pk and "on_hand" in self.changed_data:
            seen = self._seen_on_hand()
            current = (
                Variant.objects.filter(pk=self.instance.pk).values_list("on_hand", flat=True).get()
            )
            if seen is not None and seen != current:
                self.add_error(
                    "on_hand",
                    f"Stock changed to {current} since you opened this page; "
                    "check the new level and save again.",
                )
        return cleaned

    def _seen_on_hand(self) -> int | None:
        field = self.fields["on_hand"]
        raw = field.hidden_widget().value_from_datadict(
            self.data, self.files, self.add_initial_prefix("on_hand")
        )
        try:
            return int(raw)
        except (TypeError, ValueError):
            return None


class VariantInlineFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        for form in self.deleted_forms:
            if form.instance.pk and StockMovement.objects.filter(variant=form.instance).exists():
                raise forms.ValidationError(
                    f"Variant {form.instance.sku} has stock history and cannot be deleted; "
                    "set its stock to 0 or archive the product instead."
                )


class BrandMemberForm(forms.ModelForm):
    """Members are added by the email of an existing account, never picked from a user list."""

    email = forms.EmailField(label="User email")

    class Meta:
        model = BrandMember
        fields = ("role",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["email"].initial = self.instance.user.email
            self.fields["email"].disabled = True

    def clean_email(self) -> str:
        if self.instance.pk:
            return self.instance.user.email
        email = self.cleaned_data["email"].strip().lower()
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            raise forms.ValidationError("No account uses this email; ask them to sign up first.")
        self.instance.user = user
        return email


class BrandMemberFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        seen: set[int] = set()
        owners = 0
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or form in self.deleted_forms:
                continue
            user_id = form.instance.user_id
            if user_id is None:
                continue
            if user_id in seen:
                raise forms.ValidationError(f"{form.instance.user} is listed twice.")
            seen.add(user_id)
            if form.cleaned_data.get("role", form.instance.role) == BrandMember.Role.OWNER:
                owners += 1
        had_owner = (
            self.instance.pk is not None
            and BrandMember.objects.filter(
                brand_id=self.instance.pk, role=BrandMember.Role.OWNER
            ).exists()
        )
        if had_owner and not owners:
            raise forms.ValidationError("A brand needs at least one owner.")


class _StockLevelFilter(admin.SimpleListFilter):
    title = "stock level"
    parameter_name = "stock"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("in_stock", "In stock"),
            ("low", "Low stock"),
            ("sold_out", "Sold out"),
        ]


class ProductStockLevelFilter(_StockLevelFilter):
    """In stock: some variant is available; low: some variant is at or under its threshold."""

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        variants = Variant.objects.filter(product_id=OuterRef("pk"))
        if self.value() == "in_stock":
            return queryset.filter(Exists(variants.filter(AVAILABLE)))
        if self.value() == "low":
            return queryset.filter(Exists(variants.filter(low_stock_filter())))
        if self.value() == "sold_out":
            return queryset.exclude(Exists(variants.filter(AVAILABLE)))
        return queryset


class VariantStockLevelFilter(_StockLevelFilter):
    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        if self.value() == "in_stock":
            return queryset.filter(AVAILABLE)
        if self.value() == "low":
            return queryset.filter(low_stock_filter())
        if self.value() == "sold_out":
            return queryset.exclude(AVAILABLE)
        return queryset


def stock_level_label(*, available: bool, low: bool) -> str:
    if not available:
        return "Sold out"
    return "Low stock" if low else "In stock"
