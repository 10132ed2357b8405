"""`/@handle` and `/@handle/page/N` from a stored shared part.

A storefront shows its products in pages of `STOREFRONT_PAGE_PRODUCTS` cards (48): a page
stays the same size, to build, store and serve, however many products the creator shows.
With 2,000 products on one page a request cost 2.6-3.2 bare views of CPU, against 1.6-2.0
for 200 (bench/README, eighth pass).

Stored per storefront page (`StoredStorefront`): the page rendered without the visitor, every
card in stock, as encoded parts with an empty part at each slot and where each product's
cards sit among them. Each product card is stored rendered in every stock state it can
show (in stock, low with the count left out, sold out, and sold out beside its fallback in
stock or low), so a request reads which of the page's products are scarce in one query
(their ids sent as one stored array literal), fills the slots and replaces only those
products' cards: its work grows with the number of products only by one list store per
visitor-token slot and the bytes one join copies.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, cast

from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils import timezone

from common import visitor
from common.errors import NotFound
from common.replica import primary_reads
from creators.pages.locks import page_build_lock
from creators.pages.product import (
    VISITOR_BAR_SLOT,
    LiveParts,
    StoredProduct,
    featured_html,
    ink_on,
    main_attrs,
)
from creators.pages.versions import (
    CATALOG_VERSION_KEY,
    LocalEntries,
    card_states_key,
    creator_version_key,
    entries_get,
    entry_seconds,
    handle_version_key,
    storefront_key,
    versions_get,
)
from creators.selectors.storefront import (
    StorefrontPage,
    StorefrontProduct,
    storefront_creator_id,
    storefront_page_get,
    storefront_page_missing,
)
from creators.templatetags.storefront_cards import CARD_SLOT_PATTERN
from shop.selectors import IdArray, StockLevel, StockState

MAIN_SLOT = "tribe-main-attrs-slot"
FEATURED_SLOT = "tribe-featured-slot"
EMPTY_HTML = '<p class="muted">Nothing here yet.</p>'
_COUNT = "\x00count\x00"  # where a low-stock card's count goes
_SLOTS = {VISITOR_BAR_SLOT, MAIN_SLOT, FEATURED_SLOT}
_SPLIT = re.compile(
    f"{CARD_SLOT_PATTERN}|({re.escape(VISITOR_BAR_SLOT)}|{MAIN_SLOT}|{FEATURED_SLOT})"
)
# Where a visitor's tokens go, in the static HTML and in every card (`common.visitor`).
_TOKEN_SPLIT = re.compile(f"({re.escape(visitor.QUERY_SLOT)}|{re.escape(visitor.ATK_INPUTS_SLOT)})")
_NONE = StockLevel(0, 0)


class Card(NamedTuple):
    """A product card as it shows in stock; its other states are stored apart (`CardStates`)
    and read only while its product is scarce. Named tuples: a stored storefront holds
    hundreds, and tuples unpickle several times faster than dataclasses."""

    key: str
    product_id: int
    fallback_id: int | None
    in_stock: str


class CardStates(NamedTuple):
    """A card low (split where the count goes), sold out, and sold out beside its fallback
    in stock or low."""

    low: tuple[str, ...]
    sold_out: str
    sold_out_fallback_in_stock: str
    sold_out_fallback_low: tuple[str, ...]


def card_html(card: Card, scarce: dict[int, StockLevel], states: dict[str, CardStates]) -> str:
    level = scarce.get(card.product_id)
    if level is None:
        return card.in_stock
    other = states[card.key]
    if level.available > 0:
        return str(level.available).join(other.low)
    if card.fallback_id is None:
        return other.sold_out
    offered = scarce.get(card.fallback_id)
    if offered is None:
        return other.sold_out_fallback_in_stock
    if offered.available > 0:
        return str(offered.available).join(other.sold_out_fallback_low)
    return other.sold_out


class Cut(NamedTuple):
    """A card's parts of the stored page: `start` is an empty part of its own, where its
    other states go, and its HTML in stock runs on to `end`."""

    start: int
    end: int
    what: Card


@dataclass(frozen=True, slots=True)
class StoredStorefront:
    """The page in parts, every card in stock and an empty part at each slot, the slots'
    places and each product's cards: a request fills the slots and replaces the cards of
    its scarce products, and joins the parts once.

    The parts are kept encoded (UTF-8) and cut at the visitor's token slots, which every
    card holds: a request stores its tokens into a copy of the list and sends the join as
    it is. Filling a 200-product page's one string instead (`str.replace` twice, then
    encoding it) cost 0.12-0.15 ms of a 0.7 ms request in-process; `bytes.replace` twice,
    0.06 ms; the parts, 0.01 ms.
    """

    catalog_version: str
    creator_version: str  # with no storefront at this handle: the handle's version
    creator_id: int | None  # None: no storefront at this handle
    handle: str
    parts: tuple[bytes, ...]
    slots: dict[str, tuple[int, ...]]  # a slot's name: the index of each of its parts
    cards: dict[int, tuple[Cut, ...]]  # by product id
    product_ids: IdArray  # whose stock the cards need: products and fallbacks
    empty: bool  # no videos, collections or codes
    # The codes shown change by the clock then (one ends or starts): stale from that moment.
    changes_at: datetime | None = None
    number: int = 1  # which of its pages
    pages: int = 1  # how many it has; a page past them is stored with no parts

    @classmethod
    def nothing(
        cls,
        *,
        handle: str,
        creator_id: int | None,
        catalog_version: str,
        creator_version: str,
        number: int = 1,
        pages: int = 1,
    ) -> StoredStorefront:
        """An entry with nothing to show: no storefront at `handle` (`creator_id` None), or
        a page past its last (`number` > `pages`)."""
        return cls(
            catalog_version=catalog_version,
            creator_version=creator_version,
            creator_id=creator_id,
            handle=handle,
            parts=(),
            slots={},
            cards={},
            product_ids=IdArray.of(()),
            empty=False,
            number=number,
            pages=pages,
        )

    @property
    def pieces(self) -> tuple[str | Card, ...]:
        """The page as static HTML (a slot is its name) and cards, in order."""
        cards = {cut.start: cut for cuts in self.cards.values() for cut in cuts}
        slots = {at: name for name, places in self.slots.items() for at in places}
        pieces: list[str | Card] = []
        at = 0
        while at < len(self.parts):
            if at in cards:
                pieces.append(cards[at].what)
                at = cards[at].end
                continue
            pieces.append(slots[at] if at in slots else self.parts[at].decode())
            at += 1
        return tuple(pieces)

    def states_key(self, card: Card) -> str:
        return self.states_key_of(card.key)

    def states_key_of(self, card_key: str) -> str:
        return card_states_key(self.handle, self.catalog_version, self.creator_version, card_key)

    def cards_needed(self, scarce: dict[int, StockLevel]) -> dict[str, Card]:
        """The cards shown in a state other than in stock, by their states' cache key."""
        return {
            self.states_key(card): card
            for product_id in scarce
            for _start, _end, card in self.cards.get(product_id, ())
            if isinstance(card, Card)
        }

    @property
    def owner_version_key(self) -> str:
        """The creator's version, or the handle's while no creator has it."""
        if self.creator_id is None:
            return handle_version_key(self.handle)
        return creator_version_key(self.creator_id)

    @property
    def version_keys(self) -> list[str]:
        """The versions that retire it: a "no such storefront" only its handle's (in Redis),
        so an unknown handle costs no query."""
        if self.creator_id is None:
            return [self.owner_version_key]
        return [CATALOG_VERSION_KEY, self.owner_version_key]

    @property
    def versions(self) -> dict[str, str]:
        """The versions this entry was stamped with: the current ones once it was served."""
        return {
            CATALOG_VERSION_KEY: self.catalog_version,
            self.owner_version_key: self.creator_version,
        }

    def stale(self, versions: dict[str, Any]) -> bool:
        if (
            self.creator_id is not None
            and versions.get(CATALOG_VERSION_KEY) != self.catalog_version
        ):
            return True
        if self.changes_at is not None and timezone.now() >= self.changes_at:
            return True
        return versions.get(self.owner_version_key) != self.creator_version


_LOCAL = LocalEntries(64)
_LOCAL_STATES = LocalEntries(4096)  # their keys hold the versions: never stale


def storefront_kept(*, handle: str, number: int = 1) -> StoredStorefront | None:
    """The storefront page this process keeps for `handle`, its versions not checked yet:
    the caller checks them in its live read (`live_read`) and asks `storefront_stored_get`
    when they have changed. None when this process keeps none."""
    local = _LOCAL.get(storefront_key(handle, number))
    return local if isinstance(local, StoredStorefront) else None


def storefront_stored_get(
    *, handle: str, number: int = 1, versions: dict[str, str] | None = None
) -> StoredStorefront:
    """The current stored page `number` of a storefront, built and stored when missing or
    stale; NotFound when there is no storefront at `handle` (`storefront_not_found`) or it
    has no such page (`storefront_page_not_found`, `details["pages"]`). One read of its
    versions when this process keeps it, else a cache read as well; none of the `versions`
    the caller has just read."""
    local = storefront_kept(handle=handle, number=number)
    if local is not None and not local.stale(versions_get(local.version_keys, known=versions)):
        return _existing(local)
    stored = _stored_current(handle, number, versions)
    if stored is not None:
        return _existing(stored)
    return _existing(_build(handle, number).stored)


def _stored_current(
    handle: str, number: int, versions: dict[str, str] | None = None
) -> StoredStorefront | None:
    """The entry stored for the page if its versions (`versions`, else read) still hold."""
    key = storefront_key(handle, number)
    stored = entries_get([key]).get(key)
    if not isinstance(stored, StoredStorefront):
        return None
    if stored.stale(versions_get(stored.version_keys, known=versions)):
        return None
    # Not a "no such storefront" or page: any number of them would push pages out.
    if stored.creator_id is not None and stored.number <= stored.pages:
        _LOCAL.put(key, stored)
    return stored


def _existing(stored: StoredStorefront) -> StoredStorefront:
    if stored.creator_id is None:
        raise NotFound("No such storefront.", code="storefront_not_found")
    if stored.number > stored.pages:
        raise storefront_page_missing(stored.pages)
    return stored


class Built(NamedTuple):
    """A storefront as `_build` found or made it, with the states of the cards asked for."""

    stored: StoredStorefront
    states: dict[str, CardStates]  # by the card's key


def card_states_get(stored: StoredStorefront, scarce: dict[int, StockLevel]) -> Built:
    """The other states of the cards whose products are scarce: one cache round trip, none
    when every product is in stock. Missing states (evicted) build the page again: the
    page and the states that build found or made are the answer."""
    needed = stored.cards_needed(scarce)
    if not needed:
        return Built(stored, {})
    found = {key: _LOCAL_STATES.get(key) for key in needed}
    missing = [key for key, states in found.items() if states is None]
    if missing:
        fetched = entries_get(missing)
        if len(fetched) < len(missing):
            return _build(stored.handle, stored.number, scarce=scarce)
        for key, states in fetched.items():
            _LOCAL_STATES.put(key, states)
        found.update(fetched)
    return Built(
        stored, {needed[key].key: states for key, states in found.items() if states is not None}
    )


def storefront_html(
    stored: StoredStorefront,
    *,
    scarce: dict[int, StockLevel],
    live: LiveParts,
    atk: str,
    featured: StoredProduct | None,
) -> bytes:
    """The page for one visitor, encoded: cards in their live stock state, the visitor's
    parts."""
    stored, states = card_states_get(stored, scarce)
    if featured is not None:
        top = featured_html(featured, live)
    else:
        top = EMPTY_HTML if stored.empty else ""

    fill = visitor.filler(query_html=live.query_html, atk=atk)

    def filled(html: str) -> bytes:
        return fill(html).encode()

    values = {
        VISITOR_BAR_SLOT: filled(live.visitor_bar),
        MAIN_SLOT: filled(main_attrs(atk)),
        FEATURED_SLOT: filled(top),
        visitor.QUERY_SLOT: live.query_html.encode(),
        visitor.ATK_INPUTS_SLOT: visitor.atk_inputs(atk).encode(),
    }
    parts = list(stored.parts)
    for name, places in stored.slots.items():
        value = values[name]
        for at in places:
            parts[at] = value
    # The cards of scarce products: a handful, whatever the page's size. Their parts in
    # stock (slots filled above included) give way to the state shown, filled here.
    for product_id in scarce:
        for start, end, card in stored.cards.get(product_id, ()):
            parts[start] = filled(card_html(card, scarce, states))
            parts[start + 1 : end] = [b""] * (end - start - 1)
    return b"".join(parts)


# Stored for as long as its versions hold: built from the primary, never from a replica
# that may not have the write that bumped them yet (common.replica).
@primary_reads()
def _build(handle: str, number: int = 1, *, scarce: dict[int, StockLevel] | None = None) -> Built:
    """Build and store page `number` of the storefront, one build of a page at a time
    (`page_build_lock`). A page past the last is stored too, with no parts (`_existing`
    turns it into NotFound), so asking for it again costs no build.

    With `scarce`, the states of the cards it makes scarce are wanted too: a page found
    stored by whoever held the lock serves only if those are stored as well.
    """
    key = storefront_key(handle, number)
    # Read before the row: a creator taking the handle meanwhile bumps it after.
    handle_version = versions_get([handle_version_key(handle)])[handle_version_key(handle)]
    creator_id = storefront_creator_id(handle=handle)
    if creator_id is None:
        # Stored too, so unknown handles cost no query, until a creator takes the handle
        # and bumps its version (`creators.signals`).
        missing = StoredStorefront.nothing(
            handle=handle,
            creator_id=None,
            catalog_version="",  # not stamped with it: only a creator taking it retires it
            creator_version=handle_version,
        )
        cache.set(key, missing, timeout=entry_seconds())
        raise NotFound("No such storefront.", code="storefront_not_found")
    with page_build_lock(key) as held:
        current = _stored_current(handle, number)
        if current is not None and current.creator_id is not None:
            found = _states_stored(current, scarce)
            if found is not None:
                return Built(current, found)
        # The versions are read after the lock: a build that waited stamps what it reads
        # now, never what was current before the holder's build.
        built = _render(handle, creator_id, number)
        # Not stored when the handle changed hands meanwhile: its stamp is the other one's.
        if held and built.stored.creator_id == creator_id:
            _store(built)
        return built


def _states_stored(
    stored: StoredStorefront, scarce: dict[int, StockLevel] | None
) -> dict[str, CardStates] | None:
    """The stored states of the cards `scarce` makes scarce; None when any is missing."""
    if scarce is None:
        return {}
    needed = stored.cards_needed(scarce)
    fetched = entries_get(list(needed))
    if len(fetched) < len(needed):
        return None
    return {needed[key].key: states for key, states in fetched.items()}


def _render(handle: str, creator_id: int, number: int) -> Built:
    version_key = creator_version_key(creator_id)
    versions = versions_get([CATALOG_VERSION_KEY, version_key])
    catalog_version, creator_version = versions[CATALOG_VERSION_KEY], versions[version_key]
    try:
        page = storefront_page_get(handle=handle, every_fallback=True, number=number)
    except NotFound as error:
        if error.code != "storefront_page_not_found":
            raise
        past = StoredStorefront.nothing(
            handle=handle,
            creator_id=creator_id,
            catalog_version=catalog_version,
            creator_version=creator_version,
            number=number,
            pages=error.details["pages"],
        )
        return Built(past, {})
    pieces, states = _pieces(page)
    parts, slots, cards = _layout(pieces)
    stored = StoredStorefront(
        catalog_version=catalog_version,
        creator_version=creator_version,
        creator_id=page.creator.pk,
        handle=handle,
        parts=parts,
        slots=slots,
        cards=cards,
        product_ids=IdArray.of(page.offered_products()),
        empty=not page.videos and not page.collections and not page.codes,
        changes_at=page.codes_change_at,
        number=page.number,
        pages=page.pages,
    )
    return Built(stored, states)


def _store(built: Built) -> None:
    stored = built.stored
    # The states first: a reader that finds the page finds its cards' states.
    cache.set_many(
        {stored.states_key_of(key): value for key, value in built.states.items()},
        timeout=entry_seconds(),
    )
    key = storefront_key(stored.handle, stored.number)
    cache.set(key, stored, timeout=entry_seconds())
    if stored.number <= stored.pages:
        _LOCAL.put(key, stored)


def _layout(
    pieces: tuple[str | Card, ...],
) -> tuple[tuple[bytes, ...], dict[str, tuple[int, ...]], dict[int, tuple[Cut, ...]]]:
    """The pieces as encoded parts, every card in stock, cut at each slot (an empty part of
    its own, the visitor's token slots included), with the slots' and the cards' places."""
    parts: list[bytes] = []
    slots: dict[str, list[int]] = {}
    cards: dict[int, list[Cut]] = {}

    def slot(name: str) -> None:
        slots.setdefault(name, []).append(len(parts))
        parts.append(b"")

    def text(html: str) -> None:
        # re.split with one group: the text, then a token slot, then text, and so on.
        for index, chunk in enumerate(_TOKEN_SPLIT.split(html)):
            if index % 2:
                slot(chunk)
            elif chunk:
                parts.append(chunk.encode())

    for piece in pieces:
        if isinstance(piece, Card):
            start = len(parts)
            parts.append(b"")
            text(piece.in_stock)
            cards.setdefault(piece.product_id, []).append(Cut(start, len(parts), piece))
        elif piece in _SLOTS:
            slot(piece)
        else:
            text(piece)
    return (
        tuple(parts),
        {name: tuple(places) for name, places in slots.items()},
        {key: tuple(cuts) for key, cuts in cards.items()},
    )


def _pieces(page: StorefrontPage) -> tuple[tuple[str | Card, ...], dict[str, CardStates]]:
    shared = render_to_string(
        "creators/_storefront_shared.html", {"page": page, "carry": visitor.QUERY_SLOT}
    )
    html = render_to_string(
        "creators/storefront.html",
        {
            "page": page,
            "ink": ink_on(page.theme_color),
            "description": _description(page),
            "share_image": page.share_image_url,
            "visitor_bar": VISITOR_BAR_SLOT,
            "main_attrs": MAIN_SLOT,
            "featured": FEATURED_SLOT,
            "shared": shared,
        },
    )
    products = page.offered_products()
    cards: dict[str, tuple[Card, CardStates]] = {}
    pieces: list[str | Card] = []
    parts = _SPLIT.split(html)
    # re.split gives the text, then the pattern's four groups, then text, and so on.
    for index in range(0, len(parts), 5):
        if parts[index]:
            pieces.append(parts[index])
        if index + 1 >= len(parts):
            break
        product_id, fallback_id, appears_at, slot = parts[index + 1 : index + 5]
        if slot:
            pieces.append(slot)
            continue
        key = f"{product_id}:{fallback_id}:{appears_at}"
        if key not in cards:
            cards[key] = _card(page, products, key, product_id, fallback_id, appears_at)
        pieces.append(cards[key][0])
    return tuple(pieces), {key: states for key, (_card_, states) in cards.items()}


def _card(
    page: StorefrontPage,
    products: dict[int, StorefrontProduct],
    key: str,
    product_id: str,
    fallback_id: str,
    appears_at: str,
) -> tuple[Card, CardStates]:
    product = dataclasses.replace(products[int(product_id)], fallback=None)
    offered = products[int(fallback_id)] if fallback_id else None
    count = cast(int, _COUNT)  # rendered where the live count goes

    def render(state: str, available: int, fallback: StorefrontProduct | None = None) -> str:
        shown = dataclasses.replace(product, stock_state=state, available=available)
        return render_to_string(
            "creators/_product.html",
            {
                "product": dataclasses.replace(shown, fallback=fallback),
                "appears_at": appears_at,
                "handle": page.creator.handle,
                "carry": visitor.QUERY_SLOT,
                "atk_inputs": visitor.ATK_INPUTS_SLOT,
            },
        )

    def offer(state: str, available: int) -> StorefrontProduct | None:
        if offered is None:
            return None
        return dataclasses.replace(offered, stock_state=state, available=available, fallback=None)

    sold = render(StockState.SOLD_OUT, 0)
    card = Card(
        key=key,
        product_id=product.id,
        fallback_id=offered.id if offered is not None else None,
        in_stock=render(StockState.IN_STOCK, 0),
    )
    return card, CardStates(
        low=tuple(render(StockState.LOW_STOCK, count).split(_COUNT)),
        sold_out=sold,
        sold_out_fallback_in_stock=(
            render(StockState.SOLD_OUT, 0, offer(StockState.IN_STOCK, 0)) if offered else sold
        ),
        sold_out_fallback_low=(
            tuple(render(StockState.SOLD_OUT, 0, offer(StockState.LOW_STOCK, count)).split(_COUNT))
            if offered
            else (sold,)
        ),
    )


def _description(page: StorefrontPage) -> str:
    bio = " ".join(page.creator.bio.split())
    if bio:
        return bio if len(bio) <= 200 else bio[:199].rstrip() + "…"
    return f"Shop the products {page.creator.display_name} shows in their videos, on Tribe."
