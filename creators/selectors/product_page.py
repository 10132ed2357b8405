"""One product as a creator's storefront sells it (`/@handle/p/<id>`), and the storefront list.

A product belongs to a storefront when the creator tagged it in a video, put it in a
collection, or has an active link to it (or offering it as a fallback): a link tap lands on
its product whatever collection it is in, or none.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Q

from common.errors import NotFound
from common.money import Money
from creators.models import AffiliateLink, CollectionItem, Creator, Video, VideoProduct
from creators.selectors.storefront import (
    StorefrontProduct,
    http_url,
    money_label,
    product_view,
    seconds_label,
)
from shop import selectors as shop_selectors
from shop.models import Product, Variant
from shop.selectors import stock_level_state


@dataclass(frozen=True, slots=True)
class VariantChoice:
    """One variant in the picker, with its stock as it is at this request."""

    id: int
    sku: str
    title: str
    options: dict[str, Any]
    price: Money
    available: int
    low_stock_threshold: int

    @property
    def label(self) -> str:
        if self.title:
            return self.title
        values = [str(v) for v in self.options.values() if v not in (None, "")]
        return " / ".join(values) or "Standard"

    @property
    def price_label(self) -> str:
        return money_label(self.price)

    @property
    def stock_state(self) -> str:
        return stock_level_state(self.available, self.low_stock_threshold)

    @property
    def is_sold_out(self) -> bool:
        return self.available <= 0

    @property
    def stock_label(self) -> str:
        if self.available <= 0:
            return "Sold out"
        if self.available <= self.low_stock_threshold:
            return f"Only {self.available} left"
        return "In stock"


@dataclass(frozen=True, slots=True)
class VideoMoment:
    """Where in one of the creator's videos the product appears."""

    video_id: int
    platform_label: str
    url: str
    caption: str
    appears_at_seconds: int

    @property
    def appears_at_label(self) -> str:
        return seconds_label(self.appears_at_seconds)


@dataclass(frozen=True, slots=True)
class ProductPage:
    creator: Creator
    storefront_title: str
    theme_color: str
    product: StorefrontProduct
    description: str
    variants: list[VariantChoice]
    moments: list[VideoMoment]

    @property
    def path(self) -> str:
        return f"/@{self.creator.handle}/p/{self.product.id}"

    @property
    def url(self) -> str:
        """The canonical, shareable URL: never a token in it."""
        return f"{settings.SITE_URL}{self.path}"

    @property
    def share_image_url(self) -> str:
        image = self.product.image
        return image.url if image is not None and http_url(image.url) else ""

    @property
    def first_open_variant(self) -> VariantChoice | None:
        return next((v for v in self.variants if not v.is_sold_out), None)


def _on_storefront(creator_id: int) -> Q:
    """Products this creator tagged, collected or links to (or offers as a fallback)."""
    product = OuterRef("pk")
    return (
        Q(Exists(VideoProduct.objects.filter(video__creator_id=creator_id, product_id=product)))
        | Q(
            Exists(
                CollectionItem.objects.filter(
                    collection__storefront__creator_id=creator_id, product_id=product
                )
            )
        )
        | Q(
            Exists(
                AffiliateLink.objects.filter(creator_id=creator_id, is_active=True).filter(
                    Q(product_id=product) | Q(fallback_product_id=product)
                )
            )
        )
    )


def _creator_get(handle: str) -> Creator:
    creator = (
        Creator.objects.select_related("storefront")
        .filter(handle=handle, status=Creator.Status.ACTIVE, storefront__isnull=False)
        .first()
    )
    if creator is None:
        raise NotFound("No such storefront.", code="storefront_not_found")
    return creator


def product_fallback_get(*, creator: Creator, product_id: int) -> StorefrontProduct | None:
    """What the newest active link offers instead of the product, if it can be shown, whatever
    its stock; None when there is none. Two queries."""
    fallback_id = (
        AffiliateLink.objects.filter(
            creator=creator, product_id=product_id, is_active=True, fallback_product__isnull=False
        )
        .exclude(fallback_product_id=product_id)
        .order_by("-created_at", "-id")
        .values_list("fallback_product_id", flat=True)
        .first()
    )
    if fallback_id is None:
        return None
    row = shop_selectors.product_public_queryset().filter(pk=fallback_id).first()
    return None if row is None else product_view(row)


def _fallback(creator: Creator, product: StorefrontProduct) -> StorefrontProduct | None:
    """The newest active link's in-stock fallback for a sold-out product, or None."""
    view = product_fallback_get(creator=creator, product_id=product.id)
    return None if view is None or view.is_sold_out else view


def product_page_get(
    *, handle: str, product_id: int, creator: Creator | None = None
) -> ProductPage:
    """A product of an active creator's storefront with its variants' live stock; else 404.

    Four queries (creator, product with variants and images, the video moments), two more
    for a sold-out product's fallback. `creator` skips the first when the caller has it.
    """
    creator = creator if creator is not None else _creator_get(handle)
    row: Product | None = (
        shop_selectors.product_public_queryset()
        .filter(_on_storefront(creator.pk), pk=product_id)
        .first()
    )
    if row is None:
        raise NotFound("This storefront has no such product.", code="product_not_found")
    product = product_view(row)
    if product.is_sold_out:
        product = dataclasses.replace(product, fallback=_fallback(creator, product))
    currency = row.brand.currency
    variants: list[Variant] = list(row.variants.all())
    tags = (
        VideoProduct.objects.filter(video__creator=creator, product_id=row.pk)
        .select_related("video")
        .order_by(F("video__posted_at").desc(nulls_last=True), "-video_id")
    )
    platforms = dict(Video.Platform.choices)
    storefront = creator.storefront
    return ProductPage(
        creator=creator,
        storefront_title=storefront.title or creator.display_name,
        theme_color=storefront.theme_color,
        product=product,
        description=row.description,
        variants=[
            VariantChoice(
                id=v.pk,
                sku=v.sku,
                title=v.title,
                options=v.options if isinstance(v.options, dict) else {},
                price=Money(v.price, currency),
                available=v.available,
                low_stock_threshold=v.low_stock_threshold,
            )
            for v in variants
        ],
        moments=[
            VideoMoment(
                video_id=tag.video_id,
                platform_label=platforms.get(tag.video.platform, tag.video.platform),
                url=http_url(tag.video.url),
                caption=tag.video.caption,
                appears_at_seconds=tag.appears_at_seconds,
            )
            for tag in tags
        ],
    )


@dataclass(frozen=True, slots=True)
class StorefrontCard:
    handle: str
    display_name: str
    title: str
    avatar_url: str
    theme_color: str

    @property
    def path(self) -> str:
        return f"/@{self.handle}"


def storefront_list(*, limit: int = 100) -> list[StorefrontCard]:
    """Active creators' storefronts, newest creators first (the home page lists them)."""
    creators = (
        Creator.objects.select_related("storefront")
        .filter(status=Creator.Status.ACTIVE, storefront__isnull=False)
        .order_by("-created_at", "-id")[:limit]
    )
    return [
        StorefrontCard(
            handle=c.handle,
            display_name=c.display_name,
            title=c.storefront.title or c.display_name,
            avatar_url=http_url(c.avatar_url),
            theme_color=c.storefront.theme_color,
        )
        for c in creators
    ]
