"""Ledger reconciliation: the scan over 100,000 order lines, against a raw SQL baseline.

    python -m bench.bench_reconcile [--smoke] [--lines N] [--rounds N] [--broken N] [--reuse-db]

Seeds (unmeasured) the commissions benchmark's paid, credited order lines
(bench/commissions_data.py), their commission lines (its one-statement baseline insert), and
a succeeded refund of a third of every tenth line with the reversal the ledger writes for it,
so the ledger is right. Then, in each round:

- **service**: `ledger_reconcile()` (commissions/services/reconciliation.py), the daily job's
  body: the scan of commissions.selectors.reconciliation (the commission formula of
  commissions/amounts.py, as SQL) and its report. It must find nothing.
- **baseline**: the same scan hand-written in SQL (aggregates joined, no correlated
  subqueries), returning the count of differing lines: it must be 0 too.

Then `--broken N` commission amounts (default 100) are moved by a cent around the append-only
trigger, and one more `ledger_reconcile()` is timed: it must find and correct exactly N lines,
and a run after it must find nothing. Reports seconds and lines per second of each way and
`service / baseline`.

Uses its own database, `tribe_bench_reconcile` (recreated unless --reuse-db); DATABASE_URL
overrides.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

from bench.commissions_data import LINES_PER_ORDER, baseline_sql, ledger_empty, seed, seeded_lines
from bench.common import (
    BenchError,
    add_common_arguments,
    django_setup,
    prepare_database,
    print_table,
    use_database,
    write_results,
)

NAME = "reconcile"

# Every tenth line refunded by a third, with the reversal recording writes for it.
REFUNDS_SQL = """
WITH picked AS (
    SELECT ol.id, ol.order_id, ol.brand_id, ol.currency, ol.line_total,
           round(ol.line_total / 3, {exponent}) AS refunded, {exponent} AS exp
    FROM orders_orderline ol WHERE ol.id % 10 = 0
), refunds AS (
    INSERT INTO orders_refund (order_id, brand_id, amount, currency, status, source, reason,
                               note, restock, stripe_status, last_error, created_at, completed_at)
    SELECT order_id, brand_id, refunded, currency, 'succeeded', 'brand', '', 'bench:' || id,
           false, 'succeeded', '', now(), now()
    FROM picked
    RETURNING id, note
), refund_lines AS (
    INSERT INTO orders_refundline (refund_id, order_line_id, brand_id, quantity, restocked, amount)
    SELECT r.id, p.id, p.brand_id, 0, 0, p.refunded
    FROM refunds r JOIN picked p ON r.note = 'bench:' || p.id
    RETURNING refund_id, order_line_id
)
INSERT INTO creators_commissionline (
    kind, status, creator_id, link_id, brand_id, order_id, order_line_id, refund_id, currency,
    base, rate, amount, refunded_to_date, receipt, earned_at, payable_at, approved_at,
    payout_id, created_at
)
SELECT 'reversal', c.status, c.creator_id, c.link_id, c.brand_id, c.order_id, c.order_line_id,
       rl.refund_id::text, c.currency, -p.refunded, c.rate,
       -round(c.amount * p.refunded / c.base, p.exp), p.refunded, '{{}}'::jsonb, now(),
       c.payable_at, NULL, NULL, now()
FROM refund_lines rl
JOIN picked p ON p.id = rl.order_line_id
JOIN creators_commissionline c ON c.order_line_id = p.id AND c.kind = 'commission'
"""

# The same scan as commissions.selectors.reconciliation, by hand: the count of lines whose
# ledger differs.
BASELINE_SCAN_SQL = """
WITH refunded AS (
    SELECT rl.order_line_id, sum(rl.amount) AS s
    FROM orders_refundline rl JOIN orders_refund r ON r.id = rl.refund_id
    WHERE r.status = 'succeeded' AND rl.order_line_id IS NOT NULL
    GROUP BY rl.order_line_id
), ledger AS (
    SELECT order_line_id, sum(amount) AS s FROM creators_commissionline GROUP BY order_line_id
), due AS (
    SELECT ol.id, ol.line_total AS base, coalesce(r.s, 0) AS refunded,
           coalesce(l.s, 0) AS ledger, x.exp,
           round(ol.line_total * ol.commission_rate / 100, x.exp) AS commission
    FROM orders_orderline ol
    JOIN orders_order o ON o.id = ol.order_id
    LEFT JOIN refunded r ON r.order_line_id = ol.id
    LEFT JOIN ledger l ON l.order_line_id = ol.id
    CROSS JOIN LATERAL (SELECT {exponent} AS exp) x
    WHERE o.paid_at IS NOT NULL AND ol.attributed_creator_id IS NOT NULL
      AND ol.commission_rate IS NOT NULL
)
SELECT
    (SELECT count(*) FROM due WHERE ledger <> commission - CASE
        WHEN base <= 0 THEN 0 WHEN refunded >= base THEN commission
        ELSE round(commission * refunded / base, exp) END)
  + (SELECT count(*) FROM ledger l WHERE l.s <> 0 AND NOT EXISTS (
        SELECT 1 FROM due WHERE due.id = l.order_line_id))
"""


def _exponent(column: str) -> str:
    from common.money import THREE_DECIMAL_CURRENCIES, ZERO_DECIMAL_CURRENCIES

    zero = ", ".join(f"'{c}'" for c in sorted(ZERO_DECIMAL_CURRENCIES))
    three = ", ".join(f"'{c}'" for c in sorted(THREE_DECIMAL_CURRENCIES))
    return f"(CASE WHEN {column} IN ({zero}) THEN 0 WHEN {column} IN ({three}) THEN 3 ELSE 2 END)"


def seed_ledger(order_ids: list[int]) -> int:
    """The ledger a correct system holds for the seeded lines: commissions, refund reversals."""
    from django.db import connection, transaction

    from commissions import conf
    from commissions.services.recording import COMMISSION_FORMULA

    ledger_empty()
    with transaction.atomic(durable=True), connection.cursor() as cursor:
        cursor.execute(
            baseline_sql(),
            {
                "formula": COMMISSION_FORMULA,
                "default_hold": conf.hold_days_default(),
                "order_ids": order_ids,
            },
        )
        cursor.execute(REFUNDS_SQL.format(exponent=_exponent("ol.currency")))
        refunded = cursor.rowcount
        cursor.execute("ANALYZE")
    return refunded


def run_service() -> dict[str, Any]:
    from commissions.services.reconciliation import ledger_reconcile

    started = time.perf_counter()
    report = ledger_reconcile()
    seconds = time.perf_counter() - started
    return {"way": "ledger_reconcile() (service)", "seconds": seconds, "found": report.found}


def run_baseline() -> dict[str, Any]:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(BASELINE_SCAN_SQL.format(exponent=_exponent("ol.currency")))
        (found,) = cursor.fetchone()
    seconds = time.perf_counter() - started
    return {"way": "raw SQL scan (baseline)", "seconds": seconds, "found": found}


def break_ledger(count: int) -> None:
    """Move `count` commission amounts by one minor unit, as a bug bypassing the trigger might."""
    from django.db import connection, transaction

    with transaction.atomic(durable=True), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            "UPDATE creators_commissionline SET amount = amount + 1 WHERE id IN ("
            " SELECT id FROM creators_commissionline WHERE kind = 'commission'"
            " ORDER BY id LIMIT %s)",
            [count],
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_reconcile", description=__doc__)
    add_common_arguments(parser)  # --smoke, --rounds, --reuse-db; the HTTP ones unused
    parser.add_argument("--lines", type=int, help="order lines (default 100,000; smoke 5,000)")
    parser.add_argument("--broken", type=int, default=100, help="commission lines to break")
    args = parser.parse_args(argv)
    lines = args.lines or (5_000 if args.smoke else 100_000)
    rounds = args.rounds or (1 if args.smoke else 3)
    if lines % LINES_PER_ORDER:
        raise BenchError(f"--lines must be a multiple of {LINES_PER_ORDER}")

    django_setup()
    use_database("postgres://postgres@127.0.0.1:5432/tribe_bench_reconcile")
    fresh = prepare_database(reuse=args.reuse_db)
    if not fresh and seeded_lines() != lines:
        prepare_database(reuse=False)
        fresh = True
    if fresh:
        started = time.perf_counter()
        seed(lines)
        print(f"seeded {lines:,} order lines in {time.perf_counter() - started:.1f}s")
    from bench.commissions_data import seeded_order_ids

    refunded = seed_ledger(seeded_order_ids())

    rows: list[dict[str, Any]] = []
    for _ in range(rounds):
        rows.append(run_service())
        rows.append(run_baseline())
    wrong = [row for row in rows if row["found"]]
    if wrong:
        raise BenchError(f"a correct ledger showed differences: {wrong}")

    break_ledger(args.broken)
    broken = run_service()
    broken["way"] = f"ledger_reconcile() with {args.broken} broken"
    after = run_service()
    if broken["found"] != args.broken or after["found"]:
        raise BenchError(f"broken run found {broken['found']}, the next {after['found']}")
    rows.append(broken)
    for row in rows:
        row["lines"] = lines
        row["lines_per_s"] = lines / row["seconds"]
    print_table(rows, ["way", "lines", "found", "seconds", "lines_per_s"])
    service = statistics.median(r["seconds"] for r in rows if r["way"].endswith("(service)"))
    baseline = statistics.median(r["seconds"] for r in rows if r["way"].endswith("(baseline)"))
    path = write_results(
        NAME if not args.smoke else f"{NAME}-smoke",
        {
            "lines": lines,
            "refunded_lines": refunded,
            "rounds": rounds,
            "runs": rows,
            "service_seconds_median": service,
            "baseline_seconds_median": baseline,
            "service_over_baseline": service / baseline,
        },
    )
    print(
        f"service {service:.3f}s, raw SQL {baseline:.3f}s on {lines:,} lines: "
        f"service / baseline = {service / baseline:.2f}\nresults: {path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
