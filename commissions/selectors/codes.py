"""Codes' figures: uses, revenue, discount and commission per code and UTC day, and leaks.

A code's use is a paid order with a line it discounted, counted on the order's `paid_at`
day; revenue is what was paid for those lines, discount what the code took off them, and
commission the ledger's entries on them for the code's creator (commission less reversals,
so a refund lowers it). A use *leaks* when none of its discounted lines carried a click on
one of the code's creator's links (the attribution receipt's click): the code was found
somewhere else, a coupon site or a friend. Each read is the scoped codes (one query) and one
SQL statement over the order lines, whatever the number of codes, days or orders.

Raw SQL: the ledger is summed per order line once and joined, which the ORM would inline
as a correlated subquery under an aggregate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from commissions.models import CommissionLine
from creators.models import Creator, CreatorCode
from orders.models import Order, OrderLine


@dataclass(frozen=True)
class CodeDay:
    code: str
    brand_id: int
    day: date
    currency: str
    uses: int
    revenue: Decimal
    discount: Decimal
    commission: Decimal


@dataclass(frozen=True)
class CodeLeak:
    code: str
    brand_id: int
    creator_id: int
    uses: int
    leaked: int

    @property
    def leaked_share(self) -> Decimal:
        if not self.uses:
            return Decimal(0)
        return (Decimal(self.leaked) / Decimal(self.uses)).quantize(Decimal("0.0001"))


# The code texts, their brands and creators come in as arrays (the scoped codes' query).
_CODES = """
codes AS (
    SELECT * FROM unnest(%(codes)s::text[], %(brands)s::bigint[], %(creators)s::bigint[])
        AS c(code, brand_id, creator_id)
), lines AS (
    SELECT ol.id, ol.order_id, c.code, c.brand_id, c.creator_id, ol.currency, ol.line_total,
           ol.discount_amount, ol.attribution, (o.paid_at AT TIME ZONE 'UTC')::date AS day
    FROM {order_line} ol
    JOIN codes c ON c.code = ol.discount_code AND c.brand_id = ol.brand_id
    JOIN {order} o ON o.id = ol.order_id
    WHERE ol.discount_code = ANY(%(codes)s::text[])
      AND o.paid_at >= %(start)s AND o.paid_at < %(end)s
)"""

DAYS_SQL = """
WITH {codes}, ledger AS (
    SELECT cl.order_line_id, sum(cl.amount) AS amount
    FROM {ledger} cl JOIN lines l ON l.id = cl.order_line_id AND cl.creator_id = l.creator_id
    GROUP BY cl.order_line_id
)
SELECT l.code, l.brand_id, l.day, l.currency, count(DISTINCT l.order_id) AS uses,
       sum(l.line_total) AS revenue, sum(l.discount_amount) AS discount,
       coalesce(sum(g.amount), 0) AS commission
FROM lines l LEFT JOIN ledger g ON g.order_line_id = l.id
GROUP BY l.code, l.brand_id, l.day, l.currency
ORDER BY l.code, l.day, l.currency
"""

LEAKS_SQL = """
WITH {codes}, uses AS (
    SELECT l.code, l.brand_id, l.creator_id, l.order_id,
           bool_or(l.attribution->>'click_id' IS NOT NULL
                   AND l.attribution->>'creator_id' = l.creator_id::text) AS clicked
    FROM lines l WHERE l.creator_id IS NOT NULL
    GROUP BY l.code, l.brand_id, l.creator_id, l.order_id
)
SELECT code, brand_id, creator_id, count(*) AS uses, count(*) FILTER (WHERE NOT clicked) AS leaked
FROM uses
GROUP BY code, brand_id, creator_id
ORDER BY leaked DESC, code
"""


def _tables(sql: str) -> str:
    codes = _CODES.format(order_line=OrderLine._meta.db_table, order=Order._meta.db_table)
    return sql.format(codes=codes, ledger=CommissionLine._meta.db_table)


def _run(sql: str, codes: QuerySet[CreatorCode], start: datetime, end: datetime) -> list[Any]:
    scoped = list(codes.order_by().values_list("code", "brand_id", "creator_id"))
    if not scoped:
        return []
    params: dict[str, Any] = {
        "codes": [row[0] for row in scoped],
        "brands": [row[1] for row in scoped],
        "creators": [row[2] for row in scoped],
        "start": start,
        "end": end,
    }
    with connection.cursor() as cursor:
        cursor.execute(_tables(sql), params)
        return cursor.fetchall()


def code_days(*, codes: QuerySet[CreatorCode], start: datetime, end: datetime) -> list[CodeDay]:
    """Each code's figures per UTC day with a paid use in [start, end), by code then day.

    `codes` is the caller's scope (a creator's or a brand's codes). Two queries.
    """
    return [CodeDay(*row) for row in _run(DAYS_SQL, codes, start, end)]


def code_days_for_creator(*, creator: Creator, start: datetime, end: datetime) -> list[CodeDay]:
    return code_days(codes=CreatorCode.objects.filter(creator=creator), start=start, end=end)


def code_days_for_brands(
    *, brand_ids: frozenset[int] | set[int], start: datetime, end: datetime
) -> list[CodeDay]:
    return code_days(codes=CreatorCode.objects.filter(brand_id__in=brand_ids), start=start, end=end)


def code_leaks_for_brands(
    *, brand_ids: frozenset[int] | set[int], start: datetime, end: datetime
) -> list[CodeLeak]:
    """The brands' creators' codes used in [start, end), most leaked uses first. Two queries."""
    codes = CreatorCode.objects.filter(brand_id__in=brand_ids, creator__isnull=False)
    return [CodeLeak(*row) for row in _run(LEAKS_SQL, codes, start, end)]
