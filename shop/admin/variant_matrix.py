"""The product page's "Add variants by size and colour" form; the variants are made by a service."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from unfold.widgets import UnfoldAdminDecimalFieldWidget, UnfoldAdminIntegerFieldWidget

from common.errors import ApplicationError
from shop.admin.fields import TagsField
from shop.models import MAX_ON_HAND, Product
from shop.services.variant_matrix import sku_part, variant_matrix_create

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin


# The service's field names, as this form names them.
FORM_FIELD_OF = {"size": "sizes", "colour": "colours"}


class VariantMatrixForm(forms.Form):
    sizes = TagsField(
        required=True, label="Sizes", help_text="Separate sizes with commas, e.g. S, M, L, XL."
    )
    colours = TagsField(
        required=True,
        label="Colours",
        help_text="Separate colours with commas, e.g. black, white, sand.",
    )
    price = forms.DecimalField(
        min_value=Decimal(0),
        max_digits=14,
        decimal_places=3,
        widget=UnfoldAdminDecimalFieldWidget(),
        help_text="Every new variant's price; change single ones on the product page after.",
    )
    sku_prefix = forms.CharField(
        max_length=40,
        label="SKU prefix",
        help_text="Each SKU is the prefix, the size and the colour: TEE-M-BLACK.",
    )
    on_hand = forms.IntegerField(
        min_value=0,
        max_value=MAX_ON_HAND,
        initial=0,
        label="Units on hand of each",
        widget=UnfoldAdminIntegerFieldWidget(),
    )

    def __init__(self, *args: Any, product: Product, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sku_prefix"].initial = sku_part(product.slug)[:40]
        self.fields["price"].help_text += f" In {product.brand.currency}."
        self.fields["sizes"].widget.attrs["placeholder"] = "S, M, L"
        self.fields["colours"].widget.attrs["placeholder"] = "black, white"


def variant_matrix_view(
    model_admin: ModelAdmin[Any], request: HttpRequest, product: Product
) -> HttpResponse:
    form = VariantMatrixForm(request.POST or None, product=product)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = variant_matrix_create(
                user=request.user,  # type: ignore[arg-type]
                product_id=product.pk,
                sizes=data["sizes"],
                colours=data["colours"],
                price=data["price"],
                sku_prefix=data["sku_prefix"],
                on_hand=data["on_hand"],
            )
        except ApplicationError as exc:
            fields = getattr(exc, "fields", None) or {}
            for name, errors in fields.items():
                target = FORM_FIELD_OF.get(name, name)
                target = target if target in form.fields else None
                for error in errors:
                    form.add_error(target, error["message"])
            if not fields:
                form.add_error(None, exc.message)
        else:
            made = len(result.created)
            note = f"{made} variant(s) added."
            if result.skipped:
                pairs = ", ".join(f"{s} / {c}" for s, c in result.skipped)
                note += f" Already there, left as they were: {pairs}."
            model_admin.message_user(request, note, messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:shop_product_change", args=[product.pk]))
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "obj": product,
        "title": "Add variants by size and colour",
        "intro": (
            "One variant is made for each size and colour, with its stock recorded as a "
            "stock movement. Combinations the product already has are left as they are."
        ),
        "form": form,
        "submit_label": "Add variants",
    }
    return TemplateResponse(request, "admin/common/form_page.html", context)
