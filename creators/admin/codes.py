"""Creator codes in the admin, scoped to the brands of the signed-in member.

A code is issued through `code_issue` (the same checks and error codes as the brand API)
and afterwards only switched on or off through `code_set_active`: receipts and the ledger
name it, so it is never renamed, moved or deleted.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from unfold.admin import ModelAdmin

from creators.models import Creator, CreatorCode
from creators.selectors.codes import code_is_wellformed, code_normalise, codes_with_uses
from creators.services.codes import code_issue, code_set_active
from shop.admin.scoping import BrandScopedAdminMixin, is_unrestricted


class CreatorCodeAdminForm(forms.ModelForm):
    class Meta:
        model = CreatorCode
        fields = ("brand", "code", "discount", "creator", "is_active")
        help_texts = {
            "code": "3-40 of A-Z, 0-9, - and _; any case, stored upper-case.",
            "creator": "Empty: a brand code that credits nobody.",
        }

    def clean_code(self) -> str:
        # Stored normalised, so the unique check below compares what would be stored.
        code = code_normalise(self.cleaned_data.get("code") or "")
        if not code_is_wellformed(code):
            raise forms.ValidationError("3-40 of A-Z, 0-9, - and _.", code="code_invalid")
        return code

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        brand = data.get("brand") or getattr(self.instance, "brand", None)
        discount = data.get("discount")
        if brand is not None and discount is not None and discount.brand_id != brand.pk:
            self.add_error("discount", "Choose one of the brand's own discounts.")
        return data


@admin.register(CreatorCode)
class CreatorCodeAdmin(BrandScopedAdminMixin, ModelAdmin):
    form = CreatorCodeAdminForm
    list_display = (
        "code",
        "brand",
        "creator",
        "discount",
        "uses",
        "is_active",
        "made_by_creator",
        "created_at",
    )
    list_filter = ("is_active", "made_by_creator", "brand")
    search_fields = ("code", "creator__handle")
    autocomplete_fields = ("creator",)
    actions = ("switch_off", "switch_on")
    detail_readonly = ("brand", "code", "discount", "creator", "made_by_creator", "created_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        # The brand scope, with the selector's uses and related rows (no query per row).
        return codes_with_uses(super().get_queryset(request).select_related("creator"))

    @admin.display(description="Uses", ordering="uses")
    def uses(self, obj: CreatorCode) -> int:
        return int(getattr(obj, "uses", 0))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None:
            return self.detail_readonly
        return super().get_readonly_fields(request, obj)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "creator":
            # Creators belong to no brand: any active one may be given a code.
            kwargs["queryset"] = Creator.objects.filter(status=Creator.Status.ACTIVE)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # receipts name codes: switch them off instead

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        self.assign_brand(request, obj)
        self.require_writable(request, obj)
        if change:
            code_set_active(code=obj, is_active=obj.is_active)
            return
        issued = code_issue(
            brand=obj.brand, discount_id=obj.discount_id, code=obj.code, creator_id=obj.creator_id
        )
        if not obj.is_active:
            code_set_active(code=issued, is_active=False)
        obj.pk, obj.code = issued.pk, issued.code

    def _switch(self, request: HttpRequest, queryset: QuerySet[Any], on: bool) -> None:
        writable = self.brand_ids(request, write=True)
        done = 0
        for code in queryset:
            if is_unrestricted(request) or code.brand_id in writable:
                code_set_active(code=code, is_active=on)
                done += 1
        self.message_user(request, f"{done} code(s) switched {'on' if on else 'off'}.")

    @admin.action(description="Switch the selected codes off")
    def switch_off(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._switch(request, queryset, on=False)

    @admin.action(description="Switch the selected codes on")
    def switch_on(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._switch(request, queryset, on=True)
