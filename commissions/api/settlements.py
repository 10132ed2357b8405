"""The brand's settlement statements over the API: list, detail line by line, and CSV.

A brand member sees the settlements of their own brands only; any other is 404. Each figure
of a statement is traceable to its lines (sales, refunds, commissions and reversals, the
platform fee), and the debt carried in from an earlier period is shown with what it pays.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import authenticated_user
from commissions.models import Settlement, SettlementLine
from commissions.selectors.settlements import brand_settlement_get, brand_settlement_list
from commissions.services.settlements import settlement_lines_csv_rows
from common.pagination import IdCursorPagination
from common.serializers import ErrorSchema, MoneyField


class SettlementLineSchema(serializers.ModelSerializer):
    amount = MoneyField(
        amount="amount",
        currency="settlement.currency",
        help_text="Signed as it moves what the brand is owed.",
    )

    class Meta:
        model = SettlementLine
        fields = (
            "id",
            "kind",
            "order_id",
            "order_line_id",
            "refund_id",
            "dispute_id",
            "commission_line",
            "occurred_at",
            "amount",
        )
        read_only_fields = fields


def _money(field: str, help_text: str) -> MoneyField:
    return MoneyField(amount=field, currency="currency", help_text=help_text)


class SettlementSchema(serializers.ModelSerializer):
    brand: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    gross = _money("gross", "Paid lines at list price, and shipping, by paid date.")
    discounts = _money("discounts", "What codes took off those lines' list price.")
    refunds = _money("refunds", "Refunds that succeeded in the period.")
    commissions = _money("commissions", "Creator commissions earned less reversals.")
    platform_fee = _money("platform_fee", "Tribe's fee on gross less discounts and refunds.")
    disputes = _money(
        "disputes", "Your share of what banks took back in disputes, less what was reinstated."
    )
    dispute_fees = _money("dispute_fees", "Your share of Stripe's dispute fees, less returned.")
    amount_due = _money(
        "amount_due",
        "gross - discounts - refunds - commissions - platform_fee - disputes - dispute_fees.",
    )
    carried_in = _money("carried_in", "The brand's debt from its previous period, netted here.")
    payable = _money("payable", "amount_due + carried_in: paid when positive, else carried.")

    class Meta:
        model = Settlement
        fields: tuple[str, ...] = (
            "id",
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
            "payable",
            "created_at",
        )
        read_only_fields: tuple[str, ...] = fields


class SettlementDetailSchema(SettlementSchema):
    lines = SettlementLineSchema(many=True, read_only=True)

    class Meta(SettlementSchema.Meta):
        fields = (*SettlementSchema.Meta.fields, "lines")
        read_only_fields: tuple[str, ...] = fields


class BrandSettlementListView(generics.ListAPIView):
    """Your brands' settlements, newest first."""

    serializer_class = SettlementSchema
    permission_classes = [permissions.IsAuthenticated]
    pagination_class = IdCursorPagination

    def get_queryset(self) -> QuerySet[Settlement]:
        if getattr(self, "swagger_fake_view", False):
            return Settlement.objects.none()
        return brand_settlement_list(user=authenticated_user(self.request))

    @extend_schema(summary="List your brands' settlements")
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)


class BrandSettlementDetailView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary="Get one of your brands' settlements, line by line",
        responses={200: SettlementDetailSchema, 404: ErrorSchema},
    )
    def get(self, request: Request, settlement_id: int) -> Response:
        user = authenticated_user(request)
        settlement = brand_settlement_get(user=user, settlement_id=settlement_id)
        return Response(SettlementDetailSchema(settlement).data)


class BrandSettlementCsvView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary="Download one of your brands' settlements as CSV, line by line",
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The statement."),
            404: ErrorSchema,
        },
    )
    def get(self, request: Request, settlement_id: int) -> HttpResponse:
        user = authenticated_user(request)
        settlement = brand_settlement_get(user=user, settlement_id=settlement_id)
        buffer = io.StringIO()
        csv.writer(buffer).writerows(settlement_lines_csv_rows([settlement]))
        response = HttpResponse(buffer.getvalue(), content_type="text/csv")
        response["Content-Disposition"] = (
            f'attachment; filename="tribe-settlement-{settlement.pk}.csv"'
        )
        return response
