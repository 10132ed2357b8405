"""The brand API for inventory feeds: list feeds and runs, and push a feed body as a run."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, permissions, serializers, status
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.selectors import authenticated_user
from common.errors import ApplicationError, NotFound, ValidationFailed
from common.idempotency import idempotent
from common.serializers import ErrorSchema
from shop import selectors
from shop.feeds.parse import parse_as_of
from shop.feeds.services import feed_push
from shop.models import InventoryFeed, StockSyncRun
from shop.services.catalog import membership_require

AS_OF_HEADER = "X-Inventory-As-Of"


class InventoryFeedSerializer(serializers.ModelSerializer):
    brand: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = InventoryFeed
        fields = (
            "id",
            "brand",
            "name",
            "url",
            "format",
            "column_mapping",
            "interval_minutes",
            "max_zero_share",
            "is_active",
            "next_run_at",
            "applied_as_of",
        )


class StockSyncRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = StockSyncRun
        fields = (
            "id",
            "feed",
            "origin",
            "state",
            "phase",
            "not_modified",
            "confirmed",
            "as_of",
            "rows",
            "rows_done",
            "changed",
            "unchanged",
            "unknown_sku",
            "invalid",
            "zeroed",
            "below_reserved",
            "errors",
            "conflicts",
            "message",
            "created_at",
            "started_at",
            "finished_at",
        )


class _RawFeedParser(BaseParser):
    """Hand the view the raw body, up to FEED_MAX_BYTES; the feed parser reads it later."""

    def parse(  # type: ignore[override]  # the body stays bytes until the feed parser
        self, stream: Any, media_type: Any = None, parser_context: Any = None
    ) -> bytes:
        limit = settings.FEED_MAX_BYTES
        data = stream.read(limit + 1) if stream is not None else b""
        if len(data) > limit:
            raise ApplicationError(
                f"The feed is larger than {limit} bytes.", code="feed_too_big", status_code=413
            )
        return data


class CSVFeedParser(_RawFeedParser):
    media_type = "text/csv"


class JSONFeedParser(_RawFeedParser):
    media_type = "application/json"


def _member_feeds(request: Request) -> QuerySet[InventoryFeed]:
    user = authenticated_user(request)
    return InventoryFeed.objects.filter(brand_id__in=selectors.brand_ids_for_user(user))


class BrandFeedListView(generics.ListAPIView):
    """Inventory feeds of the brands you are a member of."""

    serializer_class = InventoryFeedSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self) -> QuerySet[InventoryFeed]:
        if getattr(self, "swagger_fake_view", False):
            return InventoryFeed.objects.none()
        return _member_feeds(self.request).select_related("brand")


class BrandFeedRunListView(generics.ListAPIView):
    """Runs of one of your feeds, newest first."""

    serializer_class = StockSyncRunSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self) -> QuerySet[StockSyncRun]:
        if getattr(self, "swagger_fake_view", False):
            return StockSyncRun.objects.none()
        feed = _member_feeds(self.request).filter(pk=self.kwargs["pk"]).first()
        if feed is None:
            raise NotFound("No such feed.", code="feed_not_found")
        return StockSyncRun.objects.filter(feed=feed).defer("payload")


class BrandFeedRunDetailView(generics.GenericAPIView):
    serializer_class = StockSyncRunSerializer
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary="Get a feed run", responses={200: StockSyncRunSerializer, 404: ErrorSchema}
    )
    def get(self, request: Request, pk: int) -> Response:
        run = (
            StockSyncRun.objects.defer("payload")
            .filter(pk=pk, feed__in=_member_feeds(request))
            .first()
        )
        if run is None:
            raise NotFound("No such run.", code="run_not_found")
        return Response(StockSyncRunSerializer(run).data)


class BrandFeedPushView(generics.GenericAPIView):
    serializer_class = StockSyncRunSerializer
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [CSVFeedParser, JSONFeedParser]

    @extend_schema(
        summary="Push a feed body (CSV or JSON, in the feed's format) to be applied as a run",
        request={"text/csv": OpenApiTypes.STR, "application/json": OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter(
                AS_OF_HEADER,
                OpenApiTypes.DATETIME,
                OpenApiParameter.HEADER,
                description="When the levels were taken; else a JSON body's as_of, else now.",
            )
        ],
        responses={
            202: StockSyncRunSerializer,
            400: ErrorSchema,
            403: ErrorSchema,
            404: ErrorSchema,
            409: ErrorSchema,
            413: ErrorSchema,
            415: ErrorSchema,
        },
    )
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        user = authenticated_user(request)
        feed = _member_feeds(request).filter(pk=pk).first()
        if feed is None:
            raise NotFound("No such feed.", code="feed_not_found")
        membership_require(user=user, brand_id=feed.brand_id, write=True)
        expected = "text/csv" if feed.format == InventoryFeed.Format.CSV else "application/json"
        if not (request.content_type or "").startswith(expected):
            raise ApplicationError(
                f"This feed is {feed.get_format_display()}: send it as {expected}.",
                code="feed_wrong_format",
                status_code=415,
            )
        body = request.data
        if not isinstance(body, bytes) or not body.strip():
            raise ValidationFailed("Send the feed as the request body.", code="feed_empty")
        as_of = None
        if request.headers.get(AS_OF_HEADER):
            as_of = parse_as_of(request.headers[AS_OF_HEADER])
            if as_of is None:
                raise ValidationFailed(
                    f"{AS_OF_HEADER} must be an ISO 8601 or HTTP date.", code="invalid_as_of"
                )
        run = feed_push(feed=feed, payload=body, as_of=as_of, actor_id=user.pk)
        run.refresh_from_db()
        return Response(StockSyncRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)
