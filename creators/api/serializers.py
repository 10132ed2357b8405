"""Output serializers of the creator's own API; inputs live beside the views that parse them."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.serializers import URLOrEmptyField
from creators.models import (
    AffiliateLink,
    Collaboration,
    Collection,
    CollectionItem,
    Creator,
    Storefront,
    Video,
    VideoProduct,
)
from creators.rates import RateDecision
from creators.services.links import link_url
from shop.models import Brand, Product, Variant

RATE_HELP = "Percent, as a decimal string such as '15.00'."


def _rate(value: Any) -> str:
    return f"{value:.2f}"


class RateField(serializers.DecimalField):
    """A commission rate in percent, out as a decimal string."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", RATE_HELP)
        super().__init__(max_digits=5, decimal_places=2, read_only=True, **kwargs)


class CreatorBrandBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Brand
        fields = ("id", "slug", "name", "logo_url")


class CreatorProductBriefSerializer(serializers.ModelSerializer):
    brand = CreatorBrandBriefSerializer(read_only=True)

    class Meta:
        model = Product
        fields = ("id", "slug", "title", "status", "brand")


class CreatorVariantBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Variant
        fields = ("id", "sku", "title", "options")


class MeStorefrontSerializer(serializers.ModelSerializer):
    class Meta:
        model = Storefront
        fields = ("id", "title", "theme_color", "updated_at")
        read_only_fields = fields


class MeSocialAccountSerializer(serializers.Serializer):
    platform = serializers.CharField(max_length=30)
    handle = serializers.CharField(max_length=100, required=False, allow_blank=True)
    url = serializers.URLField(max_length=1000, required=False, allow_blank=True)


class MeCreatorSerializer(serializers.ModelSerializer):
    avatar_url = URLOrEmptyField(help_text="Empty when the creator has none.")
    social_accounts = MeSocialAccountSerializer(many=True, read_only=True)
    storefront = MeStorefrontSerializer(read_only=True)

    class Meta:
        model = Creator
        fields = (
            "id",
            "handle",
            "display_name",
            "bio",
            "avatar_url",
            "social_accounts",
            "status",
            "storefront",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


class MeCollectionItemSerializer(serializers.ModelSerializer):
    product = CreatorProductBriefSerializer(read_only=True)

    class Meta:
        model = CollectionItem
        fields = ("product", "position")
        read_only_fields = fields


class MeCollectionSerializer(serializers.ModelSerializer):
    items = MeCollectionItemSerializer(many=True, read_only=True)

    class Meta:
        model = Collection
        fields = ("id", "title", "position", "items", "created_at")
        read_only_fields = fields


class MeVideoTagSerializer(serializers.ModelSerializer):
    product = CreatorProductBriefSerializer(read_only=True)

    class Meta:
        model = VideoProduct
        fields = ("product", "appears_at_seconds", "position")
        read_only_fields = fields


class MeVideoSerializer(serializers.ModelSerializer):
    thumbnail_url = URLOrEmptyField(help_text="Empty when there is none.")
    tags = MeVideoTagSerializer(many=True, read_only=True)

    class Meta:
        model = Video
        fields = (
            "id",
            "platform",
            "external_id",
            "url",
            "caption",
            "posted_at",
            "thumbnail_url",
            "tags",
            "created_at",
        )
        read_only_fields = fields


class MeLinkSerializer(serializers.ModelSerializer):
    """An affiliate link with the rates it carries now."""

    # Rates come from context["rates"], {link id: RateDecision}, computed for the whole page
    # at one instant by creators.selectors.me.link_rate_decisions.

    url = serializers.SerializerMethodField(help_text="The full short URL to share.")
    product = CreatorProductBriefSerializer(read_only=True)
    video: serializers.PrimaryKeyRelatedField[Video] = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True
    )
    preferred_variant = CreatorVariantBriefSerializer(read_only=True, allow_null=True)
    fallback_product = CreatorProductBriefSerializer(
        read_only=True, allow_null=True, help_text="Where shoppers go while the product sells out."
    )
    locked_rate = RateField(
        help_text="The best rate when the link was made; holds until lock_ends_at."
    )
    current_rate = serializers.SerializerMethodField(help_text="The best rate that applies now.")
    current_rate_source = serializers.SerializerMethodField(
        help_text="open or collaboration; new values may be added within v1."
    )
    sale_rate = serializers.SerializerMethodField(
        help_text="The rate a sale through this link would pay now: "
        "the higher of the locked rate (while locked) and the current rate."
    )
    sale_rate_source = serializers.SerializerMethodField(
        help_text="locked or current; new values may be added within v1."
    )

    class Meta:
        model = AffiliateLink
        fields = (
            "id",
            "code",
            "url",
            "product",
            "video",
            "preferred_variant",
            "fallback_product",
            "is_active",
            "locked_rate",
            "lock_ends_at",
            "current_rate",
            "current_rate_source",
            "sale_rate",
            "sale_rate_source",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields

    def _decision(self, link: AffiliateLink) -> RateDecision:
        decision: RateDecision = self.context["rates"][link.pk]
        return decision

    def get_url(self, link: AffiliateLink) -> str:
        return link_url(link.code)

    @extend_schema_field(serializers.DecimalField(max_digits=5, decimal_places=2))
    def get_current_rate(self, link: AffiliateLink) -> str:
        return _rate(self._decision(link).current_rate)

    def get_current_rate_source(self, link: AffiliateLink) -> str:
        return self._decision(link).current_source

    @extend_schema_field(serializers.DecimalField(max_digits=5, decimal_places=2))
    def get_sale_rate(self, link: AffiliateLink) -> str:
        return _rate(self._decision(link).rate)

    def get_sale_rate_source(self, link: AffiliateLink) -> str:
        return self._decision(link).source


class MeCollaborationSerializer(serializers.ModelSerializer):
    brand = CreatorBrandBriefSerializer(read_only=True)
    product = CreatorProductBriefSerializer(
        read_only=True, allow_null=True, help_text="Empty: every product of the brand."
    )
    rate = RateField()
    in_force = serializers.SerializerMethodField(
        help_text="Accepted and inside its window now: it counts toward your current rates."
    )

    class Meta:
        model = Collaboration
        fields = (
            "id",
            "brand",
            "product",
            "rate",
            "valid_from",
            "valid_until",
            "status",
            "in_force",
            "message",
            "codes_allowed",
            "code_max_percent",
            "code_max_count",
            "created_at",
            "responded_at",
        )
        read_only_fields = fields

    def get_in_force(self, collaboration: Collaboration) -> bool:
        now = self.context.get("now") or timezone.now()
        return (
            collaboration.status == Collaboration.Status.ACCEPTED
            and collaboration.valid_from <= now
            and (collaboration.valid_until is None or now < collaboration.valid_until)
        )
