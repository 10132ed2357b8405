"""The creator's sell-out alerts: variants their links are selling out, so they can react."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from common.pagination import IdCursorPagination
from common.serializers import ErrorSchema
from creators.api import MeAPIView
from creators.api.serializers import CreatorProductBriefSerializer, CreatorVariantBriefSerializer
from creators.models import Creator
from orders.alerts import creator_selectors as selectors


class DrivingLinkSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    video_id = serializers.IntegerField(allow_null=True)
    fallback_product_id = serializers.IntegerField(
        allow_null=True, help_text="Where the link sends shoppers once the product is sold out."
    )


class SellOutAlertSerializer(serializers.Serializer):
    """A variant projected to sell out, from the pace of the sales your links drove."""

    # The creator's own driving links come from context["links"], {alert id: [DrivingLink]},
    # read for the whole page at once by orders.alerts.creator_selectors.creator_alert_links.

    id = serializers.IntegerField()
    status = serializers.SerializerMethodField(
        help_text="`active` until the brand restocks, then `resolved`. New values may be added."
    )
    product = CreatorProductBriefSerializer(source="variant.product", read_only=True)
    variant = CreatorVariantBriefSerializer(read_only=True)
    available = serializers.IntegerField(
        source="variant.available", help_text="Units that can be bought now."
    )
    available_at_alert = serializers.IntegerField(help_text="Units available when it was raised.")
    units_last_hour = serializers.IntegerField(
        help_text="Units sold in the hour before it was raised (all links and shoppers)."
    )
    minutes_to_sell_out = serializers.DecimalField(
        max_digits=10,
        decimal_places=1,
        coerce_to_string=True,
        help_text="Projected minutes to sell out when it was raised, at that hour's pace.",
    )
    projected_sell_out_at = serializers.DateTimeField(
        help_text="When it sells out if the pace holds: raised_at + minutes_to_sell_out."
    )
    raised_at = serializers.DateTimeField(source="opened_at")
    sold_out_at = serializers.DateTimeField(
        allow_null=True, help_text="When it was first seen with nothing available; else null."
    )
    resolved_at = serializers.DateTimeField(
        allow_null=True, help_text="When the brand restocked it; null while active."
    )
    links = serializers.SerializerMethodField(
        help_text="Your links that drove the sales: set a fallback product on them."
    )

    def get_status(self, alert: Any) -> str:
        return "active" if alert.resolved_at is None else "resolved"

    @extend_schema_field(DrivingLinkSerializer(many=True))
    def get_links(self, alert: Any) -> list[dict[str, Any]]:
        links = self.context["links"].get(alert.pk, [])
        return list(DrivingLinkSerializer(links, many=True).data)


def _links_context(creator: Creator, alerts: list[Any]) -> dict[str, Any]:
    return {"links": selectors.creator_alert_links(creator=creator, alerts=alerts)}


class MeAlertListView(MeAPIView, generics.ListAPIView):
    serializer_class = SellOutAlertSerializer
    pagination_class = IdCursorPagination

    def get_queryset(self) -> QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):
            return selectors.creator_alert_queryset(creator=Creator(pk=0)).none()
        return selectors.creator_alert_queryset(creator=self.creator())

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        assert page is not None  # lists are always paginated
        context = _links_context(self.creator(), page)
        return self.get_paginated_response(
            SellOutAlertSerializer(page, many=True, context=context).data
        )

    @extend_schema(
        summary="Your active sell-out alerts, newest first",
        description=(
            "Variants projected to sell out soon from the last hour's pace, raised when your "
            "links drove some of those sales (you are emailed too). Listed while active: a "
            "restock resolves them. Set a fallback product on the links listed."
        ),
        responses={200: SellOutAlertSerializer(many=True), 404: ErrorSchema},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)


class MeAlertDetailView(MeAPIView):
    serializer_class = SellOutAlertSerializer

    @extend_schema(
        summary="One of your sell-out alerts, active or resolved",
        description="404 `sellout_alert_not_found` when no link of yours drove it.",
        responses={200: SellOutAlertSerializer, 404: ErrorSchema},
    )
    def get(self, request: Request, pk: int) -> Response:
        creator = self.creator()
        alert = selectors.creator_alert_get(creator=creator, alert_id=pk)
        context = _links_context(creator, [alert])
        return Response(SellOutAlertSerializer(alert, context=context).data)
