"""Carts for apps (X-Cart-Token header) and the web (tribe_cart cookie)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import authenticated_user
from common import visitor
from common.errors import NotFound
from common.serializers import ErrorSchema, StrictCharField
from creators.attribution.views import ATTRIBUTION_COOKIE
from orders import selectors
from orders.api.serializers import CartSerializer, NewCartSerializer, cart_body
from orders.models import Cart
from orders.services import carts
from orders.services.carts import CartContents

CART_HEADER = "X-Cart-Token"
CART_COOKIE = visitor.CART_COOKIE
CART_TOKEN_PARAM = OpenApiParameter(
    CART_HEADER, str, OpenApiParameter.HEADER, required=False, description="Anonymous cart token."
)


def cart_token(request: Request) -> str | None:
    return request.headers.get(CART_HEADER) or request.COOKIES.get(CART_COOKIE)


def cart_for_request(request: Request, cart_id: int, *, with_lines: bool = True) -> Cart:
    return selectors.cart_get_for(
        cart_id=cart_id,
        user=request.user,  # type: ignore[arg-type]
        token=cart_token(request),
        with_lines=with_lines,
    )


def cart_response(
    cart_id: int,
    *,
    status_code: int = 200,
    new: bool = False,
    cart: Cart | None = None,
    contents: CartContents | None = None,
) -> Response:
    """The cart as the API shows it: from `contents` when a write read it back (and it has
    no codes), from `cart` when it is in hand with its lines attached, else read."""
    if contents is not None and not contents.has_codes:
        response = Response(cart_body(contents, new=new), status=status_code)
        user_id, token = contents.user_id, contents.token
    else:
        if cart is None:
            cart = selectors.cart_get_with_lines(cart_id=cart_id)
        serializer = NewCartSerializer if new else CartSerializer
        response = Response(serializer(cart).data, status=status_code)
        user_id, token = cart.user_id, cart.token
    if new and user_id is None:
        response.set_cookie(
            CART_COOKIE,
            token,
            max_age=60 * 60 * 24 * 30,
            httponly=True,
            samesite="Lax",
            secure=not settings.DEBUG,
        )
    return response


class NewLineInput(serializers.Serializer):
    sku = StrictCharField(max_length=64)
    quantity = serializers.IntegerField(help_text="The quantity wanted.")


class TokensInput(serializers.Serializer):
    attribution_token = StrictCharField(required=False, allow_blank=True, max_length=2000)
    attribution_tokens = serializers.ListField(
        child=StrictCharField(allow_blank=True, max_length=2000),
        required=False,
        max_length=4,
        help_text="Every token the shopper carries (a click's `attribution_token`, the "
        "storefront's `storefront_token`); each line keeps the one that credits its product.",
    )


class NewCartInput(TokensInput):
    lines = NewLineInput(
        many=True,
        required=False,
        help_text="What the cart starts with: each SKU once. A refused line (unknown, not for "
        "sale, sold out, a bad quantity) makes no cart at all.",
    )


def attribution_tokens_of(request: Request, data: dict[str, Any]) -> list[str]:
    """The tokens a request carries: the body's, then the web cookie's."""
    return [
        data.get("attribution_token", ""),
        *data.get("attribution_tokens", []),
        request.COOKIES.get(ATTRIBUTION_COOKIE, ""),
    ]


class CartCreateView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        summary="Create a cart, with its first lines if given (signed-in users get their "
        "open cart back)",
        request=NewCartInput,
        responses={201: NewCartSerializer, 400: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema},
    )
    def post(self, request: Request) -> Response:
        data = NewCartInput(data=request.data)
        data.is_valid(raise_exception=True)
        lines = data.validated_data.get("lines")
        if lines:  # the fan's first tap: the cart and what they tapped in one request
            contents = carts.cart_create_with_lines(
                user=request.user,  # type: ignore[arg-type]
                lines=[(line["sku"], line["quantity"]) for line in lines],
                attribution_tokens=attribution_tokens_of(request, data.validated_data),
            )
            return cart_response(
                contents.id, status_code=status.HTTP_201_CREATED, new=True, contents=contents
            )
        cart = carts.cart_create(user=request.user)  # type: ignore[arg-type]
        if cart.user_id is not None:  # the signed-in user's open cart: read with its lines
            return cart_response(cart.pk, status_code=status.HTTP_201_CREATED, new=True)
        # A new anonymous cart: nothing in it to read back.
        contents = CartContents(
            id=cart.pk,
            token=cart.token,
            user_id=None,
            status=cart.status,
            currency=cart.currency,
            has_codes=False,
            created_at=cart.created_at,
            updated_at=cart.updated_at,
            lines=[],
        )
        return cart_response(
            cart.pk, status_code=status.HTTP_201_CREATED, new=True, contents=contents
        )


class CartDetailView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        summary="Get a cart with its totals",
        parameters=[CART_TOKEN_PARAM],
        responses={200: CartSerializer, 404: ErrorSchema},
    )
    def get(self, request: Request, cart_id: int) -> Response:
        cart = cart_for_request(request, cart_id)
        return Response(CartSerializer(cart).data)


class LineInput(TokensInput):
    quantity = serializers.IntegerField(help_text="The full quantity wanted (not a delta).")


class CartLineView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        summary="Set a line's quantity (safe to retry)",
        parameters=[CART_TOKEN_PARAM],
        request=LineInput,
        responses={200: CartSerializer, 400: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema},
    )
    def put(self, request: Request, cart_id: int, sku: str) -> Response:
        owner = carts.cart_owner(user=request.user, token=cart_token(request))  # type: ignore[arg-type]
        if owner is None:
            raise NotFound("No such cart.", code="cart_not_found")
        data = LineInput(data=request.data)
        data.is_valid(raise_exception=True)
        contents = carts.cart_line_set(
            cart_id=cart_id,
            owner=owner,
            sku=sku,
            quantity=data.validated_data["quantity"],
            attribution_tokens=attribution_tokens_of(request, data.validated_data),
        )
        return cart_response(cart_id, contents=contents)

    @extend_schema(
        summary="Remove a line",
        parameters=[CART_TOKEN_PARAM],
        responses={200: CartSerializer, 404: ErrorSchema, 409: ErrorSchema},
    )
    def delete(self, request: Request, cart_id: int, sku: str) -> Response:
        cart = cart_for_request(request, cart_id, with_lines=False)
        carts.cart_line_remove(cart=cart, sku=sku)
        return cart_response(cart.pk)


class CartMergeView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary="Merge an anonymous cart into the signed-in user's cart",
        parameters=[CART_TOKEN_PARAM],
        request=None,
        responses={200: CartSerializer, 404: ErrorSchema, 409: ErrorSchema},
    )
    def post(self, request: Request, cart_id: int) -> Response:
        user = authenticated_user(request)
        source = selectors.cart_get_for(cart_id=cart_id, user=None, token=cart_token(request))
        cart = carts.cart_merge(source=source, user=user)
        response = cart_response(cart.pk)
        response.delete_cookie(CART_COOKIE)
        return response
