"""The one thing orders asks of creators: who gets credit for a line, at what rate, and why.

Rules (docs/attribution.md): the last link clicked within the brand's window credits its
own product (any variant) and its sold-out fallback (at the fallback's own best rate); a
storefront token credits products added from that creator's storefront at their best rate;
a creator buying through their own link or storefront earns nothing and the attempt is
recorded on the line; bots never attribute (they get no token); a forged, tampered or
expired token is ignored and counted. A creator code that discounted a line credits its
creator with no click; against another creator's link the brand's setting decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone

from common.cache import cache_count
from common.errors import ApplicationError, NotFound
from creators.attribution.tokens import Claims, TokenRejected, token_read
from creators.models import Creator, CreatorCode
from creators.rates import (
    PaceReader,
    RateDecision,
    best_rate,
    link_for_sale,
    rate_for_sale,
    viral_rate,
)
from creators.selectors.access import product_require_taggable
from shop.models import Product

COUNTER_TTL = 60 * 60 * 24 * 3


@dataclass(frozen=True)
class Attribution:
    credited: bool
    reason: str  # why (not) credited: last_click, storefront, no_token, invalid_token, ...
    creator_id: int | None = None
    link_id: int | None = None
    click_id: str | None = None
    clicked_at: str | None = None
    rule: str | None = None
    rate: str | None = None
    rate_source: str | None = None
    locked_rate: str | None = None
    lock_ends_at: str | None = None
    current_rate: str | None = None
    window_days: int | None = None
    decided_at: str | None = None
    viral_lock: bool | None = None
    viral: dict[str, Any] | None = None
    code: str | None = None

    def receipt(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @property
    def rate_decimal(self) -> Decimal | None:
        return Decimal(self.rate) if self.rate is not None else None


def attribution_count(kind: str, *, at: datetime | None = None) -> None:
    """Count a refused token or attempt; flushed to AttributionCounter with the clicks."""
    day = (at or timezone.now()).date().isoformat()
    cache_count(f"attribution-count:{day}:{kind}", timeout=COUNTER_TTL)


def _read(token: str, at: datetime) -> Claims | Attribution:
    if not token:
        return Attribution(credited=False, reason="no_token")
    try:
        return token_read(token)
    except TokenRejected as exc:
        reason = "expired_token" if exc.reason == "expired" else "invalid_token"
        attribution_count(reason, at=at)
        return Attribution(credited=False, reason=reason)


def _is_self(creator: Creator, buyer_user_id: int | None, buyer_email: str) -> str | None:
    if buyer_user_id is not None and creator.user_id == buyer_user_id:
        return "account"
    if buyer_email and creator.user.email.lower() == buyer_email.strip().lower():
        return "email"
    return None


def _refusal(
    creator: Creator,
    buyer_user_id: int | None,
    buyer_email: str,
    at: datetime,
    base: dict[str, Any],
) -> Attribution | None:
    """No credit for buying through your own link or storefront, or for a suspended creator."""
    who = _is_self(creator, buyer_user_id, buyer_email)
    if who:
        attribution_count("self_referral", at=at)
        return Attribution(credited=False, reason=f"self_referral_{who}", **base)
    if creator.status != Creator.Status.ACTIVE:
        return Attribution(credited=False, reason="creator_suspended", **base)
    return None


def attribution_decide(
    *,
    token: str,
    product: Product,
    buyer_user_id: int | None,
    buyer_email: str,
    pace: PaceReader,
    at: datetime | None = None,
    code: CreatorCode | None = None,
) -> Attribution:
    """Decide the credit for one order line bought now.

    `pace` counts a link's recent paid orders for the viral rate lock: orders hands it in,
    since creators never reads orders. `code` is the creator code that discounted the line,
    if any: it credits its creator with no click, unless the shopper followed another
    creator's link and the brand lets links win (`Brand.code_credit_over_link`)."""
    at = at or timezone.now()
    by_token = _decide_token(token, product, buyer_user_id, buyer_email, at, pace)
    if code is None or code.creator_id is None:
        return by_token
    return _decide_code(code, by_token, product, buyer_user_id, buyer_email, at)


def _decide_code(
    code: CreatorCode,
    by_token: Attribution,
    product: Product,
    buyer_user_id: int | None,
    buyer_email: str,
    at: datetime,
) -> Attribution:
    other_link = by_token.credited and by_token.creator_id != code.creator_id
    if by_token.credited and not other_link:
        # The code's own creator's link: the link's credit (its locked rate), naming the code.
        return replace(by_token, code=code.code)
    if other_link and not product.brand.code_credit_over_link:
        return replace(by_token, rule="link_over_code", code=code.code)
    creator = code.creator
    assert creator is not None  # code.creator_id is set
    base: dict[str, Any] = {
        "creator_id": creator.pk,
        "code": code.code,
        "decided_at": at.isoformat(),
    }
    refused = _refusal(creator, buyer_user_id, buyer_email, at, base)
    if refused is not None:
        # Self-use earns nothing; a link the shopper followed keeps its credit.
        return by_token if by_token.credited else refused
    rate, source = best_rate(creator=creator, product=product, at=at)
    return Attribution(
        credited=True,
        reason="code",
        rule="code_over_link" if other_link else "code",
        rate=str(rate),
        rate_source=source,
        current_rate=str(rate),
        **base,
    )


def _decide_token(
    token: str,
    product: Product,
    buyer_user_id: int | None,
    buyer_email: str,
    at: datetime,
    pace: PaceReader,
) -> Attribution:
    claims = _read(token, at)
    if isinstance(claims, Attribution):
        return claims
    window = product.brand.attribution_window_days
    if at - claims.issued_at > timedelta(days=window):
        return Attribution(credited=False, reason="outside_window", window_days=window)
    if claims.kind == "link":
        return _decide_link(claims, product, buyer_user_id, buyer_email, at, window, pace)
    return _decide_storefront(claims, product, buyer_user_id, buyer_email, at, window)


def _decide_link(
    claims: Claims,
    product: Product,
    buyer_user_id: int | None,
    buyer_email: str,
    at: datetime,
    window: int,
    link_pace: PaceReader,
) -> Attribution:
    found = (
        link_for_sale(link_id=claims.link_id, product=product, at=at)
        if claims.link_id is not None
        else None
    )
    if found is None:
        return Attribution(credited=False, reason="link_gone")
    link, current = found
    base: dict[str, Any] = {
        "creator_id": link.creator_id,
        "link_id": link.pk,
        "click_id": claims.click_id,
        "clicked_at": claims.issued_at.isoformat(),
        "window_days": window,
        "decided_at": at.isoformat(),
    }
    # The redirect sends a tap on a sold-out product to the link's fallback: it earns alike.
    if product.pk not in (link.product_id, link.fallback_product_id):
        return Attribution(credited=False, reason="other_product", **base)
    refused = _refusal(link.creator, buyer_user_id, buyer_email, at, base)
    if refused is not None:
        return refused
    pace = link_pace(link_id=link.pk, at=at)
    if product.pk == link.product_id:
        sale = rate_for_sale(link=link, product=product, at=at, current=current)
    else:
        # The locked rate is what the link's own product's brand promised; the fallback
        # (perhaps another brand's) pays its own best rate.
        sale = RateDecision(
            rate=current[0],
            source="current",
            locked_rate=None,
            lock_ends_at=None,
            current_rate=current[0],
            current_source=current[1],
        )
    decision = viral_rate(sale, viral=pace.viral)
    return Attribution(
        credited=True,
        reason="last_click",
        rule="last_click",
        rate=str(decision.rate),
        rate_source=decision.source,
        locked_rate=str(decision.locked_rate) if decision.locked_rate is not None else None,
        lock_ends_at=decision.lock_ends_at.isoformat() if decision.lock_ends_at else None,
        current_rate=str(decision.current_rate),
        viral_lock=True if pace.viral else None,
        viral=pace.receipt() if pace.viral else None,
        **base,
    )


def _decide_storefront(
    claims: Claims,
    product: Product,
    buyer_user_id: int | None,
    buyer_email: str,
    at: datetime,
    window: int,
) -> Attribution:
    creator = (
        Creator.objects.select_related("user").filter(pk=claims.creator_id).first()
        if claims.creator_id is not None
        else None
    )
    if creator is None:
        return Attribution(credited=False, reason="creator_gone")
    base: dict[str, Any] = {
        "creator_id": creator.pk,
        "clicked_at": claims.issued_at.isoformat(),
        "window_days": window,
        "decided_at": at.isoformat(),
    }
    refused = _refusal(creator, buyer_user_id, buyer_email, at, base)
    if refused is not None:
        return refused
    try:
        product_require_taggable(creator=creator, product_id=product.pk)
    except (ApplicationError, NotFound):
        return Attribution(credited=False, reason="not_promotable", **base)
    rate, source = best_rate(creator=creator, product=product, at=at)
    return Attribution(
        credited=True,
        reason="storefront",
        rule="storefront",
        rate=str(rate),
        rate_source=source,
        current_rate=str(rate),
        **base,
    )


def _precedence(claims: Claims) -> tuple[bool, datetime]:
    # A product's own link beats a storefront; of two of a kind the later click wins.
    return claims.kind == "link", claims.issued_at


# Fixed text: the ORM compiled this check on every line a shopper added from a link, 5 % of a
# checkout's web CPU with its cart under load (py-spy).
_LINK_CREDITS_SQL = """
SELECT 1 FROM creators_affiliatelink
WHERE id = %(link)s AND (product_id = %(product)s OR fallback_product_id = %(product)s)
"""


def _link_credits(link_id: int, product_id: int) -> bool:
    """Whether the link (still there) credits the product: its own, or its fallback."""
    with connection.cursor() as cursor:
        cursor.execute(_LINK_CREDITS_SQL, {"link": link_id, "product": product_id})
        return cursor.fetchone() is not None


def attribution_token_choose(*, tokens: Iterable[str], product_id: int) -> str:
    """Of the tokens a shopper carries, the one that credits this product: the latest link
    for the product itself (last click wins), else the latest storefront token; '' when none
    does. Of two issued in the same second, the first given wins."""
    chosen = ""
    best: tuple[bool, datetime] | None = None
    for token in tokens:
        if not token:
            continue
        try:
            claims = token_read(token)
        except TokenRejected as exc:
            attribution_count("expired_token" if exc.reason == "expired" else "invalid_token")
            continue
        if claims.kind == "link" and not (
            claims.link_id is not None and _link_credits(claims.link_id, product_id)
        ):
            continue
        if best is None or _precedence(claims) > best:
            chosen, best = token, _precedence(claims)
    return chosen


def attribution_token_supersedes(candidate: str, current: str) -> bool:
    """Whether `candidate`, chosen for a product, should replace `current`, chosen for it
    before: a later click (or a link over a storefront). A current token that no longer
    reads (expired, say) is replaced; an unreadable candidate never replaces anything."""
    try:
        new = token_read(candidate)
    except TokenRejected:
        return False
    try:
        old = token_read(current)
    except TokenRejected:
        return True
    return _precedence(new) >= _precedence(old)
