"""Feed runs: enqueue, execute, confirm a held run, and find the feeds that are due.

At most one run per feed is queued or running: a partial unique index says so, and a second
trigger gets the active run back instead of a new one. The worker claims a run with one
conditional UPDATE and keeps a lease (the attempt number); a run whose worker died is
reclaimed after the task time limit. Fetching happens outside any transaction; each batch
of stock changes is its own short transaction.
"""

from __future__ import annotations

import hashlib
import io
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from common.errors import Conflict
from common.tasks_queue import enqueue_on_commit
from shop.feeds.apply import feed_apply, feed_plan
from shop.feeds.fetch import FeedFetchError, auth_headers, feed_fetch
from shop.feeds.parse import FeedFormatError, parse_as_of, parse_feed
from shop.models.feeds import InventoryFeed, StockSyncRun

State = StockSyncRun.State
FEED_RUN_TASK = "shop.tasks.feed_run_execute"


class LeaseLost(Exception):
    """Another worker reclaimed this run; stop without writing."""


@dataclass(frozen=True)
class Outcome:
    state: str
    retry_in: float | None = None


def stale_after() -> timedelta:
    """How long an active run may go without a heartbeat before it counts as abandoned."""
    longest = max(settings.CELERY_TASK_TIME_LIMIT, settings.FEED_RETRY_MAX_SECONDS)
    return timedelta(seconds=longest + 300)


def backoff_seconds(attempt: int, *, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: half to all of base * 2^(attempt-1), capped."""
    ceiling = min(
        settings.FEED_RETRY_MAX_SECONDS, settings.FEED_RETRY_BASE_SECONDS * 2 ** (attempt - 1)
    )
    return (rng or random).uniform(ceiling / 2, ceiling)


# --- enqueueing ------------------------------------------------------------------


def _reclaim_stale(*, feed_id: int | None = None) -> int:
    stale = StockSyncRun.objects.filter(
        state__in=StockSyncRun.ACTIVE_STATES,
        created_at__lt=timezone.now() - stale_after(),
    ).filter(Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=timezone.now() - stale_after()))
    if feed_id is not None:
        stale = stale.filter(feed_id=feed_id)
    return stale.update(
        state=State.FAILED,
        phase="",
        finished_at=timezone.now(),
        message="Abandoned: the worker stopped reporting progress.",
    )


def feed_run_enqueue(
    *,
    feed_id: int,
    origin: str = StockSyncRun.Origin.FETCH,
    payload: bytes | None = None,
    payload_as_of: datetime | None = None,
    actor_id: int | None = None,
) -> tuple[StockSyncRun, bool]:
    """Queue a run of the feed; (the active run, False) if one is already queued or running."""
    with transaction.atomic(durable=True):
        _reclaim_stale(feed_id=feed_id)
        try:
            with transaction.atomic():
                run = StockSyncRun.objects.create(
                    feed_id=feed_id,
                    origin=origin,
                    payload=payload,
                    payload_as_of=payload_as_of,
                    actor_id=actor_id,
                )
        except IntegrityError:
            active = StockSyncRun.objects.filter(
                feed_id=feed_id, state__in=StockSyncRun.ACTIVE_STATES
            ).first()
            if active is None:  # it finished between our insert and this read
                raise Conflict(
                    "The feed's previous run just finished; try again.",
                    code="feed_sync_running",
                    retryable=True,
                ) from None
            return active, False
        enqueue_on_commit(FEED_RUN_TASK, run.pk)
    return run, True


def feed_push(
    *,
    feed: InventoryFeed,
    payload: bytes,
    as_of: datetime | None,
    actor_id: int | None,
    origin: str = StockSyncRun.Origin.PUSH,
) -> StockSyncRun:
    """Queue a run of a pushed or uploaded body; 409 while another run of the feed is active."""
    if as_of is not None:
        as_of = min(as_of, timezone.now())  # a clock ahead of ours must not hide recent sales
    run, created = feed_run_enqueue(
        feed_id=feed.pk, origin=origin, payload=payload, payload_as_of=as_of, actor_id=actor_id
    )
    if not created:
        raise Conflict(
            f"Run {run.pk} of this feed is still {run.state}; push again when it finishes.",
            code="feed_sync_running",
            retryable=True,
        )
    return run


def feed_run_confirm(*, run_id: int, actor_id: int | None) -> StockSyncRun:
    """Apply a held run after all: it is queued again, past the zero guard."""
    with transaction.atomic(durable=True):
        try:
            with transaction.atomic():
                updated = StockSyncRun.objects.filter(pk=run_id, state=State.HELD).update(
                    state=State.QUEUED, confirmed=True, actor_id=actor_id, phase="confirmed"
                )
        except IntegrityError:
            raise Conflict(
                "Another run of this feed is active; confirm when it finishes.",
                code="feed_sync_running",
                retryable=True,
            ) from None
        if not updated:
            raise Conflict("Only a held run can be confirmed.", code="run_not_held")
        enqueue_on_commit(FEED_RUN_TASK, run_id)
    return StockSyncRun.objects.get(pk=run_id)


def feeds_enqueue_due() -> int:
    """Queue a fetch of every active feed whose time has come; returns how many were queued."""
    _reclaim_stale()
    now = timezone.now()
    due = (
        InventoryFeed.objects.filter(is_active=True, brand__is_active=True)
        .exclude(url="")
        .filter(Q(next_run_at__isnull=True) | Q(next_run_at__lte=now))
        .values_list("pk", "interval_minutes", "next_run_at")
    )
    queued = 0
    for pk, interval, next_run_at in due:
        # Claim the slot first, so two beats (or a slow one) never queue the same feed twice.
        claimed = (
            InventoryFeed.objects.filter(pk=pk, next_run_at=next_run_at)
            if next_run_at
            else (InventoryFeed.objects.filter(pk=pk, next_run_at__isnull=True))
        )
        if claimed.update(next_run_at=now + timedelta(minutes=interval)):
            _, created = feed_run_enqueue(feed_id=pk)
            queued += created
    return queued


# --- executing -------------------------------------------------------------------


def _claim(run_id: int) -> bool:
    now = timezone.now()
    claimable = Q(state=State.QUEUED) | Q(state=State.RUNNING, heartbeat_at__lt=now - stale_after())
    updated = StockSyncRun.objects.filter(claimable, pk=run_id).update(
        state=State.RUNNING,
        attempts=F("attempts") + 1,
        started_at=Coalesce(F("started_at"), now),
        heartbeat_at=now,
        phase="starting",
    )
    return bool(updated)


def _update(run: StockSyncRun, lease: int, **fields: Any) -> None:
    """Write to the run only while this worker still holds it."""
    fields.setdefault("heartbeat_at", timezone.now())
    if not StockSyncRun.objects.filter(pk=run.pk, state=State.RUNNING, attempts=lease).update(
        **fields
    ):
        raise LeaseLost
    for name, value in fields.items():
        setattr(run, name, value)


def _finish(run: StockSyncRun, lease: int, state: str, **fields: Any) -> Outcome:
    if state != State.HELD:
        fields.setdefault("payload", None)  # a held run keeps its body for the confirmation
    _update(run, lease, state=state, phase="", finished_at=timezone.now(), **fields)
    return Outcome(state)


def feed_run_execute(*, run_id: int) -> Outcome:
    """Run one queued run to its end; Outcome.retry_in asks the task to try again later."""
    if not _claim(run_id):
        return Outcome("skipped")
    run = StockSyncRun.objects.select_related("feed").get(pk=run_id)
    lease = run.attempts  # nobody else can claim a run with a fresh heartbeat
    try:
        return _execute(run, run.feed, lease)
    except LeaseLost:
        return Outcome("skipped")
    except Exception as exc:
        # A bug must not leave the feed blocked behind a run that says it is running.
        StockSyncRun.objects.filter(pk=run.pk, state=State.RUNNING, attempts=lease).update(
            state=State.FAILED,
            phase="",
            finished_at=timezone.now(),
            message=f"Internal error: {exc}",
        )
        raise


def _fetch_failed(run: StockSyncRun, lease: int, exc: FeedFetchError) -> Outcome:
    message = f"Attempt {run.attempts}: {exc.message}"
    error = [{"row": 0, "sku": "", "code": exc.code, "message": exc.message}]
    if exc.retryable and run.attempts <= settings.FEED_MAX_RETRIES:
        delay = backoff_seconds(run.attempts)
        _update(run, lease, state=State.QUEUED, phase=f"retrying in {delay:.0f}s", message=message)
        return Outcome(State.QUEUED, retry_in=delay)
    return _finish(run, lease, State.FAILED, message=message, errors=error)


def _execute(run: StockSyncRun, feed: InventoryFeed, lease: int) -> Outcome:
    fetched = None
    body: IO[bytes]
    if run.payload is not None:
        payload = bytes(run.payload)
        body, sha = io.BytesIO(payload), hashlib.sha256(payload).hexdigest()
        # A held run kept the as-of it was planned with (never later than its fetch).
        header_as_of = run.payload_as_of
        received_at = max(run.created_at, header_as_of) if header_as_of else run.created_at
    else:
        if not feed.url:
            return _finish(run, lease, State.FAILED, message="The feed has no URL to fetch.")
        _update(run, lease, phase="fetching")
        try:
            fetched = feed_fetch(
                url=feed.url,
                headers=auth_headers(header=feed.auth_header, env_name=feed.auth_env),
                etag=feed.etag,
                last_modified=feed.last_modified,
                as_of_header=feed.as_of_header,
            )
        except FeedFetchError as exc:
            return _fetch_failed(run, lease, exc)
        if fetched.not_modified or fetched.body is None:
            return _finish(run, lease, State.SUCCEEDED, not_modified=True, message="Not modified.")
        body, sha, received_at = fetched.body, fetched.sha256, fetched.fetched_at
        header_as_of = parse_as_of(fetched.as_of_header) or parse_as_of(fetched.last_modified)
    try:
        return _validate_and_apply(run, feed, lease, body, sha, received_at, header_as_of, fetched)
    finally:
        body.close()


def _validate_and_apply(
    run: StockSyncRun,
    feed: InventoryFeed,
    lease: int,
    body: IO[bytes],
    sha: str,
    received_at: datetime,
    header_as_of: datetime | None,
    fetched: Any,
) -> Outcome:
    try:
        parsed = parse_feed(body, fmt=feed.format, mapping=feed.column_mapping or {})
    except FeedFormatError as exc:
        error = [{"row": 0, "sku": "", "code": "unreadable", "message": str(exc)}]
        return _finish(run, lease, State.FAILED, message=str(exc), errors=error)
    # Identical content keeps the as-of time it was first seen with: the brand's system has
    # not counted anything since, so sales after that time must still be subtracted.
    same_content = sha == feed.content_sha256 and feed.content_as_of is not None
    as_of = (
        parsed.as_of
        or header_as_of
        or (feed.content_as_of if same_content else None)
        or received_at
    )
    as_of = min(as_of, received_at)  # a clock ahead of ours must not hide recent sales
    counts: dict[str, Any] = {"as_of": as_of, "rows": parsed.rows, "invalid": parsed.invalid}
    if feed.applied_as_of and as_of < feed.applied_as_of:
        message = f"The feed is as of {as_of:%Y-%m-%d %H:%M:%S}, older than what was applied."
        return _finish(run, lease, State.FAILED, message=message, errors=parsed.errors, **counts)
    _update(run, lease, phase="planning", **counts)
    plan = feed_plan(
        brand_id=feed.brand_id,
        parsed=parsed,
        as_of=as_of,
        error_room=max(0, StockSyncRun.MAX_ERRORS - len(parsed.errors)),
    )
    counts |= {
        "unknown_sku": plan.unknown_sku,
        "zeroed": plan.zeroed,
        "errors": sorted([*parsed.errors, *plan.errors], key=lambda e: e["row"]),
    }
    if not run.confirmed and plan.would_zero_too_much(feed.max_zero_share):
        if fetched is not None:
            body.seek(0)
            counts["payload"] = body.read()
        message = (
            f"Held: would set {plan.zeroed} of the brand's {plan.catalog_size} variants to "
            f"zero (more than {feed.max_zero_share}%). Confirm the run to apply it."
        )
        counts |= {"payload_as_of": as_of, "unchanged": plan.unchanged}
        outcome = _finish(run, lease, State.HELD, message=message, **counts)
        _remember_content(feed, run, fetched, sha, as_of, applied=False)
        return outcome
    _update(run, lease, phase="applying", rows_done=0)
    applied = feed_apply(
        plan=plan,
        as_of=as_of,
        reference=f"feed {feed.pk} run {run.pk}",
        progress=lambda done: _update(run, lease, rows_done=done),
    )
    outcome = _finish(
        run,
        lease,
        State.SUCCEEDED,
        changed=applied.changed,
        unchanged=plan.unchanged + applied.unchanged,
        below_reserved=plan.below_reserved,
        conflicts=plan.conflicts,
        message=f"{applied.changed} variant(s) changed.",
        **counts,
    )
    _remember_content(feed, run, fetched, sha, as_of, applied=True)
    return outcome


def _remember_content(
    feed: InventoryFeed,
    run: StockSyncRun,
    fetched: Any,
    sha: str,
    as_of: datetime,
    *,
    applied: bool,
) -> None:
    fields: dict[str, Any] = {"content_sha256": sha, "content_as_of": as_of}
    if fetched is not None:
        fields |= {"etag": fetched.etag, "last_modified": fetched.last_modified}
    with transaction.atomic():
        if applied:
            newest = feed.applied_as_of
            fields["applied_as_of"] = max(newest, as_of) if newest else as_of
        InventoryFeed.objects.filter(pk=feed.pk).update(**fields)
        StockSyncRun.objects.filter(feed_id=feed.pk, state=State.HELD).exclude(pk=run.pk).update(
            state=State.FAILED, message=f"Superseded by run {run.pk}.", payload=None
        )
