"""The ledger reconciliation's scan: every order line's due commission against the ledger.

One set-based statement in PostgreSQL (no Python loop over lines, no correlated subquery per
line): succeeded refunds (with what reversed commission holds took back, a lost dispute) and
ledger lines are summed per order line once, joined to the order
lines a commission is due on (paid, credited, with a rate), and only the lines whose ledger
differs from what the one formula says (commissions.amounts) are returned, with the
ledger lines of order lines no commission is due on whose sum is not zero. Rows are plain
dicts, as the ledger keeps order ids as integers.

Raw SQL, not the ORM: annotations referring to annotated subqueries are inlined wherever they
are used, so the ORM version ran each line's refund and ledger subqueries several times and
took 46 times as long as this statement on 5,000 lines (bench/bench_reconcile.py);
this one matches the hand-written baseline scan.

A line's commission is on what was paid for it, or on its list price where the ledger
recorded it so (its receipt's `commission_basis`); a line the ledger lacks takes its brand's
current terms, as recording would.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection

from commissions.amounts import ledger_due_sql_text, places_sql_text
from commissions.models import CommissionHold, CommissionLine, CommissionTerms
from orders.models import Order, OrderLine, Refund, RefundLine

SCAN_SQL = """
WITH refunded AS (
    SELECT rl.order_line_id, sum(rl.amount) AS amount
    FROM {refund_line} rl JOIN {refund} r ON r.id = rl.refund_id
    WHERE r.status = %(succeeded)s AND rl.order_line_id IS NOT NULL {only_refunds}
    GROUP BY rl.order_line_id
), taken AS (
    SELECT l.order_line_id, sum(coalesce(h.amount, l.base)) AS amount
    FROM {hold} h JOIN {ledger} l ON l.id = h.line_id
    WHERE h.resolution = %(reversed)s {only_taken}
    GROUP BY l.order_line_id
), ledger AS (
    SELECT order_line_id, max(order_id) AS order_id, max(currency) AS currency,
           sum(amount) AS amount, bool_or(kind = %(commission)s) AS has_commission,
           bool_or(kind = %(commission)s AND receipt->>'commission_basis' = 'list_price')
               AS on_list_price
    FROM {ledger} WHERE true {only_ledger}
    GROUP BY order_line_id
), due AS (
    SELECT ol.id AS order_line_id, ol.order_id, ol.currency, ol.line_total AS base,
           CASE WHEN CASE WHEN l.has_commission THEN l.on_list_price
                          ELSE coalesce(t.commission_on_list_price, false) END
                THEN coalesce(ol.list_total, ol.line_total) ELSE ol.line_total END AS basis,
           ol.commission_rate AS rate,
           least(ol.line_total, coalesce(r.amount, 0) + coalesce(tk.amount, 0)) AS refunded,
           coalesce(l.amount, 0) AS ledger, coalesce(l.has_commission, false) AS has_commission
    FROM {order_line} ol
    JOIN {order} o ON o.id = ol.order_id
    LEFT JOIN {terms} t ON t.brand_id = ol.brand_id
    LEFT JOIN refunded r ON r.order_line_id = ol.id
    LEFT JOIN taken tk ON tk.order_line_id = ol.id
    LEFT JOIN ledger l ON l.order_line_id = ol.id
    WHERE o.paid_at IS NOT NULL AND ol.attributed_creator_id IS NOT NULL
      AND ol.commission_rate IS NOT NULL {only_lines}
)
SELECT order_line_id, order_id, currency, base, rate, refunded, due, ledger, has_commission
FROM (SELECT due.*, {due} AS due FROM due) d
WHERE ledger <> due
UNION ALL
SELECT l.order_line_id, l.order_id, l.currency, 0, NULL, 0, 0, l.amount, l.has_commission
FROM ledger l
WHERE l.amount <> 0 AND NOT EXISTS (SELECT 1 FROM due WHERE due.order_line_id = l.order_line_id)
ORDER BY order_line_id
"""


def _sql(restricted: bool) -> str:
    only = "AND {col} = ANY(%(ids)s)" if restricted else ""
    return SCAN_SQL.format(
        refund_line=RefundLine._meta.db_table,
        refund=Refund._meta.db_table,
        ledger=CommissionLine._meta.db_table,
        hold=CommissionHold._meta.db_table,
        order_line=OrderLine._meta.db_table,
        order=Order._meta.db_table,
        terms=CommissionTerms._meta.db_table,
        only_refunds=only.format(col="rl.order_line_id"),
        only_ledger=only.format(col="order_line_id"),
        only_taken=only.format(col="l.order_line_id"),
        only_lines=only.format(col="ol.id"),
        due=ledger_due_sql_text(
            base="base",
            rate="rate",
            refunded="refunded",
            places=places_sql_text("currency"),
            basis="basis",
        ),
    )


def commission_ledger_differences(
    *, order_line_ids: Iterable[int] | None = None
) -> list[dict[str, Any]]:
    """Order lines whose ledger differs from the commission due on them (all, or these).

    Each row: `order_line_id`, `order_id`, `currency`, `base` (paid), `rate` (None for a line
    no commission is due on), `refunded`, `due` (what the ledger should hold), `ledger` (what
    it holds), `has_commission` (a commission line exists). One query.
    """
    params: dict[str, Any] = {
        "succeeded": Refund.Status.SUCCEEDED,
        "commission": CommissionLine.Kind.COMMISSION,
        "reversed": CommissionHold.Resolution.REVERSED,
    }
    if order_line_ids is not None:
        params["ids"] = list(order_line_ids)
    with connection.cursor() as cursor:
        cursor.execute(_sql(order_line_ids is not None), params)
        columns = [c.name for c in cursor.description or ()]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
