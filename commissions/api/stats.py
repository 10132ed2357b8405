"""The creator's analytics: clicks and sales by hour or day, by link or video."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from commissions.selectors import stats as selectors
from common.money import Money
from common.serializers import ErrorSchema, MoneySchema
from creators.api import MeAPIView

_UNENCODED_OFFSET = re.compile(r" (\d\d(?::?\d\d)?)$")


@extend_schema_field(OpenApiTypes.STR)
class DateOrDateTimeField(serializers.Field):
    """An ISO 8601 date or date-time; a date-time without an offset is UTC."""

    default_error_messages = {
        "invalid": "Use an ISO 8601 date (2025-01-31) or date-time (2025-01-31T14:00:00Z)."
    }

    def to_internal_value(self, data: Any) -> date | datetime:
        # An unencoded '+' in a query string arrives as a space: '...T14:00:00 02:00'.
        text = _UNENCODED_OFFSET.sub(r"+\1", str(data).strip())
        try:
            day = parse_date(text)
            moment = None if day is not None else parse_datetime(text)
        except ValueError:
            self.fail("invalid")
        if day is not None:
            return day
        if moment is None:
            self.fail("invalid")
        return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)

    def to_representation(self, value: Any) -> str:
        return value.isoformat()


class StatsQuery(serializers.Serializer):
    interval = serializers.ChoiceField(
        choices=["hour", "day"],
        default="day",
        help_text="Bucket size, in UTC. `hour` only for ranges of at most 7 days within the "
        "last 90 (raw clicks are kept 90 days).",
    )
    group_by = serializers.ChoiceField(
        choices=["none", "link", "video"],
        default="none",
        help_text="Split each bucket by link or by video.",
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        # `from` is a Python keyword, so these two cannot be declared as class attributes.
        fields["from"] = DateOrDateTimeField(
            required=False,
            help_text="Start (ISO date or date-time, UTC unless an offset is given), widened to "
            "its hour or day. Default: 7 days before `to`.",
        )
        fields["to"] = DateOrDateTimeField(
            required=False,
            help_text="End: a date includes that whole day; a date-time is exclusive, widened to "
            "its hour or day. Default: the end of today (UTC). At most 92 days after `from`.",
        )
        return fields


@extend_schema_field(MoneySchema(many=True))
class MoneyListField(serializers.Field):
    """Currency -> amount as a list of money objects, by currency code."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: dict[str, Decimal]) -> list[dict[str, str]]:
        return [Money(value[code], code).as_dict() for code in sorted(value)]


_REVENUE_HELP = (
    "Line totals of paid orders, by `paid_at`; fully refunded orders drop out. One money "
    "object per currency the creator sold in, ordered by currency code; amounts in different "
    "currencies are never added. Empty when nothing sold."
)
_COMMISSION_HELP = (
    "Commission, one money object per currency like `revenue`: for lines on the commissions "
    "ledger, their ledger entries (commission less reversals for refunds); for lines not "
    "recorded yet, the estimate: the line's total x its snapshotted commission rate / 100, "
    "rounded half-up to the currency's precision. See `commission_status`."
)


class StatsFiguresSerializer(serializers.Serializer):
    clicks = serializers.IntegerField(
        help_text="Clicks by people (bots and link previews excluded), near-live."
    )
    unique_clicks = serializers.IntegerField(
        help_text="Clicks from a client not seen on the same link in the hour before."
    )
    orders = serializers.IntegerField(help_text="Distinct paid orders with a line credited to you.")
    units = serializers.IntegerField(help_text="Units sold on the lines credited to you.")
    revenue = MoneyListField(help_text=_REVENUE_HELP)
    commission = MoneyListField(help_text=_COMMISSION_HELP)


class StatsPointSerializer(StatsFiguresSerializer):
    bucket = serializers.DateTimeField(help_text="Start of the UTC hour or day.")
    link_id = serializers.IntegerField(
        source="key",
        allow_null=True,
        required=False,
        help_text="Only with group_by=link. null: sales through your storefront (no link).",
    )
    video_id = serializers.IntegerField(
        source="key",
        allow_null=True,
        required=False,
        help_text="Only with group_by=video. null: storefront sales and links without a video.",
    )

    def to_representation(self, instance: selectors.StatsPoint) -> dict[str, Any]:
        data = dict(super().to_representation(instance))
        data.pop("link_id", None)
        data.pop("video_id", None)
        if instance.group_by != "none":
            data[f"{instance.group_by}_id"] = instance.key
        return data


class CreatorStatsSerializer(serializers.Serializer):
    interval = serializers.ChoiceField(choices=["hour", "day"], source="window.interval")
    group_by = serializers.ChoiceField(choices=["none", "link", "video"])
    commission_status = serializers.ChoiceField(
        choices=["estimated", "partial", "ledger"],
        help_text="`ledger` when every credited line in the range is on the commissions ledger "
        "(commission less reversals); `partial` when some are still estimated (recorded "
        "shortly after payment); `estimated` when none is (or nothing sold): computed from "
        "the rate each order line snapshotted. New values may be added.",
    )
    pending_clicks = serializers.IntegerField(
        help_text="Clicks taken in the last seconds and not stored yet, already included above."
    )
    totals = StatsFiguresSerializer(help_text="The whole range, ungrouped.")
    series = StatsPointSerializer(
        many=True,
        help_text="Ordered by bucket (then key, null last). Ungrouped: every bucket of the "
        "range, zeros included. Grouped: only the (bucket, key) pairs with any activity.",
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = serializers.DateTimeField(
            source="window.start", help_text="Start of the range served (inclusive, UTC)."
        )
        fields["to"] = serializers.DateTimeField(
            source="window.end", help_text="End of the range served (exclusive, UTC)."
        )
        return fields


class MeStatsView(MeAPIView):
    serializer_class = CreatorStatsSerializer

    @extend_schema(
        summary="Your clicks and sales by hour or day, by link or video",
        description=(
            "Clicks, unique clicks, orders, units, revenue and estimated commission for a range "
            "of whole UTC hours or days. Clicks are near-live: those still queued are included. "
            "Orders count when paid, by `paid_at`; fully refunded orders are left out. A bad "
            "value is 400 `invalid` with field errors; a range that cannot be served is 400 "
            "`invalid_range`."
        ),
        parameters=[StatsQuery],
        responses={200: CreatorStatsSerializer, 400: ErrorSchema, 404: ErrorSchema},
    )
    def get(self, request: Request) -> Response:
        creator = self.creator()
        # A plain dict, not the QueryDict: DRF reads a QueryDict as an HTML form, where a blank
        # value means "not sent", so `?interval=` would quietly become the default.
        query = StatsQuery(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        params = query.validated_data
        window = selectors.stats_window(
            start=params.get("from"),
            end=params.get("to"),
            interval=params["interval"],
            now=timezone.now(),
        )
        stats = selectors.creator_stats(creator=creator, window=window, group_by=params["group_by"])
        return Response(CreatorStatsSerializer(stats).data)
