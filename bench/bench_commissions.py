"""Commission recording: 100,000 paid, credited order lines through the batch task.

    python -m bench.bench_commissions [--smoke] [--lines N] [--batch-orders N] [--rounds N]
                                      [--profile] [--reuse-db]

Seeds paid orders of 10 credited lines each (3 brands in USD, EUR and JPY, 20 creators,
their links; unmeasured), then, in each round:

- **worker**: one real Celery worker (`celery -A config worker --concurrency=1`, prefork,
  the bench settings, its own queue) records them through
  `creators.tasks.commissions_record_batch`, one task per `--batch-orders` order ids
  (default 500, so 5,000 lines a task). Timed from the first enqueue until every task has
  finished (the end is the last task's `date_done`) and the ledger holds every line. The
  worker is started and warmed up (one empty batch) before the clock starts.
- **baseline**: the ledger is emptied (TRUNCATE: the append-only trigger is a row trigger,
  which TRUNCATE does not fire) and one `INSERT ... SELECT ... ON CONFLICT DO NOTHING`
  writes the same rows, receipt included, in one statement.

Both must give the same rows: same count, same sum of amounts, and the same fingerprint
(md5 over every column but id and created_at, in order line order). Reports lines per
second of both, `worker / baseline`, and the goal: at least 10,000 lines/s through the
worker. `--profile` runs one batch in-process under cProfile and writes the top functions
to bench/results/commissions-profile.txt.

Uses its own database, `tribe_bench_commissions` (recreated unless --reuse-db), and the
Celery queue `bench-commissions` on the bench Redis db; DATABASE_URL and REDIS_URL override.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from datetime import UTC, datetime
from typing import Any

from bench.commissions_data import (
    LINES_PER_ORDER,
    baseline_sql,
    ledger_empty,
    ledger_fingerprint,
    seed,
    seeded_lines,
    seeded_order_ids,
)
from bench.commissions_worker import (
    QUEUE,
    cores_used,
    cpu_now,
    enqueue_batch,
    start_worker,
    stop_worker,
    wait_tasks,
)
from bench.common import (
    RESULTS_DIR,
    BenchError,
    add_common_arguments,
    django_setup,
    prepare_database,
    print_table,
    use_database,
    write_results,
)

NAME = "commissions"
GOAL_LINES_PER_S = 10_000


# --- The two ways -----------------------------------------------------------


def run_worker(
    order_ids: list[int], batch: int, expected: int, worker_pid: int, timeout: float
) -> dict[str, Any]:
    from commissions.models import CommissionLine

    # Warm-up: the child's imports and database connection.
    wait_tasks([enqueue_batch([])], timeout=60)
    batches = [order_ids[i : i + batch] for i in range(0, len(order_ids), batch)]
    before = cpu_now(worker_pid)
    wall_start = datetime.now(UTC)
    started = time.perf_counter()
    results = [enqueue_batch(ids) for ids in batches]
    wait_tasks(results, timeout)
    polled = time.perf_counter() - started
    after = cpu_now(worker_pid)
    done = [r.date_done for r in results]
    ends = [d if d.tzinfo else d.replace(tzinfo=UTC) for d in done if isinstance(d, datetime)]
    # The last task's own finish time; the poll above only bounds it (20 ms steps).
    seconds = (max(ends) - wall_start).total_seconds() if len(ends) == len(results) else polled
    seconds = min(seconds, polled) if seconds > 0 else polled
    due = sum(int(r.result) for r in results)
    count = CommissionLine.objects.count()
    if count != expected or due != expected:
        raise BenchError(f"worker recorded {count} lines ({due} reported due), expected {expected}")
    return {
        "way": "worker, batch task",
        "lines": count,
        "tasks": len(batches),
        "seconds": seconds,
        "lines_per_s": count / seconds,
        **cores_used(before, after, polled),
    }


def run_baseline(order_ids: list[int], expected: int, worker_pid: int) -> dict[str, Any]:
    from django.db import connection, transaction

    from commissions import conf
    from commissions.services.recording import COMMISSION_FORMULA

    sql = baseline_sql()
    params: dict[str, Any] = {
        "formula": COMMISSION_FORMULA,
        "default_hold": conf.hold_days_default(),
        "order_ids": order_ids,
    }
    before = cpu_now(worker_pid)
    started = time.perf_counter()
    with transaction.atomic(durable=True), connection.cursor() as cursor:
        cursor.execute(sql, params)
        inserted = cursor.rowcount
    seconds = time.perf_counter() - started
    after = cpu_now(worker_pid)
    if inserted != expected:
        raise BenchError(f"baseline inserted {inserted} lines, expected {expected}")
    return {
        "way": "INSERT ... SELECT (baseline)",
        "lines": inserted,
        "tasks": 0,
        "seconds": seconds,
        "lines_per_s": inserted / seconds,
        **cores_used(before, after, seconds),
    }


# --- Profile ----------------------------------------------------------------


def profile_one_batch(order_ids: list[int]) -> str:
    """cProfile of the service on one batch, in this process, on an empty ledger."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from commissions.services.recording import commission_record_for_orders

    ledger_empty()
    profiler = cProfile.Profile()
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        profiler.enable()
        due = commission_record_for_orders(order_ids=order_ids)
        profiler.disable()
        seconds = time.perf_counter() - started
    ledger_empty()
    out = io.StringIO()
    out.write(f"one batch in-process: {len(order_ids)} orders, {due} lines, {seconds:.3f}s\n")
    sql_seconds = sum(float(q["time"]) for q in queries.captured_queries)
    statements = len(queries.captured_queries)
    # Django's query time includes psycopg quoting the parameters (client-side binding). The
    # ledger's COPY goes through psycopg's own copy object, which Django does not log: its
    # time is in the profile below (ledger_load._load_copy), not in this list.
    out.write(f"{statements} statements, {sql_seconds:.3f}s in cursor.execute (COPY not listed)\n")
    for q in queries.captured_queries:
        out.write(f"  {float(q['time']):7.3f}s  {q['sql'][:110]}\n")
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(25)
    return out.getvalue()


# --- Main -------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_commissions", description=__doc__)
    add_common_arguments(parser)  # --smoke, --rounds, --reuse-db; the HTTP ones unused
    parser.add_argument("--lines", type=int, help="order lines (default 100,000; smoke 5,000)")
    parser.add_argument(
        "--batch-orders", type=int, help="order ids per task (default 500; smoke 100)"
    )
    parser.add_argument("--timeout", type=float, default=900, help="seconds the tasks may take")
    parser.add_argument("--profile", action="store_true", help="cProfile one batch in-process")
    args = parser.parse_args(argv)
    lines = args.lines or (5_000 if args.smoke else 100_000)
    batch = args.batch_orders or (100 if args.smoke else 500)
    rounds = args.rounds or 1
    if lines % LINES_PER_ORDER:
        raise BenchError(f"--lines must be a multiple of {LINES_PER_ORDER}")

    django_setup()
    use_database("postgres://postgres@127.0.0.1:5432/tribe_bench_commissions")
    from config.celery_app import app

    app.conf.task_always_eager = False

    fresh = prepare_database(reuse=args.reuse_db)
    if not fresh and seeded_lines() != lines:
        prepare_database(reuse=False)
        fresh = True
    if fresh:
        started = time.perf_counter()
        seed(lines)
        print(f"seeded {lines:,} order lines in {time.perf_counter() - started:.1f}s")
    order_ids = seeded_order_ids()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")

    rows: list[dict[str, Any]] = []
    fingerprints: list[dict[str, Any]] = []
    process, worker_name = start_worker(RESULTS_DIR / f"{NAME}-worker.log")
    try:
        for _ in range(rounds):
            ledger_empty()
            rows.append(run_worker(order_ids, batch, lines, process.pid, args.timeout))
            fingerprints.append(ledger_fingerprint())
            ledger_empty()
            rows.append(run_baseline(order_ids, lines, process.pid))
            fingerprints.append(ledger_fingerprint())
    finally:
        stop_worker(process)
    ledger_empty()

    mismatch = [f for f in fingerprints if f != fingerprints[0]]
    if mismatch:
        raise BenchError(f"the two ways wrote different rows: {fingerprints[0]} vs {mismatch[0]}")
    worker_rows = [r for r in rows if r["tasks"]]
    baseline_rows = [r for r in rows if not r["tasks"]]
    worker_rate = sum(r["lines_per_s"] for r in worker_rows) / len(worker_rows)
    baseline_rate = sum(r["lines_per_s"] for r in baseline_rows) / len(baseline_rows)
    ratio = worker_rate / baseline_rate
    print_table(
        rows,
        ["way", "lines", "tasks", "seconds", "lines_per_s", "worker_cores", "postgres_cores",
         "other_cores"],
    )  # fmt: skip
    goals = {
        "lines_per_s_at_least": GOAL_LINES_PER_S,
        "worker_lines_per_s": round(worker_rate),
        "baseline_lines_per_s": round(baseline_rate),
        "worker_over_baseline": round(ratio, 3),
        "met": worker_rate >= GOAL_LINES_PER_S,
        "same_rows": not mismatch,
    }
    profile_path = None
    if args.profile:
        profile_path = RESULTS_DIR / f"{NAME}-profile.txt"
        profile_path.write_text(profile_one_batch(order_ids[:batch]))
    path = write_results(
        NAME if not args.smoke else f"{NAME}-smoke",
        {
            "lines": lines,
            "orders": len(order_ids),
            "lines_per_order": LINES_PER_ORDER,
            "batch_orders": batch,
            "rounds": rounds,
            "worker": {"name": worker_name, "concurrency": 1, "pool": "prefork", "queue": QUEUE},
            "runs": rows,
            "ledger": fingerprints[0],
            "goals": goals,
            "profile": str(profile_path) if profile_path else None,
        },
    )
    print(
        f"worker / baseline = {ratio:.3f}; goal >= {GOAL_LINES_PER_S:,} lines/s through the "
        f"worker: {'met' if goals['met'] else 'MISSED'} ({worker_rate:,.0f}); "
        f"same rows: {fingerprints[0]}\nresults: {path}"
    )
    if profile_path:
        print(f"profile: {profile_path}")
    return 0 if goals["met"] or args.smoke else 1


if __name__ == "__main__":
    sys.exit(main())
