"""The brand API's discounts: members list them, writers create, change and pause them."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from accounts.selectors import authenticated_user
from common.db import MAX_INTEGER
from common.errors import Forbidden, NotFound
from common.idempotency import idempotent
from common.serializers import ErrorSchema, MoneyField, StrictCharField, StrictSlugField
from shop import selectors
from shop.models import Brand, Discount
from shop.services import discounts


class DiscountSerializer(serializers.ModelSerializer):
    brand = serializers.CharField(source="brand.slug", read_only=True)
    products = serializers.SerializerMethodField()
    minimum_subtotal = MoneyField(
        amount="minimum_subtotal", currency="brand.currency", allow_null=True
    )

    class Meta:
        model = Discount
        fields = (
            "id",
            "brand",
            "name",
            "kind",
            "value",
            "applies_to_all",
            "products",
            "collections",
            "minimum_subtotal",
            "starts_at",
            "ends_at",
            "max_uses",
            "max_uses_per_shopper",
            "uses",
            "status",
            "created_at",
            "updated_at",
        )

    def get_products(self, discount: Discount) -> list[int]:
        return sorted(p.pk for p in discount.products.all())


class DiscountInput(serializers.Serializer):
    brand = StrictSlugField(help_text="Slug of a brand you own or manage.")
    name = StrictCharField(max_length=200)
    kind = serializers.ChoiceField(choices=Discount.Kind.choices)
    value = serializers.DecimalField(max_digits=14, decimal_places=3)
    applies_to_all = serializers.BooleanField(required=False, default=True)
    products = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_INTEGER),
        required=False,
        max_length=500,
    )
    collections = serializers.ListField(
        child=StrictCharField(max_length=100),
        required=False,
        max_length=100,
        help_text="Collections (product categories) of the brand it applies to, with products.",
    )
    minimum_subtotal = serializers.DecimalField(
        max_digits=14, decimal_places=3, required=False, allow_null=True
    )
    starts_at = serializers.DateTimeField(required=False, allow_null=True)
    ends_at = serializers.DateTimeField(required=False, allow_null=True)
    max_uses = serializers.IntegerField(
        min_value=1, max_value=MAX_INTEGER, required=False, allow_null=True
    )
    max_uses_per_shopper = serializers.IntegerField(
        min_value=1, max_value=MAX_INTEGER, required=False, allow_null=True
    )
    status = serializers.ChoiceField(choices=Discount.Status.choices, required=False)


class DiscountUpdateInput(DiscountInput):
    brand = None  # type: ignore[assignment]
    name = StrictCharField(max_length=200, required=False)
    kind = serializers.ChoiceField(choices=Discount.Kind.choices, required=False)
    value = serializers.DecimalField(max_digits=14, decimal_places=3, required=False)
    applies_to_all = serializers.BooleanField(required=False)


def _discounts_for(user: User) -> QuerySet[Discount]:
    return (
        Discount.objects.filter(brand_id__in=selectors.brand_ids_for_user(user))
        .select_related("brand")
        .prefetch_related("products")
        .order_by("-id")
    )


def _writable_brand(user: User, slug: str) -> Brand:
    brand = Brand.objects.filter(slug=slug, pk__in=selectors.brand_ids_for_user(user)).first()
    if brand is None:
        raise NotFound("No such brand.", code="brand_not_found")
    if brand.pk not in selectors.brand_ids_for_user(user, write=True):
        raise Forbidden("Viewers cannot change discounts.", code="role_read_only")
    return brand


def _discount(user: User, pk: int, *, write: bool = False) -> Discount:
    discount = _discounts_for(user).filter(pk=pk).first()
    if discount is None:
        raise NotFound("No such discount.", code="discount_not_found")
    if write and discount.brand_id not in selectors.brand_ids_for_user(user, write=True):
        raise Forbidden("Viewers cannot change discounts.", code="role_read_only")
    return discount


def _split(data: dict[str, Any]) -> tuple[dict[str, Any], list[int] | None]:
    fields = dict(data)
    fields.pop("brand", None)
    return fields, fields.pop("products", None)


class BrandDiscountListView(generics.ListAPIView):
    """Discounts of the brands you are a member of; a discount applies only through a code."""

    serializer_class = DiscountSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self) -> QuerySet[Discount]:
        if getattr(self, "swagger_fake_view", False):
            return Discount.objects.none()
        return _discounts_for(authenticated_user(self.request))

    @extend_schema(summary="List your brands' discounts")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)

    @extend_schema(
        summary="Create a discount",
        request=DiscountInput,
        responses={201: DiscountSerializer, 400: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        user = authenticated_user(request)
        data = DiscountInput(data=request.data)
        data.is_valid(raise_exception=True)
        brand = _writable_brand(user, data.validated_data["brand"])
        fields, products = _split(data.validated_data)
        discount = discounts.discount_create(brand=brand, product_ids=products or (), **fields)
        return Response(
            DiscountSerializer(_discount(user, discount.pk)).data, status=status.HTTP_201_CREATED
        )


class BrandDiscountDetailView(generics.GenericAPIView):
    serializer_class = DiscountSerializer
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary="Get one of your discounts", responses={200: DiscountSerializer, 404: ErrorSchema}
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(DiscountSerializer(_discount(authenticated_user(request), pk)).data)

    @extend_schema(
        summary="Change a discount (pause it with status=paused)",
        request=DiscountUpdateInput,
        responses={200: DiscountSerializer, 400: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema},
    )
    def patch(self, request: Request, pk: int) -> Response:
        user = authenticated_user(request)
        discount = _discount(user, pk, write=True)
        data = DiscountUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields, products = _split(data.validated_data)
        discounts.discount_update(discount=discount, product_ids=products, **fields)
        return Response(DiscountSerializer(_discount(user, pk)).data)

    @extend_schema(
        summary="Delete a discount no code points at",
        request=None,
        responses={204: None, 403: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema},
    )
    def delete(self, request: Request, pk: int) -> Response:
        discount = _discount(authenticated_user(request), pk, write=True)
        discounts.discount_delete(discount=discount)
        return Response(status=status.HTTP_204_NO_CONTENT)
