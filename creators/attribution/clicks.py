"""Clicks off the hot path: taps are buffered per process and reach Redis in batches; a beat
task flushes them to PostgreSQL.

Each worker process collects its taps for up to `CLICK_BUFFER_SECONDS` (or
`CLICK_BUFFER_SIZE` taps) and pushes them in one Redis call. Redis holds a pending list;
the one-hour uniqueness rule is a `SET NX EX` per link and client, decided in the same Lua
call as the push, so it stays exact however many processes take taps. The flush moves a
batch to a processing list (so a crash never loses it), inserts it with the click id
unique (so a retry never doubles it), recomputes the touched daily aggregates under a row
lock, then drops the processing list. While Redis is down, clicks are written straight to
the database and the service reports the degraded mode.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import redis
from django.conf import settings
from django.db import IntegrityError, close_old_connections, transaction
from django.db.models import Count, Q
from django.utils import timezone

from common.observability.metrics import CLICK_BUFFER_FLUSHES, CLICKS_FLUSHED
from common.redis_client import REDIS_FAILURES, redis_client
from creators.attribution.buffer import Buffer
from creators.models import AffiliateLink, Click, ClickDaily

logger = logging.getLogger(__name__)

# KEYS[1] is the pending list and KEYS[1 + i] click i's "seen" key; ARGV[1] is the window,
# ARGV[2i] click i's payload and ARGV[2i + 1] '1' for a bot (bots are never unique).
_RECORD = """
local window = tonumber(ARGV[1])
local items = {}
local uniques = 0
for i = 1, #KEYS - 1 do
  local unique = 0
  if ARGV[2 * i + 1] == '0' and redis.call('SET', KEYS[i + 1], '1', 'NX', 'EX', window) then
    unique = 1
  end
  uniques = uniques + unique
  items[#items + 1] = ARGV[2 * i] .. '|' .. unique
  if #items == 500 then
    redis.call('RPUSH', KEYS[1], unpack(items))
    items = {}
  end
end
if #items > 0 then redis.call('RPUSH', KEYS[1], unpack(items)) end
return uniques
"""
_CLAIM = """
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #items == 0 then return items end
redis.call('LTRIM', KEYS[1], #items, -1)
for i = 1, #items, 500 do
  redis.call('RPUSH', KEYS[2], unpack(items, i, math.min(i + 499, #items)))
end
redis.call('ZADD', KEYS[3], tonumber(ARGV[2]), KEYS[2])
return items
"""
_REQUEUE = """
local items = redis.call('LRANGE', KEYS[2], 0, -1)
for i = 1, #items, 500 do
  redis.call('RPUSH', KEYS[1], unpack(items, i, math.min(i + 499, #items)))
end
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[3], KEYS[2])
return #items
"""

_degraded_since: float | None = None


def _redis() -> redis.Redis:
    return redis_client(
        settings.REDIS_URL, socket_timeout=settings.CLICK_REDIS_TIMEOUT, socket_connect_timeout=1
    )


def _key(name: str) -> str:
    return f"{settings.CLICK_KEY_PREFIX}:clicks:{name}"


def degraded_reason() -> str | None:
    """Why clicks are written straight to the database, or None when Redis takes them."""
    if _degraded_since is not None and time.monotonic() - _degraded_since < 60:
        return "Redis unreachable in the last minute: clicks written directly"
    return None


@dataclass(frozen=True)
class ClickRecord:
    click_id: str
    link_id: int
    client_hash: str
    ip_hash: str
    user_agent: str
    source: str
    is_bot: bool
    at: float

    def encode(self) -> str:
        return json.dumps(
            {
                "c": self.click_id,
                "l": self.link_id,
                "h": self.client_hash,
                "i": self.ip_hash,
                "u": self.user_agent,
                "s": self.source,
                "b": self.is_bot,
                "t": self.at,
            },
            separators=(",", ":"),
        )

    @classmethod
    def decode(cls, raw: bytes | str) -> tuple[ClickRecord, bool]:
        text = raw.decode() if isinstance(raw, bytes) else raw
        payload, _, unique = text.rpartition("|")
        data = json.loads(payload)
        record = cls(
            click_id=data["c"],
            link_id=data["l"],
            client_hash=data["h"],
            ip_hash=data["i"],
            user_agent=data["u"],
            source=data["s"],
            is_bot=data["b"],
            at=data["t"],
        )
        return record, unique == "1"


def click_new_id() -> str:
    return uuid.uuid4().hex


_scripts: dict[int, Any] = {}


def _record_script(client: redis.Redis) -> Any:
    """The click script registered once per client: EVALSHA sends its hash, not its source."""
    script = _scripts.get(id(client))
    if script is None:
        script = client.register_script(_RECORD)
        _scripts[id(client)] = script
    return script


def click_record(record: ClickRecord) -> None:
    """Take one click: into this process's buffer, or straight to Redis with no buffer."""
    if settings.CLICK_BUFFER_SECONDS <= 0:
        _push([record])
    else:
        _buffer.add(record)


def clicks_pending_count() -> int:
    """Clicks in Redis waiting for the flush (not those still in a process's buffer)."""
    return int(cast(int, _redis().llen(_key("pending"))))


def clicks_buffer_flush() -> int:
    """Push this process's buffered clicks to Redis now; returns how many went."""
    return _buffer.flush()


def _push(records: list[ClickRecord]) -> None:
    """Queue clicks in one Redis call, deciding uniqueness there; write directly if it fails."""
    global _degraded_since
    client = _redis()
    keys = [_key("pending")]
    args: list[str | int] = [settings.CLICK_UNIQUE_WINDOW_SECONDS]
    for record in records:
        keys.append(_key(f"seen:{record.link_id}:{record.client_hash}"))
        args += [record.encode(), "1" if record.is_bot else "0"]
    try:
        _record_script(client)(keys=keys, args=args)
        CLICK_BUFFER_FLUSHES.labels("redis").inc()
        return
    except REDIS_FAILURES as exc:
        if _degraded_since is None or time.monotonic() - _degraded_since > 60:
            logger.warning("Click queue degraded, writing clicks directly: %s", exc)
        _degraded_since = time.monotonic()
    CLICK_BUFFER_FLUSHES.labels("direct").inc()
    for record in records:
        _record_directly(record)


_buffer: Buffer[ClickRecord] = Buffer(
    push=_push,
    max_delay=lambda: settings.CLICK_BUFFER_SECONDS,
    max_items=lambda: settings.CLICK_BUFFER_SIZE,
    name="click-buffer",
    # A direct write from the buffer's thread opened a connection outside any request.
    after_thread_push=close_old_connections,
)


def _record_directly(record: ClickRecord) -> None:
    at = datetime.fromtimestamp(record.at, tz=UTC)
    window = timedelta(seconds=settings.CLICK_UNIQUE_WINDOW_SECONDS)
    with transaction.atomic():
        unique = (
            not record.is_bot
            and not Click.objects.filter(
                link_id=record.link_id,
                client_hash=record.client_hash,
                is_unique=True,
                clicked_at__gt=at - window,
            ).exists()
        )
        inserted = _insert([(record, unique)])
        _recompute_daily(inserted)


def _insert(items: Iterable[tuple[ClickRecord, bool]]) -> set[tuple[int, date]]:
    rows = list(items)
    live_links = set(
        AffiliateLink.objects.filter(pk__in={r.link_id for r, _ in rows}).values_list(
            "pk", flat=True
        )
    )
    clicks = [
        Click(
            click_id=r.click_id,
            link_id=r.link_id,
            client_hash=r.client_hash,
            ip_hash=r.ip_hash,
            user_agent=r.user_agent,
            source=r.source,
            is_unique=unique and not r.is_bot,
            is_bot=r.is_bot,
            clicked_at=datetime.fromtimestamp(r.at, tz=UTC),
        )
        for r, unique in rows
        if r.link_id in live_links
    ]
    Click.objects.bulk_create(clicks, ignore_conflicts=True, batch_size=1000)
    return {(c.link_id, c.clicked_at.date()) for c in clicks}


def _recompute_daily(pairs: Iterable[tuple[int, date]]) -> None:
    """Recount each touched (link, day) from the raw clicks, holding its row lock."""
    for link_id, day in sorted(pairs):
        try:
            with transaction.atomic():
                ClickDaily.objects.get_or_create(link_id=link_id, date=day)
        except IntegrityError:
            pass
        ClickDaily.objects.select_for_update().get(link_id=link_id, date=day)
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        counts = Click.objects.filter(
            link_id=link_id, clicked_at__gte=start, clicked_at__lt=start + timedelta(days=1)
        ).aggregate(
            clicks=Count("pk", filter=Q(is_bot=False)),
            unique_clicks=Count("pk", filter=Q(is_bot=False, is_unique=True)),
            bot_clicks=Count("pk", filter=Q(is_bot=True)),
        )
        ClickDaily.objects.filter(link_id=link_id, date=day).update(**counts)


def clicks_flush(*, batch_size: int = 5000, max_batches: int = 50) -> int:
    """Move pending clicks from Redis into PostgreSQL; returns how many were taken."""
    clicks_buffer_flush()  # this process's own taps first
    from creators.attribution.sinks import click_sink

    sink = click_sink()
    client = _redis()
    _requeue_stale(client)
    taken = 0
    for _ in range(max_batches):
        processing = _key(f"processing:{uuid.uuid4().hex}")
        raw = cast(
            list[bytes],
            client.eval(
                _CLAIM, 3, _key("pending"), processing, _key("processing"), batch_size, time.time()
            ),
        )
        if not raw:
            break
        items = [ClickRecord.decode(item) for item in raw]
        sink.write(items)
        client.delete(processing)
        client.zrem(_key("processing"), processing)
        taken += len(items)
        if len(raw) < batch_size:
            break
    CLICKS_FLUSHED.inc(taken)
    return taken


def _requeue_stale(client: redis.Redis, older_than: float = 300.0) -> int:
    """Put back batches whose flusher died before finishing (their rows may be in already)."""
    stale = cast(list[bytes], client.zrangebyscore(_key("processing"), 0, time.time() - older_than))
    moved = 0
    for key in stale:
        moved += int(client.eval(_REQUEUE, 3, _key("pending"), key, _key("processing")))
    return moved


def clicks_pending(*, link_ids: set[int], limit: int = 50_000) -> list[tuple[ClickRecord, bool]]:
    """Clicks taken but not flushed yet, for the near-live last hour of the stats."""
    if not link_ids:
        return []
    client = _redis()
    clicks_buffer_flush()  # another process's buffer is at most CLICK_BUFFER_SECONDS behind
    try:
        raw = client.lrange(_key("pending"), 0, limit - 1)
    except REDIS_FAILURES:
        return []
    decoded = (ClickRecord.decode(item) for item in raw)
    return [(r, u) for r, u in decoded if r.link_id in link_ids]


def clicks_prune(*, older_than_days: int | None = None, batch_size: int = 10_000) -> int:
    """Remove raw clicks past retention by dropping their days' partitions; aggregates stay.

    Retention is whole UTC days: a day goes once all of it is older than the retention.
    """
    from creators.attribution.partitions import click_partitions_drop

    days = older_than_days if older_than_days is not None else settings.CLICK_RETENTION_DAYS
    before = (timezone.now() - timedelta(days=days)).astimezone(UTC).date()
    return click_partitions_drop(before=before, batch_size=batch_size)


class PostgresClickSink:
    """Where flushed clicks go today: the partitioned raw table and the daily aggregates."""

    def write(self, items: list[tuple[ClickRecord, bool]]) -> None:
        with transaction.atomic():
            _recompute_daily(_insert(items))
