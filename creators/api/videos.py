"""The creator's videos and the products tagged in them."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from common.db import MAX_INTEGER
from common.idempotency import idempotent
from common.serializers import ErrorSchema, StrictCharField
from creators.api import MeAPIView
from creators.api.serializers import MeVideoSerializer
from creators.models import Video
from creators.selectors import me as selectors
from creators.services import videos


class MeVideoInput(serializers.Serializer):
    platform = serializers.ChoiceField(choices=Video.Platform.choices)
    external_id = StrictCharField(
        max_length=200, required=False, allow_blank=True, help_text="The platform's own id."
    )
    url = serializers.URLField(max_length=1000)
    caption = StrictCharField(max_length=2200, required=False, allow_blank=True)
    posted_at = serializers.DateTimeField(required=False, allow_null=True)
    thumbnail_url = serializers.URLField(max_length=1000, required=False, allow_blank=True)


class MeVideoTagInput(serializers.Serializer):
    product_id = serializers.IntegerField(min_value=1)
    appears_at_seconds = serializers.IntegerField(
        min_value=0, max_value=MAX_INTEGER, required=False, default=0
    )
    position = serializers.IntegerField(min_value=0, max_value=32767, required=False)


class MeVideoTagsInput(serializers.Serializer):
    tags = MeVideoTagInput(many=True, allow_empty=True)


class MeVideoListView(MeAPIView, generics.ListAPIView):
    """Your videos, newest first, with their tagged products."""

    serializer_class = MeVideoSerializer

    def get_queryset(self) -> QuerySet[Video]:
        if getattr(self, "swagger_fake_view", False):
            return Video.objects.none()
        return selectors.video_queryset(creator=self.creator())

    @extend_schema(summary="List your videos")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)

    @extend_schema(
        summary="Add a video",
        request=MeVideoInput,
        responses={201: MeVideoSerializer, 400: ErrorSchema, 404: ErrorSchema},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        creator = self.creator()
        data = MeVideoInput(data=request.data)
        data.is_valid(raise_exception=True)
        video = videos.video_create(creator=creator, **data.validated_data)
        video = selectors.video_get(creator=creator, video_id=video.pk)
        return Response(MeVideoSerializer(video).data, status=status.HTTP_201_CREATED)


class MeVideoDetailView(MeAPIView):
    serializer_class = MeVideoSerializer

    @extend_schema(
        summary="Get one of your videos", responses={200: MeVideoSerializer, 404: ErrorSchema}
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(
            MeVideoSerializer(selectors.video_get(creator=self.creator(), video_id=pk)).data
        )

    @extend_schema(
        summary="Update a video",
        request=MeVideoInput(partial=True),
        responses={200: MeVideoSerializer, 400: ErrorSchema, 404: ErrorSchema},
    )
    def patch(self, request: Request, pk: int) -> Response:
        creator = self.creator()
        data = MeVideoInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        videos.video_update(creator=creator, video_id=pk, **data.validated_data)
        return Response(MeVideoSerializer(selectors.video_get(creator=creator, video_id=pk)).data)

    @extend_schema(summary="Delete a video", responses={204: None, 404: ErrorSchema})
    def delete(self, request: Request, pk: int) -> Response:
        videos.video_delete(creator=self.creator(), video_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeVideoProductsView(MeAPIView):
    serializer_class = MeVideoSerializer

    def get_queryset(self) -> QuerySet[Video]:
        # DRF's OPTIONS metadata looks up the object of a PUT view through this.
        if getattr(self, "swagger_fake_view", False):
            return Video.objects.none()
        return selectors.video_queryset(creator=self.creator())

    @extend_schema(
        summary="Replace the products tagged in a video (all or nothing)",
        description=(
            "Every product must be active and one you may promote: a draft or archived product "
            "is `product_not_active`, a brand that works with invited creators only and has not "
            "invited you is `product_not_allowed`; either way nothing is saved."
        ),
        request=MeVideoTagsInput,
        responses={200: MeVideoSerializer, 400: ErrorSchema, 404: ErrorSchema},
    )
    def put(self, request: Request, pk: int) -> Response:
        creator = self.creator()
        data = MeVideoTagsInput(data=request.data)
        data.is_valid(raise_exception=True)
        videos.video_tags_set(creator=creator, video_id=pk, tags=data.validated_data["tags"])
        return Response(MeVideoSerializer(selectors.video_get(creator=creator, video_id=pk)).data)
