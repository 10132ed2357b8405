"""Our explicit PREPARE/EXECUTE against psycopg's own server-side binding and prepared
statements, on checkout's hold statement, in the same minute.

    python -m bench.bench_prepared [--smoke] [--reuse-db] [--calls N]

Seeds the reserve benchmark's data (one hot SKU, a pool of order lines; own database
`tribe_bench_prepared`) and runs the hold statement of orders.services.reservations in
this process, in autocommit, on three connections to the same database:

- `ours`: client-side binding and an explicit `PREPARE name (types) AS ...` once per
  session, then `EXECUTE name (values)`: what `common/prepared.py` did until this
  benchmark showed psycopg's own doing better (its method is kept here to re-measure);
- `psycopg`: `OPTIONS = {"server_side_binding": True, "prepare_threshold": 0}`, the same
  statement text with placeholders, prepared by psycopg on its first run;
- `unprepared`: server-side binding without preparing (`prepare_threshold: None`).

The modes alternate in blocks, so a burst of outside load lands on all of them. Reports per
call the wall time (median of the blocks) and the CPU of this process and of the
connection's PostgreSQL backend (from /proc), and the ratios to `ours`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import timedelta
from typing import Any

from bench.common import (
    add_common_arguments,
    django_setup,
    prepare_database,
    print_table,
    use_database,
    write_results,
)

NAME = "prepared"
DATABASE_URL = "postgres://postgres@127.0.0.1:5432/tribe_bench_prepared"
MODES = {
    "ours": {"server_side_binding": False, "prepare_threshold": None},
    "psycopg": {"server_side_binding": True, "prepare_threshold": 0},
    "unprepared": {"server_side_binding": True, "prepare_threshold": None},
}
TICKS = os.sysconf("SC_CLK_TCK")


def _backend_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def _aliases() -> None:
    from django.conf import settings
    from django.db import connections

    default = settings.DATABASES["default"]
    for mode, options in MODES.items():
        settings.DATABASES[mode] = {**default, "OPTIONS": {**default["OPTIONS"], **options}}
        connections.settings[mode] = settings.DATABASES[mode]  # type: ignore[attr-defined]


def _runner(mode: str, variant_id: int) -> Any:
    """A function holding one unit for a given order line on `mode`'s connection."""
    from django.db import connections
    from django.utils import timezone

    from orders.services import reservations

    expires = timezone.now() + timedelta(hours=1)
    if mode == "ours":
        connection = connections[mode]
        numbered = reservations._HOLD_SQL
        for n, name in enumerate(("line", "variant", "quantity", "expires", "now"), 1):
            numbered = numbered.replace(f"%({name})s", f"${n}")
        prepare = f"PREPARE bench_hold AS {numbered}"
        prepared: set[int] = set()

        def hold(line_id: int) -> None:
            with connection.cursor() as cursor:
                session = id(connection.connection)
                if session not in prepared:
                    cursor.execute(prepare)
                    prepared.add(session)
                cursor.execute(
                    "EXECUTE bench_hold (%s, %s, %s, %s, %s)",
                    [line_id, variant_id, 1, expires, timezone.now()],
                )
                cursor.fetchone()

        return connection, hold
    connection = connections[mode]
    sql = reservations._HOLD_SQL

    def hold_psycopg(line_id: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                sql,
                {
                    "line": line_id,
                    "variant": variant_id,
                    "quantity": 1,
                    "expires": expires,
                    "now": timezone.now(),
                },
            )
            cursor.fetchone()

    return connection, hold_psycopg


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_prepared", description=__doc__)
    add_common_arguments(parser)
    parser.add_argument("--calls", type=int, help="holds per mode (default 6,000)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    calls = args.calls or (600 if args.smoke else 6_000)
    blocks = 6 if args.smoke else 20
    per_block = max(1, calls // blocks)

    django_setup()
    use_database(DATABASE_URL)
    from bench import reserve_data

    fresh = prepare_database(reuse=args.reuse_db)
    variant_id = None if fresh else reserve_data.seeded()
    if variant_id is None:
        if not fresh:
            prepare_database()
        variant_id = reserve_data.seed()
    _aliases()
    total = per_block * blocks * len(MODES)
    reserve_data.stock_reset(variant_id, on_hand=total + 10)
    first, _last = reserve_data.line_pool(variant_id, at_least=total + len(MODES) * 10)
    next_line = iter(range(first, first + total + len(MODES) * 10))

    runners = {mode: _runner(mode, variant_id) for mode in MODES}
    pids = {}
    for mode, (connection, hold) in runners.items():
        for _ in range(10):  # warm: the session's first runs prepare and plan
            hold(next(next_line))
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pids[mode] = cursor.fetchone()[0]

    load_before = os.getloadavg()
    wall: dict[str, list[float]] = {mode: [] for mode in MODES}
    client: dict[str, float] = dict.fromkeys(MODES, 0.0)
    server: dict[str, float] = dict.fromkeys(MODES, 0.0)
    for _ in range(blocks):
        for mode, (_connection, hold) in runners.items():
            lines = [next(next_line) for _ in range(per_block)]
            backend, cpu, started = (
                _backend_cpu(pids[mode]),
                time.process_time(),
                time.perf_counter(),
            )
            for line_id in lines:
                hold(line_id)
            wall[mode].append((time.perf_counter() - started) / per_block * 1000)
            client[mode] += time.process_time() - cpu
            server[mode] += _backend_cpu(pids[mode]) - backend
    count = per_block * blocks
    rows = []
    for mode in MODES:
        rows.append(
            {
                "mode": mode,
                "ms/call": statistics.median(wall[mode]),
                "client cpu ms": client[mode] / count * 1000,
                "pg cpu ms": server[mode] / count * 1000,
            }
        )
    ours = rows[0]
    for row in rows:
        row["wall ÷ ours"] = row["ms/call"] / ours["ms/call"]
        row["cpu ÷ ours"] = (row["client cpu ms"] + row["pg cpu ms"]) / (
            ours["client cpu ms"] + ours["pg cpu ms"]
        )
    print_table(rows, list(rows[0]))
    summary = {
        "calls_per_mode": count,
        "rows": rows,
        "load_average": {"before": load_before, "after": os.getloadavg()},
    }
    print(json.dumps(summary["load_average"]))
    print(f"wrote {write_results(NAME, summary)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
