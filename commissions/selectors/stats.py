"""A creator's analytics: clicks and sales by UTC hour or day, by link or video, summed in SQL.

Clicks by day come from the daily aggregates (kept forever), clicks by hour from the raw
clicks (kept `CLICK_RETENTION_DAYS`), and the clicks still queued in Redis are added to their
buckets so the last minutes are near-live; they are not in the database yet, so nothing is
counted twice. Sales come from `commissions.selectors.sales.creator_sales_aggregate`;
commission from the ledger (commission less reversals) for the lines it has, estimated from
the line's rate snapshot for the lines not recorded yet (`commission_status` says which).
Every figure is an aggregate query: the query count is fixed whatever the number of links,
days or orders.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal

from django.conf import settings
from django.db.models import (
    BigIntegerField,
    Count,
    DecimalField,
    F,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import TruncHour

from commissions.models import CommissionLine
from commissions.selectors.sales import creator_commission_aggregate, creator_sales_aggregate
from common.errors import ValidationFailed
from creators.attribution.clicks import clicks_pending
from creators.models import AffiliateLink, Click, ClickDaily, Creator

Interval = Literal["hour", "day"]
GroupBy = Literal["none", "link", "video"]

DEFAULT_RANGE = timedelta(days=7)
MAX_RANGE = timedelta(days=92)
MAX_HOURLY_RANGE = timedelta(days=7)
_STEP: dict[str, timedelta] = {"hour": timedelta(hours=1), "day": timedelta(days=1)}


def _floor(at: datetime, interval: Interval) -> datetime:
    at = at.astimezone(UTC)
    if interval == "day":
        return at.replace(hour=0, minute=0, second=0, microsecond=0)
    return at.replace(minute=0, second=0, microsecond=0)


def _ceil(at: datetime, interval: Interval) -> datetime:
    floor = _floor(at, interval)
    return floor if floor == at else floor + _STEP[interval]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


@dataclass(frozen=True)
class StatsWindow:
    """[start, end) in whole UTC buckets of `interval`."""

    start: datetime
    end: datetime
    interval: Interval

    def buckets(self) -> list[datetime]:
        step = _STEP[self.interval]
        count = (self.end - self.start) // step
        return [self.start + i * step for i in range(count)]

    def bucket_of(self, at: datetime) -> datetime | None:
        return _floor(at, self.interval) if self.start <= at < self.end else None


def stats_window(
    *,
    start: date | datetime | None,
    end: date | datetime | None,
    interval: Interval,
    now: datetime,
) -> StatsWindow:
    """Widen the asked range to whole UTC buckets; 400 `invalid_range` when it cannot be served.

    A date means the whole day (`to` included); a date-time is widened to its hour or day.
    `to` defaults to the end of today, `from` to 7 days before `to`.
    """
    if isinstance(end, datetime):
        end_at = _ceil(end, interval)
    elif isinstance(end, date):
        end_at = _midnight(end + timedelta(days=1))
    else:
        end_at = _ceil(now, "day")
    if isinstance(start, datetime):
        start_at = _floor(start, interval)
    elif isinstance(start, date):
        start_at = _midnight(start)
    else:
        start_at = end_at - DEFAULT_RANGE

    def refuse(name: str, message: str) -> ValidationFailed:
        return ValidationFailed(message, code="invalid_range", fields={name: [message]})

    if end_at <= start_at:
        raise refuse("to", "`to` must come after `from`.")
    if end_at - start_at > MAX_RANGE:
        raise refuse("to", f"A range covers at most {MAX_RANGE.days} days.")
    if interval == "hour":
        if end_at - start_at > MAX_HOURLY_RANGE:
            raise refuse(
                "interval",
                f"Hourly stats cover at most {MAX_HOURLY_RANGE.days} days; use interval=day.",
            )
        retention = timedelta(days=settings.CLICK_RETENTION_DAYS)
        if start_at < _floor(now - retention, "hour"):
            raise refuse(
                "from",
                f"Hourly stats reach back {retention.days} days (raw clicks are kept that "
                "long); use interval=day.",
            )
    return StatsWindow(start=start_at, end=end_at, interval=interval)


@dataclass
class Figures:
    """Counts and money (currency -> amount) of one bucket, or of the whole range."""

    clicks: int = 0
    unique_clicks: int = 0
    orders: int = 0
    units: int = 0
    revenue: dict[str, Decimal] = field(default_factory=dict)
    commission: dict[str, Decimal] = field(default_factory=dict)

    def add_sales(self, row: Mapping[str, Any]) -> None:
        # An order is in one currency, so distinct orders add up across currency rows.
        currency = row["currency"]
        self.orders += row["orders"]
        self.units += row["units"] or 0
        self.revenue[currency] = self.revenue.get(currency, Decimal(0)) + (row["revenue"] or 0)

    def add_commission(self, currency: str, amount: Decimal) -> None:
        # A bucket whose only lines were refunded in full and reversed shows no commission.
        if amount or currency in self.revenue or currency in self.commission:
            self.commission[currency] = self.commission.get(currency, Decimal(0)) + amount


@dataclass(kw_only=True)
class StatsPoint(Figures):
    """One bucket of the series; `key` is the link or video id when grouped."""

    bucket: datetime
    group_by: GroupBy
    key: int | None


@dataclass(frozen=True)
class CreatorStats:
    window: StatsWindow
    group_by: GroupBy
    totals: Figures
    series: list[StatsPoint]
    pending_clicks: int
    # "ledger": every credited line is on the ledger; "partial": some are estimated (not
    # recorded yet); "estimated": none is on the ledger (or nothing sold).
    commission_status: str = "estimated"


def _ledger_amount() -> Subquery:
    """The sum of an order line's ledger entries (reversals included); NULL when none."""
    entries = (
        CommissionLine.objects.filter(order_line_id=OuterRef("pk"))
        .order_by()
        .values("order_line_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return Subquery(entries, output_field=DecimalField(max_digits=20, decimal_places=3))


def _commission_status(ledger_lines: int, estimated_lines: int) -> str:
    if ledger_lines and not estimated_lines:
        return "ledger"
    return "partial" if ledger_lines else "estimated"


def _click_rows(
    *, creator: Creator, window: StatsWindow, group_by: GroupBy
) -> list[dict[str, Any]]:
    """Human and unique clicks per bucket and key, in one query."""
    key: Any = Value(None, output_field=BigIntegerField())
    if group_by == "link":
        key = F("link_id")
    elif group_by == "video":
        key = F("link__video_id")
    if window.interval == "day":
        daily = (
            ClickDaily.objects.filter(
                link__creator=creator,
                date__gte=window.start.date(),
                date__lt=window.end.date(),
            )
            .annotate(key=key)
            .values("date", "key")
            .annotate(clicks=Sum("clicks"), unique_clicks=Sum("unique_clicks"))
            .order_by()
        )
        return [{**row, "bucket": _midnight(row["date"])} for row in daily]
    return list(
        Click.objects.filter(
            link__creator=creator, clicked_at__gte=window.start, clicked_at__lt=window.end
        )
        .annotate(bucket=TruncHour("clicked_at", tzinfo=UTC), key=key)
        .values("bucket", "key")
        .annotate(
            clicks=Count("pk", filter=Q(is_bot=False)),
            unique_clicks=Count("pk", filter=Q(is_bot=False, is_unique=True)),
        )
        .order_by()
    )


def creator_stats(*, creator: Creator, window: StatsWindow, group_by: GroupBy) -> CreatorStats:
    """Clicks, unique clicks, orders, units, revenue and commission of a creator.

    Without grouping the series has every bucket of the window (zeros included); grouped by
    link or video it has only the (bucket, key) pairs with any activity. Sales without a link
    (storefront) and links without a video fall under key None.
    """
    video_of: dict[int, int | None] = dict(
        AffiliateLink.objects.filter(creator=creator).order_by().values_list("pk", "video_id")
    )

    def key_of(link_id: int) -> int | None:
        if group_by == "link":
            return link_id
        if group_by == "video":
            return video_of.get(link_id)
        return None

    points: dict[tuple[datetime, int | None], StatsPoint] = {}

    def point(bucket: datetime, key: int | None) -> StatsPoint:
        found = points.get((bucket, key))
        if found is None:
            found = points[(bucket, key)] = StatsPoint(bucket=bucket, group_by=group_by, key=key)
        return found

    if group_by == "none":
        for bucket in window.buckets():
            point(bucket, None)

    for row in _click_rows(creator=creator, window=window, group_by=group_by):
        figures = point(row["bucket"], row["key"])
        figures.clicks += row["clicks"] or 0
        figures.unique_clicks += row["unique_clicks"] or 0

    # Queued clicks are not in the database yet: the flush takes them off the list first.
    pending: Counter[tuple[datetime, int | None, bool]] = Counter()
    for record, unique in clicks_pending(link_ids=set(video_of)):
        slot = window.bucket_of(datetime.fromtimestamp(record.at, tz=UTC))
        if slot is not None and not record.is_bot:
            pending[(slot, key_of(record.link_id), unique)] += 1
    for (bucket, key, unique), count in pending.items():
        figures = point(bucket, key)
        figures.clicks += count
        figures.unique_clicks += count if unique else 0

    grouping: dict[str, Any] = {
        "creator_id": creator.pk,
        "start": window.start,
        "end": window.end,
        "interval": window.interval,
        "by_link": group_by == "link",
        "link_groups": (
            {link: video for link, video in video_of.items() if video is not None}
            if group_by == "video"
            else None
        ),
    }
    for row in creator_sales_aggregate(**grouping):
        point(row["bucket"], row["key"]).add_sales(row)

    totals = Figures(
        clicks=sum(f.clicks for f in points.values()),
        unique_clicks=sum(f.unique_clicks for f in points.values()),
    )
    # Distinct orders do not add up across links or videos: count them once more, ungrouped.
    for row in creator_sales_aggregate(creator_id=creator.pk, start=window.start, end=window.end):
        totals.add_sales(row)
    # Money does add up: the totals' commission is the sum of the series'.
    ledger_lines = estimated_lines = 0
    for row in creator_commission_aggregate(**grouping, ledger=_ledger_amount()):
        amount = row["commission"] or Decimal(0)
        ledger_lines += row["ledger_lines"]
        estimated_lines += row["estimated_lines"]
        if amount or (row["bucket"], row["key"]) in points:
            point(row["bucket"], row["key"]).add_commission(row["currency"], amount)
        totals.add_commission(row["currency"], amount)

    series = sorted(points.values(), key=lambda p: (p.bucket, p.key is None, p.key or 0))
    return CreatorStats(
        window=window,
        group_by=group_by,
        totals=totals,
        series=series,
        pending_clicks=sum(pending.values()),
        commission_status=_commission_status(ledger_lines, estimated_lines),
    )
