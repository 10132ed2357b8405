"""Daily partitions of the raw click table: created ahead on beat, dropped past retention.

PostgreSQL routes each click to the partition of its day (UTC), or to the default partition
when that day has none yet. `click_partitions_ensure` creates the coming days' partitions,
moving any rows of those days out of the default partition first (PostgreSQL refuses a new
partition whose range the default partition still holds). Retention drops whole partitions,
which costs no dead rows and no vacuum, unlike deleting them; what is left in the default
partition past retention is deleted in batches.
"""

from __future__ import annotations

import logging
import re
import zlib
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

PARENT = "creators_click"
DEFAULT = "creators_click_default"
_NAME = re.compile(rf"^{PARENT}_p(\d{{8}})$")
# Table names in the SQL below are these constants and `partition_name` of a date: never input.
# Serializes partition changes between beats, workers and deploys.
_LOCK_KEY = zlib.crc32(b"tribe:click-partitions")


def partition_name(day: date) -> str:
    return f"{PARENT}_p{day:%Y%m%d}"


def _bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + timedelta(days=1)


def click_partition_days() -> list[date]:
    """The days that have a partition of their own, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [PARENT],
        )
        names = [row[0] for row in cursor.fetchall()]
    days = [datetime.strptime(m.group(1), "%Y%m%d").date() for n in names if (m := _NAME.match(n))]
    return sorted(days)


def _create(day: date) -> None:
    name = partition_name(day)
    start, end = _bounds(day)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS)")
        cursor.execute(
            f"WITH moved AS (DELETE FROM {DEFAULT} WHERE clicked_at >= %s AND clicked_at < %s "  # noqa: S608
            f"RETURNING *) INSERT INTO {name} SELECT * FROM moved",
            [start, end],
        )
        moved = cursor.rowcount
        # DDL takes no bound parameters (server-side binding sends $1): the bounds are
        # literals of our own UTC midnights.
        cursor.execute(
            f"ALTER TABLE {PARENT} ATTACH PARTITION {name} "
            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
        )
    logger.info("clicks: created partition %s (%d rows moved from the default)", name, moved)


def click_partitions_ensure(
    *, days_ahead: int | None = None, today: date | None = None
) -> list[str]:
    """Create the partitions of today and the next days that are missing; returns their names."""
    ahead = settings.CLICK_PARTITIONS_AHEAD_DAYS if days_ahead is None else days_ahead
    first = today or timezone.now().astimezone(UTC).date()
    created = []
    with transaction.atomic(durable=True):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        existing = set(click_partition_days())
        for offset in range(ahead + 1):
            day = first + timedelta(days=offset)
            if day not in existing:
                _create(day)
                created.append(partition_name(day))
    return created


def click_partitions_drop(*, before: date, batch_size: int = 10_000) -> int:
    """Drop the partitions of days before `before`, delete older default rows; returns rows gone."""
    removed = 0
    with transaction.atomic(durable=True), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        for day in click_partition_days():
            if day >= before:
                continue
            name = partition_name(day)
            cursor.execute(f"SELECT count(*) FROM {name}")  # noqa: S608
            removed += cursor.fetchone()[0]
            cursor.execute(f"DROP TABLE {name}")
            logger.info("clicks: dropped partition %s", name)
    cutoff, _ = _bounds(before)
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {DEFAULT} WHERE ctid IN (SELECT ctid FROM {DEFAULT} "  # noqa: S608
                "WHERE clicked_at < %s LIMIT %s)",
                [cutoff, batch_size],
            )
            removed += cursor.rowcount
            if cursor.rowcount < batch_size:
                return removed
