"""The rate rule: a link locks the best rate at creation; a sale pays the higher of the locked
rate (while the lock holds) and the best rate that applies at the time of the sale.

So a brand's cut never touches links already shared, and a raise reaches them at once.

The viral rate lock: a link is viral at `at` when its paid orders in the last 24 hours reach
a minimum count and exceed `COMMISSION_VIRAL_MULTIPLE` times its daily average over the 7
days before that. A viral sale pays the higher of the link's locked rate (even after the lock
ended) and the current rate, and its receipt says so, with the numbers. The rule lives here;
counting a link's paid orders is a read of orders, which hands it in as a `PaceReader`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from django.conf import settings
from django.db import connection

from accounts.models import User
from common.db import model_columns, model_from_row
from creators.models import AffiliateLink, Collaboration, Creator
from shop.models import Product


@dataclass(frozen=True)
class RateDecision:
    rate: Decimal
    source: str  # "locked", "current", "open", "collaboration"
    locked_rate: Decimal | None
    lock_ends_at: datetime | None
    current_rate: Decimal
    current_source: str

    def as_dict(self) -> dict[str, str | None]:
        return {
            "rate": str(self.rate),
            "source": self.source,
            "locked_rate": None if self.locked_rate is None else str(self.locked_rate),
            "lock_ends_at": None if self.lock_ends_at is None else self.lock_ends_at.isoformat(),
            "current_rate": str(self.current_rate),
            "current_source": self.current_source,
        }


def effective_rate(
    *, locked_rate: Decimal, lock_ends_at: datetime, current_rate: Decimal, at: datetime
) -> tuple[Decimal, str]:
    """The pure rule: max(locked while the lock holds, current). Ties go to 'locked'."""
    if at < lock_ends_at and locked_rate >= current_rate:
        return locked_rate, "locked"
    return current_rate, "current"


def best_of(open_rate: Decimal, offered: Decimal | None) -> tuple[Decimal, str]:
    """The pure rule: the best collaboration in force if it beats the open rate (ties go to
    the open rate)."""
    if offered is not None and offered > open_rate:
        return offered, "collaboration"
    return open_rate, "open"


# The best accepted collaboration in force at %(at)s between a creator ({creator}) and the
# product sold: its brand's, over all its products or this one. One text for both readers
# below, so `best_rate` and a link's sale can never disagree on which offers count.
_OFFERED_SQL = """(SELECT max(o.rate) FROM {collaborations} o
    WHERE o.creator_id = {creator} AND o.brand_id = %(brand)s AND o.status = %(accepted)s
        AND o.valid_from <= %(at)s AND (o.valid_until IS NULL OR o.valid_until > %(at)s)
        AND (o.product_id IS NULL OR o.product_id = %(product)s))"""


def _offered_sql(creator: str) -> str:
    return _OFFERED_SQL.format(
        collaborations=connection.ops.quote_name(Collaboration._meta.db_table), creator=creator
    )


def _offered_params(product: Product, at: datetime) -> dict[str, Any]:
    return {
        "brand": product.brand_id,
        "product": product.pk,
        "accepted": Collaboration.Status.ACCEPTED,
        "at": at,
    }


@functools.cache
def _best_rate_sql() -> str:
    return f"SELECT {_offered_sql('%(creator)s')}"


def best_rate(*, creator: Creator, product: Product, at: datetime) -> tuple[Decimal, str]:
    """The best rate that applies now: the product's open rate or an accepted collaboration."""
    with connection.cursor() as cursor:
        cursor.execute(_best_rate_sql(), {"creator": creator.pk, **_offered_params(product, at)})
        (offered,) = cursor.fetchone()
    return best_of(product.open_rate, offered)


# A link with its creator, the creator's email, and the best collaboration in force for the
# product sold (what `best_rate` reads): one statement written once. Read through the ORM,
# the link (with its creator and user) and the collaborations were two statements compiled
# on every checkout line bought through a link, 2.5 ms of CPU between them.
_LINK_FOR_SALE_SQL = """
SELECT {link}, {creator}, u.email, {offered}
FROM {links} l
JOIN {creators} c ON c.id = l.creator_id
JOIN {users} u ON u.id = c.user_id
WHERE l.id = %(link)s
"""


@functools.cache
def _link_for_sale_sql() -> str:
    quote = connection.ops.quote_name
    return _LINK_FOR_SALE_SQL.format(
        link=model_columns(AffiliateLink, "l"),
        creator=model_columns(Creator, "c"),
        offered=_offered_sql("l.creator_id"),
        links=quote(AffiliateLink._meta.db_table),
        creators=quote(Creator._meta.db_table),
        users=quote(User._meta.db_table),
    )


def link_for_sale(
    *, link_id: int, product: Product, at: datetime
) -> tuple[AffiliateLink, tuple[Decimal, str]] | None:
    """The link (None if gone) with its creator and the creator's user (id and email only),
    and the best rate that applies at `at` to `product` for the link's creator, as
    `best_rate` gives it. One statement."""
    with connection.cursor() as cursor:
        cursor.execute(_link_for_sale_sql(), {"link": link_id, **_offered_params(product, at)})
        row = cursor.fetchone()
    if row is None:
        return None
    link = model_from_row(AffiliateLink, row)
    creator = model_from_row(Creator, row, len(AffiliateLink._meta.concrete_fields))
    email, offered = row[-2:]
    creator.user = User.from_db(connection.alias, ["id", "email"], [creator.user_id, email])
    link.creator = creator
    return link, best_of(product.open_rate, offered)


def rate_for_sale(
    *,
    link: AffiliateLink,
    product: Product,
    at: datetime,
    current: tuple[Decimal, str] | None = None,
) -> RateDecision:
    """The rate a sale through `link` pays at `at`, with the reason. `current` is the best
    rate that applies now (`best_rate`), when the caller has read it already."""
    current_rate, current_source = (
        current if current is not None else best_rate(creator=link.creator, product=product, at=at)
    )
    rate, source = effective_rate(
        locked_rate=link.locked_rate,
        lock_ends_at=link.lock_ends_at,
        current_rate=current_rate,
        at=at,
    )
    return RateDecision(
        rate=rate,
        source=source,
        locked_rate=link.locked_rate,
        lock_ends_at=link.lock_ends_at,
        current_rate=current_rate,
        current_source=current_source,
    )


# --- The viral rate lock ---------------------------------------------------------------------

RECENT = timedelta(hours=24)
BASELINE_DAYS = 7


def viral_multiple() -> Decimal:
    return Decimal(str(getattr(settings, "COMMISSION_VIRAL_MULTIPLE", "3")))


def viral_minimum_orders() -> int:
    """Below this many orders in 24 hours a link is never viral: a few sales are noise."""
    return int(getattr(settings, "COMMISSION_VIRAL_MIN_ORDERS", 5))


@dataclass(frozen=True)
class Pace:
    orders_24h: int
    orders_previous_7d: int
    multiple: Decimal
    minimum: int

    @property
    def daily_average_7d(self) -> Decimal:
        return (Decimal(self.orders_previous_7d) / BASELINE_DAYS).quantize(Decimal("0.01"))

    @property
    def viral(self) -> bool:
        return is_viral(
            orders_24h=self.orders_24h,
            orders_previous_7d=self.orders_previous_7d,
            multiple=self.multiple,
            minimum=self.minimum,
        )

    def receipt(self) -> dict[str, Any]:
        return {
            "orders_24h": self.orders_24h,
            "daily_average_7d": str(self.daily_average_7d),
            "multiple": str(self.multiple),
            "minimum_orders": self.minimum,
        }


class PaceReader(Protocol):
    """How fast a link sells at `at`, against its own previous week (a read of orders)."""

    def __call__(self, *, link_id: int, at: datetime) -> Pace: ...


def pace_windows(at: datetime) -> tuple[datetime, datetime]:
    """The starts of the recent (24 hours) and the baseline (7 days before it) windows."""
    recent_start = at - RECENT
    return recent_start, recent_start - timedelta(days=BASELINE_DAYS)


def pace_of(*, orders_24h: int, orders_previous_7d: int) -> Pace:
    """A link's pace from its counted orders, with the thresholds read from settings now."""
    return Pace(
        orders_24h=orders_24h,
        orders_previous_7d=orders_previous_7d,
        multiple=viral_multiple(),
        minimum=viral_minimum_orders(),
    )


def is_viral(*, orders_24h: int, orders_previous_7d: int, multiple: Decimal, minimum: int) -> bool:
    """The pure rule: at least `minimum` orders today, and more than `multiple` x the daily
    average of the 7 days before (compared exactly: 7 x today > multiple x the week)."""
    if orders_24h < minimum:
        return False
    return Decimal(orders_24h) * BASELINE_DAYS > multiple * orders_previous_7d


def viral_rate(decision: RateDecision, *, viral: bool) -> RateDecision:
    """While viral, the rate is max(locked rate, even past its lock, current)."""
    if not viral or decision.locked_rate is None or decision.locked_rate <= decision.rate:
        return decision
    return replace(decision, rate=decision.locked_rate, source="viral_lock")
