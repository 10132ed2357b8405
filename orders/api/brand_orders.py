"""The brand's order desk over the API: its part of each paid order, shipments and refunds.

A member sees only orders holding their brands' lines, and of them only those brands'
lines, shipping, shipments and refund shares; any other order is 404. Shipping and
refunding need the owner or manager role of the lines' brand.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Exists, OuterRef, QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import authenticated_user
from common.filters import StrictFilterSet
from common.idempotency import HEADER as IDEMPOTENCY_HEADER
from common.idempotency import idempotent
from common.serializers import ErrorSchema, StrictCharField
from orders import order_selectors
from orders.api.order_serializers import (
    BrandOrderSchema,
    DeliveredInput,
    RefundCreatedSchema,
    RefundInput,
    ShipmentInput,
    ShipmentSchema,
)
from orders.brand_access import BrandAccess, brand_access_for
from orders.models import Fulfilment, Order, OrderLine, Refund, Shipment
from orders.services.fulfilment import ShipLine, shipment_create, shipment_mark_delivered
from orders.services.refunds import RefundLineRequest, refund_create
from shop.models import Brand, BrandMember
from shop.two_factor import second_factor_require

IDEMPOTENCY_PARAM = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="A repeat with the same key replays the first answer.",
)


class BrandOrderFilter(StrictFilterSet):
    status = django_filters.ChoiceFilter(choices=Order.Status.choices)
    fulfilment_status = django_filters.ChoiceFilter(
        choices=Fulfilment.Status.choices,
        method="filter_fulfilment_status",
        help_text="Your brand's fulfilment status.",
    )
    brand = django_filters.CharFilter(
        method="filter_brand", help_text="Only this one of your brands (slug)."
    )
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Order
        fields: list[str] = []

    def _members_brands(self) -> QuerySet[BrandMember]:
        brands = BrandMember.objects.filter(user_id=self.request.user.pk)
        slug = self.data.get("brand")
        return brands.filter(brand__slug=slug) if slug else brands

    def filter_fulfilment_status(
        self, queryset: QuerySet[Order], name: str, value: str
    ) -> QuerySet[Order]:
        mine = Fulfilment.objects.filter(
            order_id=OuterRef("pk"),
            status=value,
            brand_id__in=self._members_brands().values("brand_id"),
        )
        return queryset.filter(Exists(mine))

    def filter_brand(self, queryset: QuerySet[Order], name: str, value: str) -> QuerySet[Order]:
        return queryset.filter(
            Exists(OrderLine.objects.filter(order_id=OuterRef("pk"), brand__slug=value))
        )


def _scope(access: BrandAccess, slug: str | None) -> list[int] | None:
    """The brand ids whose parts are shown: the member's (or the one named), None for all."""
    if not slug:
        return order_selectors.brand_visible_ids(access)
    brand_id = Brand.objects.filter(slug=slug).values_list("pk", flat=True).first()
    if brand_id is None or not access.sees_brand(brand_id):
        return []
    return [brand_id]


class BrandScopeQuery(serializers.Serializer):
    """The `brand` query value, validated before the scope lookup uses it."""

    brand = StrictCharField(required=False, allow_blank=True, max_length=200)


class BrandOrderListView(generics.ListAPIView):
    """Paid orders holding your brands' lines, newest first."""

    serializer_class = BrandOrderSchema
    permission_classes = [permissions.IsAuthenticated]
    filterset_class = BrandOrderFilter

    def get_queryset(self) -> QuerySet[Order]:
        if getattr(self, "swagger_fake_view", False):
            return Order.objects.none()
        access = brand_access_for(authenticated_user(self.request))
        query = BrandScopeQuery(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        self.scope = _scope(access, query.validated_data.get("brand"))
        return order_selectors.brand_order_queryset(access=access, brand_ids=self.scope)

    @extend_schema(summary="List your brands' orders")
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset) or []
        views = [order_selectors.order_view(order, brand_ids=self.scope) for order in page]
        return self.get_paginated_response(BrandOrderSchema(views, many=True).data)


class BrandOrderDetailView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary="Get your brands' part of an order",
        responses={200: BrandOrderSchema, 404: ErrorSchema},
    )
    def get(self, request: Request, order_id: int) -> Response:
        access = brand_access_for(authenticated_user(request))
        order = order_selectors.brand_order_get(access=access, order_id=order_id)
        view = order_selectors.order_view(
            order, brand_ids=order_selectors.brand_visible_ids(access)
        )
        return Response(BrandOrderSchema(view).data)


def _refund_view(refund: Refund, access: BrandAccess) -> dict[str, Any]:
    order = order_selectors.brand_order_get(access=access, order_id=refund.order_id)
    view = order_selectors.order_view(order, brand_ids=[refund.brand_id or 0])
    found = next(r for r in view["refunds"] if r["id"] == refund.pk)
    return {**found, "order_id": refund.order_id}


class BrandOrderRefundView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary="Refund lines of your brand (whole or partly) and optionally its shipping",
        description=(
            "Refunds through Stripe at once. Amounts default to the units' share of what was "
            "paid. Refunds of a line never exceed what was paid for it (409 "
            "`refund_exceeds_paid`). A payment-provider failure answers 502/503 with "
            "`retryable` and changes nothing. Owners and managers refund only with tokens "
            "from a sign-in that gave their authenticator's code (`otp_token`); others get "
            "403 `second_factor_required`."
        ),
        parameters=[IDEMPOTENCY_PARAM],
        request=RefundInput,
        responses={
            201: RefundCreatedSchema,
            400: ErrorSchema,
            403: ErrorSchema,
            404: ErrorSchema,
            409: ErrorSchema,
            502: ErrorSchema,
            503: ErrorSchema,
        },
    )
    @idempotent
    def post(self, request: Request, order_id: int) -> Response:
        user = authenticated_user(request)
        second_factor_require(request)
        data = RefundInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        refund = refund_create(
            order_id=order_id,
            user=user,
            lines=[
                RefundLineRequest(
                    line_id=line["line_id"], quantity=line["quantity"], amount=line.get("amount")
                )
                for line in values["lines"]
            ],
            shipping=values["shipping"],
            restock=values["restock"],
            reason=values["reason"],
            note=values["note"],
            brand_slug=values.get("brand"),
        )
        body = RefundCreatedSchema(_refund_view(refund, brand_access_for(user))).data
        return Response(body, status=status.HTTP_201_CREATED)


class BrandOrderShipmentView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary="Record a shipment of your brand's lines, with tracking",
        description=(
            "Ships the given lines (default: everything of your brand left to ship). "
            "Refunded units cannot ship (409 `order_line_refunded`)."
        ),
        parameters=[IDEMPOTENCY_PARAM],
        request=ShipmentInput,
        responses={
            201: ShipmentSchema,
            400: ErrorSchema,
            403: ErrorSchema,
            404: ErrorSchema,
            409: ErrorSchema,
        },
    )
    @idempotent
    def post(self, request: Request, order_id: int) -> Response:
        data = ShipmentInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        shipment = shipment_create(
            order_id=order_id,
            user=authenticated_user(request),
            carrier=values["carrier"],
            tracking_number=values["tracking_number"],
            tracking_url=values["tracking_url"],
            lines=[
                ShipLine(line_id=s["line_id"], quantity=s.get("quantity")) for s in values["lines"]
            ],
            brand_slug=values.get("brand"),
            shipped_at=values["shipped_at"],
        )
        return Response(_shipment_body(shipment.pk), status=status.HTTP_201_CREATED)


def _shipment_body(shipment_id: int) -> Any:
    shipment = Shipment.objects.prefetch_related("lines").get(pk=shipment_id)
    return ShipmentSchema(order_selectors.shipment_view(shipment)).data


class BrandShipmentDeliveredView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary="Mark one of your shipments delivered",
        request=DeliveredInput,
        responses={200: ShipmentSchema, 400: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema},
    )
    def post(self, request: Request, order_id: int, shipment_id: int) -> Response:
        data = DeliveredInput(data=request.data)
        data.is_valid(raise_exception=True)
        shipment = shipment_mark_delivered(
            order_id=order_id,
            shipment_id=shipment_id,
            user=authenticated_user(request),
            delivered_at=data.validated_data["delivered_at"],
        )
        return Response(_shipment_body(shipment.pk))
