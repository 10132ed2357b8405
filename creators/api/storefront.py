"""A creator's public storefront as JSON: the same data as the /@handle page."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from common import visitor
from common.serializers import ErrorSchema, MoneyField
from creators.pages.links import link_terms_reader
from creators.pages.storefront_json import storefront_json_bytes, storefront_json_get
from creators.selectors.landing import landing_token_get
from creators.selectors.storefront import StorefrontPage
from shop.api.serializers import BrandSummarySerializer, ImageSerializer


class PublicStorefrontSocialAccountSerializer(serializers.Serializer):
    platform = serializers.CharField(required=False)
    handle = serializers.CharField(required=False)
    url = serializers.CharField(required=False)


class PublicStorefrontCreatorSerializer(serializers.Serializer):
    handle = serializers.CharField(source="creator.handle")
    display_name = serializers.CharField(source="creator.display_name")
    bio = serializers.CharField(source="creator.bio")
    avatar_url = serializers.CharField(help_text="Empty when the creator has none.")
    social_accounts = PublicStorefrontSocialAccountSerializer(many=True)


class PublicStorefrontThemeSerializer(serializers.Serializer):
    title = serializers.CharField(help_text="The storefront's title, else the display name.")
    theme_color = serializers.CharField(help_text="#RRGGBB.")


class PublicStorefrontProductSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    brand = BrandSummarySerializer()
    price = MoneyField(
        amount="price.amount",
        currency="price.currency",
        allow_null=True,
        help_text="Lowest variant price.",
    )
    images = ImageSerializer(many=True)
    stock_state = serializers.CharField(
        help_text="in_stock, low_stock or sold_out; new values may be added within v1."
    )
    available = serializers.IntegerField(help_text="Units that can be bought now, all variants.")


class PublicStorefrontProductSerializer(PublicStorefrontProductSummarySerializer):
    fallback_product = PublicStorefrontProductSummarySerializer(
        source="fallback",
        allow_null=True,
        help_text="What the creator offers instead while this product is sold out, or null.",
    )


class PublicStorefrontTagSerializer(serializers.Serializer):
    appears_at_seconds = serializers.IntegerField()
    product = PublicStorefrontProductSerializer()


class PublicStorefrontVideoSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    platform = serializers.CharField(
        help_text="tiktok, instagram, youtube or other; new values may be added within v1."
    )
    url = serializers.CharField()
    caption = serializers.CharField()
    posted_at = serializers.DateTimeField(allow_null=True)
    thumbnail_url = serializers.CharField()
    products = PublicStorefrontTagSerializer(many=True, help_text="In the creator's order.")


class PublicStorefrontCollectionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    products = PublicStorefrontProductSerializer(many=True)


class PublicStorefrontCodeSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Type it at checkout.")
    brand = serializers.CharField(source="brand_slug")
    brand_name = serializers.CharField()
    offer = serializers.CharField(help_text='What it takes off: "10% off", "$5.00 off".')
    ends_at = serializers.DateTimeField(allow_null=True)


class PublicStorefrontPageSerializer(serializers.Serializer):
    number = serializers.IntegerField(help_text="This page, from 1.")
    pages = serializers.IntegerField(help_text="How many pages the storefront has now.")
    next = serializers.CharField(allow_null=True, help_text="The next page's URL, or null.")
    previous = serializers.CharField(allow_null=True, help_text="The previous page's URL, or null.")


class StorefrontQuery(serializers.Serializer):
    page = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=9999,
        help_text="One page of the storefront's products, as the web storefront shows them: "
        "48 product cards, its videos' tagged products then its collections', in order (the "
        "codes on page 1). Without it, the whole storefront.",
    )


class PublicStorefrontSerializer(serializers.Serializer):
    storefront_token = serializers.CharField(
        allow_null=True,
        help_text="With `?atk=` holding this creator's link (or storefront) token: the token "
        "to send as `attribution_token` for products the shopper adds from this storefront. "
        "Null otherwise.",
    )
    creator = PublicStorefrontCreatorSerializer(source="*")
    storefront = PublicStorefrontThemeSerializer(source="*")
    videos = PublicStorefrontVideoSerializer(many=True, help_text="Newest first.")
    collections = PublicStorefrontCollectionSerializer(many=True)
    codes = PublicStorefrontCodeSerializer(
        many=True, help_text="The creator's codes a shopper can use now, newest first."
    )
    page = PublicStorefrontPageSerializer(
        allow_null=True,
        default=None,  # filled in by the view
        help_text="With `?page=`: which page this is. Null otherwise.",
    )


def _representation(page: StorefrontPage) -> Any:
    return PublicStorefrontSerializer(page).data


class StorefrontView(APIView):
    """An active creator's storefront, whole or one page of it; suspended and unknown
    creators are 404, as a page past the last (`storefront_page_not_found`). Served from
    its stored body with live stock, as JSON joined from its stored encoding
    (`creators.pages.storefront_json`)."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(
        summary="Get a creator's storefront",
        parameters=[
            OpenApiParameter(
                "atk",
                str,
                description="The attribution token the shopper arrived with (from a click).",
            ),
            StorefrontQuery,
        ],
        responses={200: PublicStorefrontSerializer, 400: ErrorSchema, 404: ErrorSchema},
    )
    def get(self, request: Request, handle: str) -> HttpResponse:
        # A plain dict: DRF reads a QueryDict as a form, where `?page=` means "not sent".
        query = StorefrontQuery(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        number = query.validated_data.get("page")
        stored, read = storefront_json_get(
            handle=handle.lower(), number=number, render=_representation
        )
        landing = landing_token_get(
            token=visitor.url_token(request._request, visitor.ATK_PARAM),
            creator_id=stored.creator_id,
            link_terms=link_terms_reader(
                catalog_version=stored.catalog_version, creator_version=stored.creator_version
            ),
        )
        token = landing.storefront_token if landing is not None else None
        page: dict[str, Any] | None = None
        if number is not None:
            here = request.build_absolute_uri()
            page = {
                "number": stored.number,
                "pages": stored.pages,
                "next": (
                    replace_query_param(here, "page", stored.number + 1)
                    if stored.number < stored.pages
                    else None
                ),
                "previous": (
                    replace_query_param(here, "page", stored.number - 1)
                    if stored.number > 1
                    else None
                ),
            }
        content = storefront_json_bytes(stored, read.stock, storefront_token=token, page=page)
        renderer = request.accepted_renderer
        response: HttpResponse
        if type(renderer) is JSONRenderer and (
            renderer.get_indent(request.accepted_media_type, {}) is None
        ):
            response = HttpResponse(content, content_type=renderer.media_type)
        else:  # the browsable API, or indented JSON: the renderer writes it again
            response = Response(json.loads(content))
        if landing is not None:
            visitor.token_page(response)
        return response
