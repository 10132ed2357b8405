"""The journey on several nodes: `python -m bench.bench_journey --cluster [--kill]`.

Starts the multi-node harness (`devtools.cluster.Cluster`: PostgreSQL primary and streaming
replica, Redis and a Sentinel, two gunicorn web nodes behind the balancer, two workers, two
beats, the Stripe emulator) on free ports with its data under a temporary directory, seeds
the journey's drop into its primary (`bench.journey_data`, through this process's Django
pointed at the cluster with the cluster's own settings), and runs the journey phase through
the balancer: `--fans` fans for `--duration` seconds (default 60), each journey a client of
its own (`X-Forwarded-For`, `NUM_PROXIES=1`) under production's throttles.

Reports completed checkouts per second, p50/p99, 429s and 5xx per step, and the CPU seconds
of each node per completed checkout, read from /proc for each node's whole process tree
(gunicorn and Celery children, PostgreSQL backends): from the start of the load until the
work it caused has settled (every confirmed order paid, every outbox delivery done), beside
each node's idle cores measured just before. The fans (this process) are not counted.

`--kill`: a third of the way in, web1 is SIGKILLed under the fans' requests and the
replica's replay paused; halfway, worker1 is SIGKILLed; the replica resumes when the load
ends. A fan whose connection died with its node resends the request, the checkout with its
Idempotency-Key, as the apps do. Then: 0 oversold (`--units` limits the hot SKU so it sells
out), every paid order's `orders.order_paid` event once, one commission line per paid order
line, no outbox delivery pending.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from bench.common import BenchError, print_table, write_results
from bench.node_cpu import Sampler, per_node, primary_sessions, used_between

NAME = "journey-cluster"
STRIPE_KEY = "sk_test_local_emulator"  # the harness runs config.settings.local
WARMUP_SECONDS = 10
IDLE_SECONDS = 5
SETTLE_SECONDS = 240
resent: Counter[str] = Counter()
_resent_lock = threading.Lock()


class _Resend(Retry):
    """Resend a request whose connection died (its node was killed), counting each."""

    def increment(self, method: str | None = None, *args: Any, **kwargs: Any) -> Retry:
        with _resent_lock:
            resent[method or "?"] += 1
        return super().increment(method, *args, **kwargs)


RESEND = _Resend(
    total=5,
    connect=5,
    read=5,
    status=0,
    other=0,
    allowed_methods=None,  # every method: a checkout is resent with its Idempotency-Key
    backoff_factor=0.2,
    raise_on_status=False,
    respect_retry_after_header=False,  # a 429 is an answer, counted as one
)


# --- The cluster and this process's Django -------------------------------------------------


def start_cluster(data: Path, *, kill: bool, node_env: dict[str, str] | None = None) -> Any:
    from devtools.cluster import Cluster
    from devtools.stack.servers import free_port

    extra = {"CONN_MAX_AGE": "60"}  # as production: each thread keeps its connection
    if kill:
        # What a killed worker had taken comes back within the sweep's minute (as the
        # harness's test does), not production's two.
        extra["OUTBOX_SWEEP_AFTER_SECONDS"] = "5"
    cluster = Cluster(data, free_port(), extra_env={**extra, **(node_env or {})})
    cluster.start()
    return cluster


def django_for(cluster: Any) -> None:
    """Django in this process with the cluster's settings, database, Redis and broker."""
    import django

    for key in ("DATABASE_URL", "DATABASE_REPLICA_URL", "REDIS_URL", "NUM_PROXIES"):
        os.environ[key] = cluster.env[key]
    for key, value in cluster.env.items():
        if key.startswith(("CELERY_", "STRIPE_", "OUTBOX_")) or key in ("CONN_MAX_AGE",):
            os.environ[key] = value
    os.environ["DJANGO_SETTINGS_MODULE"] = cluster.env["DJANGO_SETTINGS_MODULE"]
    django.setup()


def _wait(probe: Any, what: str, timeout: float) -> float:
    started = time.monotonic()
    while not probe():
        if time.monotonic() - started > timeout:
            raise BenchError(f"{what}: not within {timeout:.0f}s")
        time.sleep(0.5)
    return time.monotonic() - started


# --- Load --------------------------------------------------------------------------------


def run_fans(
    base: str,
    stripe: str,
    code: str,
    *,
    seconds: float,
    fans: int,
    browse_share: float,
    first: int,
    during: Any = None,
) -> dict[str, Any]:
    """`fans` threads doing whole journeys for `seconds`, each journey a new client;
    `during(elapsed)` is called by this thread every half second meanwhile."""
    from bench.bench_journey import Fan, Tally

    tally = Tally()
    serial = iter(range(first, first + 10**8))
    lock = threading.Lock()
    every = max(1, round(1 / browse_share)) if browse_share > 0 else 0
    paid: list[int] = []
    created: list[int] = []
    stop = time.monotonic() + seconds

    def loop() -> None:
        while time.monotonic() < stop:
            with lock:
                number = next(serial)
            fan = Fan(base, stripe, number, tally, stripe_key=STRIPE_KEY)
            fan.session.mount("http://", HTTPAdapter(max_retries=RESEND))
            try:
                outcome = fan.journey(code, browse_only=bool(every) and number % every == 0)
            except requests.RequestException as exc:
                outcome = f"error {type(exc).__name__}"
            tally.outcome(outcome)
            with lock:
                if fan.order_id is not None:
                    created.append(fan.order_id)
                    if outcome == "paid":
                        paid.append(fan.order_id)

    started = time.monotonic()
    pool = [threading.Thread(target=loop) for _ in range(fans)]
    for thread in pool:
        thread.start()
    while any(thread.is_alive() for thread in pool):
        if during is not None:
            during(time.monotonic() - started)
        time.sleep(0.5)
    for thread in pool:
        thread.join()
    elapsed = time.monotonic() - started
    return {
        "seconds": elapsed,
        "tally": tally,
        "paid_order_ids": paid,
        "created_order_ids": created,
    }


class Killer:
    """`--kill`: web1 and the replica's replay at a third of the run, worker1 at half."""

    def __init__(self, cluster: Any, seconds: float) -> None:
        self.cluster, self.seconds = cluster, seconds
        self.done: dict[str, float] = {}

    def __call__(self, elapsed: float) -> None:
        if "web1" not in self.done and elapsed >= self.seconds / 3:
            self.cluster.kill("web1")
            self.cluster.psql("SELECT pg_wal_replay_pause()", replica=True)
            self.done["web1"] = self.done["replica paused"] = elapsed
        if "worker1" not in self.done and elapsed >= self.seconds / 2:
            self.cluster.kill("worker1")
            self.done["worker1"] = elapsed


# --- The run -----------------------------------------------------------------------------


def run_cluster(args: argparse.Namespace) -> int:
    seconds = args.duration or (10 if args.smoke else 60)
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as directory:
        node_env = dict(item.split("=", 1) for item in args.node_env)
        cluster = start_cluster(Path(directory) / "cluster", kill=args.kill, node_env=node_env)
        try:
            data = _measure(cluster, args, seconds)
        finally:
            cluster.stop()
    _report(data)
    name = f"{NAME}-kill" if args.kill else NAME
    for item in args.node_env:
        name += "-" + item.split("=", 1)[0].lower().replace("_", "-")
    path = write_results(f"{name}-smoke" if args.smoke else name, data)
    print(f"\nResults: {path}")
    return 0 if data.get("checks_passed", True) else 1


def _measure(cluster: Any, args: argparse.Namespace, seconds: float) -> dict[str, Any]:
    django_for(cluster)
    from bench.journey_data import hot_stock, hot_stock_set, seed_journey

    code = str(seed_journey()["code"])
    _wait(
        lambda: (
            cluster.psql(
                f"SELECT count(*) FROM creators_affiliatelink WHERE code = '{code}'", replica=True
            )
            == "1"
        ),
        "the replica has the drop",
        60,
    )
    base = f"http://127.0.0.1:{cluster.port}"
    stripe = f"http://127.0.0.1:{cluster.ports['stripe']}"
    hot_stock_set(1_000_000)
    # Unmeasured: every web process imports and connects, the stored pages are built.
    warm = run_fans(
        base, stripe, code, seconds=WARMUP_SECONDS, fans=args.fans, browse_share=0.5, first=0
    )

    def settled(order_ids: list[int]) -> bool:
        counts = cluster.money_counts(order_ids)
        return counts["paid_orders"] == len(order_ids) and counts["deliveries_pending"] == 0

    _wait(lambda: settled(warm["paid_order_ids"]), "the warm-up settled", SETTLE_SECONDS)
    units = args.units or 1_000_000
    held_before = hot_stock_set(units)
    on_hand_before = held_before + units
    pids = cluster.pids()
    killer = Killer(cluster, seconds) if args.kill else None
    with Sampler(pids, cluster.env["DATABASE_URL"]) as sampler:
        idle_before = sampler.read()
        time.sleep(IDLE_SECONDS)
        idle = used_between(idle_before, sampler.read())
        before = sampler.read()
        sampler.mark()
        sessions_before = primary_sessions(cluster)
        load_before = os.getloadavg()
        run = run_fans(
            base,
            stripe,
            code,
            seconds=seconds,
            fans=args.fans,
            browse_share=args.browse_share,
            first=1_000_000,
            during=killer,
        )
        load_after = os.getloadavg()
        if args.kill:
            cluster.psql("SELECT pg_wal_replay_resume()", replica=True)
        settle = _wait(lambda: settled(run["paid_order_ids"]), "the run settled", SETTLE_SECONDS)
        used = used_between(before, sampler.read())
        primary = sampler.primary_split(used["postgres"])
        sessions = {k: v - sessions_before[k] for k, v in primary_sessions(cluster).items()}
        loads = list(sampler.loads)
    tally = run["tally"]
    paid = tally.outcomes["paid"]
    steps = tally.per_step()
    data: dict[str, Any] = {
        "node_env": args.node_env,
        "fans": args.fans,
        "browse_share": args.browse_share,
        "seconds": run["seconds"],
        "settle_seconds": settle,
        "outcomes": dict(tally.outcomes),
        "checkouts_per_second": paid / run["seconds"],
        "steps": steps,
        "429": sum(s["429"] for s in steps.values()),
        "5xx": sum(s["5xx"] for s in steps.values()),
        "nodes": per_node(
            used, idle, paid=paid, seconds=run["seconds"] + settle, idle_seconds=IDLE_SECONDS
        ),
        "primary_by_process": {
            kind: {"cpu_s": cpu, "cpu_ms_per_checkout": cpu / paid * 1000 if paid else 0.0}
            for kind, cpu in sorted(primary.items(), key=lambda item: -item[1])
        },
        "primary_sessions_per_checkout": sessions["sessions"] / paid if paid else 0.0,
        "primary_transactions_per_checkout": sessions["transactions"] / paid if paid else 0.0,
        "load_average": {
            "before": load_before,
            "after": load_after,
            "max_1min": max(loads, default=0.0),
        },
        "resent": dict(resent),
        "warmup_outcomes": dict(warm["tally"].outcomes),
    }
    if killer is not None:
        data["killed_at_seconds"] = killer.done
        on_hand, reserved = hot_stock()
        taken = (on_hand_before - on_hand) + (reserved - held_before)
        counts = cluster.money_counts(run["paid_order_ids"])
        created = len(run["created_order_ids"])
        checks = {
            "units": units,
            "units_taken": taken,
            "orders_created": created,
            "oversold": max(0, taken - units, reserved - on_hand, created - units),
            **counts,
        }
        data["checks"] = checks
        data["checks_passed"] = (
            checks["oversold"] == 0
            and counts["paid_orders"] == paid
            and counts["paid_events"] == counts["paid_events_orders"] == paid
            and counts["commission_lines"]
            == counts["commission_lines_distinct"]
            == counts["paid_lines"]
            and counts["deliveries_pending"] == 0
        )
    return data


def _report(data: dict[str, Any]) -> None:
    load = data["load_average"]
    print(
        f"cluster journey: {data['fans']} fans for {data['seconds']:.0f}s "
        f"(+{data['settle_seconds']:.0f}s to settle): {data['checkouts_per_second']:.2f} "
        f"checkouts/s, outcomes {data['outcomes']}, "
        f"429 {data['429']}, 5xx {data['5xx']}, resent {data['resent']}; load average "
        f"{load['before'][0]:.1f} -> {load['after'][0]:.1f} (max {load['max_1min']:.1f})"
    )
    print_table(
        [{"step": step, **row} for step, row in data["steps"].items()],
        ["step", "requests", "p50_ms", "p99_ms", "429", "5xx"],
    )
    print("\nCPU per node (from the load's start until its work settled):")
    print_table(
        [{"node": name, **row} for name, row in data["nodes"].items()],
        [
            "node",
            "cpu_s",
            "cpu_ms_per_checkout",
            "cores",
            "idle_cpu_ms_per_s",
            "checkouts_per_core_second",
        ],
    )
    print(
        f"\nThe primary: {data['primary_sessions_per_checkout']:.1f} sessions opened and "
        f"{data['primary_transactions_per_checkout']:.1f} transactions per checkout; "
        "its CPU by the node each backend served:"
    )
    print_table(
        [{"process": kind, **row} for kind, row in data["primary_by_process"].items()],
        ["process", "cpu_s", "cpu_ms_per_checkout"],
    )
    if "checks" in data:
        print(f"\nkilled at (s): {data['killed_at_seconds']}")
        print(f"checks: {data['checks']} -> passed {data['checks_passed']}")
