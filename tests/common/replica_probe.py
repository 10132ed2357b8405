"""Run by tests/common/test_replica.py in a process of its own, against a real primary and a
real streaming replica (Django's test database machinery would mirror the replica onto the
primary's connection, which proves nothing): `DATABASE_URL` is the primary,
`DATABASE_REPLICA_URL` the replica, `REPLICA_PIDFILE` the replica server's pid file.

Prints one JSON object of findings on its last line; the test asserts on them.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402
from django.test import Client  # noqa: E402

from common import replica  # noqa: E402
from shop.models import Product  # noqa: E402
from tests.shop.factories import BrandFactory, ProductFactory, VariantFactory  # noqa: E402

LIST = "/api/v1/products/"


def lag() -> float | None:
    with connections["replica"].cursor() as cursor:
        cursor.execute(replica.LAG_SQL)
        (value,) = cursor.fetchone()
    return None if value is None else float(value)


def wait_for(condition, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {what}")


@contextmanager
def logged(alias: str) -> Iterator[list[dict]]:
    """The queries run on `alias` inside, like CaptureQueriesContext but without connecting
    first (the replica may be down)."""
    connection = connections[alias]
    # Emptied here, as each request's start empties it too (django.db.reset_queries).
    connection.queries_log.clear()
    connection.force_debug_cursor = True
    seen: list[dict] = []
    try:
        yield seen
    finally:
        connection.force_debug_cursor = False
        seen.extend(connection.queries_log)


def served(path: str) -> dict:
    """GET `path`; which servers answered its queries (the lag check itself not counted) and
    the lag the router read for it."""
    client = Client()
    replica.replica_lag.forget()
    with logged("default") as on_primary, logged("replica") as on_replica:
        response = client.get(path)
    reading = replica.replica_lag.last()
    return {
        "status": response.status_code,
        "titles": sorted(p["title"] for p in response.json().get("results", [])),
        "primary": len(on_primary),
        "replica": reads(on_replica),
        "lag_seen": None if reading is None or reading.error else reading.lag,
    }


def served_caught_up(path: str, attempts: int = 20) -> dict:
    """`served(path)` once the replica has caught up, as the router saw it for that request.

    An idle primary still writes WAL that is not a commit (a checkpoint, the standby snapshot
    every 15 s); in the moment before the replica replays it the lag reads as the time since
    the last replayed commit, and the router rightly passes the replica over for that request.
    Such a request is asked again; one the router saw caught up must have read the replica.
    """
    for _ in range(attempts):
        wait_for(lambda: lag() == 0.0, "the replica to catch up")
        seen = served(path)
        limit = float(os.environ["REPLICA_MAX_LAG_SECONDS"])
        if seen["lag_seen"] is not None and seen["lag_seen"] <= limit:
            return seen
    raise SystemExit(f"the router never saw the replica caught up in {attempts} requests")


def reads(log: list[dict]) -> int:
    """The queries in `log`, the router's own lag checks left out."""
    return sum("pg_is_in_recovery" not in query["sql"] for query in log)


def read_after_write() -> dict:
    """Inside one unit of work that asked for the replica: a read, a write, a read."""
    with replica.unit_of_work(), replica.replica_reads():
        with logged("replica") as before:
            Product.objects.filter(title="none such").exists()
        product = Product.objects.get(title="First")
        product.save(update_fields=["title"])
        with logged("replica") as after_replica, logged("default") as after_primary:
            Product.objects.filter(title="none such").exists()
    return {
        "before_write_on_replica": reads(before),
        "after_write_on_replica": reads(after_replica),
        "after_write_on_primary": len(after_primary),
    }


def main() -> None:
    call_command("migrate", verbosity=0)
    findings: dict = {}
    brand = BrandFactory.create()
    VariantFactory.create(product=ProductFactory.create(brand=brand, title="First"), on_hand=5)
    findings["caught_up"] = served_caught_up(LIST)
    findings["read_after_write"] = read_after_write()

    # Replay paused: the primary moves on, the replica stays behind past the limit.
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_pause()")
    VariantFactory.create(
        product=ProductFactory.create(brand=brand, title="Second"), on_hand=5, price=Decimal(9)
    )
    limit = float(os.environ["REPLICA_MAX_LAG_SECONDS"])
    wait_for(lambda: (lag() or 0.0) > limit, "the lag to pass the limit")
    findings["lagging"] = served(LIST)
    findings["readyz_lagging"] = Client().get("/readyz").json().get("replica")

    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_resume()")
    findings["resumed"] = served_caught_up(LIST)

    # The replica goes away: reads fall back to the primary, never an error.
    connections["replica"].close()
    with open(os.environ["REPLICA_PIDFILE"]) as pidfile:
        os.kill(int(pidfile.readline()), signal.SIGINT)  # PostgreSQL's fast shutdown
    time.sleep(1.0)
    findings["replica_down"] = served(LIST)
    findings["readyz_down"] = Client().get("/readyz").json().get("replica")
    print(json.dumps(findings))


if __name__ == "__main__":
    main()
