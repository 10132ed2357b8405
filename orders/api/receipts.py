"""Attribution receipts of order lines: who was credited, by which click, at which rate, why."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import authenticated_user
from common.serializers import ErrorSchema, MoneySchema
from orders.selectors import order_line_receipt_get
from shop.selectors import brand_ids_for_user


class ReceiptSchema(serializers.Serializer):
    order_line_id = serializers.IntegerField()
    order_id = serializers.IntegerField()
    order_status = serializers.CharField()
    ordered_at = serializers.DateTimeField()
    sku = serializers.CharField()
    quantity = serializers.IntegerField()
    line_total = MoneySchema()
    credited = serializers.BooleanField()
    commission_rate = serializers.CharField(allow_null=True)
    receipt = serializers.DictField(
        help_text="reason, rule, creator_id, link_id, click_id, clicked_at, rate, rate_source, "
        "locked_rate, lock_ends_at, current_rate, window_days, decided_at."
    )


class BrandLineReceiptView(APIView):
    """For the brand that sold the line (and support staff)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary="Attribution receipt of one of your order lines",
        responses={200: ReceiptSchema, 404: ErrorSchema},
    )
    def get(self, request: Request, line_id: int) -> Response:
        user = authenticated_user(request)
        receipt = order_line_receipt_get(
            line_id=line_id,
            brand_ids=brand_ids_for_user(user),
            is_staff=user.is_staff and user.is_superuser,
        )
        return Response(ReceiptSchema(receipt).data)
