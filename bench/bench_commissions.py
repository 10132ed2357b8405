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
import os
import pstats
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bench.common import (
    RESULTS_DIR,
    ROOT,
    SETTINGS_MODULE,
    BenchError,
    add_common_arguments,
    django_setup,
    prepare_database,
    print_table,
    write_results,
)

NAME = "commissions"
GOAL_LINES_PER_S = 10_000
LINES_PER_ORDER = 10
QUEUE = "bench-commissions"
SEED_SCOPE = "bench-commissions"
CREATORS = 20
# (slug, currency, hold days or None for the settings' default, unit prices)
BRANDS = [
    ("bench-usd", "USD", 14, ["19.99", "7.45", "33.33", "120.00"]),
    ("bench-eur", "EUR", None, ["9.95", "24.50", "0.99"]),
    ("bench-jpy", "JPY", 45, ["1980", "555", "12345"]),
]
RATES = [Decimal(r) for r in ("5.00", "7.50", "10.00", "12.50", "15.00")]

# What `commission_record_for_orders` writes, as one statement (see `_commission_row`).
BASELINE_SQL = """
INSERT INTO creators_commissionline (
    kind, status, creator_id, link_id, brand_id, order_id, order_line_id, refund_id,
    currency, base, rate, amount, refunded_to_date, receipt, earned_at, payable_at,
    approved_at, payout_id, created_at
)
SELECT
    'commission', 'pending', ol.attributed_creator_id, l.id, ol.brand_id, ol.order_id, ol.id,
    '', ol.currency, b.base, ol.commission_rate,
    round(b.base * ol.commission_rate / 100, e.exp), NULL,
    jsonb_build_object(
        'attribution', ol.attribution,
        'rule', ol.attribution -> 'rule',
        'rate', ol.commission_rate::text,
        'rate_source', ol.attribution -> 'rate_source',
        'base', b.base::text,
        'currency', ol.currency,
        'formula', %(formula)s::text,
        'hold_days', h.days,
        'paid_at', {paid_at_iso},
        'payable_at', {payable_at_iso}
    ),
    o.paid_at, o.paid_at + make_interval(days => h.days), NULL, NULL, now()
FROM orders_orderline ol
JOIN orders_order o ON o.id = ol.order_id
JOIN creators_creator c ON c.id = ol.attributed_creator_id
LEFT JOIN creators_affiliatelink l ON l.id = ol.attributed_link_id
LEFT JOIN creators_commissionterms t ON t.brand_id = ol.brand_id
CROSS JOIN LATERAL (SELECT coalesce(t.hold_days, %(default_hold)s::int) AS days) h
CROSS JOIN LATERAL (SELECT {exponent} AS exp) e
CROSS JOIN LATERAL (SELECT round(ol.line_total, e.exp) AS base) b
WHERE ol.order_id = ANY(%(order_ids)s)
  AND o.paid_at IS NOT NULL
  AND ol.attributed_creator_id IS NOT NULL
  AND ol.commission_rate IS NOT NULL
ORDER BY ol.id
ON CONFLICT DO NOTHING
"""

# Python's datetime.isoformat() of an aware UTC datetime: microseconds only when non-zero.
ISO_SQL = (
    "to_char({ts} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS')"
    " || CASE WHEN date_trunc('second', {ts}) = {ts} THEN ''"
    " ELSE to_char({ts} AT TIME ZONE 'UTC', '.US') END || '+00:00'"
)

FINGERPRINT_SQL = """
SELECT count(*), coalesce(sum(amount), 0), md5(coalesce(string_agg(concat_ws('|',
    kind, status, creator_id, coalesce(link_id::text, '-'), brand_id, order_id, order_line_id,
    refund_id, currency, base, rate, amount, coalesce(refunded_to_date::text, '-'),
    receipt::text, earned_at, payable_at, coalesce(approved_at::text, '-'),
    coalesce(payout_id::text, '-')), E'\\n' ORDER BY order_line_id), ''))
FROM creators_commissionline
"""


# --- Seed -------------------------------------------------------------------


def seed(lines: int) -> list[int]:
    """Paid orders of LINES_PER_ORDER credited lines each; returns the order ids."""
    from django.contrib.auth import get_user_model

    from creators.models import AffiliateLink, CommissionTerms, Creator
    from orders.models import Order, OrderLine
    from shop.models import Brand, Product, Variant

    variants: list[tuple[Variant, str]] = []
    for slug, currency, hold, prices in BRANDS:
        brand = Brand.objects.create(name=slug, slug=slug, currency=currency)
        if hold is not None:
            CommissionTerms.objects.create(brand=brand, hold_days=hold)
        for i, price in enumerate(prices):
            product = Product.objects.create(
                brand=brand, title=f"{slug} {i}", slug=f"{slug}-{i}", status="active"
            )
            variant = Variant.objects.create(
                product=product, sku=f"{slug}-{i}", price=Decimal(price), on_hand=1_000_000
            )
            variants.append((variant, currency))
    users = get_user_model().objects.bulk_create(
        get_user_model()(email=f"creator{i}@bench.example", password="!") for i in range(CREATORS)
    )
    creators = Creator.objects.bulk_create(
        Creator(user=user, handle=f"bench_creator_{i}", display_name=f"Creator {i}")
        for i, user in enumerate(users)
    )
    lock_ends = datetime.now(UTC) + timedelta(days=30)
    links = AffiliateLink.objects.bulk_create(
        AffiliateLink(
            creator=creator,
            product=variant.product,
            code=f"bc{c:03d}v{v:02d}",
            locked_rate=RATES[(c + v) % len(RATES)],
            lock_ends_at=lock_ends,
        )
        for c, creator in enumerate(creators)
        for v, (variant, _) in enumerate(variants)
    )
    link_of = {(link.creator_id, link.product_id): link for link in links}

    orders_needed = -(-lines // LINES_PER_ORDER)
    paid_base = datetime.now(UTC) - timedelta(days=2)
    orders = Order.objects.bulk_create(
        (
            Order(
                checkout_scope=SEED_SCOPE,
                checkout_key=uuid.uuid4().hex,
                email=f"fan{n}@example.com",
                shipping_address={},
                currency=variants[n % len(variants)][1],
                items_total=Decimal(0),
                shipping_total=Decimal(0),
                grand_total=Decimal(0),
                status=Order.Status.PAID,
                # Microseconds on most, none on some: the receipt's isoformat() differs.
                paid_at=paid_base + timedelta(seconds=n, microseconds=(n * 7919) % 1_000_000),
                reservation_expires_at=paid_base,
            )
            for n in range(orders_needed)
        ),
        batch_size=5000,
    )

    def order_line(k: int) -> OrderLine:
        order = orders[k // LINES_PER_ORDER]
        # Every line of an order in the order's currency, so from one brand.
        brand_variants = [v for v, cur in variants if cur == order.currency]
        variant = brand_variants[k % len(brand_variants)]
        creator = creators[(k // LINES_PER_ORDER) % CREATORS]
        quantity = 1 + k % 3
        rate = RATES[k % len(RATES)]
        link = link_of[(creator.pk, variant.product_id)] if k % 4 else None
        receipt: dict[str, Any] = {
            "credited": True,
            "reason": "last_click" if link else "storefront",
            "rule": "last_click" if link else "storefront",
            "creator_id": creator.pk,
            "rate": str(rate),
            "rate_source": "link_lock" if link else "brand_default",
            "window_days": 30,
            "decided_at": order.paid_at.isoformat() if order.paid_at else None,
        }
        if link:
            receipt |= {"link_id": link.pk, "click_id": f"c{k:08d}"}
        if k % 10 == 3:
            del receipt["rate_source"]  # older receipts lack it: the ledger stores null
        return OrderLine(
            order=order,
            variant=variant,
            product_id=variant.product_id,
            brand_id=variant.product.brand_id,
            sku=variant.sku,
            title=variant.sku,
            unit_price=variant.price,
            quantity=quantity,
            line_total=variant.price * quantity,
            currency=order.currency,
            open_rate=rate,
            attributed_creator_id=creator.pk,
            attributed_link_id=link.pk if link else None,
            commission_rate=rate,
            attribution=receipt,
        )

    OrderLine.objects.bulk_create((order_line(k) for k in range(lines)), batch_size=5000)
    return [order.pk for order in orders]


def seeded_order_ids() -> list[int]:
    from orders.models import Order

    return list(
        Order.objects.filter(checkout_scope=SEED_SCOPE).order_by("pk").values_list("pk", flat=True)
    )


def seeded_lines() -> int:
    from orders.models import OrderLine

    return OrderLine.objects.filter(order__checkout_scope=SEED_SCOPE).count()


# --- Ledger -----------------------------------------------------------------


def ledger_empty() -> None:
    """Empty the ledger in the bench database only (TRUNCATE skips its row trigger)."""
    from django.db import connection

    from bench.common import _database

    _database()  # refuses a database whose name lacks "bench"
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE creators_commissionline RESTART IDENTITY CASCADE")
        cursor.execute("ANALYZE creators_commissionline")


def ledger_fingerprint() -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(FINGERPRINT_SQL)
        count, total, digest = cursor.fetchone()
    return {"lines": count, "amount_sum": str(total), "md5": digest}


def baseline_sql() -> str:
    from common.money import currency_exponent

    cases = " ".join(
        f"WHEN '{cur}' THEN {currency_exponent(cur)}" for cur in sorted({b[1] for b in BRANDS})
    )
    return BASELINE_SQL.format(
        exponent=f"CASE ol.currency {cases} ELSE 2 END",
        paid_at_iso=ISO_SQL.format(ts="o.paid_at"),
        payable_at_iso=ISO_SQL.format(ts="(o.paid_at + make_interval(days => h.days))"),
    )


def run_baseline(order_ids: list[int], expected: int, worker_pid: int) -> dict[str, Any]:
    from django.db import connection, transaction

    from creators.commissions import conf
    from creators.commissions.recording import COMMISSION_FORMULA

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
        **_cpu(before, after, seconds),
    }


def cpu_now(worker_pid: int) -> dict[str, float]:
    """CPU seconds used so far by the machine, the worker's process tree, and PostgreSQL.

    The worker opens a new database connection per task (Celery's Django fix-up closes it
    before and after each), so backends come and go: PostgreSQL counts every live postgres
    process plus what the postmaster reaped from exited backends (cutime + cstime), of all
    databases; on a shared box it includes other people's queries.
    """
    tick = os.sysconf("SC_CLK_TCK")
    with open("/proc/stat") as stat:
        fields = [int(n) for n in stat.readline().split()[1:]]
    used = {"machine": (sum(fields[:8]) - fields[3] - fields[4]) / tick, "worker": 0.0}
    used["postgres"] = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat_fields = (entry / "stat").read_text().rpartition(")")[2].split()
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        pid, ppid = int(entry.name), int(stat_fields[1])
        # utime + stime, and cutime + cstime: what it reaped from exited children.
        seconds = sum(int(stat_fields[i]) for i in (11, 12, 13, 14)) / tick
        if worker_pid in (pid, ppid):
            used["worker"] += seconds
        elif comm == "postgres":
            used["postgres"] += seconds
    return used


def _cpu(before: dict[str, float], after: dict[str, float], seconds: float) -> dict[str, float]:
    """Cores used during the measurement by the worker, PostgreSQL and everything else."""
    used = {k: after[k] - before[k] for k in after}
    return {
        "worker_cores": used["worker"] / seconds,
        "postgres_cores": used["postgres"] / seconds,
        "other_cores": max(0.0, used["machine"] - used["worker"] - used["postgres"]) / seconds,
    }


# --- The worker -------------------------------------------------------------


def _database_url() -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]
    user = quote(db.get("USER") or "", safe="")
    password = quote(str(db.get("PASSWORD") or ""), safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def _purge_queue() -> None:
    from kombu import Queue

    from config.celery_app import app

    with app.connection_for_write() as conn:
        Queue(QUEUE).bind(conn.default_channel).purge()


def start_worker() -> tuple[subprocess.Popen[bytes], str]:
    """One worker process with one prefork child, consuming only the bench queue."""
    from django.conf import settings
    from django.db import connections

    from config.celery_app import app

    connections.close_all()
    _purge_queue()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    name = f"bench-commissions-{os.getpid()}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    log = (RESULTS_DIR / f"{NAME}-worker.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "config", "worker",
            "--concurrency=1", "--pool=prefork", "--loglevel=WARNING",
            "--without-gossip", "--without-mingle", "-Q", QUEUE, "-n", f"{name}@%h",
        ],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    log.close()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"the Celery worker exited at start; see {log.name}")
        replies = app.control.ping(timeout=0.5) or []
        if any(node.startswith(f"{name}@") for reply in replies for node in reply):
            return process, name
    stop_worker(process)
    raise BenchError(f"the Celery worker did not answer a ping in 60s; see {log.name}")


def stop_worker(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)  # warm shutdown
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # its own session: only our worker
        process.wait(timeout=5)


def _enqueue(order_ids: list[int]) -> Any:
    from creators.tasks import commissions_record_batch

    return commissions_record_batch.apply_async(args=(order_ids,), queue=QUEUE)


def _wait(results: list[Any], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = list(results)
    while pending and time.monotonic() < deadline:
        pending = [r for r in pending if not r.ready()]
        if pending:
            time.sleep(0.02)
    if pending:
        raise BenchError(f"{len(pending)} batch tasks unfinished after {timeout:.0f}s")
    failed = [r for r in results if not r.successful()]
    if failed:
        raise BenchError(f"batch task failed: {failed[0].result!r}")


def run_worker(
    order_ids: list[int], batch: int, expected: int, worker_pid: int, timeout: float
) -> dict[str, Any]:
    from creators.models import CommissionLine

    _wait([_enqueue([])], timeout=60)  # warm-up: the child's imports and database connection
    batches = [order_ids[i : i + batch] for i in range(0, len(order_ids), batch)]
    before = cpu_now(worker_pid)
    wall_start = datetime.now(UTC)
    started = time.perf_counter()
    results = [_enqueue(ids) for ids in batches]
    _wait(results, timeout)
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
        **_cpu(before, after, polled),
    }


# --- Profile ----------------------------------------------------------------


def profile_one_batch(order_ids: list[int]) -> str:
    """cProfile of the service on one batch, in this process, on an empty ledger."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from creators.commissions.recording import commission_record_for_orders

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

    # Only when this is the first benchmark of the process (run_all may have set Django up).
    os.environ.setdefault(
        "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tribe_bench_commissions"
    )
    django_setup()
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
    process, worker_name = start_worker()
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
