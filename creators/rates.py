"""The rate rule: a link locks the best rate at creation; a sale pays the higher of the locked
rate (while the lock holds) and the best rate that applies at the time of the sale.

So a brand's cut never touches links already shared, and a raise reaches them at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Q

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


def best_rate(*, creator: Creator, product: Product, at: datetime) -> tuple[Decimal, str]:
    """The best rate that applies now: the product's open rate or an accepted collaboration."""
    best, source = product.open_rate, "open"
    offers = Collaboration.objects.filter(
        creator=creator,
        brand_id=product.brand_id,
        status=Collaboration.Status.ACCEPTED,
        valid_from__lte=at,
    ).filter(Q(valid_until__isnull=True) | Q(valid_until__gt=at))
    offers = offers.filter(Q(product__isnull=True) | Q(product=product))
    for rate in offers.values_list("rate", flat=True):
        if rate > best:
            best, source = rate, "collaboration"
    return best, source


def rate_for_sale(*, link: AffiliateLink, product: Product, at: datetime) -> RateDecision:
    """The rate a sale through `link` pays at `at`, with the reason."""
    current, current_source = best_rate(creator=link.creator, product=product, at=at)
    rate, source = effective_rate(
        locked_rate=link.locked_rate, lock_ends_at=link.lock_ends_at, current_rate=current, at=at
    )
    return RateDecision(
        rate=rate,
        source=source,
        locked_rate=link.locked_rate,
        lock_ends_at=link.lock_ends_at,
        current_rate=current,
        current_source=current_source,
    )
