"""The storefront's JSON (`GET /api/v1/storefronts/{handle}/`) from a stored body.

Built from the rows on every request, the apps' storefront cost (in-process, this
project's bench data) 27 ms of CPU with 10 products, 54 ms for a page of 48, and 1,044 ms
for 2,000 products whole: eleven statements compiled by the ORM and DRF's serializers over
every product, on every request, where the web page of the same storefront costs one
statement. Now the body is stored as the web page is: stamped with the same versions,
rendered once with every product's fallback, and kept without live stock. A request reads
the versions and the stock of every variant shown in one statement (`live_read`), then
fills each product's units and state and keeps a fallback only where the product is sold
out and the fallback is not: what `storefront_page_get` decides, decided on live stock.

The body is kept encoded, as DRF's `JSONRenderer` writes it, cut where the live values go
(`Encoded`), so a request joins bytes (`storefront_json_bytes`) where it copied every
product's dict and rendered them again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from common.errors import NotFound
from common.replica import primary_reads
from creators.pages.locks import page_build_lock
from creators.pages.versions import (
    CATALOG_VERSION_KEY,
    FORMAT,
    LiveRead,
    LocalEntries,
    creator_version_key,
    entries_get,
    entry_seconds,
    live_read,
    versions_get,
)
from creators.selectors.storefront import (
    StorefrontPage,
    storefront_creator_id,
    storefront_page_get,
    storefront_page_missing,
)
from shop.selectors import IdArray, LiveStock, StockState, stock_level_state

_NO_PRODUCTS = IdArray.of(())
# Bodies this process has served: a request whose live read finds their versions unchanged
# skips the cache's round trip and the unpickling.
_LOCAL = LocalEntries(64)


def storefront_json_key(handle: str, number: int | None) -> str:
    """The whole storefront's body (`number` None), or one page's."""
    return f"pages:{FORMAT}:storefront-json:{handle}:{number or 'all'}"


@dataclass(frozen=True, slots=True)
class Encoded:
    """A JSON document as `JSONRenderer` writes it, cut at its live values: `parts` around
    `slots`, one part more than slots. A slot is (kind, product id, fallback id): "u" the
    product's units, "s" its stock state, "f" its fallback (the fallback's own `Encoded`,
    or null), "t" the storefront token, "p" the page."""

    parts: tuple[bytes, ...]
    slots: tuple[tuple[str, int, int], ...]


_NOTHING = Encoded(parts=(b"",), slots=())
# A slot's mark, a string no stored text can hold (PostgreSQL's text has no NUL), which
# the renderer writes as "\u0000...".
_SLOT = re.compile(r'"\\u0000([a-z]):([0-9]*):([0-9]*)"')


def _mark(kind: str, product_id: int = 0, fallback_id: int = 0) -> str:
    return f"\x00{kind}:{product_id}:{fallback_id}"


def _encoded(document: Any) -> Encoded:
    pieces = _SLOT.split(JSONRenderer().render(document).decode())
    return Encoded(
        parts=tuple(piece.encode() for piece in pieces[0::4]),
        slots=tuple(
            (pieces[at], int(pieces[at + 1]), int(pieces[at + 2]))
            for at in range(1, len(pieces), 4)
        ),
    )


def _encode(body: dict[str, Any]) -> tuple[Encoded, dict[int, Encoded]]:
    """The body, and each fallback product in it, encoded with marks where the live values
    go."""
    fallbacks: dict[int, Encoded] = {}

    def marked(product: dict[str, Any]) -> dict[str, Any]:
        """The product with its live values marked; a fallback (a product with none of its
        own) is encoded apart, once, and marked in its place."""
        product_id = product["id"]
        shown = {
            **product,
            "available": _mark("u", product_id),
            "stock_state": _mark("s", product_id),
        }
        fallback = product.get("fallback_product")
        if fallback is not None:
            fallback_id = fallback["id"]
            shown["fallback_product"] = _mark("f", product_id, fallback_id)
            if fallback_id not in fallbacks:
                fallbacks[fallback_id] = _encoded(marked(fallback))
        return shown

    document = dict(body)
    document["storefront_token"] = _mark("t")
    document["videos"] = [
        {**video, "products": [{**t, "product": marked(t["product"])} for t in video["products"]]}
        for video in body["videos"]
    ]
    document["collections"] = [
        {**collection, "products": [marked(product) for product in collection["products"]]}
        for collection in body["collections"]
    ]
    document["page"] = _mark("p")
    return _encoded(document), fallbacks


@dataclass(frozen=True, slots=True)
class StoredStorefrontJson:
    catalog_version: str
    creator_version: str
    creator_id: int
    variants: dict[int, tuple[int, ...]]  # each product shown (fallbacks too): its variants
    variant_product_ids: IdArray  # whose variants a request reads
    number: int
    pages: int
    # The body encoded (`Encoded`), every product with its fallback if it has one, and each
    # fallback product in it.
    encoded: Encoded = _NOTHING
    fallbacks: dict[int, Encoded] = field(default_factory=dict)
    # The codes shown change by the clock then (one ends or starts): stale from that moment.
    changes_at: datetime | None = None

    @property
    def version_keys(self) -> list[str]:
        return [CATALOG_VERSION_KEY, creator_version_key(self.creator_id)]

    def stale(self, versions: dict[str, str]) -> bool:
        if self.changes_at is not None and timezone.now() >= self.changes_at:
            return True
        return (
            versions.get(CATALOG_VERSION_KEY) != self.catalog_version
            or versions.get(creator_version_key(self.creator_id)) != self.creator_version
        )


Render = Callable[[StorefrontPage], Any]


def storefront_json_get(
    *, handle: str, number: int | None, render: Render
) -> tuple[StoredStorefrontJson, LiveRead]:
    """The stored body of the storefront (or of its page `number`) and a live read of its
    versions and stock: one statement while the body this process keeps holds, a cache
    read as well when it keeps none, else a build (`render` turns the page into the API's
    representation). NotFound as `storefront_page_get`; a page past the last is stored as
    such and answered from the cache."""
    key = storefront_json_key(handle, number)
    kept = _LOCAL.get(key)
    if isinstance(kept, StoredStorefrontJson):
        read = _live(kept)
        if not kept.stale(read.versions):
            return kept, read
    stored = entries_get([key]).get(key)
    if isinstance(stored, StoredStorefrontJson):
        read = _live(stored)
        if not stored.stale(read.versions):
            if stored.number > stored.pages:
                raise storefront_page_missing(stored.pages)
            _LOCAL.put(key, stored)
            return stored, read
    stored = _build(handle, number, render)
    if stored.number > stored.pages:
        raise storefront_page_missing(stored.pages)
    return stored, _live(stored)


def _live(stored: StoredStorefrontJson) -> LiveRead:
    return live_read(
        version_keys=stored.version_keys,
        product_ids=_NO_PRODUCTS,
        variant_product_ids=stored.variant_product_ids,
    )


_SOLD_OUT = (0, StockState.SOLD_OUT)


def _levels(stored: StoredStorefrontJson, stock: LiveStock) -> dict[int, tuple[int, str]]:
    """Each product shown (fallbacks too): its units and stock state now."""
    levels: dict[int, tuple[int, str]] = {}
    for product_id, variant_ids in stored.variants.items():
        units = threshold = 0
        for variant_id in variant_ids:
            level = stock.variants.get(variant_id)
            if level is not None:
                units += level.available
                threshold = max(threshold, level.low_stock_threshold)
        levels[product_id] = (units, stock_level_state(units, threshold))
    return levels


def _offered(product: tuple[int, str], fallback: tuple[int, str]) -> bool:
    """Whether a product's fallback is shown: while it is sold out and the fallback is not."""
    return product[1] == StockState.SOLD_OUT and fallback[1] != StockState.SOLD_OUT


def _json(value: Any) -> bytes:
    return b"null" if value is None else JSONRenderer().render(value)


def storefront_json_bytes(
    stored: StoredStorefrontJson,
    stock: LiveStock,
    *,
    storefront_token: str | None,
    page: dict[str, Any] | None,
) -> bytes:
    """The answer as `JSONRenderer` writes it, joined from the stored encoding: each
    product's live units and state, its fallback only while the product is sold out and the
    fallback is not, and this request's token and page."""
    levels = _levels(stored, stock)
    token, shown_page = _json(storefront_token), _json(page)
    out: list[bytes] = []

    def fill(encoded: Encoded) -> None:
        parts = encoded.parts
        out.append(parts[0])
        for at, (kind, product_id, fallback_id) in enumerate(encoded.slots, start=1):
            if kind == "u":
                out.append(b"%d" % levels.get(product_id, _SOLD_OUT)[0])
            elif kind == "s":
                out.append(b'"%s"' % levels.get(product_id, _SOLD_OUT)[1].encode())
            elif kind == "f":
                product = levels.get(product_id, _SOLD_OUT)
                if _offered(product, levels.get(fallback_id, _SOLD_OUT)):
                    fill(stored.fallbacks[fallback_id])
                else:
                    out.append(b"null")
            elif kind == "t":
                out.append(token)
            else:
                out.append(shown_page)
            out.append(parts[at])

    fill(stored.encoded)
    return b"".join(out)


# Stored for as long as its versions hold: built from the primary, never from a replica
# that may not have the write that bumped them yet (common.replica).
@primary_reads()
def _build(handle: str, number: int | None, render: Render) -> StoredStorefrontJson:
    """Build and store the body, one build of it at a time (`page_build_lock`)."""
    creator_id = storefront_creator_id(handle=handle)
    if creator_id is None:
        raise NotFound("No such storefront.", code="storefront_not_found")
    key = storefront_json_key(handle, number)
    with page_build_lock(key) as held:
        current = entries_get([key]).get(key)
        if isinstance(current, StoredStorefrontJson) and not current.stale(
            versions_get(current.version_keys)
        ):
            return current
        # The versions before the rows: a write meanwhile leaves this entry stale.
        versions = versions_get([CATALOG_VERSION_KEY, creator_version_key(creator_id)])
        catalog_version = versions[CATALOG_VERSION_KEY]
        creator_version = versions[creator_version_key(creator_id)]
        try:
            page = storefront_page_get(handle=handle, every_fallback=True, number=number)
        except NotFound as error:
            if error.code != "storefront_page_not_found":
                raise
            # Stored too, so asking for it again costs no build (as the web page's).
            past = StoredStorefrontJson(
                catalog_version=catalog_version,
                creator_version=creator_version,
                creator_id=creator_id,
                variants={},
                variant_product_ids=_NO_PRODUCTS,
                number=number or 1,
                pages=error.details["pages"],
            )
            if held:
                cache.set(key, past, timeout=entry_seconds())
            return past
        variants = {pk: product.variant_ids for pk, product in page.offered_products().items()}
        # Plain types first, in DjangoJSONEncoder's forms (a Decimal as a string, where the
        # renderer's own encoder would write a number): the answer's values as they were
        # when the body was stored as dicts.
        body = json.loads(json.dumps(render(page), cls=DjangoJSONEncoder))
        encoded, fallbacks = _encode(body)
        stored = StoredStorefrontJson(
            catalog_version=catalog_version,
            creator_version=creator_version,
            creator_id=page.creator.pk,
            encoded=encoded,
            fallbacks=fallbacks,
            variants=variants,
            variant_product_ids=IdArray.of(variants),
            number=page.number,
            pages=page.pages,
            changes_at=page.codes_change_at,
        )
        # Not stored when the handle changed hands meanwhile: its stamp is the other one's.
        if held and stored.creator_id == creator_id:
            cache.set(key, stored, timeout=entry_seconds())
            _LOCAL.put(key, stored)
        return stored
