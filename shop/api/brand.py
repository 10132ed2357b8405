"""The brand API for brands' own integrations: members manage products, variants and stock."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from accounts.selectors import authenticated_user
from common.db import MAX_INTEGER, MAX_SMALLINT
from common.errors import NotFound
from common.filters import StrictFilterSet
from common.idempotency import idempotent
from common.serializers import ErrorSchema, StrictCharField, StrictSlugField
from shop import selectors
from shop.api.serializers import (
    ProductBrandSerializer,
    StockMovementSerializer,
    VariantBrandSerializer,
)
from shop.models import MAX_ON_HAND, Brand, Product, StockMovement, Variant
from shop.services import catalog


class ImageInput(serializers.Serializer):
    url = serializers.URLField(max_length=1000)
    width = serializers.IntegerField(min_value=1, max_value=MAX_INTEGER)
    height = serializers.IntegerField(min_value=1, max_value=MAX_INTEGER)
    alt = StrictCharField(max_length=255, required=False, default="")


class VariantInput(serializers.Serializer):
    sku = StrictCharField(max_length=64)
    title = StrictCharField(max_length=255, required=False, default="")
    options = serializers.DictField(child=StrictCharField(max_length=100), required=False)
    price = serializers.DecimalField(max_digits=14, decimal_places=3, min_value=0)
    currency = StrictCharField(min_length=3, max_length=3, required=False)
    compare_at_price = serializers.DecimalField(
        max_digits=14, decimal_places=3, min_value=0, required=False, allow_null=True
    )
    on_hand = serializers.IntegerField(
        min_value=0, max_value=MAX_ON_HAND, required=False, default=0
    )
    low_stock_threshold = serializers.IntegerField(
        min_value=0, max_value=MAX_ON_HAND, required=False
    )
    position = serializers.IntegerField(min_value=0, max_value=MAX_SMALLINT, required=False)


class VariantUpdateInput(VariantInput):
    sku = StrictCharField(max_length=64, required=False)
    price = serializers.DecimalField(max_digits=14, decimal_places=3, min_value=0, required=False)
    on_hand = None  # type: ignore[assignment]  # stock moves only through /stock/


class ProductInput(serializers.Serializer):
    brand = StrictSlugField(help_text="Slug of a brand you own or manage.")
    title = StrictCharField(max_length=255)
    slug = StrictSlugField(max_length=255, required=False)
    description = StrictCharField(required=False, allow_blank=True)
    category = StrictCharField(max_length=100, required=False, allow_blank=True)
    tags = serializers.ListField(child=StrictCharField(max_length=50), required=False)
    status = serializers.ChoiceField(choices=Product.Status.choices, required=False)
    commission_rate = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=100, required=False, allow_null=True
    )
    images = ImageInput(many=True, required=False)
    variants = VariantInput(many=True, required=False)


class ProductUpdateInput(ProductInput):
    brand = None  # type: ignore[assignment]
    title = StrictCharField(max_length=255, required=False)
    variants = None  # type: ignore[assignment]


class StockChangeInput(serializers.Serializer):
    delta = serializers.IntegerField(
        min_value=-MAX_ON_HAND,
        max_value=MAX_ON_HAND,
        required=False,
        help_text="Add (or with a minus, remove).",
    )
    on_hand = serializers.IntegerField(
        min_value=0, max_value=MAX_ON_HAND, required=False, help_text="Set the level."
    )
    reference = StrictCharField(max_length=255, required=False, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("delta" in attrs) == ("on_hand" in attrs):
            raise serializers.ValidationError("Give exactly one of delta or on_hand.")
        return attrs


class BrandProductFilter(StrictFilterSet):
    brand = django_filters.CharFilter(field_name="brand__slug")
    status = django_filters.ChoiceFilter(choices=Product.Status.choices)

    class Meta:
        model = Product
        fields: list[str] = []


def _member_brand(user: User, slug: str) -> Brand:
    brand = Brand.objects.filter(slug=slug, pk__in=selectors.brand_ids_for_user(user)).first()
    if brand is None:
        raise NotFound("No such brand.", code="brand_not_found")
    return brand


def _member_product(user: User, pk: int) -> Product:
    product = selectors.product_for_members_queryset(user=user).filter(pk=pk).first()
    if product is None:
        raise NotFound("No such product.", code="product_not_found")
    return product


class BrandProductListView(generics.ListAPIView):
    """Products of the brands you are a member of, any status."""

    serializer_class = ProductBrandSerializer
    permission_classes = [permissions.IsAuthenticated]
    filter_backends = [DjangoFilterBackend]
    filterset_class = BrandProductFilter

    def get_queryset(self) -> QuerySet[Product]:
        if getattr(self, "swagger_fake_view", False):
            return Product.objects.none()
        return selectors.product_for_members_queryset(user=authenticated_user(self.request))

    @extend_schema(summary="List your brands' products")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)

    @extend_schema(
        summary="Create a product with its variants",
        request=ProductInput,
        responses={
            201: ProductBrandSerializer,
            400: ErrorSchema,
            403: ErrorSchema,
            404: ErrorSchema,
        },
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = ProductInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        brand = _member_brand(authenticated_user(request), fields.pop("brand"))
        product = catalog.product_create(
            user=authenticated_user(request), brand_id=brand.pk, **fields
        )
        product = _member_product(authenticated_user(request), product.pk)
        return Response(ProductBrandSerializer(product).data, status=status.HTTP_201_CREATED)


class BrandProductDetailView(generics.GenericAPIView):
    serializer_class = ProductBrandSerializer
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary="Get one of your products",
        responses={200: ProductBrandSerializer, 404: ErrorSchema},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(
            ProductBrandSerializer(_member_product(authenticated_user(request), pk)).data
        )

    @extend_schema(
        summary="Update a product",
        request=ProductUpdateInput,
        responses={
            200: ProductBrandSerializer,
            400: ErrorSchema,
            403: ErrorSchema,
            404: ErrorSchema,
        },
    )
    def patch(self, request: Request, pk: int) -> Response:
        product = _member_product(authenticated_user(request), pk)
        data = ProductUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        catalog.product_update(
            user=authenticated_user(request), product=product, **data.validated_data
        )
        return Response(
            ProductBrandSerializer(_member_product(authenticated_user(request), pk)).data
        )


class BrandProductStatusView(generics.GenericAPIView):
    serializer_class = ProductBrandSerializer
    permission_classes = [permissions.IsAuthenticated]
    target_status: str = Product.Status.ARCHIVED

    @extend_schema(
        request=None,
        responses={200: ProductBrandSerializer, 403: ErrorSchema, 404: ErrorSchema},
    )
    def post(self, request: Request, pk: int) -> Response:
        product = _member_product(authenticated_user(request), pk)
        catalog.product_set_status(
            user=authenticated_user(request), product_ids=[product.pk], status=self.target_status
        )
        return Response(
            ProductBrandSerializer(_member_product(authenticated_user(request), pk)).data
        )


class BrandProductArchiveView(BrandProductStatusView):
    """Archive a product: it leaves the public catalog; orders keep their snapshot."""

    target_status = Product.Status.ARCHIVED


class BrandProductActivateView(BrandProductStatusView):
    """Publish a product in the public catalog."""

    target_status = Product.Status.ACTIVE


class BrandVariantCreateView(generics.GenericAPIView):
    serializer_class = VariantBrandSerializer
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary="Add a variant to a product",
        request=VariantInput,
        responses={
            201: VariantBrandSerializer,
            400: ErrorSchema,
            403: ErrorSchema,
            404: ErrorSchema,
        },
    )
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        product = _member_product(authenticated_user(request), pk)
        data = VariantInput(data=request.data)
        data.is_valid(raise_exception=True)
        variant = catalog.variant_create(
            user=authenticated_user(request), product=product, **data.validated_data
        )
        return Response(VariantBrandSerializer(variant).data, status=status.HTTP_201_CREATED)


class BrandVariantDetailView(generics.GenericAPIView):
    serializer_class = VariantBrandSerializer
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary="Get a variant", responses={200: VariantBrandSerializer, 404: ErrorSchema}
    )
    def get(self, request: Request, pk: int) -> Response:
        variant = selectors.variant_for_member_get(user=authenticated_user(request), variant_id=pk)
        return Response(VariantBrandSerializer(variant).data)

    @extend_schema(
        summary="Update a variant (not its stock)",
        request=VariantUpdateInput,
        responses={
            200: VariantBrandSerializer,
            400: ErrorSchema,
            403: ErrorSchema,
            404: ErrorSchema,
        },
    )
    def patch(self, request: Request, pk: int) -> Response:
        variant = selectors.variant_for_member_get(user=authenticated_user(request), variant_id=pk)
        data = VariantUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        variant = catalog.variant_update(
            user=authenticated_user(request), variant=variant, **data.validated_data
        )
        return Response(VariantBrandSerializer(variant).data)


class BrandVariantStockView(generics.GenericAPIView):
    serializer_class = StockMovementSerializer
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary="Adjust or set a variant's stock (audited)",
        request=StockChangeInput,
        responses={
            201: StockMovementSerializer,
            200: VariantBrandSerializer,
            400: ErrorSchema,
            403: ErrorSchema,
            404: ErrorSchema,
            409: ErrorSchema,
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        variant = selectors.variant_for_member_get(user=authenticated_user(request), variant_id=pk)
        data = StockChangeInput(data=request.data)
        data.is_valid(raise_exception=True)
        movement = catalog.variant_stock_change(
            user=authenticated_user(request),
            variant=variant,
            delta=data.validated_data.get("delta"),
            on_hand=data.validated_data.get("on_hand"),
            reason=StockMovement.Reason.API_ADJUSTMENT,
            reference=data.validated_data["reference"],
        )
        if movement is None:
            variant.refresh_from_db()
            return Response(VariantBrandSerializer(variant).data, status=status.HTTP_200_OK)
        return Response(StockMovementSerializer(movement).data, status=status.HTTP_201_CREATED)


class BrandVariantMovementsView(generics.ListAPIView):
    """The stock ledger of one variant, newest first."""

    serializer_class = StockMovementSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self) -> QuerySet[StockMovement]:
        if getattr(self, "swagger_fake_view", False):
            return StockMovement.objects.none()
        variant: Variant = selectors.variant_for_member_get(
            user=authenticated_user(self.request),
            variant_id=self.kwargs["pk"],
        )
        return StockMovement.objects.filter(variant=variant)
