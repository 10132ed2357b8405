"""Commission holds in the admin: brand staff release or reverse their brand's held lines.

Brand-scoped like the ledger (shop.admin.scoping, through the held line's brand): members
see their brand's holds with the signals behind each (`detail`, for staff only); writers
release a hold (the line is payable again) or reverse it (its commission is taken back),
each through commissions.services.holds, once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from unfold.admin import ModelAdmin

from commissions.models import CommissionHold
from commissions.selectors.holds import commission_hold_queryset
from commissions.services.holds import commission_hold_release, commission_hold_reverse
from common.admin_mixins import ReadOnlyAdminMixin
from common.errors import ApplicationError
from shop.admin.scoping import BrandScopedAdminMixin, is_unrestricted

logger = logging.getLogger(__name__)


class OpenFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("open", "Open"), ("resolved", "Resolved")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "open":
            return queryset.filter(resolved_at__isnull=True)
        if self.value() == "resolved":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


@admin.register(CommissionHold)
class CommissionHoldAdmin(ReadOnlyAdminMixin, BrandScopedAdminMixin, ModelAdmin):
    """Held commission lines: why each is held, and the decision."""

    brand_path = "line__brand"
    list_display = (
        "id",
        "reason",
        "creator",
        "brand",
        "commission",
        "order_id",
        "created_at",
        "resolution",
        "resolved_at",
    )
    list_filter = (OpenFilter, "reason", "resolution")
    search_fields = ("line__creator__handle", "reason")
    readonly_fields = (
        "line",
        "reason",
        "detail",
        "amount",
        "created_at",
        "resolution",
        "resolved_at",
        "resolved_by",
    )
    fields = readonly_fields
    actions = ("release", "reverse")

    def get_queryset(self, request: HttpRequest) -> QuerySet[CommissionHold]:
        return self.scope_queryset(request, commission_hold_queryset(), roles=self.view_roles)

    @admin.display(description="creator", ordering="line__creator__handle")
    def creator(self, obj: CommissionHold) -> str:
        return str(obj.line.creator)

    @admin.display(description="brand", ordering="line__brand__name")
    def brand(self, obj: CommissionHold) -> str:
        return str(obj.line.brand)

    @admin.display(description="commission")
    def commission(self, obj: CommissionHold) -> str:
        return f"{obj.line.amount} {obj.line.currency}"

    @admin.display(description="order", ordering="line__order_id")
    def order_id(self, obj: CommissionHold) -> int:
        return obj.line.order_id

    def has_resolve_permission(self, request: HttpRequest) -> bool:
        """Deciding writes: superusers, and members who can write to a brand."""
        return is_unrestricted(request) or bool(self.brand_ids(request, write=True))

    def _each(
        self,
        request: HttpRequest,
        queryset: QuerySet[CommissionHold],
        service: Callable[..., CommissionHold],
        done: str,
    ) -> None:
        count = 0
        for hold_id in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                service(hold_id=hold_id, actor=request.user)
            except ApplicationError as exc:
                logger.info("hold %s not resolved: %s", hold_id, exc.code)
                self.message_user(
                    request, f"Hold {hold_id}: refused: {exc.message}", messages.WARNING
                )
                continue
            count += 1
        if count:
            self.message_user(request, f"{count} hold(s) {done}.", messages.SUCCESS)

    @admin.action(
        description="Release the selected holds (the commission becomes payable)",
        permissions=["resolve"],
    )
    def release(self, request: HttpRequest, queryset: QuerySet[CommissionHold]) -> None:
        self._each(request, queryset, commission_hold_release, "released")

    @admin.action(
        description="Reverse the selected holds (the commission is taken back)",
        permissions=["resolve"],
    )
    def reverse(self, request: HttpRequest, queryset: QuerySet[CommissionHold]) -> None:
        self._each(request, queryset, commission_hold_reverse, "reversed")
