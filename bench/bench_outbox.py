"""The outbox: dispatch latency (commit to handler done) and events per second on one worker.

    python -m bench.bench_outbox [--smoke] [--events N] [--orders N] [--reuse-db]

One real Celery worker (`--concurrency=1`, prefork, the bench settings) consumes the
outbox's deliveries from its own queue. Measured, printed and written to
bench/results/outbox.json, never asserted:

- **latency at rest**: one `common.outbox_probe` event at a time (its handler does
  nothing), from the moment its transaction committed to its delivery's `done_at` as
  the worker wrote it; p50, p95 and max over `--samples`.
- **probe throughput**: `--events` probe events recorded in transactions of 500, from the
  first commit to the last `done_at`: the outbox's own cost per event (publish, consume,
  lock, mark done).
- **ledger throughput**: `orders.order_paid` for `--orders` seeded paid orders of 10
  credited lines each, with the ledger's handler only (`creators.commission_record_for_
  order`): events/s and commission lines/s with a real handler's work in the same
  transaction as its receipt.

Uses its own database, `tribe_bench_outbox` (recreated unless --reuse-db), and the Celery
queue `bench-outbox` on the bench Redis db; DATABASE_URL and REDIS_URL override.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import datetime
from typing import Any

from bench.commissions_data import LINES_PER_ORDER, ledger_empty, seed, seeded_order_ids
from bench.commissions_worker import start_worker, stop_worker
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

NAME = "outbox"
QUEUE = "bench-outbox"
PROBE = "common.outbox_probe"
LEDGER = "creators.commission_record_for_order"
BATCH = 500


def _route_to_bench_queue() -> None:
    from config.celery_app import app

    app.conf.task_always_eager = False
    app.conf.task_routes = {"common.tasks.outbox_deliver": {"queue": QUEUE}}


def _only(event: str, handler: str) -> None:
    """Record `event` with this one of its handlers (this process decides the deliveries)."""
    from common.outbox import registry

    registry._BY_EVENT[event] = [h for h in registry.handlers_for(event) if h.name == handler]


def _record(name: str, payloads: list[dict[str, Any]]) -> datetime:
    """Record the events in one transaction; returns when it committed."""
    from django.db import transaction
    from django.utils import timezone

    from common.outbox import events_record

    committed: list[datetime] = []
    with transaction.atomic(durable=True):
        # Runs first after COMMIT, before the dispatch that events_record queues.
        transaction.on_commit(lambda: committed.append(timezone.now()))
        events_record(name=name, payloads=payloads)
    return committed[0]


def _wait_done(timeout: float) -> datetime:
    """Wait until no delivery is pending; returns the last `done_at`."""
    from django.db.models import Max

    from common.outbox.models import OutboxDelivery

    deadline = time.monotonic() + timeout
    while OutboxDelivery.objects.filter(done_at__isnull=True).exists():
        if time.monotonic() > deadline:
            raise BenchError(f"deliveries still pending after {timeout:.0f}s")
        time.sleep(0.02)  # the end is the worker's own done_at: polling need not be tight
    last = OutboxDelivery.objects.aggregate(m=Max("done_at"))["m"]
    assert last is not None
    return last


def _clear() -> None:
    from common.outbox.models import OutboxDelivery, OutboxEvent

    OutboxDelivery.objects.all().delete()
    OutboxEvent.objects.all().delete()


def latency_at_rest(samples: int) -> dict[str, Any]:
    from common.outbox.models import OutboxDelivery

    _record(PROBE, [{"warm": True}])  # the child's imports and connection
    _wait_done(60)
    seconds: list[float] = []
    for i in range(samples):
        committed = _record(PROBE, [{"sample": i}])
        _wait_done(60)
        done_at = OutboxDelivery.objects.order_by("-pk").values_list("done_at", flat=True)[0]
        seconds.append((done_at - committed).total_seconds())
        time.sleep(0.05)  # at rest: nothing else queued
    seconds.sort()
    return {
        "samples": samples,
        "p50_ms": statistics.median(seconds) * 1000,
        "p95_ms": seconds[max(0, int(len(seconds) * 0.95) - 1)] * 1000,
        "max_ms": seconds[-1] * 1000,
    }


def throughput(name: str, payloads: list[dict[str, Any]], timeout: float) -> dict[str, Any]:
    first = None
    for i in range(0, len(payloads), BATCH):
        committed = _record(name, payloads[i : i + BATCH])
        first = first or committed
    assert first is not None
    last = _wait_done(timeout)
    seconds = (last - first).total_seconds()
    return {"events": len(payloads), "seconds": seconds, "events_per_s": len(payloads) / seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_outbox", description=__doc__)
    add_common_arguments(parser)  # --smoke, --reuse-db; the HTTP ones unused
    parser.add_argument("--events", type=int, help="probe events (default 5,000; smoke 500)")
    parser.add_argument("--orders", type=int, help="paid orders (default 1,000; smoke 100)")
    parser.add_argument("--samples", type=int, help="latency samples (default 100; smoke 20)")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args(argv)
    events = args.events or (500 if args.smoke else 5_000)
    orders = args.orders or (100 if args.smoke else 1_000)
    samples = args.samples or (20 if args.smoke else 100)

    django_setup()
    use_database("postgres://postgres@127.0.0.1:5432/tribe_bench_outbox")
    fresh = prepare_database(reuse=args.reuse_db)
    if not fresh and len(seeded_order_ids()) != orders:
        fresh = prepare_database(reuse=False)  # the seed is not incremental
    if fresh:
        seed(orders * LINES_PER_ORDER)
    _route_to_bench_queue()
    _only(PROBE, PROBE)
    _only("orders.order_paid", LEDGER)
    _clear()
    ledger_empty()
    order_ids = seeded_order_ids()

    process, worker_name = start_worker(RESULTS_DIR / f"{NAME}-worker.log", queue=QUEUE,
                                        label="bench-outbox")  # fmt: skip
    try:
        latency = latency_at_rest(samples)
        _clear()
        probe = throughput(PROBE, [{"n": i} for i in range(events)], args.timeout)
        _clear()
        ledger = throughput(
            "orders.order_paid", [{"order_id": pk} for pk in order_ids], args.timeout
        )
        from commissions.models import CommissionLine

        ledger["lines"] = CommissionLine.objects.count()
        ledger["lines_per_s"] = ledger["lines"] / ledger["seconds"]
        if ledger["lines"] != len(order_ids) * LINES_PER_ORDER:
            raise BenchError(f"{ledger['lines']} lines for {len(order_ids)} orders")
    finally:
        stop_worker(process)
    _clear()
    ledger_empty()

    print("dispatch latency at rest (commit -> handler done), one worker child:")
    print_table([latency], ["samples", "p50_ms", "p95_ms", "max_ms"])
    print("throughput on one worker child:")
    rows = [
        {"handler": "probe (does nothing)", **probe, "lines_per_s": 0.0},
        {"handler": LEDGER, **ledger},
    ]
    print_table(rows, ["handler", "events", "seconds", "events_per_s", "lines_per_s"])
    path = write_results(
        NAME if not args.smoke else f"{NAME}-smoke",
        {
            "worker": {"name": worker_name, "concurrency": 1, "pool": "prefork", "queue": QUEUE},
            "latency_at_rest": latency,
            "probe_throughput": probe,
            "ledger_throughput": ledger,
        },
    )
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
