"""The Stripe webhook endpoint: signature first, then store once, then process."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.serializers import ErrorSchema
from payments.services import stripe_webhook_receive


class StripeWebhookView(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []
    throttle_classes: list = []

    @extend_schema(
        summary="Receive a Stripe event",
        request={"application/json": {"type": "object"}},
        responses={
            200: OpenApiResponse(description="Stored (or already stored)"),
            400: ErrorSchema,
        },
    )
    def post(self, request: Request) -> Response:
        event = stripe_webhook_receive(
            payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
        return Response({"received": True, "processed": event.processed_at is not None})
