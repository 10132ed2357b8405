"""The creator's profile, storefront and storefront collections."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.selectors import authenticated_user
from common.idempotency import idempotent
from common.pagination import IdCursorPagination
from common.serializers import ErrorSchema, StrictCharField
from creators.api import MeAPIView
from creators.api.serializers import (
    MeCollectionSerializer,
    MeCreatorSerializer,
    MeSocialAccountSerializer,
    MeStorefrontSerializer,
)
from creators.models import Collection
from creators.selectors import creator_for_user
from creators.selectors import me as selectors
from creators.services import profiles


class MeCreatorInput(serializers.Serializer):
    handle = StrictCharField(
        max_length=64, help_text="3 to 30 of a-z, 0-9, '_' and '.'; stored lower-case."
    )
    display_name = StrictCharField(max_length=100)
    bio = StrictCharField(max_length=1000, required=False, allow_blank=True)
    avatar_url = serializers.URLField(max_length=1000, required=False, allow_blank=True)
    social_accounts = serializers.ListField(
        child=MeSocialAccountSerializer(), required=False, max_length=10
    )


class MeStorefrontInput(serializers.Serializer):
    title = StrictCharField(max_length=120, required=False, allow_blank=True)
    theme_color = StrictCharField(max_length=7, required=False, help_text="#RRGGBB")


class MeCollectionInput(serializers.Serializer):
    title = StrictCharField(max_length=120)
    position = serializers.IntegerField(min_value=0, max_value=32767, required=False)


class MeCollectionItemInput(serializers.Serializer):
    position = serializers.IntegerField(min_value=0, max_value=32767, required=False, default=0)


class PositionCursorPagination(IdCursorPagination):
    """Collections in the order the storefront shows them."""

    ordering = ("position", "id")  # type: ignore[assignment]  # the base pins a 1-tuple


class MeView(MeAPIView):
    serializer_class = MeCreatorSerializer

    @extend_schema(
        summary="Your creator profile",
        responses={200: MeCreatorSerializer, 404: ErrorSchema},
    )
    def get(self, request: Request) -> Response:
        return Response(MeCreatorSerializer(self.creator()).data)

    @extend_schema(
        summary="Become a creator (with an empty storefront)",
        request=MeCreatorInput,
        responses={201: MeCreatorSerializer, 400: ErrorSchema, 409: ErrorSchema},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = MeCreatorInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticated_user(request)
        profiles.creator_become(user=user, **data.validated_data)
        creator = creator_for_user(user=user)
        return Response(MeCreatorSerializer(creator).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Update your profile, handle included",
        request=MeCreatorInput(partial=True),
        responses={200: MeCreatorSerializer, 400: ErrorSchema, 404: ErrorSchema},
    )
    def patch(self, request: Request) -> Response:
        creator = self.creator()
        data = MeCreatorInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        creator = profiles.creator_update(creator=creator, **data.validated_data)
        return Response(MeCreatorSerializer(creator).data)


class MeStorefrontView(MeAPIView):
    serializer_class = MeStorefrontSerializer

    @extend_schema(
        summary="Your storefront", responses={200: MeStorefrontSerializer, 404: ErrorSchema}
    )
    def get(self, request: Request) -> Response:
        return Response(MeStorefrontSerializer(self.creator().storefront).data)

    @extend_schema(
        summary="Update your storefront's title and colour",
        request=MeStorefrontInput,
        responses={200: MeStorefrontSerializer, 400: ErrorSchema, 404: ErrorSchema},
    )
    def patch(self, request: Request) -> Response:
        creator = self.creator()
        data = MeStorefrontInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        storefront = profiles.storefront_update(creator=creator, **data.validated_data)
        return Response(MeStorefrontSerializer(storefront).data)


class MeCollectionListView(MeAPIView, generics.ListAPIView):
    """Your storefront's collections with their products, in storefront order."""

    serializer_class = MeCollectionSerializer
    pagination_class = PositionCursorPagination
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self) -> QuerySet[Collection]:
        if getattr(self, "swagger_fake_view", False):
            return Collection.objects.none()
        return selectors.collection_queryset(creator=self.creator())

    @extend_schema(summary="List your collections")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)

    @extend_schema(
        summary="Create a collection",
        request=MeCollectionInput,
        responses={201: MeCollectionSerializer, 400: ErrorSchema, 404: ErrorSchema},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        creator = self.creator()
        data = MeCollectionInput(data=request.data)
        data.is_valid(raise_exception=True)
        collection = profiles.collection_create(creator=creator, **data.validated_data)
        collection = selectors.collection_get(creator=creator, collection_id=collection.pk)
        return Response(MeCollectionSerializer(collection).data, status=status.HTTP_201_CREATED)


class MeCollectionDetailView(MeAPIView):
    serializer_class = MeCollectionSerializer

    @extend_schema(
        summary="Get one of your collections",
        responses={200: MeCollectionSerializer, 404: ErrorSchema},
    )
    def get(self, request: Request, pk: int) -> Response:
        collection = selectors.collection_get(creator=self.creator(), collection_id=pk)
        return Response(MeCollectionSerializer(collection).data)

    @extend_schema(
        summary="Rename or move a collection",
        request=MeCollectionInput(partial=True),
        responses={200: MeCollectionSerializer, 400: ErrorSchema, 404: ErrorSchema},
    )
    def patch(self, request: Request, pk: int) -> Response:
        creator = self.creator()
        data = MeCollectionInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        profiles.collection_update(creator=creator, collection_id=pk, **data.validated_data)
        collection = selectors.collection_get(creator=creator, collection_id=pk)
        return Response(MeCollectionSerializer(collection).data)

    @extend_schema(summary="Delete a collection", responses={204: None, 404: ErrorSchema})
    def delete(self, request: Request, pk: int) -> Response:
        profiles.collection_delete(creator=self.creator(), collection_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeCollectionItemView(MeAPIView):
    serializer_class = MeCollectionSerializer

    def get_queryset(self) -> QuerySet[Collection]:
        # DRF's OPTIONS metadata looks up the object of a PUT view (the collection) through this.
        if getattr(self, "swagger_fake_view", False):
            return Collection.objects.none()
        return selectors.collection_queryset(creator=self.creator())

    @extend_schema(
        summary="Put a product in a collection, or move it (safe to retry)",
        request=MeCollectionItemInput,
        responses={200: MeCollectionSerializer, 400: ErrorSchema, 404: ErrorSchema},
    )
    def put(self, request: Request, pk: int, product_id: int) -> Response:
        creator = self.creator()
        data = MeCollectionItemInput(data=request.data)
        data.is_valid(raise_exception=True)
        profiles.collection_item_set(
            creator=creator,
            collection_id=pk,
            product_id=product_id,
            position=data.validated_data["position"],
        )
        collection = selectors.collection_get(creator=creator, collection_id=pk)
        return Response(MeCollectionSerializer(collection).data)

    @extend_schema(
        summary="Take a product out of a collection",
        responses={200: MeCollectionSerializer, 404: ErrorSchema},
    )
    def delete(self, request: Request, pk: int, product_id: int) -> Response:
        creator = self.creator()
        profiles.collection_item_remove(creator=creator, collection_id=pk, product_id=product_id)
        collection = selectors.collection_get(creator=creator, collection_id=pk)
        return Response(MeCollectionSerializer(collection).data)
