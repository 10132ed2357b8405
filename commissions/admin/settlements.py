"""The settlements admin: what Tribe owes each brand, and paying it.

Brand members see their settlements (brand-scoped, shop.admin.scoping): read-only
statements, line by line, with every payment attempt and its outcome, exported as CSV by
anyone who can view them; members who can write may pay the selected settlements through
the brand's payout account. Brand payout accounts and settlement payouts are the
platform's (superusers): connecting a brand at Stripe, sending attempts again, exporting
manual ones for the bank and recording what the bank did.
"""

from __future__ import annotations

import csv
import io
import logging
from typing import Any

from django.contrib import admin, messages
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from unfold.admin import ModelAdmin, TabularInline

from commissions.admin.ledger import (
    ACCOUNT_STATE_FIELDS,
    SuperuserOnlyAdmin,
    TransferAttemptAdmin,
)
from commissions.admin.settlement_statements import SettlementStatementAdminMixin
from commissions.models import BrandPayoutAccount, Settlement, SettlementLine, SettlementPayout
from commissions.services import accounts
from commissions.services import settlement_payouts as services
from commissions.services.settlements import settlement_lines_csv_rows
from common.admin_mixins import ReadOnlyAdminMixin, ReadOnlyInlineMixin
from common.errors import ApplicationError
from shop.admin.scoping import BrandScopedAdminMixin, BrandScopedInlineMixin, is_unrestricted

logger = logging.getLogger(__name__)


class _ReadOnlyInline(ReadOnlyInlineMixin, BrandScopedInlineMixin, TabularInline):
    brand_path = "settlement__brand"
    extra = 0
    can_delete = False


class SettlementLineInline(_ReadOnlyInline):
    model = SettlementLine
    fields = (
        "kind",
        "order_id",
        "order_line_id",
        "refund_id",
        "dispute_id",
        "commission_line_id",
        "occurred_at",
        "amount",
    )
    readonly_fields = fields


class SettlementPayoutInline(_ReadOnlyInline):
    model = SettlementPayout
    verbose_name = "payment"
    verbose_name_plural = "payments (each attempt)"
    fields = (
        "id",
        "status",
        "amount",
        "currency",
        "provider",
        "reference",
        "failure_code",
        "failure_message",
        "attempts",
        "created_at",
        "paid_at",
        "failed_at",
    )
    readonly_fields = fields


@admin.register(Settlement)
class SettlementAdmin(
    ReadOnlyAdminMixin, BrandScopedAdminMixin, SettlementStatementAdminMixin, ModelAdmin
):
    """What Tribe owes the brand per period and currency, line by line; never edited."""

    brand_path = "brand"
    list_display = (
        "id",
        "brand",
        "period_start",
        "period_end",
        "currency",
        "gross",
        "discounts",
        "refunds",
        "commissions",
        "platform_fee",
        "disputes",
        "dispute_fees",
        "amount_due",
        "payment",
    )
    list_select_related = ("brand",)
    list_filter = ("currency", "brand")
    date_hierarchy = "period_start"
    readonly_fields = (
        "brand",
        "period_start",
        "period_end",
        "currency",
        "gross",
        "discounts",
        "refunds",
        "commissions",
        "platform_fee_percent",
        "platform_fee",
        "disputes",
        "dispute_fees",
        "amount_due",
        "carried_in",
        "statement",
        "created_at",
    )
    fields = readonly_fields
    inlines = (SettlementPayoutInline, SettlementLineInline)
    actions = ("export_csv", "pay")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Settlement]:
        latest = SettlementPayout.objects.filter(settlement=OuterRef("pk")).order_by("-pk")
        return (
            super()
            .get_queryset(request)
            .annotate(payment_status=Subquery(latest.values("status")[:1]))
        )

    @admin.display(description="payment", ordering="payment_status")
    def payment(self, obj: Settlement) -> str:
        status = getattr(obj, "payment_status", None)
        return str(SettlementPayout.Status(status).label) if status else "Not paid"

    def has_pay_permission(self, request: HttpRequest) -> bool:
        """Paying writes: superusers, and members who can write to a brand."""
        return is_unrestricted(request) or bool(self.brand_ids(request, write=True))

    def response_action(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
        # Exporting writes nothing, so viewers may export what they can view (get_queryset
        # already scopes the rows); the mixin narrows every other action to writable brands.
        if request.POST.get("action") == "export_csv":
            return ModelAdmin.response_action(self, request, queryset)
        return super().response_action(request, queryset)

    @admin.action(description="Export the selected settlements as CSV, line by line")
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Settlement]) -> HttpResponse:
        rows = queryset.prefetch_related("lines").order_by("period_start", "currency", "pk")
        buffer = io.StringIO()
        csv.writer(buffer).writerows(settlement_lines_csv_rows(rows))
        response = HttpResponse(buffer.getvalue(), content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="tribe-settlements.csv"'
        return response

    @admin.action(
        description="Pay the selected settlements to the brand (never twice)",
        permissions=["pay"],
    )
    def pay(self, request: HttpRequest, queryset: QuerySet[Settlement]) -> None:
        for settlement_id in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                payout = services.settlement_payout_create(
                    settlement_id=settlement_id,
                    actor=request.user,  # type: ignore[arg-type]
                )
            except ApplicationError as exc:
                logger.info("settlement %s payment refused: %s", settlement_id, exc.code)
                self.message_user(
                    request,
                    f"Settlement {settlement_id}: refused: {exc.message}",
                    messages.WARNING,
                )
                continue
            payout.refresh_from_db()  # the send ran on commit (or is queued)
            failed = payout.status == SettlementPayout.Status.FAILED
            reason = f" ({payout.failure_code}: {payout.failure_message})" if failed else ""
            self.message_user(
                request,
                f"Settlement {settlement_id}: payment {payout.pk} is "
                f"{payout.get_status_display()}{reason}",
                messages.ERROR if failed else messages.INFO,
            )


@admin.register(BrandPayoutAccount)
class BrandPayoutAccountAdmin(SuperuserOnlyAdmin):
    """Add a brand's account here, then connect it at Stripe (or mark a bank account ready)."""

    list_display = ("brand", "provider", "status", "stripe_account_id", "synced_at")
    list_select_related = ("brand",)
    list_filter = ("provider", "status")
    search_fields = ("brand__name", "brand__slug", "stripe_account_id")
    fields = ("brand", "provider", "status", "bank_reference", *ACCOUNT_STATE_FIELDS)
    readonly_fields = ACCOUNT_STATE_FIELDS
    actions = ("connect_at_stripe", "sync_from_stripe")

    @admin.action(description="Connect at Stripe and show the onboarding link for the brand")
    def connect_at_stripe(
        self, request: HttpRequest, queryset: QuerySet[BrandPayoutAccount]
    ) -> None:
        for account in queryset.select_related("brand").order_by("pk"):
            try:
                connected, link = accounts.brand_payout_account_connect(brand=account.brand)
            except ApplicationError as exc:
                logger.info("connect refused for brand %s: %s", account.brand_id, exc.code)
                self.message_user(request, f"{account.brand}: {exc.message}", messages.WARNING)
                continue
            self.message_user(
                request,
                f"{account.brand}: Stripe account {connected.stripe_account_id}; send the brand "
                f"this onboarding link (valid until {link.expires_at:%H:%M} UTC): {link.url}",
            )

    @admin.action(description="Refresh the status from Stripe")
    def sync_from_stripe(
        self, request: HttpRequest, queryset: QuerySet[BrandPayoutAccount]
    ) -> None:
        for stripe_account_id in queryset.values_list("stripe_account_id", flat=True):
            if not stripe_account_id:
                continue
            synced = accounts.brand_payout_account_sync(stripe_account_id=stripe_account_id)
            if synced is not None:
                self.message_user(request, f"{synced.brand_id}: {synced.get_status_display()}.")


@admin.register(SettlementPayout)
class SettlementPayoutAdmin(TransferAttemptAdmin):
    list_display = (
        "id",
        "settlement",
        "amount",
        "currency",
        "status",
        "provider",
        "reference",
        "failure_code",
        "created_at",
    )
    list_select_related = ("settlement__brand",)
    search_fields = ("settlement__brand__name", "reference")
    noun = "Settlement payout"
    csv_filename = "tribe-settlement-payouts.csv"
    manual_provider = BrandPayoutAccount.Provider.MANUAL
    csv_related = ("settlement__brand__payout_account",)

    def send(self, *, payout_id: int) -> SettlementPayout:
        return services.settlement_payout_send(payout_id=payout_id)

    def csv_body(self, rows: QuerySet[Any]) -> str:
        return services.settlement_payouts_csv(rows)

    def mark_paid_manually(self, *, payout_id: int, actor: Any) -> SettlementPayout:
        return services.settlement_payout_mark_paid_manually(payout_id=payout_id, actor=actor)

    def mark_failed_manually(self, *, payout_id: int, message: str, actor: Any) -> SettlementPayout:
        return services.settlement_payout_mark_failed_manually(
            payout_id=payout_id, message=message, actor=actor
        )
