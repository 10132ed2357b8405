"""`/@handle/p/<id>` from a stored shared part, and the live parts every stored page shares.

Stored per product (`StoredProduct`): the page rendered without the visitor (slots for the
visitor bar, the buy box and the tokens in its links), the storefront's "featured" section
for the same product, and the page's data. Per request the variants' stock is read (one
query, with the fallback product's). A visitor with a cart gets the visitor bar, the carried
query and the buy box rendered from one small template; for everyone else the bar is one
string, the query is built, and the buy box is kept per process for each stock it shows,
with the visitor's tokens only in its slots.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from django.core.cache import cache
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.html import escape, format_html

from common import visitor
from common.errors import NotFound
from common.replica import primary_reads
from creators.pages.locks import page_build_lock
from creators.pages.versions import (
    CATALOG_VERSION_KEY,
    LocalEntries,
    creator_version_key,
    entries_get,
    entry_seconds,
    product_key,
    versions_get,
)
from creators.selectors.product_page import ProductPage, product_fallback_get, product_page_get
from creators.selectors.storefront import StorefrontProduct, storefront_creator_id
from shop.selectors import LiveStock, StockLevel, StockState, stock_level_state

VISITOR_BAR_SLOT = "tribe-visitor-bar-slot"
BUY_BOX_SLOT = "tribe-buy-box-slot"
_SPLIT = "\x00live\x00"
_NONE = StockLevel(0, 0)


@dataclass(frozen=True, slots=True)
class StoredProduct:
    catalog_version: str
    creator_version: str
    creator_id: int
    page: ProductPage | None  # None: this storefront has no such product
    fallback: StorefrontProduct | None  # what a link offers instead, whatever its stock
    html: str
    featured_html: str

    @property
    def version_keys(self) -> list[str]:
        return [CATALOG_VERSION_KEY, creator_version_key(self.creator_id)]

    @property
    def stamp(self) -> str:
        """The versions it was built under, as one key."""
        return f"{self.catalog_version}:{self.creator_version}"

    def stale(self, versions: dict[str, str]) -> bool:
        return (
            versions.get(CATALOG_VERSION_KEY) != self.catalog_version
            or versions.get(creator_version_key(self.creator_id)) != self.creator_version
        )


@dataclass(frozen=True, slots=True)
class LiveParts:
    visitor_bar: str
    query_html: str
    buy_box: str


def stock_state(level: StockLevel) -> str:
    return stock_level_state(level.available, level.low_stock_threshold)


def live_page(stored: StoredProduct, stock: LiveStock) -> ProductPage:
    """The stored page with the stock `stock` read: variants, product state, fallback."""
    page = stored.page
    assert page is not None
    variants = [
        dataclasses.replace(v, available=stock.variants.get(v.id, _NONE).available)
        for v in page.variants
    ]
    level = StockLevel(
        sum(v.available for v in variants),
        max((v.low_stock_threshold for v in variants), default=0),
    )
    state = stock_state(level)
    fallback = None
    if state == StockState.SOLD_OUT and stored.fallback is not None:
        offered = stock.scarce.get(stored.fallback.id)  # absent: more than a few left
        if offered is None or offered.available > 0:
            fallback = dataclasses.replace(
                stored.fallback,
                available=offered.available if offered else stored.fallback.available,
                stock_state=stock_state(offered) if offered else StockState.IN_STOCK,
            )
    product = dataclasses.replace(
        page.product, available=level.available, stock_state=state, fallback=fallback
    )
    return dataclasses.replace(page, product=product, variants=variants)


def live_parts(
    request: HttpRequest,
    *,
    handle: str,
    atk: str,
    satk: str,
    page: ProductPage | None,
    chosen: int | None,
    stamp: str,
) -> LiveParts:
    """The visitor bar, the query carrying the visitor's tokens, and `page`'s buy box.

    The buy box holds the visitor's tokens only in slots (filled with the page's): for a
    visitor without a cart it is the same for everyone who sees the same stock, so it is
    kept (`_kept_buy_box`) under `stamp`, the versions of the stored page `page` came from.
    A visitor with a cart gets all three rendered, with their cart's link and count.
    """
    if visitor.names_cart(request):
        bar, query, box = _rendered(request, handle=handle, page=page, chosen=chosen, atk=atk)
    else:
        bar = _no_cart_bar()
        query = escape(visitor.carry_query(atk=atk))
        box = _kept_buy_box(page, chosen, stamp) if page is not None else ""
    return LiveParts(bar, query, box.replace(SATK_INPUTS_SLOT, satk_inputs(satk)))


def _rendered(
    request: HttpRequest | None,
    *,
    handle: str,
    page: ProductPage | None,
    chosen: int | None,
    atk: str = "",
) -> tuple[str, str, str]:
    html = render_to_string(
        "creators/_live.html",
        {
            "handle": handle,
            "atk": atk,
            "page": page,
            "chosen": chosen,
            "split": _SPLIT,
            "atk_inputs": visitor.ATK_INPUTS_SLOT,
            "satk_inputs": SATK_INPUTS_SLOT,
            "carry": visitor.QUERY_SLOT,
            **({} if request is not None else {"visitor_cart": _NO_CART}),
        },
        request,
    )
    bar, query, box = html.split(_SPLIT)
    return bar, query, box


def _no_cart_bar() -> str:
    """The visitor bar of anyone without a cart: the same on every page (rendered once)."""
    if not _NO_CART_BAR:
        _NO_CART_BAR.append(_rendered(None, handle="", page=None, chosen=None)[0])
    return _NO_CART_BAR[0]


def _kept_buy_box(page: ProductPage, chosen: int | None, stamp: str) -> str:
    """`page`'s buy box for a visitor without a cart, rendered once per stock it shows.

    The key holds the stored page's versions (everything static in the box) and what the
    live stock changes in it: each variant's label ("In stock", "Only 3 left", "Sold out"),
    the fallback offered or not, and the variant chosen. Rendering it is most of a product
    page's own CPU; a count that only changes inside "In stock" does not render it again.
    """
    product = page.product
    key = (
        stamp,
        page.creator.handle,
        product.id,
        product.stock_state,
        product.fallback.id if product.fallback is not None else None,
        tuple(variant.stock_label for variant in page.variants),
        chosen,
    )
    box = _BUY_BOXES.get(key)
    if box is None:
        box = _rendered(None, handle=page.creator.handle, page=page, chosen=chosen)[2]
        _BUY_BOXES.put(key, box)
    return box


def satk_inputs(satk: str) -> str:
    if not satk:
        return ""
    return format_html('<input type="hidden" name="satk" value="{}">', satk)


SATK_INPUTS_SLOT = "tribe-visitor-satk-slot"
_NO_CART = {"token": "", "count": 0}
_NO_CART_BAR: list[str] = []
_BUY_BOXES = LocalEntries(4096)


def product_kept(*, handle: str, product_id: int) -> StoredProduct | None:
    """The product page this process keeps, its versions not checked yet (as
    `storefront_kept`); None when it keeps none."""
    local = _LOCAL.get(product_key(handle, product_id))
    return local if isinstance(local, StoredProduct) else None


def product_stored_get(
    *,
    handle: str,
    product_id: int,
    versions: dict[str, str] | None = None,
) -> StoredProduct:
    """The stored product page, built and stored when missing or stale; NotFound when the
    storefront has no such product. No read when this process keeps the page and it holds
    the `versions` given (the storefront's, for the product it shows first, checked by the
    caller's live read; or a live read's that retired a kept page); else a read of its
    versions, and a cache read when not kept."""
    local = product_kept(handle=handle, product_id=product_id)
    if local is not None and not local.stale(versions_get(local.version_keys, known=versions)):
        return _existing(local)
    key = product_key(handle, product_id)
    stored = _stored_current(key, versions)
    if stored is not None:
        return _existing(stored)
    return _build(handle, product_id)


def _stored_current(key: str, versions: dict[str, str] | None = None) -> StoredProduct | None:
    """The entry stored under `key` if its versions (`versions`, else read) still hold."""
    stored = entries_get([key]).get(key)
    if not isinstance(stored, StoredProduct):
        return None
    if stored.stale(versions_get(stored.version_keys, known=versions)):
        return None
    _LOCAL.put(key, stored)
    return stored


_LOCAL = LocalEntries(1024)


def _existing(stored: StoredProduct) -> StoredProduct:
    if stored.page is None:
        raise NotFound("This storefront has no such product.", code="product_not_found")
    return stored


# Stored for as long as its versions hold: built from the primary, never from a replica
# that may not have the write that bumped them yet (common.replica).
@primary_reads()
def _build(handle: str, product_id: int) -> StoredProduct:
    """Build and store the product page, one build of a page at a time (`page_build_lock`)."""
    creator_id = storefront_creator_id(handle=handle)
    if creator_id is None:  # not stored: a creator may take the handle at any time
        raise NotFound("No such storefront.", code="storefront_not_found")
    key = product_key(handle, product_id)
    with page_build_lock(key) as held:
        current = _stored_current(key)
        if current is not None:
            return _existing(current)
        # The versions are read after the lock: a build that waited stamps what it reads
        # now, never what was current before the holder's build.
        stored = _render(handle, product_id, creator_id)
        # Not stored when the handle changed hands meanwhile: its stamp is the other one's.
        if held and (stored.page is None or stored.page.creator.pk == creator_id):
            cache.set(key, stored, timeout=entry_seconds())
            _LOCAL.put(key, stored)
    return _existing(stored)


def _render(handle: str, product_id: int, creator_id: int) -> StoredProduct:
    """The page's entry; one with no page when the storefront has no such product."""
    version_key = creator_version_key(creator_id)
    versions = versions_get([CATALOG_VERSION_KEY, version_key])
    catalog_version, creator_version = versions[CATALOG_VERSION_KEY], versions[version_key]
    try:
        page = product_page_get(handle=handle, product_id=product_id)
    except NotFound as exc:
        if exc.code != "product_not_found":
            raise
        return StoredProduct(catalog_version, creator_version, creator_id, None, None, "", "")
    page = dataclasses.replace(page, product=dataclasses.replace(page.product, fallback=None))
    slots = {"visitor_bar": VISITOR_BAR_SLOT, "buy_box": BUY_BOX_SLOT, "carry": visitor.QUERY_SLOT}
    return StoredProduct(
        catalog_version=catalog_version,
        creator_version=creator_version,
        creator_id=creator_id,
        page=page,
        fallback=product_fallback_get(creator=page.creator, product_id=page.product.id),
        html=render_to_string(
            "creators/product.html", {"page": page, "ink": ink_on(page.theme_color), **slots}
        ),
        featured_html=render_to_string("creators/_featured.html", {"page": page, **slots}),
    )


def product_page_html(
    request: HttpRequest,
    stored: StoredProduct,
    *,
    stock: LiveStock,
    atk: str,
    satk: str,
    variant_id: int | None,
) -> str:
    page = live_page(stored, stock)
    live = live_parts(
        request,
        handle=page.creator.handle,
        atk=atk,
        satk=satk,
        page=page,
        chosen=chosen_variant(page, variant_id),
        stamp=stored.stamp,
    )
    html = stored.html.replace(VISITOR_BAR_SLOT, live.visitor_bar, 1)
    html = html.replace(BUY_BOX_SLOT, live.buy_box, 1)
    return visitor.fill_query(html, query_html=live.query_html, atk=atk)


def featured_html(stored: StoredProduct, live: LiveParts) -> str:
    """The storefront's section for the linked product, before the visitor's tokens."""
    return stored.featured_html.replace(BUY_BOX_SLOT, live.buy_box, 1)


def chosen_variant(page: ProductPage | None, wanted: int | None) -> int | None:
    """The variant the buy box picks: `wanted` if it can be bought, else the first that can."""
    if page is None:
        return None
    if wanted is not None and any(v.id == wanted and not v.is_sold_out for v in page.variants):
        return wanted
    variant = page.first_open_variant
    return variant.id if variant is not None else None


def main_attrs(atk: str) -> str:
    return format_html(' data-atk="{}"', atk) if atk else ""


def ink_on(hex_color: str) -> str:
    """Black or white, whichever reads better on the theme colour (WCAG relative luminance)."""
    channels = [int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "#111111" if luminance > 0.179 else "#ffffff"
