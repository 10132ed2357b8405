"""Creator codes: brands issue and switch them off; creators list theirs with their uses and
make their own within their collaboration's limits."""

from __future__ import annotations

from decimal import Decimal
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
from common.serializers import ErrorSchema, StrictCharField, StrictSlugField
from creators.api import MeAPIView
from creators.models import CreatorCode
from creators.selectors import codes as selectors
from creators.services import codes as services
from shop.models import Brand
from shop.selectors import brand_ids_for_user


class CodeDiscountSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    value = serializers.DecimalField(max_digits=14, decimal_places=3)
    status = serializers.CharField()
    ends_at = serializers.DateTimeField(allow_null=True)


class CreatorCodeSerializer(serializers.ModelSerializer):
    brand = serializers.CharField(source="brand.slug")
    discount = CodeDiscountSerializer()
    uses = serializers.IntegerField(help_text="Checkouts holding or having paid with the code.")

    class Meta:
        model = CreatorCode
        fields = (
            "id",
            "code",
            "brand",
            "discount",
            "is_active",
            "made_by_creator",
            "uses",
            "created_at",
        )


class BrandCodeSerializer(CreatorCodeSerializer):
    creator = serializers.CharField(source="creator.handle", allow_null=True, default=None)

    class Meta(CreatorCodeSerializer.Meta):
        fields = (*CreatorCodeSerializer.Meta.fields, "creator")  # type: ignore[assignment]


class CodeInput(serializers.Serializer):
    brand = StrictSlugField(help_text="Slug of a brand you own or manage.")
    code = StrictCharField(max_length=40, help_text="3-40 of A-Z, 0-9, - and _; any case.")
    discount = serializers.IntegerField(min_value=1, max_value=MAX_INTEGER)
    creator = serializers.IntegerField(
        min_value=1,
        max_value=MAX_INTEGER,
        required=False,
        allow_null=True,
        help_text="The creator the code credits; none for a brand's own code.",
    )


class OwnCodeInput(serializers.Serializer):
    brand = StrictSlugField(help_text="Slug of a brand you collaborate with.")
    code = StrictCharField(max_length=40, help_text="3-40 of A-Z, 0-9, - and _; any case.")
    percent = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=Decimal(100),
        help_text="Percent off, at most your collaboration's `code_max_percent`.",
    )


class CodeUpdateInput(serializers.Serializer):
    is_active = serializers.BooleanField()


def _brand_codes(user: User) -> QuerySet[CreatorCode]:
    return selectors.code_list_for_brands(brand_ids=set(brand_ids_for_user(user)))


def _brand_code(user: User, pk: int) -> CreatorCode:
    code = _brand_codes(user).filter(pk=pk).first()
    if code is None:
        raise NotFound("No such code.", code="code_not_found")
    if code.brand_id not in brand_ids_for_user(user, write=True):
        raise Forbidden("Viewers cannot change codes.", code="role_read_only")
    return code


def _writable_brand(user: User, slug: str) -> Brand:
    brand = Brand.objects.filter(slug=slug, pk__in=brand_ids_for_user(user)).first()
    if brand is None:
        raise NotFound("No such brand.", code="brand_not_found")
    if brand.pk not in brand_ids_for_user(user, write=True):
        raise Forbidden("Viewers cannot issue codes.", code="role_read_only")
    return brand


class BrandCodeListView(generics.ListAPIView):
    """The codes your brands issued, with their uses."""

    serializer_class = BrandCodeSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self) -> QuerySet[CreatorCode]:
        if getattr(self, "swagger_fake_view", False):
            return CreatorCode.objects.none()
        return _brand_codes(authenticated_user(self.request))

    @extend_schema(summary="List your brands' codes")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)

    @extend_schema(
        summary="Issue a code for one of your discounts (to a creator, or to nobody)",
        request=CodeInput,
        responses={
            201: BrandCodeSerializer,
            400: ErrorSchema,
            403: ErrorSchema,
            404: ErrorSchema,
            409: ErrorSchema,
        },
    )
    @idempotent
    def post(self, request: Request) -> Response:
        user = authenticated_user(request)
        data = CodeInput(data=request.data)
        data.is_valid(raise_exception=True)
        brand = _writable_brand(user, data.validated_data["brand"])
        code = services.code_issue(
            brand=brand,
            discount_id=data.validated_data["discount"],
            code=data.validated_data["code"],
            creator_id=data.validated_data.get("creator"),
        )
        shown = _brand_codes(user).get(pk=code.pk)
        return Response(BrandCodeSerializer(shown).data, status=status.HTTP_201_CREATED)


class BrandCodeDetailView(generics.GenericAPIView):
    serializer_class = BrandCodeSerializer
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary="Switch a code on or off",
        request=CodeUpdateInput,
        responses={200: BrandCodeSerializer, 400: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema},
    )
    def patch(self, request: Request, pk: int) -> Response:
        user = authenticated_user(request)
        code = _brand_code(user, pk)
        data = CodeUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.code_set_active(code=code, is_active=data.validated_data["is_active"])
        return Response(BrandCodeSerializer(_brand_codes(user).get(pk=pk)).data)


class MeCodeListView(MeAPIView, generics.ListAPIView):
    """The codes brands issued you or you made, newest first, with their uses."""

    serializer_class = CreatorCodeSerializer

    def get_queryset(self) -> QuerySet[CreatorCode]:
        if getattr(self, "swagger_fake_view", False):
            return CreatorCode.objects.none()
        return selectors.code_list_for_creator(creator=self.creator())

    @extend_schema(summary="List your codes")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)

    @extend_schema(
        summary="Make your own code for a brand, within your collaboration's limits",
        description="400 `code_invalid` or `code_percent_above_limit` (`details.max_percent`); "
        "403 `codes_not_allowed` when your collaboration does not let you; 404 "
        "`brand_not_found`, or `collaboration_not_found` with no collaboration in force; 409 "
        "`code_limit_reached` (`details.max_codes`) or `code_taken`.",
        request=OwnCodeInput,
        responses={
            201: CreatorCodeSerializer,
            400: ErrorSchema,
            403: ErrorSchema,
            404: ErrorSchema,
            409: ErrorSchema,
        },
    )
    @idempotent
    def post(self, request: Request) -> Response:
        creator = self.creator()
        data = OwnCodeInput(data=request.data)
        data.is_valid(raise_exception=True)
        brand = Brand.objects.filter(slug=data.validated_data["brand"], is_active=True).first()
        if brand is None:
            raise NotFound("No such brand.", code="brand_not_found")
        code = services.code_create_own(
            creator=creator,
            brand=brand,
            code=data.validated_data["code"],
            percent=data.validated_data["percent"],
        )
        shown = selectors.code_list_for_creator(creator=creator).get(pk=code.pk)
        return Response(CreatorCodeSerializer(shown).data, status=status.HTTP_201_CREATED)
