"""The public storefront of one creator, read in a fixed number of queries."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from common.errors import NotFound
from common.money import Money, format_money
from creators.models import (
    AffiliateLink,
    Collection,
    CollectionItem,
    Creator,
    CreatorCode,
    Video,
    VideoProduct,
)
from shop import selectors as shop_selectors
from shop.models import Brand, Discount, Product, ProductImage
from shop.selectors import StockState, stock_level_state


def http_url(value: str) -> str:
    """The URL if it is http(s), else "": user-entered URLs end up in href and src."""
    return value if value.startswith(("https://", "http://")) else ""


def money_label(money: Money) -> str:
    """The price as shoppers read it: "$24.00", "€19.90" (`common.money.format_money`)."""
    return format_money(money.amount, money.currency)


def seconds_label(seconds: int) -> str:
    """0:12, 4:05, 1:02:03."""
    hours, rest = divmod(max(0, seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def storefront_path(handle: str, number: int = 1) -> str:
    """`/@handle`, and `/@handle/page/N` for its later pages."""
    return f"/@{handle}" if number == 1 else f"/@{handle}/page/{number}"


@dataclass(frozen=True, slots=True)
class StorefrontProduct:
    """A product as a shopper sees it; `fallback` is set only when this one is sold out."""

    id: int
    title: str
    brand: Brand
    price: Money | None
    price_varies: bool
    images: list[ProductImage]
    available: int
    stock_state: str
    notify_variant_id: int | None
    fallback: StorefrontProduct | None = None
    variant_ids: tuple[int, ...] = ()  # whose units `available` sums

    @property
    def image(self) -> ProductImage | None:
        return self.images[0] if self.images else None

    @property
    def price_label(self) -> str:
        if self.price is None:
            return ""
        label = money_label(self.price)
        return f"from {label}" if self.price_varies else label

    @property
    def is_sold_out(self) -> bool:
        return self.stock_state == StockState.SOLD_OUT

    @property
    def is_low_stock(self) -> bool:
        return self.stock_state == StockState.LOW_STOCK


@dataclass(frozen=True, slots=True)
class StorefrontTag:
    appears_at_seconds: int
    product: StorefrontProduct

    @property
    def appears_at_label(self) -> str:
        return seconds_label(self.appears_at_seconds)


@dataclass(frozen=True, slots=True)
class StorefrontVideo:
    id: int
    platform: str
    url: str
    caption: str
    posted_at: datetime | None
    thumbnail_url: str
    products: list[StorefrontTag]

    @property
    def platform_label(self) -> str:
        return dict(Video.Platform.choices).get(self.platform, self.platform)


@dataclass(frozen=True, slots=True)
class StorefrontCollection:
    id: int
    title: str
    products: list[StorefrontProduct]


@dataclass(frozen=True, slots=True)
class StorefrontCode:
    """A live code of the creator's, as the storefront shows it."""

    code: str
    brand_name: str
    brand_slug: str
    offer: str  # "10% off", "5.00 USD off"
    ends_at: datetime | None


@dataclass(frozen=True, slots=True)
class StorefrontPage:
    creator: Creator
    title: str
    theme_color: str
    avatar_url: str
    social_accounts: list[dict[str, str]]
    videos: list[StorefrontVideo]
    collections: list[StorefrontCollection]
    codes: list[StorefrontCode] = dataclasses.field(default_factory=list)
    # When the codes shown change by the clock alone (one ends, or one starts): a stored
    # page built from this one is stale from then on.
    codes_change_at: datetime | None = None
    number: int = 1  # which page of the storefront (`storefront_page_get`)
    pages: int = 1

    @property
    def path(self) -> str:
        return storefront_path(self.creator.handle, self.number)

    @property
    def previous_path(self) -> str:
        return storefront_path(self.creator.handle, self.number - 1) if self.number > 1 else ""

    @property
    def next_path(self) -> str:
        if self.number >= self.pages:
            return ""
        return storefront_path(self.creator.handle, self.number + 1)

    @property
    def url(self) -> str:
        return f"{settings.SITE_URL}{self.path}"

    @property
    def share_image_url(self) -> str:
        """The avatar, else the first product image on the page."""
        if self.avatar_url:
            return self.avatar_url
        for product in self.shown_products():
            if product.image is not None and http_url(product.image.url):
                return product.image.url
        return ""

    def shown_products(self) -> Iterable[StorefrontProduct]:
        for video in self.videos:
            for tag in video.products:
                yield tag.product
        for collection in self.collections:
            yield from collection.products

    def offered_products(self) -> dict[int, StorefrontProduct]:
        """Every product the page shows, and every fallback it offers, by id."""
        products = {product.id: product for product in self.shown_products()}
        for product in list(products.values()):
            if product.fallback is not None:
                products.setdefault(product.fallback.id, product.fallback)
        return products


def _product_stock(product: Product) -> tuple[int, str]:
    """Units available over all variants, and the product's stock state.

    Sold out when no variant has a unit left; low when what is left is within the largest
    low-stock threshold of its variants (so one nearly empty size does not flag the product).
    """
    variants = list(product.variants.all())
    available = sum(v.available for v in variants)
    threshold = max((v.low_stock_threshold for v in variants), default=0)
    return available, stock_level_state(available, threshold)


def product_view(product: Product) -> StorefrontProduct:
    variants = list(product.variants.all())
    prices = {v.price for v in variants}
    min_price: Decimal | None = getattr(product, "min_price", None)
    available, state = _product_stock(product)
    return StorefrontProduct(
        id=product.pk,
        title=product.title,
        brand=product.brand,
        price=Money(min_price, product.brand.currency) if min_price is not None else None,
        price_varies=len(prices) > 1,
        images=list(product.images.all()),
        available=available,
        stock_state=state,
        notify_variant_id=variants[0].pk if variants else None,
        variant_ids=tuple(v.pk for v in variants),
    )


class _Fallbacks:
    """Which product to offer instead of a sold-out one, from the creator's active links.

    A link made for the same video wins, then the link without a video, then the newest.
    """

    def __init__(self, links: Iterable[AffiliateLink]) -> None:
        self.by_video: dict[tuple[int, int | None], int] = {}
        self.newest: dict[int, int] = {}
        for link in links:  # newest first
            if link.fallback_product_id is None:
                continue
            self.by_video.setdefault((link.product_id, link.video_id), link.fallback_product_id)
            self.newest.setdefault(link.product_id, link.fallback_product_id)

    def product_ids(self) -> set[int]:
        return set(self.newest.values())

    def for_product(self, product_id: int, video_id: int | None = None) -> int | None:
        for key in ((product_id, video_id), (product_id, None)):
            if key in self.by_video:
                return self.by_video[key]
        return self.newest.get(product_id)


def _social_accounts(raw: Any) -> list[dict[str, str]]:
    accounts = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict):
            continue
        account = {
            k: item[k] for k in ("platform", "handle", "url") if isinstance(item.get(k), str)
        }
        if "url" in account:
            account["url"] = http_url(account["url"])
        accounts.append(account)
    return accounts


def storefront_creator_id(*, handle: str) -> int | None:
    """The id of the active creator with a storefront at `handle`, or None."""
    return (
        Creator.objects.filter(
            handle=handle, status=Creator.Status.ACTIVE, storefront__isnull=False
        )
        .values_list("pk", flat=True)
        .first()
    )


def _offer(discount: Discount, currency: str) -> str:
    if discount.kind == Discount.Kind.PERCENTAGE:
        return f"{discount.value_decimal.normalize():f}% off"
    return f"{format_money(discount.value_decimal, currency)} off"


def _live_codes(creator: Creator) -> tuple[list[StorefrontCode], datetime | None]:
    """The creator's codes a shopper can use now, newest first, and when that list changes
    by the clock (the first end or start to come). One query."""
    now = timezone.now()
    rows = (
        CreatorCode.objects.filter(
            creator=creator,
            is_active=True,
            brand__is_active=True,
            discount__status=Discount.Status.ACTIVE,
        )
        .filter(Q(discount__ends_at__isnull=True) | Q(discount__ends_at__gt=now))
        .select_related("discount", "brand")
        .order_by("-created_at", "-id")
    )
    codes: list[StorefrontCode] = []
    moments: list[datetime] = []
    for row in rows:
        discount = row.discount
        if discount.starts_at is not None and discount.starts_at > now:
            moments.append(discount.starts_at)
            continue
        if discount.ends_at is not None:
            moments.append(discount.ends_at)
        codes.append(
            StorefrontCode(
                code=row.code,
                brand_name=row.brand.name,
                brand_slug=row.brand.slug,
                offer=_offer(discount, row.brand.currency),
                ends_at=discount.ends_at,
            )
        )
    return codes, min(moments, default=None)


def storefront_page_missing(pages: int) -> NotFound:
    """A page past a storefront's last: 404 `storefront_page_not_found`, with how many."""
    return NotFound(
        f"This storefront has {pages} page{'s' if pages > 1 else ''}.",
        code="storefront_page_not_found",
        details={"pages": pages},
    )


def page_products() -> int:
    """How many product cards one page of a storefront shows."""
    return int(settings.STOREFRONT_PAGE_PRODUCTS)


@dataclass(frozen=True, slots=True)
class _Window:
    """Which of a storefront's cards (its videos' tagged products in order, then its
    collections'; each counted once per place it shows) page `number` shows."""

    number: int
    pages: int
    start: int
    size: int | None  # None: every card, on one page

    @classmethod
    def of(cls, number: int | None, cards: int) -> _Window:
        if number is None:
            return cls(number=1, pages=1, start=0, size=None)
        size = page_products()
        pages = max(1, -(-cards // size))
        if not 1 <= number <= pages:
            raise storefront_page_missing(pages)
        return cls(number=number, pages=pages, start=(number - 1) * size, size=size)

    def page_at(self, index: int) -> int:
        """The page a section without cards shows on: the one the card after it is on."""
        if self.size is None:
            return 1
        return min(index // self.size + 1, self.pages)

    def shows(self, index: int) -> bool:
        return self.size is None or self.start <= index < self.start + self.size


def storefront_page_get(
    *, handle: str, every_fallback: bool = False, number: int | None = None
) -> StorefrontPage:
    """An active creator's storefront: videos newest first with their tagged products in order,
    collections with theirs, the creator's live codes, and stock. Ten queries, however many
    videos, products and codes; eleven for one page.

    Only publicly visible products (active, of an active brand) appear; a fallback is offered
    for a sold-out product only when the fallback itself can be bought. `every_fallback`
    attaches each product's fallback whatever the stock, for a page whose stock is filled in
    later (`creators.pages`).

    With `number`, only that page of `page_products()` cards (`_Window`), and the codes on
    the first page only: the products on other pages are never loaded, so a page costs the
    same to build and to serve in a storefront of 50 products or of 5,000. NotFound
    (`storefront_page_not_found`) past the last page.
    """
    creator = (
        Creator.objects.select_related("storefront")
        .filter(handle=handle, status=Creator.Status.ACTIVE, storefront__isnull=False)
        .first()
    )
    if creator is None:
        raise NotFound("No such storefront.", code="storefront_not_found")
    storefront = creator.storefront

    videos = list(
        Video.objects.filter(creator=creator).order_by(
            F("posted_at").desc(nulls_last=True), "-created_at", "-id"
        )
    )
    tags_by_video: dict[int, list[VideoProduct]] = defaultdict(list)
    for tag in VideoProduct.objects.filter(video__in=[v.pk for v in videos]).order_by(
        "video_id", "position", "appears_at_seconds", "id"
    ):
        tags_by_video[tag.video_id].append(tag)

    collections = list(Collection.objects.filter(storefront=storefront).order_by("position", "id"))
    items_by_collection: dict[int, list[CollectionItem]] = defaultdict(list)
    for item in CollectionItem.objects.filter(collection__in=[c.pk for c in collections]).order_by(
        "collection_id", "position", "id"
    ):
        items_by_collection[item.collection_id].append(item)

    fallbacks = _Fallbacks(
        AffiliateLink.objects.filter(
            creator=creator, is_active=True, fallback_product__isnull=False
        ).order_by("-created_at", "-id")
    )

    listed = {t.product_id for tags in tags_by_video.values() for t in tags}
    listed |= {i.product_id for items in items_by_collection.values() for i in items}
    products: dict[int, StorefrontProduct] = {}
    if number is None:
        products = _product_views(listed | fallbacks.product_ids())
        public = set(products)
    else:
        # Which products are public, by id alone: a page loads only its own.
        public = set(
            shop_selectors.product_public_ids_queryset()
            .filter(pk__in=listed)
            .values_list("pk", flat=True)
        )
    for video_tags in tags_by_video.values():
        video_tags[:] = [t for t in video_tags if t.product_id in public]
    for items in items_by_collection.values():
        items[:] = [i for i in items if i.product_id in public]
    window = _Window.of(
        number,
        sum(map(len, tags_by_video.values())) + sum(map(len, items_by_collection.values())),
    )
    shown_videos, shown_collections = _on_page(
        window,
        [(video, tags_by_video[video.pk]) for video in videos],
        [(collection, items_by_collection[collection.pk]) for collection in collections],
    )
    if number is not None:
        products = _product_views(_page_product_ids(shown_videos, shown_collections, fallbacks))

    def shown(product_id: int, video_id: int | None = None) -> StorefrontProduct | None:
        product = products.get(product_id)
        if product is None or not (product.is_sold_out or every_fallback):
            return product
        fallback = products.get(fallbacks.for_product(product_id, video_id) or 0)
        if fallback is None or fallback.id == product.id:
            return product
        if fallback.is_sold_out and not every_fallback:
            return product
        return dataclasses.replace(product, fallback=fallback)

    video_views = []
    for video, tags in shown_videos:
        tagged = []
        for tag in tags:
            product = shown(tag.product_id, video.pk)
            if product is not None:
                tagged.append(StorefrontTag(tag.appears_at_seconds, product))
        video_views.append(
            StorefrontVideo(
                id=video.pk,
                platform=video.platform,
                url=http_url(video.url),
                caption=video.caption,
                posted_at=video.posted_at,
                thumbnail_url=http_url(video.thumbnail_url),
                products=tagged,
            )
        )

    collection_views = []
    for collection, items in shown_collections:
        collected = [shown(i.product_id) for i in items]
        collection_views.append(
            StorefrontCollection(
                id=collection.pk,
                title=collection.title,
                products=[p for p in collected if p is not None],
            )
        )

    codes, codes_change_at = _live_codes(creator) if window.number == 1 else ([], None)
    return StorefrontPage(
        creator=creator,
        codes=codes,
        codes_change_at=codes_change_at,
        title=storefront.title or creator.display_name,
        theme_color=storefront.theme_color,
        avatar_url=http_url(creator.avatar_url),
        social_accounts=_social_accounts(creator.social_accounts),
        videos=video_views,
        collections=collection_views,
        number=window.number,
        pages=window.pages,
    )


def _on_page(
    window: _Window,
    videos: list[tuple[Video, list[VideoProduct]]],
    collections: list[tuple[Collection, list[CollectionItem]]],
) -> tuple[list[tuple[Video, list[VideoProduct]]], list[tuple[Collection, list[CollectionItem]]]]:
    """The sections `window`'s page shows, each with its cards there. A video without
    products shows where it falls in the order; a collection without any, on no page (the
    whole storefront lists it, as it always has)."""
    index = 0
    shown_videos = []
    for video, tags in videos:
        on_page = [t for at, t in enumerate(tags, start=index) if window.shows(at)]
        if on_page or (not tags and window.page_at(index) == window.number):
            shown_videos.append((video, on_page))
        index += len(tags)
    shown_collections = []
    for collection, items in collections:
        listed_here = [i for at, i in enumerate(items, start=index) if window.shows(at)]
        if listed_here or (not items and window.size is None):
            shown_collections.append((collection, listed_here))
        index += len(items)
    return shown_videos, shown_collections


def _page_product_ids(
    videos: list[tuple[Video, list[VideoProduct]]],
    collections: list[tuple[Collection, list[CollectionItem]]],
    fallbacks: _Fallbacks,
) -> set[int]:
    """The products a page's cards show, and their fallbacks."""
    places: list[tuple[int, int | None]] = [
        (t.product_id, video.pk) for video, tags in videos for t in tags
    ]
    places += [(i.product_id, None) for _collection, items in collections for i in items]
    wanted = {product_id for product_id, _video_id in places}
    for product_id, video_id in places:
        fallback = fallbacks.for_product(product_id, video_id)
        if fallback is not None:
            wanted.add(fallback)
    return wanted


def _product_views(ids: set[int]) -> dict[int, StorefrontProduct]:
    """The public ones of these products, as a storefront shows them. One query and its
    two prefetches."""
    return {
        p.pk: product_view(p) for p in shop_selectors.product_public_queryset().filter(pk__in=ids)
    }
