"""Checkout: hold the stock, create the order and its PaymentIntent; poll its state."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import ValidationFailed
from common.idempotency import HEADER as IDEMPOTENCY_HEADER
from common.idempotency import MAX_KEY_LENGTH, REPLAYED_HEADER, body_fingerprint
from common.money import Money
from common.serializers import ErrorSchema, StrictCharField
from common.throttling import ScopedRateThrottle
from orders import selectors
from orders.api.carts import CART_TOKEN_PARAM, cart_token
from orders.api.serializers import DATETIME, CheckoutConfirmSerializer, CheckoutSerializer
from orders.models import Order
from orders.services.checkout import checkout_start_or_replay
from orders.services.payment_attempts import DEVICE_HEADER, DEVICE_ID, payment_client
from orders.services.payment_confirm import checkout_payment_confirm

DEVICE_PARAM = OpenApiParameter(
    DEVICE_HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="The app's install or device id (8 to 128 of A-Z a-z 0-9 . _ : -).",
)


class AddressInput(serializers.Serializer):
    name = StrictCharField(max_length=200)
    line1 = StrictCharField(max_length=200)
    line2 = StrictCharField(max_length=200, required=False, allow_blank=True, default="")
    city = StrictCharField(max_length=100)
    postal_code = StrictCharField(max_length=20)
    region = StrictCharField(max_length=100, required=False, allow_blank=True, default="")
    country = serializers.RegexField(r"^[A-Z]{2}$", help_text="ISO 3166-1 alpha-2, e.g. US.")
    phone = StrictCharField(max_length=40, required=False, allow_blank=True, default="")


class CheckoutInput(serializers.Serializer):
    cart_id = serializers.IntegerField()
    email = serializers.EmailField()
    shipping_address = AddressInput()


def checkout_body(order: Order) -> dict[str, Any]:
    """CheckoutSerializer's answer, built from the order with its lines and shipping attached.

    Plain values instead of a serializer graph: checkout is the hottest write, and its
    answer is fixed (the tests hold the two to the same output).
    """
    currency = order.currency
    pending = order.status == Order.Status.PENDING_PAYMENT
    return {
        "order_id": order.pk,
        "order_token": order.token,
        "status": order.status,
        "currency": currency,
        "amount": Money(order.grand_total, currency).as_dict(),
        "items_total": Money(order.items_total, currency).as_dict(),
        "discount_total": Money(order.discount_total, currency).as_dict(),
        "shipping_total": Money(order.shipping_total, currency).as_dict(),
        "shipping": [
            {"brand": entry.brand.slug, "amount": Money(entry.amount, currency).as_dict()}
            for entry in order.shipping_lines.all()
        ],
        "lines": [
            {
                "sku": line.sku,
                "title": line.title,
                "options": line.options,
                "brand": line.brand.slug,
                "quantity": line.quantity,
                "unit_price": Money(line.unit_price, line.currency).as_dict(),
                "discount": Money(line.discount_amount, line.currency).as_dict(),
                "discount_code": line.discount_code,
                "line_total": Money(line.line_total, line.currency).as_dict(),
            }
            for line in order.lines.all()
        ],
        "payment_intent_id": order.stripe_payment_intent_id,
        "client_secret": (order.stripe_client_secret or None) if pending else None,
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        "reservation_expires_at": DATETIME.to_representation(order.reservation_expires_at)
        if order.reservation_expires_at
        else None,
        "payment_page_url": f"{settings.SITE_URL}/checkout/{order.token}/",
        "created_at": DATETIME.to_representation(order.created_at),
    }


class CheckoutCreateView(APIView):
    permission_classes = [permissions.AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "checkout"

    @extend_schema(
        summary="Check out a cart",
        description=(
            "Holds stock for every line (CHECKOUT_HOLD_MINUTES), creates the order and its "
            "PaymentIntent, and returns what Stripe's SDKs need. Requires an Idempotency-Key: "
            "a retry with the same key returns the same order and PaymentIntent, also after "
            "a payment-provider error."
        ),
        parameters=[
            CART_TOKEN_PARAM,
            OpenApiParameter(IDEMPOTENCY_HEADER, str, OpenApiParameter.HEADER, required=True),
            DEVICE_PARAM,
        ],
        request=CheckoutInput,
        responses={
            201: CheckoutSerializer,
            400: ErrorSchema,
            404: ErrorSchema,
            409: ErrorSchema,
            422: ErrorSchema,
            429: ErrorSchema,
            502: ErrorSchema,
            503: ErrorSchema,
        },
    )
    def post(self, request: Request) -> Response:
        key = request.headers.get(IDEMPOTENCY_HEADER, "")
        if not key or len(key) > MAX_KEY_LENGTH:
            raise ValidationFailed(
                "Checkout needs an Idempotency-Key header (at most 255 characters).",
                code="idempotency_key_required",
            )
        data = CheckoutInput(data=request.data)
        data.is_valid(raise_exception=True)
        # Whose cart it is is checked by the statement that locks it (404 when not theirs).
        order, replayed = checkout_start_or_replay(
            cart_id=data.validated_data["cart_id"],
            cart_token=cart_token(request),
            user=request.user,  # type: ignore[arg-type]
            idempotency_key=key,
            request_fingerprint=body_fingerprint(request.data),
            email=data.validated_data["email"],
            shipping_address=dict(data.validated_data["shipping_address"]),
            client=payment_client(request._request),
        )
        if "lines" not in getattr(order, "_prefetched_objects_cache", {}):
            order = selectors.order_get_by_token(token=order.token)  # a retry: read it back
        response = Response(checkout_body(order), status=status.HTTP_201_CREATED)
        if replayed:
            # As every other creating POST does (common.idempotency): the client may tell a
            # retry's answer from a new checkout's.
            response[REPLAYED_HEADER] = "true"
        return response


class CheckoutDetailView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        summary="Get a checkout's state by its order token",
        responses={200: CheckoutSerializer, 404: ErrorSchema},
    )
    def get(self, request: Request, token: str) -> Response:
        return Response(CheckoutSerializer(selectors.order_get_by_token(token=token)).data)


class CheckoutConfirmInput(serializers.Serializer):
    payment_method = serializers.RegexField(
        r"^pm_[A-Za-z0-9_]{1,250}$",
        help_text="The PaymentMethod the app created with Stripe's SDK (pm_...).",
    )
    radar_session = serializers.RegexField(
        r"^rse_[A-Za-z0-9_]{1,250}$",
        required=False,
        help_text=(
            "The Radar session Stripe.js or the mobile SDK created (rse_...); passed to Stripe "
            "as radar_options.session so Radar sees the device."
        ),
    )
    device_id = serializers.RegexField(
        DEVICE_ID.pattern,
        required=False,
        help_text=f"The app's install or device id; the {DEVICE_HEADER} header also works.",
    )


class CheckoutConfirmView(APIView):
    permission_classes = [permissions.AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "checkout"

    @extend_schema(
        summary="Pay a checkout: confirm its PaymentIntent on the server",
        description=(
            "For apps that finalise payments on the server: send the PaymentMethod and the "
            "Radar session from Stripe's SDK. Answers the checkout with `payment_status` (the "
            "PaymentIntent's; `requires_action` means the SDK must handle the next action "
            "with `client_secret`). A declined card answers 402 `card_declined`. Too many "
            "declines from this client, device, cart or card answer 429 "
            "`payment_attempts_exceeded` with `Retry-After` (seconds), before Stripe is "
            "called."
        ),
        parameters=[DEVICE_PARAM],
        request=CheckoutConfirmInput,
        responses={
            200: CheckoutConfirmSerializer,
            400: ErrorSchema,
            402: ErrorSchema,
            404: ErrorSchema,
            409: ErrorSchema,
            429: ErrorSchema,
            502: ErrorSchema,
            503: ErrorSchema,
        },
    )
    def post(self, request: Request, token: str) -> Response:
        order = selectors.order_get_by_token(token=token)
        data = CheckoutConfirmInput(data=request.data)
        data.is_valid(raise_exception=True)
        order, payment_status = checkout_payment_confirm(
            order=order,
            payment_method=data.validated_data["payment_method"],
            radar_session=data.validated_data.get("radar_session", ""),
            client=payment_client(
                request._request, device_id=data.validated_data.get("device_id", "")
            ),
        )
        order = selectors.order_get_by_token(token=order.token)
        return Response({**checkout_body(order), "payment_status": payment_status})
