"""The outbox in the admin: deliveries not yet done, their age and error, and "retry now".

Platform staff only: the standard model permissions decide (brand members have none), and
the rows are read-only; retrying needs the change permission (or a superuser).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.timesince import timesince
from unfold.admin import ModelAdmin

from common.admin_mixins import ReadOnlyAdminMixin
from common.outbox.models import OutboxDelivery
from common.outbox.services import deliveries_retry_now


@admin.register(OutboxDelivery)
class UndeliveredAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ("id", "event_name", "handler", "age", "attempts", "error", "next_attempt_at")
    list_filter = ("handler",)
    search_fields = ("handler", "event__name", "last_error")
    ordering = ("created_at", "id")
    list_select_related = ("event",)
    readonly_fields = (
        "event",
        "event_name",
        "payload",
        "handler",
        "status",
        "attempts",
        "last_error",
        "next_attempt_at",
        "created_at",
        "done_at",
    )
    fields = readonly_fields
    actions = ("retry_now",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[OutboxDelivery]:
        return super().get_queryset(request).filter(done_at__isnull=True)

    @admin.display(description="event", ordering="event__name")
    def event_name(self, obj: OutboxDelivery) -> str:
        return f"{obj.event.name} #{obj.event_id}"

    @admin.display(description="payload")
    def payload(self, obj: OutboxDelivery) -> object:
        return obj.event.payload

    @admin.display(description="age", ordering="created_at")
    def age(self, obj: OutboxDelivery) -> str:
        return timesince(obj.created_at, timezone.now())

    @admin.display(description="last error")
    def error(self, obj: OutboxDelivery) -> str:
        return obj.last_error[:200]

    def has_retry_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(
            user.is_active
            and user.is_staff
            and (user.is_superuser or user.has_perm("common.change_outboxdelivery"))
        )

    @admin.action(description="Retry now", permissions=["retry"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[OutboxDelivery]) -> None:
        sent = deliveries_retry_now(delivery_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, f"{len(sent)} deliveries queued again.", messages.SUCCESS)
