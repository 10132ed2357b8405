"""What every benchmark shares that is not load: paths, options, the bench database, results.

The constants and `BenchError`, the command-line options every benchmark takes, Django set up
with the bench settings and pointed at a benchmark's own database (dropped and recreated only
if its name says "bench"), the bench cache's Redis keys, and the results: the JSON file under
bench/results/ stamped with the machine, and the printed table. Speed is reported as ratios
against a baseline measured by the same server in the same minute, so a slower or busier
machine moves both numbers together.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
SETTINGS_MODULE = "config.settings.bench"

# Two cores run gunicorn, wrk, PostgreSQL and Redis together. A worker process per core keeps
# both cores busy with Python; a few threads per worker overlap each request's waits on
# PostgreSQL and Redis (the GIL is released there) and keep wrk's connections alive, which
# sync workers cannot do (they close the connection after every response).
DEFAULT_WORKERS = 2
DEFAULT_THREADS = 4
DEFAULT_CONNECTIONS = 16
WRK_THREADS = 2


class BenchError(RuntimeError):
    """A benchmark could not produce a trustworthy number."""


# --- Command line -----------------------------------------------------------


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options every benchmark understands."""
    parser.add_argument("--smoke", action="store_true", help="seconds-long run to check wiring")
    parser.add_argument("--duration", type=int, help="seconds per measurement (default 15)")
    parser.add_argument("--warmup", type=int, help="seconds of unmeasured load before each")
    parser.add_argument(
        "--rounds", type=int, help="alternate the measured URLs this many times (default 3)"
    )
    parser.add_argument("--connections", type=int, default=DEFAULT_CONNECTIONS)
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS)
    parser.add_argument(
        "--reuse-db", action="store_true", help="keep the bench database if it is already seeded"
    )


def durations(args: argparse.Namespace) -> tuple[int, int, int]:
    """Seconds per measurement, seconds of warm-up, and rounds, for these arguments."""
    if args.smoke:
        duration, warmup, rounds = args.duration or 2, 1, args.rounds or 1
    else:
        duration, warmup, rounds = args.duration or 15, 3, args.rounds or 3
    warmup = args.warmup if args.warmup is not None else warmup
    return duration, warmup, max(1, min(rounds, duration))


# --- Django, database and cache --------------------------------------------


def django_setup() -> None:
    """Configure Django in this process with the bench settings."""
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _database() -> dict[str, Any]:
    from django.conf import settings

    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        raise BenchError(f"The benchmarks need PostgreSQL, not {db['ENGINE']}.")
    if "bench" not in db["NAME"]:
        raise BenchError(
            f"Refusing to recreate database {db['NAME']!r}: its name must contain 'bench'. "
            "Unset DATABASE_URL or point it at a throwaway database."
        )
    return db


def _admin_connection() -> Any:
    import psycopg

    db = _database()
    return psycopg.connect(
        dbname="postgres",
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
        host=db.get("HOST") or None,
        port=db.get("PORT") or None,
        autocommit=True,
    )


def database_exists() -> bool:
    name = _database()["NAME"]
    with _admin_connection() as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    return row is not None


def prepare_database(*, reuse: bool = False) -> bool:
    """Make the bench database current; True if it was recreated empty.

    With `reuse`, an existing database is only migrated forward (others' new
    migrations included) and keeps its rows; otherwise it is dropped and created afresh.
    """
    from django.core.management import call_command
    from django.db import connections
    from psycopg import sql

    connections.close_all()
    fresh = not (reuse and database_exists())
    if fresh:
        name = sql.Identifier(_database()["NAME"])
        with _admin_connection() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
    call_command("migrate", interactive=False, verbosity=0)
    return fresh


def use_database(default_url: str) -> str:
    """Point Django in this process at DATABASE_URL, else `default_url`; returns the URL.

    Changes the settings in place rather than the environment: under bench.run_all an earlier
    benchmark has set Django up already, and the next one must not inherit this one's
    database. Servers get the URL through their own environment (server_for's env).
    """
    from django.conf import settings
    from django.db import connections

    from config.settings.base import env, psycopg_prepared

    url = os.environ.get("DATABASE_URL") or default_url
    connections.close_all()
    settings.DATABASES["default"].update(env.db_url_config(url))
    psycopg_prepared(settings.DATABASES["default"])
    return url


def _redis() -> Any:
    import redis
    from django.conf import settings

    return redis.Redis.from_url(settings.REDIS_URL)


def cache_keys(pattern: str = "*") -> list[bytes]:
    """Keys of the bench cache (only its own prefix) that match `pattern`."""
    from django.conf import settings

    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    return list(_redis().scan_iter(match=f"{prefix}:*{pattern}", count=1000))


def cache_clear() -> int:
    """Delete the bench cache's keys; other users of the same Redis db are left alone."""
    keys = cache_keys()
    if keys:
        _redis().delete(*keys)
    return len(keys)


# --- Results ----------------------------------------------------------------


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
    }


def write_results(name: str, data: dict[str, Any]) -> Path:
    """Write bench/results/<name>.json (stamped with the time and machine) and return its path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    stamped = {
        "benchmark": name,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        **data,
    }
    path.write_text(json.dumps(stamped, indent=2, default=_jsonable) + "\n")
    return path


def _jsonable(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    """Print rows as an aligned text table, floats to two decimals."""

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:,.2f}"
        return "" if value is None else str(value)

    cells = [[cell(row.get(column)) for column in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
