"""The attribution token a shopper lands on a storefront with (`/@handle?atk=...`).

The redirect puts the token in the storefront URL as well as in the `tribe_atk` cookie, so
that a browser that drops the cookie (many in-app browsers, tracking prevention) or a
shopper who opens a shared URL still carries the creator's credit. The page passes on only
a token that verifies and belongs to its own creator; anything else is ignored without a
word to the shopper, and a forged, tampered or expired token is counted like at the cart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from django.utils import timezone

from creators.attribution.tokens import Claims, TokenRejected, token_for_storefront, token_read
from creators.models import AffiliateLink
from creators.selectors.attribution import attribution_count


@dataclass(frozen=True)
class LandingToken:
    token: str
    kind: str  # "link" or "storefront"
    # How long the `tribe_atk` cookie should keep the token: the rest of the brand's window.
    # None when the cookie must not be set: a storefront token (it credits this page only),
    # or a newer click the shopper's cookie already holds (last click wins).
    cookie_max_age: int | None
    # The product a link token was made for, which the page opens first; None for a
    # storefront token.
    product_id: int | None = None
    # What the page gives the cart for the other products the shopper adds here: a
    # storefront token of this creator, stamped with the click's time (last click rule).
    storefront_token: str = ""


class LinkTerms(NamedTuple):
    """What a landing needs of a link: the product it opens and its brand's window."""

    product_id: int
    window_days: int


def link_terms_get(*, link_id: int, creator_id: int) -> LinkTerms | None:
    """The terms of `creator_id`'s link `link_id`; None when the creator has no such link."""
    row = (
        AffiliateLink.objects.filter(pk=link_id, creator_id=creator_id)
        .values_list("product_id", "product__brand__attribution_window_days")
        .first()
    )
    return None if row is None else LinkTerms(*row)


def _cookie_claims(cookie_token: str) -> Claims | None:
    """The cookie's claims, or None; a bad cookie is the cart's to count, not the page's."""
    if not cookie_token:
        return None
    try:
        return token_read(cookie_token)
    except TokenRejected:
        return None


def landing_token_get(
    *,
    token: str,
    creator_id: int,
    cookie_token: str = "",
    at: datetime | None = None,
    link_terms: Callable[..., LinkTerms | None] = link_terms_get,
) -> LandingToken | None:
    """The URL token the storefront of `creator_id` may carry into the cart, or None.

    A link token must name a link of this creator still inside its brand's attribution
    window (its terms from `link_terms`: one query, unless the caller holds them); a
    storefront token must name this creator (no query).
    """
    at = at or timezone.now()
    return landing_from_claims(
        token=token,
        claims=landing_claims(token=token, at=at),
        creator_id=creator_id,
        cookie_token=cookie_token,
        at=at,
        link_terms=link_terms,
    )


def landing_claims(*, token: str, at: datetime) -> Claims | None:
    """The claims of a landing's URL token; None when there is none or it is refused (then
    counted: read it once per request)."""
    if not token:
        return None
    try:
        return token_read(token)
    except TokenRejected as exc:
        attribution_count("expired_token" if exc.reason == "expired" else "invalid_token", at=at)
        return None


def landing_from_claims(
    *,
    token: str,
    claims: Claims | None,
    creator_id: int,
    cookie_token: str,
    at: datetime,
    link_terms: Callable[..., LinkTerms | None],
) -> LandingToken | None:
    """`landing_token_get` for a token whose `claims` were read already."""
    if claims is None:
        return None
    if claims.kind == "storefront":
        if claims.creator_id != creator_id:
            return None
        return LandingToken(
            token=token, kind="storefront", cookie_max_age=None, storefront_token=token
        )
    if claims.link_id is None:
        return None
    terms = link_terms(link_id=claims.link_id, creator_id=creator_id)
    if terms is None:
        return None
    remaining = int((claims.issued_at + timedelta(days=terms.window_days) - at).total_seconds())
    if remaining <= 0:
        return None
    cookie = _cookie_claims(cookie_token)
    keep = not (
        cookie_token == token or (cookie is not None and cookie.issued_at > claims.issued_at)
    )
    return LandingToken(
        token=token,
        kind="link",
        cookie_max_age=remaining if keep else None,
        product_id=terms.product_id,
        storefront_token=token_for_storefront(creator_id=creator_id, issued_at=claims.issued_at),
    )
