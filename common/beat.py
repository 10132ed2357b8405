"""Celery beat that can run twice: schedules in PostgreSQL, one active beat at a time.

The schedule is django-celery-beat's `PeriodicTask` table, edited in the admin. Entries the
code needs (`BEAT_SCHEDULE_SEED` in settings) are created when missing and never changed
afterwards, so an interval edited or a task disabled in the admin stays that way across
restarts and deploys (`CELERY_BEAT_SCHEDULE` stays empty: `DatabaseScheduler` would rewrite
its entries at every start). Delete an entry and the next start brings it back; disable it
instead.

`LockedDatabaseScheduler` takes a PostgreSQL session advisory lock on a connection of its
own before it reads the schedule. A second beat waits on that lock as a standby; when the
active beat dies, even by SIGKILL, PostgreSQL ends its session and releases the lock, and the
standby takes over from the `last_run_at` the database holds. If the active beat loses its
lock connection it exits rather than risk running alongside its successor.
"""

from __future__ import annotations

import contextlib
import logging
import time
import zlib
from datetime import timedelta
from typing import Any

import psycopg
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

logger = logging.getLogger(__name__)

# One key for every beat of a database (advisory locks are per database).
LOCK_KEY = zlib.crc32(b"tribe:celery-beat")


def beat_schedule_seed() -> list[str]:
    """Create the seed entries the database lacks; returns their names. Existing rows are kept."""
    created = []
    for name, entry in settings.BEAT_SCHEDULE_SEED.items():
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        every = entry["schedule"]
        seconds = every.total_seconds() if isinstance(every, timedelta) else float(every)
        interval = IntervalSchedule.objects.filter(
            every=int(seconds), period=IntervalSchedule.SECONDS
        ).first() or IntervalSchedule.objects.create(
            every=int(seconds), period=IntervalSchedule.SECONDS
        )
        # `run_at_once`: due at the first tick instead of one interval after the seed.
        last_run_at = (
            timezone.now() - timedelta(seconds=seconds) if entry.get("run_at_once") else None
        )
        try:
            with transaction.atomic():
                PeriodicTask.objects.create(
                    name=name, task=entry["task"], interval=interval, last_run_at=last_run_at
                )
        except IntegrityError:
            continue  # another beat or a deploy seeded it meanwhile
        created.append(name)
    if created:
        logger.info("beat: seeded %s", ", ".join(created))
    return created


class BeatLock:
    """A session advisory lock on a dedicated connection: held until the session ends."""

    def __init__(self) -> None:
        db = settings.DATABASES["default"]
        self.connection = psycopg.connect(
            host=db.get("HOST") or None,
            port=db.get("PORT") or None,
            dbname=db["NAME"],
            user=db.get("USER") or None,
            password=db.get("PASSWORD") or None,
            autocommit=True,
            application_name="tribe-beat-lock",
            # A half-open connection (host gone) is noticed within about 20 s.
            keepalives=1,
            keepalives_idle=5,
            keepalives_interval=5,
            keepalives_count=3,
        )
        self.checked_at = 0.0

    def try_acquire(self) -> bool:
        row = self.connection.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY]).fetchone()
        return bool(row and row[0])

    def acquire(self, *, retry_seconds: float) -> None:
        """Block until this process holds the lock, as a standby does."""
        announced = False
        while not self.try_acquire():
            if not announced:
                logger.info("beat: another beat holds the lock; standing by")
                announced = True
            time.sleep(retry_seconds)
        logger.info("beat: lock taken; this beat is active")

    def check(self, *, every_seconds: float) -> None:
        """Exit if the lock's session is gone (then another beat may hold the lock)."""
        now = time.monotonic()
        if now - self.checked_at < every_seconds:
            return
        self.checked_at = now
        try:
            self.connection.execute("SELECT 1").fetchone()
        except psycopg.Error as exc:
            logger.critical("beat: lost the lock's connection (%s); stopping", exc)
            raise SystemExit(1) from exc

    def release(self) -> None:
        with contextlib.suppress(psycopg.Error):
            self.connection.close()


class LockedDatabaseScheduler(DatabaseScheduler):
    """django-celery-beat's scheduler, active only while it holds the beat lock."""

    lock: BeatLock | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if not kwargs.get("lazy"):  # the lazy one only prints the banner
            self.lock = BeatLock()
            self.lock.acquire(retry_seconds=settings.BEAT_LOCK_RETRY_SECONDS)
            if settings.BEAT_SEED_ON_START:
                beat_schedule_seed()
        super().__init__(*args, **kwargs)

    def setup_schedule(self) -> None:
        # Celery's own result cleanup only; everything else is in the database already.
        self.install_default_entries(self.schedule)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if self.lock is not None:
            self.lock.check(every_seconds=settings.BEAT_LOCK_CHECK_SECONDS)
        return super().tick(*args, **kwargs)

    def close(self) -> None:
        super().close()
        if self.lock is not None:
            self.lock.release()
