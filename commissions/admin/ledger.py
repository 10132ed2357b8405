"""The commissions admin: brands see what they owe creators; payouts are the platform's.

Brand members get two brand-scoped views (shop.admin.scoping): their commission terms (the
hold period, editable by writers) and their commission liabilities (the ledger lines of
their sales, read-only, with totals by status and currency for the rows filtered); their
settlements are in settlements.py. Payout accounts and payouts are superusers': they
pay out balances, send failed payouts again, export manual payouts as CSV for the bank and
record what the bank did.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from unfold.admin import ModelAdmin

from commissions.admin.reconciliation import LedgerReconcileAdminMixin
from commissions.models import CommissionLine, CommissionTerms, Payout, PayoutAccount
from commissions.services import payouts as payout_services
from commissions.services.providers import payouts_csv
from common.admin_mixins import ReadOnlyAdminMixin
from common.errors import ApplicationError
from common.money import quantize
from shop.admin.scoping import BrandScopedAdminMixin, is_unrestricted

logger = logging.getLogger(__name__)


@admin.register(CommissionTerms)
class CommissionTermsAdmin(BrandScopedAdminMixin, ModelAdmin):
    brand_path = "brand"
    list_display = (
        "brand",
        "hold_days",
        "commission_on_list_price",
        "fraud_refund_rate",
        "updated_at",
    )
    list_select_related = ("brand",)
    fields = ("brand", "hold_days", "commission_on_list_price", "fraud_refund_rate")


@admin.register(CommissionLine)
class CommissionLineAdmin(
    ReadOnlyAdminMixin, BrandScopedAdminMixin, LedgerReconcileAdminMixin, ModelAdmin
):
    """Commission liabilities: what the brand's sales earned creators, and what was paid."""

    brand_path = "brand"
    change_list_template = "admin/commissions/commissionline/change_list.html"
    list_display = (
        "id",
        "creator",
        "kind",
        "status",
        "amount",
        "currency",
        "rate",
        "order_id",
        "earned_at",
        "payable_at",
        "payout",
    )
    list_select_related = ("creator", "brand")
    list_filter = ("status", "kind", "currency", "brand")
    search_fields = ("creator__handle",)
    date_hierarchy = "earned_at"
    readonly_fields = (
        "kind",
        "status",
        "creator",
        "link",
        "brand",
        "order_id",
        "order_line_id",
        "refund_id",
        "currency",
        "base",
        "rate",
        "amount",
        "refunded_to_date",
        "receipt",
        "earned_at",
        "payable_at",
        "approved_at",
        "payout",
        "created_at",
    )
    fields = readonly_fields

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        response = super().changelist_view(request, extra_context)
        if isinstance(response, TemplateResponse) and response.context_data:
            changelist = response.context_data.get("cl")
            if changelist is not None:
                response.context_data["liabilities"] = liabilities(changelist.queryset)
        return response


STATUS_COLUMNS = [s for s in CommissionLine.Status if s != CommissionLine.Status.VOIDED]


def liabilities(queryset: QuerySet[CommissionLine]) -> list[dict[str, Any]]:
    """Totals by currency and status of the rows shown (voided lines add nothing)."""
    totals: dict[str, dict[str, Decimal]] = defaultdict(dict)
    rows = (
        queryset.exclude(status=CommissionLine.Status.VOIDED)
        .order_by()
        .values("currency", "status")
        .annotate(total=Sum("amount"))
    )
    for row in rows:
        totals[row["currency"]][row["status"]] = row["total"]
    return [
        {
            "currency": code,
            "columns": [
                (status.label, quantize(totals[code].get(status, Decimal(0)), code))
                for status in STATUS_COLUMNS
            ],
        }
        for code in sorted(totals)
    ]


# What Stripe says of a connected account: kept in step from Stripe, never typed in.
ACCOUNT_STATE_FIELDS = (
    "stripe_account_id",
    "payouts_enabled",
    "details_submitted",
    "disabled_reason",
    "currently_due",
    "synced_at",
)


class SuperuserOnlyAdmin(ModelAdmin):
    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_unrestricted(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_unrestricted(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_unrestricted(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_unrestricted(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PayoutAccount)
class PayoutAccountAdmin(SuperuserOnlyAdmin):
    """Stripe accounts follow Stripe; bank-paid creators get a manual account here."""

    list_display = ("creator", "provider", "status", "stripe_account_id", "synced_at")
    list_select_related = ("creator",)
    list_filter = ("provider", "status")
    search_fields = ("creator__handle", "stripe_account_id")
    autocomplete_fields = ("creator",)
    fields = ("creator", "provider", "status", "bank_reference", *ACCOUNT_STATE_FIELDS)
    readonly_fields = ACCOUNT_STATE_FIELDS
    actions = ("pay_out_now",)

    @admin.action(description="Pay out approved balances now")
    def pay_out_now(self, request: HttpRequest, queryset: QuerySet[PayoutAccount]) -> None:
        currencies = (
            CommissionLine.objects.filter(
                creator_id__in=queryset.values("creator_id"),
                status=CommissionLine.Status.APPROVED,
                payout__isnull=True,
            )
            .order_by("creator_id", "currency")
            .values_list("creator_id", "currency")
            .distinct()
        )
        made = 0
        for creator_id, currency in currencies:
            try:
                payout_services.payout_create_for_creator(
                    creator_id=creator_id,
                    currency=currency,
                    actor=request.user,  # type: ignore[arg-type]
                )
                made += 1
            except ApplicationError as exc:
                logger.info("payout refused for creator %s: %s", creator_id, exc.code)
                self.message_user(
                    request,
                    f"Creator {creator_id}, {currency}: refused: {exc.message}",
                    messages.WARNING,
                )
        self.message_user(request, f"{made} payout(s) created and sent.", messages.SUCCESS)


class TransferAttemptAdmin(SuperuserOnlyAdmin):
    """Money sent out through a payout provider (creator payouts, brand settlements).

    Read-only rows; actions send in-flight attempts again (the provider's idempotency keeps
    that from paying twice), export the manual provider's attempts as a bank CSV, and record
    what the bank did. Subclasses name their services and labels.
    """

    noun = "Payout"
    csv_filename = "tribe-payouts.csv"
    manual_provider = PayoutAccount.Provider.MANUAL
    csv_related: tuple[str, ...] = ()
    list_filter = ("status", "provider", "currency")
    actions = ("send_again", "export_csv", "mark_paid", "mark_failed")

    def send(self, *, payout_id: int) -> Any:
        raise NotImplementedError

    def csv_body(self, rows: QuerySet[Any]) -> str:
        raise NotImplementedError

    def mark_paid_manually(self, *, payout_id: int, actor: Any) -> Any:
        raise NotImplementedError

    def mark_failed_manually(self, *, payout_id: int, message: str, actor: Any) -> Any:
        raise NotImplementedError

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Send again (in-flight attempts; never pays twice)")
    def send_again(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for payout_id in queryset.values_list("pk", flat=True):
            payout = self.send(payout_id=payout_id)
            self.message_user(request, f"{self.noun} {payout.pk}: {payout.status}.")

    @admin.action(description="Export manual attempts as CSV for the bank")
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse:
        rows = queryset.filter(provider=self.manual_provider).select_related(*self.csv_related)
        response = HttpResponse(self.csv_body(rows.order_by("pk")), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="{self.csv_filename}"'
        return response

    @admin.action(description="Mark manual attempts paid (the bank confirmed)")
    def mark_paid(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        def paid(*, payout_id: int) -> Any:
            return self.mark_paid_manually(payout_id=payout_id, actor=request.user)

        self._each(request, queryset, paid)

    @admin.action(description="Mark manual attempts failed (the bank rejected them)")
    def mark_failed(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        def fail(*, payout_id: int) -> Any:
            return self.mark_failed_manually(
                payout_id=payout_id,
                message="Rejected by the bank (recorded in admin).",
                actor=request.user,
            )

        self._each(request, queryset, fail)

    def _each(self, request: HttpRequest, queryset: QuerySet[Any], service: Any) -> None:
        for payout_id in queryset.values_list("pk", flat=True):
            try:
                payout = service(payout_id=payout_id)
            except ApplicationError as exc:
                self.message_user(request, f"Payout {payout_id}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{self.noun} {payout.pk}: {payout.status}.")


@admin.register(Payout)
class PayoutAdmin(TransferAttemptAdmin):
    list_display = (
        "id",
        "creator",
        "amount",
        "currency",
        "status",
        "provider",
        "reference",
        "failure_code",
        "created_at",
    )
    list_select_related = ("creator",)
    search_fields = ("creator__handle", "reference")
    csv_related = ("creator__user", "creator__payout_account")

    def send(self, *, payout_id: int) -> Payout:
        return payout_services.payout_send(payout_id=payout_id)

    def csv_body(self, rows: QuerySet[Any]) -> str:
        return payouts_csv(rows)

    def mark_paid_manually(self, *, payout_id: int, actor: Any) -> Payout:
        return payout_services.payout_mark_paid_manually(payout_id=payout_id, actor=actor)

    def mark_failed_manually(self, *, payout_id: int, message: str, actor: Any) -> Payout:
        return payout_services.payout_mark_failed_manually(
            payout_id=payout_id, message=message, actor=actor
        )
