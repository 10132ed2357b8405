"""The creator's affiliate links, with the rate each would pay now."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from common.idempotency import idempotent
from common.serializers import ErrorSchema
from creators.api import MeAPIView
from creators.api.serializers import MeLinkSerializer
from creators.models import AffiliateLink, Creator
from creators.selectors import me as selectors
from creators.services import links


class MeLinkInput(serializers.Serializer):
    product_id = serializers.IntegerField(min_value=1)
    video_id = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    preferred_variant_id = serializers.IntegerField(min_value=1, required=False, allow_null=True)


class MeLinkUpdateInput(serializers.Serializer):
    product_id = serializers.IntegerField(
        min_value=1, required=False, help_text="Retarget the link; code and locked rate stay."
    )
    fallback_product_id = serializers.IntegerField(
        min_value=1, required=False, allow_null=True, help_text="null clears the fallback."
    )
    preferred_variant_id = serializers.IntegerField(min_value=1, required=False)
    is_active = serializers.BooleanField(required=False)


def _link_response(creator: Creator, link_id: int, *, status_code: int = 200) -> Response:
    link = selectors.link_get(creator=creator, link_id=link_id)
    rates = selectors.link_rate_decisions(creator=creator, links=[link], at=timezone.now())
    return Response(MeLinkSerializer(link, context={"rates": rates}).data, status=status_code)


class MeLinkListView(MeAPIView, generics.ListAPIView):
    """Your links, newest first, with their locked, current and sale rates."""

    serializer_class = MeLinkSerializer

    def get_queryset(self) -> QuerySet[AffiliateLink]:
        if getattr(self, "swagger_fake_view", False):
            return AffiliateLink.objects.none()
        return selectors.link_queryset(creator=self.creator())

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        assert page is not None  # lists are always paginated
        rates = selectors.link_rate_decisions(creator=self.creator(), links=page, at=timezone.now())
        data = MeLinkSerializer(page, many=True, context={"rates": rates}).data
        return self.get_paginated_response(data)

    @extend_schema(summary="List your links")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)

    @extend_schema(
        summary="Get your link for a product (and video), making it if there is none",
        description=(
            "201 with a new link, which locks the best rate that applies now; 200 with the link "
            "you already have for the same product and video."
        ),
        request=MeLinkInput,
        responses={
            201: MeLinkSerializer,
            200: MeLinkSerializer,
            400: ErrorSchema,
            404: ErrorSchema,
        },
    )
    @idempotent
    def post(self, request: Request) -> Response:
        creator = self.creator()
        data = MeLinkInput(data=request.data)
        data.is_valid(raise_exception=True)
        link, created = links.link_create(creator=creator, **data.validated_data)
        return _link_response(
            creator, link.pk, status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class MeLinkDetailView(MeAPIView):
    serializer_class = MeLinkSerializer

    @extend_schema(
        summary="Get one of your links", responses={200: MeLinkSerializer, 404: ErrorSchema}
    )
    def get(self, request: Request, pk: int) -> Response:
        return _link_response(self.creator(), pk)

    @extend_schema(
        summary="Retarget a link, set its fallback, variant, or switch it off",
        request=MeLinkUpdateInput,
        responses={200: MeLinkSerializer, 400: ErrorSchema, 404: ErrorSchema},
    )
    def patch(self, request: Request, pk: int) -> Response:
        creator = self.creator()
        data = MeLinkUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        clear_fallback = "fallback_product_id" in fields and fields["fallback_product_id"] is None
        links.link_update(creator=creator, link_id=pk, clear_fallback=clear_fallback, **fields)
        return _link_response(creator, pk)
