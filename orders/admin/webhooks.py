"""Brands' webhook endpoints and the delivery log (with replay), scoped to the user's brands."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from unfold.admin import ModelAdmin

from common.errors import ApplicationError
from orders.models import BrandWebhookEndpoint, WebhookDelivery
from orders.models.webhooks import EVENT_TYPES
from orders.services.webhook_urls import webhook_url_check
from orders.services.webhooks import webhook_delivery_replay
from shop.admin.scoping import (
    WRITE_ROLES,
    BrandScopedAdminMixin,
    brand_ids_for_request,
    is_unrestricted,
)


class EndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=[(e, e) for e in EVENT_TYPES],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="None ticked: every event.",
    )

    class Meta:
        model = BrandWebhookEndpoint
        fields = ("brand", "url", "events", "description", "is_active")

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        try:
            webhook_url_check(url)
        except ApplicationError as exc:
            raise ValidationError(exc.message, code=exc.code) from None
        return url


@admin.register(BrandWebhookEndpoint)
class WebhookEndpointAdmin(BrandScopedAdminMixin, ModelAdmin):
    brand_path = "brand"
    form = EndpointForm
    list_display = ("url", "brand", "is_active", "event_list", "created_at")
    list_filter = ("is_active", "brand")
    search_fields = ("url", "description")
    readonly_fields = ("signing_secret",)

    @admin.display(description="Events")
    def event_list(self, obj: BrandWebhookEndpoint) -> str:
        return ", ".join(obj.events) or "all"

    @admin.display(description="Signing secret")
    def signing_secret(self, obj: BrandWebhookEndpoint) -> str:
        return obj.secret if obj.pk else "Made when you save."


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(BrandScopedAdminMixin, ModelAdmin):
    """The delivery log: read-only, with a replay button and action."""

    brand_path = "brand"
    list_display = (
        "created_at",
        "event_type",
        "subject",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
    )
    list_select_related = ("endpoint",)
    list_filter = ("status", "event_type", "endpoint")
    search_fields = ("event_id", "=order__id", "=subject")
    fields = (
        "event_id",
        "event_type",
        "subject",
        "event_key",
        "order",
        "endpoint",
        "status",
        "attempts",
        "window_started_at",
        "next_attempt_at",
        "last_attempt_at",
        "last_status_code",
        "last_error",
        "delivered_at",
        "payload",
        "replay_button",
    )
    readonly_fields = fields
    actions = ("replay",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.replay_view)
        return [
            path("<int:delivery_id>/replay/", view, name="orders_webhookdelivery_replay"),
            *super().get_urls(),
        ]

    def _writable_ids(self, request: HttpRequest) -> list[int] | None:
        return (
            None
            if is_unrestricted(request)
            else sorted(brand_ids_for_request(request, WRITE_ROLES))
        )

    def replay_view(self, request: HttpRequest, delivery_id: int) -> HttpResponse:
        delivery = self.get_queryset(request).filter(pk=delivery_id).first()
        if delivery is None or not self.has_change_permission(request, delivery):
            return self._get_obj_does_not_exist_redirect(request, self.opts, str(delivery_id))
        if request.method == "POST":
            webhook_delivery_replay(delivery_id=delivery.pk, brand_ids=self._writable_ids(request))
            self.message_user(request, "The event will be sent again.", messages.SUCCESS)
            return HttpResponseRedirect(
                reverse("admin:orders_webhookdelivery_change", args=[delivery.pk])
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Replay {delivery.event_type} {delivery.event_id}?",
            "delivery": delivery,
        }
        return TemplateResponse(request, "admin/orders/webhookdelivery/replay.html", context)

    @admin.display(description="Replay")
    def replay_button(self, obj: WebhookDelivery) -> SafeString:
        url = reverse("admin:orders_webhookdelivery_replay", args=[obj.pk])
        return format_html('<a class="button" href="{}">Send again…</a>', url)

    @admin.action(description="Send the selected events again", permissions=["change"])
    def replay(self, request: HttpRequest, queryset: Any) -> None:
        writable = self._writable_ids(request)
        for delivery in queryset.order_by("pk"):
            webhook_delivery_replay(delivery_id=delivery.pk, brand_ids=writable)
        self.message_user(
            request, f"{queryset.count()} event(s) will be sent again.", messages.SUCCESS
        )
