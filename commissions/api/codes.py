"""Codes' figures per day for the creator who holds them and the brands that issued them,
and a brand's leaking codes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import authenticated_user
from commissions.api.stats import DateOrDateTimeField
from commissions.selectors import codes as selectors
from commissions.selectors.stats import stats_window
from common.serializers import ErrorSchema, MoneyField
from creators.api import MeAPIView
from shop.selectors import brand_ids_for_user


class CodeRangeQuery(serializers.Serializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        # `from` is a Python keyword, so these two cannot be declared as class attributes.
        fields["from"] = DateOrDateTimeField(
            required=False,
            help_text="First day (ISO date or date-time, UTC), widened to its day. Default: 7 "
            "days before `to`.",
        )
        fields["to"] = DateOrDateTimeField(
            required=False,
            help_text="Last day (a date includes that whole day; a date-time is exclusive). "
            "Default: the end of today (UTC). At most 92 days after `from`.",
        )
        return fields


class CodeDaySerializer(serializers.Serializer):
    code = serializers.CharField()
    day = serializers.DateField(help_text="UTC day the orders were paid.")
    uses = serializers.IntegerField(help_text="Paid orders with a line the code discounted.")
    revenue = MoneyField(
        amount="revenue", currency="currency", help_text="Paid for the discounted lines."
    )
    discount = MoneyField(
        amount="discount", currency="currency", help_text="What the code took off them."
    )
    commission = MoneyField(
        amount="commission",
        currency="currency",
        help_text="The code's creator's ledger entries on those lines (less reversals).",
    )


class BrandCodeDaySerializer(CodeDaySerializer):
    brand = serializers.IntegerField(source="brand_id")


class CodeDaysSerializer(serializers.Serializer):
    start = serializers.DateTimeField(help_text="Start of the range (inclusive, UTC).")
    end = serializers.DateTimeField(help_text="End of the range (exclusive, UTC).")
    days = CodeDaySerializer(many=True, help_text="By code, then day; days without use left out.")


class BrandCodeDaysSerializer(CodeDaysSerializer):
    days = BrandCodeDaySerializer(many=True, help_text="By code, then day; idle days left out.")


class CodeLeakSerializer(serializers.Serializer):
    code = serializers.CharField()
    brand = serializers.IntegerField(source="brand_id")
    creator = serializers.IntegerField(source="creator_id")
    uses = serializers.IntegerField(help_text="Paid orders with the code in the range.")
    leaked = serializers.IntegerField(
        help_text="Of which no discounted line came through a click on the creator's links."
    )
    leaked_share = serializers.DecimalField(max_digits=5, decimal_places=4)


class CodeLeaksSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    codes = CodeLeakSerializer(many=True, help_text="Most leaked uses first.")


def _range(request: Request) -> tuple[datetime, datetime]:
    query = CodeRangeQuery(data=request.query_params.dict())
    query.is_valid(raise_exception=True)
    window = stats_window(
        start=query.validated_data.get("from"),
        end=query.validated_data.get("to"),
        interval="day",
        now=timezone.now(),
    )
    return window.start, window.end


_RANGE_ERRORS = (
    "A bad date is 400 `invalid` with field errors; a range that cannot be served (end "
    "before start, more than 92 days) is 400 `invalid_range`."
)


class MeCodeStatsView(MeAPIView):
    serializer_class = CodeDaysSerializer

    @extend_schema(
        summary="Your codes' uses, revenue, discount and commission per day",
        description=_RANGE_ERRORS,
        parameters=[CodeRangeQuery],
        responses={200: CodeDaysSerializer, 400: ErrorSchema, 404: ErrorSchema},
    )
    def get(self, request: Request) -> Response:
        creator = self.creator()
        start, end = _range(request)
        days = selectors.code_days_for_creator(creator=creator, start=start, end=end)
        return Response(CodeDaysSerializer({"start": start, "end": end, "days": days}).data)


class BrandCodeStatsView(APIView):
    permission_classes = [permissions.IsAuthenticated]
    serializer_class = BrandCodeDaysSerializer

    @extend_schema(
        summary="Your brands' codes: uses, revenue, discount and commission per day",
        description=_RANGE_ERRORS,
        parameters=[CodeRangeQuery],
        responses={200: BrandCodeDaysSerializer, 400: ErrorSchema},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        brand_ids = set(brand_ids_for_user(authenticated_user(request)))
        start, end = _range(request)
        days = selectors.code_days_for_brands(brand_ids=brand_ids, start=start, end=end)
        return Response(BrandCodeDaysSerializer({"start": start, "end": end, "days": days}).data)


class BrandCodeLeaksView(APIView):
    permission_classes = [permissions.IsAuthenticated]
    serializer_class = CodeLeaksSerializer

    @extend_schema(
        summary="Your brands' leaking codes: uses by shoppers who never clicked the creator",
        description="Creators' codes used in the range, most leaked uses first. " + _RANGE_ERRORS,
        parameters=[CodeRangeQuery],
        responses={200: CodeLeaksSerializer, 400: ErrorSchema},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        brand_ids = set(brand_ids_for_user(authenticated_user(request)))
        start, end = _range(request)
        leaks = selectors.code_leaks_for_brands(brand_ids=brand_ids, start=start, end=end)
        return Response(CodeLeaksSerializer({"start": start, "end": end, "codes": leaks}).data)
