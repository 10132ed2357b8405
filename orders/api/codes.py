"""Codes on a cart: apply (POST) and remove (DELETE), both safe to retry.

Unknown codes are counted per client: past CODE_LOOKUP_MISSES in a window every code
lookup answers 429, known codes included, so guessing learns nothing more.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.cache import cache_count
from common.client_ip import client_ip
from common.errors import ApplicationError
from common.serializers import ErrorSchema, StrictCharField
from creators.selectors.codes import CodeNotFound
from orders.api.carts import CART_TOKEN_PARAM, cart_for_request, cart_response
from orders.api.serializers import CartSerializer
from orders.services import cart_codes


class CartCodeInput(serializers.Serializer):
    code = StrictCharField(max_length=40, help_text="The code as the shopper typed it; any case.")


class CodeLookupsThrottled(ApplicationError):
    status_code = 429
    code = "code_lookups_throttled"
    default_message = "Too many unknown codes; try again later."
    retryable = True


def _misses_key(request: Request) -> str:
    return f"code-misses:{client_ip(request._request)}"


def _refuse_when_guessing(request: Request) -> None:
    if (cache.get(_misses_key(request)) or 0) >= settings.CODE_LOOKUP_MISSES:
        raise CodeLookupsThrottled(details={"retry_after": settings.CODE_LOOKUP_WINDOW_SECONDS})


def _count_miss(request: Request) -> None:
    cache_count(_misses_key(request), timeout=settings.CODE_LOOKUP_WINDOW_SECONDS)


class CartCodeListView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        summary="Apply a code to the cart (the same code again changes nothing)",
        description=(
            "One code per brand: a second code for the same brand answers 409 "
            "`code_conflict`. Unknown codes, and codes of brands not in the cart, answer 404 "
            "`code_not_found`; too many of those from one client answer 429."
        ),
        parameters=[CART_TOKEN_PARAM],
        request=CartCodeInput,
        responses={
            200: CartSerializer,
            400: ErrorSchema,
            404: ErrorSchema,
            409: ErrorSchema,
            422: ErrorSchema,
            429: ErrorSchema,
        },
    )
    def post(self, request: Request, cart_id: int) -> Response:
        cart = cart_for_request(request, cart_id, with_lines=False)
        data = CartCodeInput(data=request.data)
        data.is_valid(raise_exception=True)
        _refuse_when_guessing(request)
        try:
            cart_codes.cart_code_apply(
                cart=cart,
                code=data.validated_data["code"],
                user=request.user,  # type: ignore[arg-type]
            )
        except CodeNotFound:
            _count_miss(request)
            raise
        return cart_response(cart.pk)


class CartCodeDetailView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        summary="Remove a code from the cart (removing an absent code changes nothing)",
        parameters=[CART_TOKEN_PARAM],
        responses={200: CartSerializer, 404: ErrorSchema, 409: ErrorSchema},
    )
    def delete(self, request: Request, cart_id: int, code: str) -> Response:
        cart = cart_for_request(request, cart_id, with_lines=False)
        cart_codes.cart_code_remove(cart=cart, code=code)
        return cart_response(cart.pk)
