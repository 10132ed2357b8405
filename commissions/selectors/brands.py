"""A brand's side of the money: commission owed, the next settlement, and who sells.

Each selector takes the brand ids the reader may see (None: every brand, for platform
staff; an empty set reads nothing), answers per currency and runs a fixed number of
queries. The top sellers read paid order lines (orders) and name them from creators' links
and videos, which is why they live here, above both.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import CharField, Count, DecimalField, F, OuterRef, Q, Subquery, Sum

from commissions.models import CommissionLine, Settlement, SettlementPayout
from common.money import quantize
from creators.models import AffiliateLink, Creator
from orders.models import OrderLine
from orders.state import PAID_STATUSES

MONEY: DecimalField = DecimalField(max_digits=20, decimal_places=3)
Status = CommissionLine.Status


def _brand_q(brand_ids: Collection[int] | None, field: str = "brand_id") -> Q:
    return Q() if brand_ids is None else Q(**{f"{field}__in": list(brand_ids)})


def _nothing(brand_ids: Collection[int] | None) -> bool:
    return brand_ids is not None and not brand_ids


# --- Commission owed ---------------------------------------------------------------------


@dataclass(frozen=True)
class CommissionOwed:
    """What the brands' sales earned creators and is not paid yet, in one currency:
    `pending` is still in its hold period, `approved` payable now."""

    currency: str
    pending: Decimal
    approved: Decimal

    @property
    def total(self) -> Decimal:
        return self.pending + self.approved


def brand_commission_owed(*, brand_ids: Collection[int] | None) -> list[CommissionOwed]:
    """Unpaid ledger lines (reversals net against them), per currency by code. One query."""
    if _nothing(brand_ids):
        return []
    rows = (
        CommissionLine.objects.filter(
            _brand_q(brand_ids), status__in=[Status.PENDING, Status.APPROVED]
        )
        .values("currency")
        .annotate(
            pending=Sum("amount", filter=Q(status=Status.PENDING)),
            approved=Sum("amount", filter=Q(status=Status.APPROVED)),
        )
        .order_by("currency")
    )
    return [
        CommissionOwed(
            currency=(code := row["currency"]),
            pending=quantize(row["pending"] or 0, code),
            approved=quantize(row["approved"] or 0, code),
        )
        for row in rows
    ]


# --- The next settlement -----------------------------------------------------------------


def brand_settlements_awaiting_payment(
    *, brand_ids: Collection[int] | None, limit: int = 5
) -> list[Settlement]:
    """Settlements with an amount due to the brand and no payment made yet, oldest period
    first: the next to be paid. Each carries `payment_status`, its latest attempt's status
    (None before any attempt), and its brand. One query."""
    if _nothing(brand_ids):
        return []
    paid = SettlementPayout.objects.filter(status=SettlementPayout.Status.PAID)
    latest = SettlementPayout.objects.filter(settlement=OuterRef("pk")).order_by("-pk")
    return list(
        Settlement.objects.filter(_brand_q(brand_ids), amount_due__gt=0)
        .exclude(pk__in=paid.values("settlement_id"))
        .select_related("brand")
        .annotate(payment_status=Subquery(latest.values("status")[:1], output_field=CharField()))
        .order_by("period_end", "brand_id", "currency", "pk")[:limit]
    )


# --- Top sellers: creators, videos and links by revenue ----------------------------------


@dataclass
class Seller:
    """A creator, video or link, and what its credited lines sold in one currency."""

    key: int
    label: str
    revenue: Decimal = Decimal(0)
    orders: int = 0
    detail: str = ""


@dataclass
class TopSellers:
    """One currency's best creators, videos and links by revenue, highest first."""

    currency: str
    creators: list[Seller] = field(default_factory=list)
    videos: list[Seller] = field(default_factory=list)
    links: list[Seller] = field(default_factory=list)


def _top(sellers: dict[int, Seller], limit: int, code: str) -> list[Seller]:
    ranked = sorted(sellers.values(), key=lambda s: (-s.revenue, s.key))[:limit]
    for seller in ranked:
        seller.revenue = quantize(seller.revenue, code)
    return ranked


def brand_top_sellers(
    *, brand_ids: Collection[int] | None, start: datetime, end: datetime, limit: int = 5
) -> list[TopSellers]:
    """Creators, videos and links whose credited lines of the brands sold the most in
    [start, end) by their orders' `paid_at`, per currency by code.

    Revenue is the lines' totals less what refunds took back (shipping excluded); orders
    count distinct paid orders. Three queries: the lines summed per creator, link and
    currency; the links that sold (with their videos); the top creators' handles.
    """
    if _nothing(brand_ids):
        return []
    rows = (
        OrderLine.objects.filter(
            _brand_q(brand_ids),
            attributed_creator_id__isnull=False,
            order__status__in=PAID_STATUSES,
            order__paid_at__gte=start,
            order__paid_at__lt=end,
        )
        .values("currency", "attributed_creator_id", "attributed_link_id")
        .annotate(
            revenue=Sum(F("line_total") - F("refunded_amount"), output_field=MONEY),
            orders=Count("order_id", distinct=True),
        )
        .order_by()
    )
    creators: dict[str, dict[int, Seller]] = defaultdict(dict)
    links: dict[str, dict[int, Seller]] = defaultdict(dict)
    for row in rows:
        code, creator_id, link_id = (
            row["currency"],
            row["attributed_creator_id"],
            row["attributed_link_id"],
        )
        # An order may count for a creator on two links: a fair overcount on a dashboard.
        seller = creators[code].setdefault(creator_id, Seller(key=creator_id, label=""))
        seller.revenue += row["revenue"]
        seller.orders += row["orders"]
        if link_id is not None:
            link = links[code].setdefault(link_id, Seller(key=link_id, label=""))
            link.revenue += row["revenue"]
            link.orders += row["orders"]
    link_rows = {
        row["pk"]: row
        for row in AffiliateLink.objects.filter(
            pk__in={link_id for sold in links.values() for link_id in sold}
        ).values(
            "pk",
            "code",
            "video_id",
            "video__platform",
            "video__caption",
            "product__title",
            "creator__handle",
        )
    }
    result = [TopSellers(currency=code) for code in sorted(creators)]
    for top in result:
        code = top.currency
        videos: dict[int, Seller] = {}
        for link_id, link in links[code].items():
            info = link_rows.get(link_id)
            if info is None:
                continue
            link.label = info["code"]
            link.detail = f"@{info['creator__handle']} · {info['product__title']}"
            if info["video_id"] is not None:
                caption = (info["video__caption"] or "").strip()
                video = videos.setdefault(
                    info["video_id"],
                    Seller(
                        key=info["video_id"],
                        label=caption[:60] or f"{info['video__platform']} video",
                        detail=f"@{info['creator__handle']}",
                    ),
                )
                video.revenue += link.revenue
                video.orders += link.orders
        top.creators = _top(creators[code], limit, code)
        top.links = _top(links[code], limit, code)
        top.videos = _top(videos, limit, code)
    handles = dict(
        Creator.objects.filter(pk__in={s.key for top in result for s in top.creators}).values_list(
            "pk", "handle"
        )
    )
    for top in result:
        for seller in top.creators:
            seller.label = f"@{handles.get(seller.key, seller.key)}"
    return result
