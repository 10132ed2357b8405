"""The order desk's "Ship" page: one quantity per line still to ship, saved by the service."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from common.errors import ApplicationError
from orders.models import Fulfilment, OrderLine
from orders.services.fulfilment import ShipLine, shipment_create
from orders.state import line_outstanding

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin


class ShipForm(forms.Form):
    carrier = forms.CharField(max_length=100)
    tracking_number = forms.CharField(max_length=100, required=False)
    tracking_url = forms.URLField(
        max_length=500,
        required=False,
        assume_scheme="https",
        help_text="Leave empty for UPS, USPS, FedEx and DHL: the link is made for you.",
    )

    def __init__(self, *args: Any, lines: list[OrderLine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line in lines:
            left = line_outstanding(line)
            self.fields[f"qty_{line.pk}"] = forms.IntegerField(
                label=f"{line.sku} · {line.title}",
                min_value=0,
                max_value=left,
                initial=left,
                help_text=f"{left} left to ship",
            )

    def clean_tracking_url(self) -> str:
        url: str = self.cleaned_data.get("tracking_url", "")
        if url and not url.lower().startswith("https://"):
            raise forms.ValidationError("Use an https:// link.")
        return url

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.lines and not any(cleaned.get(f"qty_{line.pk}") for line in self.lines):
            raise forms.ValidationError("Ship at least one unit.")
        return cleaned

    def ship_lines(self) -> list[ShipLine]:
        return [
            ShipLine(line_id=line.pk, quantity=self.cleaned_data[f"qty_{line.pk}"])
            for line in self.lines
            if self.cleaned_data.get(f"qty_{line.pk}")
        ]


def ship_view(
    model_admin: ModelAdmin[Any], request: HttpRequest, fulfilment: Fulfilment
) -> HttpResponse:
    lines = [
        line
        for line in OrderLine.objects.filter(
            order_id=fulfilment.order_id, brand_id=fulfilment.brand_id
        ).order_by("pk")
        if line_outstanding(line)
    ]
    form = ShipForm(request.POST or None, lines=lines)
    if request.method == "POST" and form.is_valid():
        try:
            shipment_create(
                order_id=fulfilment.order_id,
                user=request.user,  # type: ignore[arg-type]
                carrier=form.cleaned_data["carrier"],
                tracking_number=form.cleaned_data["tracking_number"],
                tracking_url=form.cleaned_data["tracking_url"],
                lines=form.ship_lines(),
                brand_slug=fulfilment.brand.slug,
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            model_admin.message_user(request, "The shipment is recorded.", messages.SUCCESS)
            return HttpResponseRedirect(
                reverse("admin:orders_fulfilment_change", args=[fulfilment.pk])
            )
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": f"Ship order {fulfilment.order_id} ({fulfilment.brand.name})",
        "fulfilment": fulfilment,
        "form": form,
        "nothing_left": not lines,
    }
    return TemplateResponse(request, "admin/orders/fulfilment/ship.html", context)
