"""The order desk's "Refund" page: a brand refunds its lines through the refund service.

The page is a custom admin view (not a change form), so no transaction is open around it:
the service reserves, calls Stripe and records the answer in its own short transactions.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from common.errors import ApplicationError
from common.money import format_money
from orders.models import Fulfilment, OrderLine, OrderShipping, Refund
from orders.services.refunds import RefundLineRequest, refund_create

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin


class RefundForm(forms.Form):
    shipping = forms.BooleanField(required=False, label="Also refund what is left of shipping")
    restock = forms.BooleanField(required=False, label="Put the refunded units back in stock")
    reason = forms.ChoiceField(choices=[("", "—"), *Refund.Reason.choices], required=False)
    note = forms.CharField(
        max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(
        self,
        *args: Any,
        lines: list[OrderLine],
        shipping_left: Decimal,
        currency: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lines = lines
        if shipping_left <= 0:
            del self.fields["shipping"]
        else:
            self.fields["shipping"].help_text = f"{format_money(shipping_left, currency)} left"
        for line in lines:
            left = line.line_total - line.refunded_amount
            units = line.quantity - line.refunded_quantity
            # No upper bounds here: the service (and the database) decide what is left.
            self.fields[f"qty_{line.pk}"] = forms.IntegerField(
                label=f"{line.sku} · {line.title}: units",
                min_value=0,
                initial=0,
                required=False,
                help_text=f"{units} of {line.quantity} unit(s) not yet refunded",
            )
            self.fields[f"amount_{line.pk}"] = forms.DecimalField(
                label=f"{line.sku}: amount",
                min_value=Decimal(0),
                decimal_places=3,
                required=False,
                help_text=(
                    f"{format_money(left, line.currency)} left to refund; empty: the units' "
                    "share of what was paid"
                ),
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.refund_lines() and not cleaned.get("shipping"):
            raise forms.ValidationError("Refund at least one unit, an amount or the shipping.")
        return cleaned

    def refund_lines(self) -> list[RefundLineRequest]:
        wanted = []
        for line in self.lines:
            quantity = self.cleaned_data.get(f"qty_{line.pk}") or 0
            amount = self.cleaned_data.get(f"amount_{line.pk}")
            if quantity or amount is not None:
                wanted.append(RefundLineRequest(line_id=line.pk, quantity=quantity, amount=amount))
        return wanted


def refund_view(
    model_admin: ModelAdmin[Any], request: HttpRequest, fulfilment: Fulfilment
) -> HttpResponse:
    lines = [
        line
        for line in OrderLine.objects.filter(
            order_id=fulfilment.order_id, brand_id=fulfilment.brand_id
        ).order_by("pk")
        if line.refunded_amount < line.line_total
    ]
    charged = OrderShipping.objects.filter(
        order_id=fulfilment.order_id, brand_id=fulfilment.brand_id
    ).first()
    shipping_left = charged.amount - charged.refunded_amount if charged else Decimal(0)
    data = request.POST if request.method == "POST" else None
    form = RefundForm(
        data, lines=lines, shipping_left=shipping_left, currency=fulfilment.order.currency
    )
    error_code = ""
    if request.method == "POST" and form.is_valid():
        try:
            refund = refund_create(
                order_id=fulfilment.order_id,
                user=request.user,  # type: ignore[arg-type]
                lines=form.refund_lines(),
                shipping=bool(form.cleaned_data.get("shipping")),
                restock=form.cleaned_data["restock"],
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
                brand_slug=fulfilment.brand.slug,
            )
        except ApplicationError as exc:
            # The person sees the message; the code is for the logs and the support desk.
            error_code = exc.code
            logger.info("admin refund of order %s refused: %s", fulfilment.order_id, exc.code)
            form.add_error(None, exc.message)
        else:
            model_admin.message_user(
                request,
                f"Refunded {format_money(refund.amount, refund.currency)} (refund {refund.pk}).",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(
                reverse("admin:orders_fulfilment_change", args=[fulfilment.pk])
            )
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": f"Refund order {fulfilment.order_id} ({fulfilment.brand.name})",
        "fulfilment": fulfilment,
        "form": form,
        "error_code": error_code,
        "nothing_left": not lines and shipping_left <= 0,
    }
    status = 409 if error_code else 200
    return TemplateResponse(request, "admin/orders/fulfilment/refund.html", context, status=status)
