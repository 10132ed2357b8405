"""A creator's public storefront as JSON: the same data as the /@handle page."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common import visitor
from common.serializers import ErrorSchema, MoneyField
from creators.selectors.landing import landing_token_get
from creators.selectors.storefront import storefront_page_get
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


class StorefrontView(APIView):
    """An active creator's storefront; suspended and unknown creators are 404."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(
        summary="Get a creator's storefront",
        parameters=[
            OpenApiParameter(
                "atk",
                str,
                description="The attribution token the shopper arrived with (from a click).",
            )
        ],
        responses={200: PublicStorefrontSerializer, 404: ErrorSchema},
    )
    def get(self, request: Request, handle: str) -> Response:
        page = storefront_page_get(handle=handle.lower())
        landing = landing_token_get(
            token=visitor.url_token(request._request, visitor.ATK_PARAM),
            creator_id=page.creator.pk,
        )
        body = PublicStorefrontSerializer(page).data
        body["storefront_token"] = landing.storefront_token if landing is not None else None
        response = Response(body)
        if landing is not None:
            visitor.token_page(response)
        return response
