"""A creator's view of why a sale was (or was not) credited to them."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import authenticated_user
from common.serializers import ErrorSchema
from creators.selectors import creator_for_user
from orders.api.receipts import ReceiptSchema
from orders.selectors import order_line_receipt_get


class MeReceiptView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary="Attribution receipt of an order line credited to (or attempted by) you",
        responses={200: ReceiptSchema, 404: ErrorSchema},
    )
    def get(self, request: Request, line_id: int) -> Response:
        creator = creator_for_user(user=authenticated_user(request))
        receipt = order_line_receipt_get(line_id=line_id, creator_id=creator.pk)
        return Response(ReceiptSchema(receipt).data)
