"""A signed-in shopper's orders: every brand's part, shipments with tracking, refunds."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import authenticated_user
from common.serializers import ErrorSchema
from orders import order_selectors
from orders.api.order_serializers import ShopperOrderSchema
from orders.models import Order


class ShopperOrderListView(generics.ListAPIView):
    """Your orders, newest first (checkouts that lapsed or were canceled are left out)."""

    serializer_class = ShopperOrderSchema
    permission_classes = [permissions.IsAuthenticated]
    filter_backends: list = []

    def get_queryset(self) -> QuerySet[Order]:
        if getattr(self, "swagger_fake_view", False):
            return Order.objects.none()
        return order_selectors.shopper_order_queryset(user=authenticated_user(self.request))

    @extend_schema(summary="List your orders")
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset()) or []
        views = [order_selectors.order_view(order) for order in page]
        return self.get_paginated_response(ShopperOrderSchema(views, many=True).data)


class ShopperOrderDetailView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary="Get one of your orders", responses={200: ShopperOrderSchema, 404: ErrorSchema}
    )
    def get(self, request: Request, order_id: int) -> Response:
        order = order_selectors.shopper_order_get(
            user=authenticated_user(request), order_id=order_id
        )
        return Response(ShopperOrderSchema(order_selectors.order_view(order)).data)
