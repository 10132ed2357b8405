"""Creators' sales and commission stats: their credited order lines, bucketed, in one query."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    DateTimeField,
    DecimalField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Round, TruncDay, TruncHour

from commissions.amounts import commission_amount_sql
from commissions.models import CommissionTerms
from orders.models import OrderLine
from orders.state import SOLD_STATUSES


def _creator_lines_bucketed(
    *,
    creator_id: int,
    statuses: Iterable[str],
    start: datetime,
    end: datetime,
    interval: Literal["hour", "day"] | None,
    by_link: bool,
    link_groups: Mapping[int, int] | None,
) -> tuple[QuerySet[OrderLine], Any, Any]:
    """A creator's credited lines paid in [start, end) with their time bucket and group key,
    and what their commission is computed on (`commission_basis`, as the ledger records it:
    what the shopper paid, or the list price where the brand's terms say so)."""
    on_list_price = Exists(
        CommissionTerms.objects.filter(brand_id=OuterRef("brand_id"), commission_on_list_price=True)
    )
    lines = OrderLine.objects.filter(
        attributed_creator_id=creator_id,
        order__status__in=list(statuses),
        order__paid_at__gte=start,
        order__paid_at__lt=end,
    ).alias(
        commission_basis=Case(
            When(on_list_price, then=Coalesce("list_total", "line_total")),
            default=F("line_total"),
            output_field=DecimalField(max_digits=14, decimal_places=3),
        )
    )
    bucket: Any = Value(None, output_field=DateTimeField())
    if interval == "hour":
        bucket = TruncHour("order__paid_at", tzinfo=UTC)
    elif interval == "day":
        bucket = TruncDay("order__paid_at", tzinfo=UTC)
    key: Any = Value(None, output_field=BigIntegerField())
    if by_link:
        key = F("attributed_link_id")
    elif link_groups is not None:
        members: dict[int, list[int]] = {}
        for link_id, group in link_groups.items():
            members.setdefault(group, []).append(link_id)
        key = Case(
            *(When(attributed_link_id__in=ids, then=Value(g)) for g, ids in members.items()),
            default=Value(None),
            output_field=BigIntegerField(),
        )
    return lines, bucket, key


def _commission_estimate() -> Round:
    """The ledger's formula for lines it has not recorded yet, in SQL (one definition), on
    the basis the ledger will use (`commission_basis`)."""
    return commission_amount_sql(base="commission_basis", rate="commission_rate")


def creator_sales_aggregate(
    *,
    creator_id: int,
    start: datetime,
    end: datetime,
    interval: Literal["hour", "day"] | None = None,
    by_link: bool = False,
    link_groups: Mapping[int, int] | None = None,
) -> list[dict[str, Any]]:
    """Sum the paid order lines credited to a creator in [start, end), in one query.

    Sales count when the order is paid, at its `paid_at`: fully refunded orders drop out, and
    partial refunds (when they land) will count as sold. One row per UTC hour or day bucket
    (`bucket`, None without an interval), per `key` (the line's link id with `by_link`, the
    group `link_groups` maps the link to, else None; storefront sales have no link) and per
    currency: distinct `orders`, `units`, `revenue` (line totals) and `commission`, estimated
    as the ledger computes it: the line's basis (what the shopper paid, or its list price on
    the brand's terms) x commission_rate / 100 rounded half-up to the currency's precision,
    line by line.
    """
    lines, bucket, key = _creator_lines_bucketed(
        creator_id=creator_id,
        statuses=SOLD_STATUSES,
        start=start,
        end=end,
        interval=interval,
        by_link=by_link,
        link_groups=link_groups,
    )
    money: DecimalField = DecimalField(max_digits=20, decimal_places=3)
    commission = _commission_estimate()
    return list(
        lines.annotate(bucket=bucket, key=key)
        .values("bucket", "key", "currency")
        .annotate(
            orders=Count("order_id", distinct=True),
            units=Sum("quantity"),
            revenue=Sum("line_total", output_field=money),
            commission=Sum(commission, output_field=money),
        )
        .order_by("bucket", "key", "currency")
    )


# --- Creator stats: commission from the ledger where it has the line ---------------------


def creator_commission_aggregate(
    *,
    creator_id: int,
    start: datetime,
    end: datetime,
    ledger: Any,
    interval: Literal["hour", "day"] | None = None,
    by_link: bool = False,
    link_groups: Mapping[int, int] | None = None,
) -> list[dict[str, Any]]:
    """Commission of the lines credited to a creator, bucketed like `creator_sales_aggregate`.

    `ledger` is an expression on the line (`OuterRef("pk")`) giving the sum of its ledger
    entries, reversals included, or NULL when the ledger does not have the line yet. A line
    on the ledger counts at that sum, whatever happened to its order since (a full refund's
    reversal brings it to zero); a line not on it yet counts at the estimate of
    `creator_sales_aggregate`, if its order is still sold. One row per bucket, key and
    currency: `commission`, `ledger_lines`, `estimated_lines`. One query.
    """
    from orders.state import PAID_STATUSES

    lines, bucket, key = _creator_lines_bucketed(
        creator_id=creator_id,
        statuses=PAID_STATUSES,
        start=start,
        end=end,
        interval=interval,
        by_link=by_link,
        link_groups=link_groups,
    )
    money: DecimalField = DecimalField(max_digits=20, decimal_places=3)
    estimate = _commission_estimate()
    on_ledger = Q(ledger_amount__isnull=False)
    sold = Q(order__status__in=SOLD_STATUSES)
    return list(
        lines.alias(ledger_amount=ledger)
        .annotate(bucket=bucket, key=key)
        .values("bucket", "key", "currency")
        .annotate(
            commission=Sum(
                Case(
                    When(on_ledger, then=F("ledger_amount")),
                    When(sold, then=estimate),
                    default=Value(Decimal(0)),
                    output_field=money,
                ),
                output_field=money,
            ),
            ledger_lines=Count("pk", filter=on_ledger),
            estimated_lines=Count("pk", filter=~on_ledger & sold),
        )
        .order_by("bucket", "key", "currency")
    )
