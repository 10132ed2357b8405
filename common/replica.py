"""Reads that may go to a PostgreSQL streaming replica, and the router that sends them there.

A read goes to the replica only when all of these hold; otherwise it goes to the primary:

- a `replica` database is configured (`DATABASE_REPLICA_URL`);
- the code asked for it: the public pages and reads that tolerate a second of staleness run
  inside `replica_reads()` (or a view wrapped in `replica_view`): the catalog, storefront and
  product pages, creator stats and analytics. Checkout, payments, money, the admin, Celery
  tasks and everything else never ask, so they read the primary;
- nothing in the same request or task has written yet (read-your-writes: the first write
  pins the rest of the unit of work to the primary), and no transaction is open on the
  primary (a read inside one must see that transaction's own rows);
- the replica's replay lag is under `REPLICA_MAX_LAG_SECONDS` and it answers. The lag is
  read from the replica at most once per `REPLICA_LAG_CHECK_SECONDS` per process; a replica
  that does not answer is left alone for `REPLICA_RETRY_SECONDS`.

Writers that rebuild a cache or a listing read inside `primary_reads()`, so they never store
what a lagging replica still shows. Django's own router API does the routing
(`DATABASE_ROUTERS`); the per-unit-of-work state lives in context variables, reset for each
request by `ReplicaPinMiddleware`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps
from typing import Any

from celery.signals import task_prerun
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.utils import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

logger = logging.getLogger(__name__)

REPLICA = "replica"

_wants_replica: ContextVar[bool] = ContextVar("tribe_wants_replica", default=False)
_wrote: ContextVar[bool] = ContextVar("tribe_wrote_primary", default=False)

# Replay lag, in seconds, of a replica whose receiver is not streaming or that is not a
# replica at all: never used.
NOT_STREAMING = float("inf")

LAG_SQL = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN NULL
    WHEN NOT EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming') THEN NULL
    WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
    ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())
END
"""


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


@contextmanager
def replica_reads() -> Iterator[None]:
    """Reads inside may be served by the replica (see the module docstring for when)."""
    token = _wants_replica.set(True)
    try:
        yield
    finally:
        _wants_replica.reset(token)


@contextmanager
def primary_reads() -> Iterator[None]:
    """Reads inside go to the primary, even within `replica_reads()`: cache fills, rebuilds."""
    token = _wants_replica.set(False)
    try:
        yield
    finally:
        _wants_replica.reset(token)


def replica_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """A view (function or `as_view()`) whose reads may be served by the replica."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        with replica_reads():
            return view(request, *args, **kwargs)

    return wrapped


@contextmanager
def unit_of_work() -> Iterator[None]:
    """A request or task: forget an earlier unit's write, and its wish for the replica."""
    wrote = _wrote.set(False)
    wants = _wants_replica.set(False)
    try:
        yield
    finally:
        _wrote.reset(wrote)
        _wants_replica.reset(wants)


@task_prerun.connect(weak=False)
def _task_starts_unpinned(sender: Any = None, task: Any = None, **_: Any) -> None:
    """A worker thread runs task after task: none inherits an earlier one's write. An eager
    task runs inside its caller's unit of work and keeps it."""
    if task is not None and not getattr(task.request, "is_eager", False):
        _wrote.set(False)
        _wants_replica.set(False)


class ReplicaPinMiddleware:
    """Each request starts unpinned; a write in it pins its later reads to the primary."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with unit_of_work():
            return self.get_response(request)


@dataclass
class _LagReading:
    lag: float
    read_at: float
    error: str | None = None


class ReplicaLag:
    """The replica's replay lag, read at most once per interval per process (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reading: _LagReading | None = None

    def forget(self) -> None:
        with self._lock:
            self._reading = None

    def last(self) -> _LagReading | None:
        """The reading the router used last, without reading again."""
        return self._reading

    def current(self) -> _LagReading:
        now = time.monotonic()
        reading = self._reading
        if reading is not None and now - reading.read_at < self._interval(reading):
            return reading
        with self._lock:
            reading = self._reading
            if reading is not None and now - reading.read_at < self._interval(reading):
                return reading
            self._reading = reading = self._read(now)
            return reading

    @staticmethod
    def _interval(reading: _LagReading) -> float:
        if reading.error is not None:
            return float(getattr(settings, "REPLICA_RETRY_SECONDS", 5.0))
        return float(getattr(settings, "REPLICA_LAG_CHECK_SECONDS", 1.0))

    @staticmethod
    def _read(now: float) -> _LagReading:
        try:
            with connections[REPLICA].cursor() as cursor:
                cursor.execute(LAG_SQL)
                (value,) = cursor.fetchone()
        except DatabaseError as exc:
            logger.warning("replica unreachable, reading the primary: %s", exc)
            connections[REPLICA].close()
            return _LagReading(lag=NOT_STREAMING, read_at=now, error=exc.__class__.__name__)
        if value is None:
            return _LagReading(lag=NOT_STREAMING, read_at=now, error="not_streaming")
        return _LagReading(lag=float(value), read_at=now)


replica_lag = ReplicaLag()


def replica_usable() -> bool:
    reading = replica_lag.current()
    return reading.error is None and reading.lag <= float(settings.REPLICA_MAX_LAG_SECONDS)


def replica_status() -> dict[str, Any]:
    """For /readyz: the replica's lag and whether reads go to it (never a reason for a 503:
    without the replica every read goes to the primary)."""
    reading = replica_lag.current()
    limit = float(settings.REPLICA_MAX_LAG_SECONDS)
    if reading.error is not None:
        return {"status": f"degraded: {reading.error}", "lag_seconds": None, "reads": "primary"}
    used = reading.lag <= limit
    return {
        "status": "ok" if used else f"degraded: lag over {limit:g}s",
        "lag_seconds": round(reading.lag, 3),
        "reads": "replica" if used else "primary",
    }


class ReplicaRouter:
    """Django's database router for the rules in the module docstring."""

    def db_for_read(self, model: type, **hints: Any) -> str | None:
        if not _wants_replica.get() or _wrote.get() or not replica_configured():
            return None
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return None
        return REPLICA if replica_usable() else None

    def db_for_write(self, model: type, **hints: Any) -> str:
        _wrote.set(True)
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # one database, two servers: every relation is the same either way

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db != REPLICA
