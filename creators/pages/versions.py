"""Stored page entries and the versions that retire them.

An entry is stamped with the versions it was built under, read *before* the rows it was
built from; a reader uses it only while both versions are unchanged. The catalog's and
each creator's version are rows in PostgreSQL (`PageVersion`), set to a new random token in
the writer's own transaction: the version and the rows change at the same commit, and a
page request reads its versions in the statement that reads its live stock (`live_read`),
with no other round trip. Versions are random tokens, not counters, and rows are never
deleted, so an old entry can never come back to life.

A "no such storefront" entry is stamped with its handle's version instead, which lives in
Redis for only as long as such entries (anyone can ask for any handle, and asking must
write nothing to the database); a creator taking the handle bumps it at once and again when
its transaction commits, so an entry built in between from the old rows is retired too.
"""

from __future__ import annotations

import functools
import pickle
import secrets
from collections.abc import Iterable
from typing import Any, NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction

from common.replica import primary_reads
from creators.models import PageVersion
from shop.selectors import IdArray, LiveStock, stock_live_rows, stock_live_statement

CATALOG_VERSION_KEY = "pages:v:catalog"
# In the entries' keys: bumped when what an entry holds changes shape, so a deploy never
# reads what the code before it stored.
FORMAT = 7


def creator_version_key(creator_id: int) -> str:
    return f"pages:v:creator:{creator_id}"


_HANDLE_VERSION = "pages:v:handle:"


def handle_version_key(handle: str) -> str:
    return f"{_HANDLE_VERSION}{handle}"


def storefront_key(handle: str, number: int = 1) -> str:
    """A storefront's page `number` (each page is an entry of its own)."""
    return f"pages:{FORMAT}:storefront:{handle}:{number}"


def card_states_key(handle: str, catalog_version: str, creator_version: str, card: str) -> str:
    """A storefront card's other stock states: the versions are in the key, so a stale one
    is never found (and expires)."""
    return f"pages:{FORMAT}:card:{handle}:{catalog_version}:{creator_version}:{card}"


def product_key(handle: str, product_id: int) -> str:
    return f"pages:{FORMAT}:product:{handle}:{product_id}"


def entry_seconds() -> int:
    return int(getattr(settings, "STOREFRONT_PAGE_CACHE_SECONDS", 24 * 60 * 60))


def _in_redis(key: str) -> bool:
    return key.startswith(_HANDLE_VERSION)


def _bump(keys: list[str]) -> None:
    """New tokens for handle versions, in Redis (kept as long as the entries they stamp)."""
    cache.set_many({key: secrets.token_hex(8) for key in keys}, timeout=entry_seconds())


def pages_changed(
    *, catalog: bool = False, creator_ids: Iterable[int] = (), handles: Iterable[str] = ()
) -> None:
    """Retire stored pages: every page (`catalog`), a creator's pages, and what is stored
    for a handle (a "no such storefront" for a handle someone has just taken).

    The catalog's and the creators' versions change in the caller's transaction (their rows
    stay locked until it ends; one statement takes them in key order). A handle's version
    changes at once and again when the transaction commits.
    """
    keys = [CATALOG_VERSION_KEY] if catalog else []
    keys += [creator_version_key(pk) for pk in set(creator_ids)]
    if keys:
        PageVersion.objects.bulk_create(
            [PageVersion(key=key, token=secrets.token_hex(8)) for key in sorted(keys)],
            update_conflicts=True,
            unique_fields=["key"],
            update_fields=["token"],
        )
    handle_keys = [handle_version_key(handle) for handle in handles]
    if handle_keys:
        _bump(handle_keys)
        transaction.on_commit(lambda: _bump(handle_keys))


def entries_get(keys: list[str]) -> dict[str, Any]:
    """`cache.get_many`, where an entry that no longer unpickles is missing (and rebuilt)."""
    try:
        return cache.get_many(keys)
    except (AttributeError, TypeError, ValueError, pickle.UnpicklingError):
        return {}


class LocalEntries:
    """Entries this process has read, so a request whose versions still match skips
    fetching and unpickling the entry itself: a 200-product storefront is ~150 KB. A user
    re-checks the versions on every use; at `size` entries, all are dropped."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: dict[Any, Any] = {}
        _EVERY.append(self)

    def get(self, key: Any) -> Any:
        return self._entries.get(key)

    def put(self, key: Any, value: Any) -> None:
        if len(self._entries) >= self.size:
            self._entries = {}
        self._entries[key] = value

    def clear(self) -> None:
        self._entries = {}


_EVERY: list[LocalEntries] = []


def local_entries_clear() -> None:
    """Forget every entry this process keeps (as a process that has just started)."""
    for entries in _EVERY:
        entries.clear()


def versions_get(keys: list[str], *, known: dict[str, str] | None = None) -> dict[str, str]:
    """The current version of each key: from the primary ("" for a key never changed), and
    a handle's from Redis (set afresh where Redis has none). Keys in `known`, versions the
    caller has just read (its live read's), are not read again."""
    found = {key: known[key] for key in keys if known is not None and key in known}
    rows = [key for key in keys if key not in found and not _in_redis(key)]
    if rows:
        found.update(dict.fromkeys(rows, ""))
        with primary_reads():
            found.update(PageVersion.objects.filter(key__in=rows).values_list("key", "token"))
    handles = [key for key in keys if key not in found and _in_redis(key)]
    if handles:
        cached: dict[str, Any] = cache.get_many(handles)
        for key in handles:
            if key not in cached:
                cache.add(key, secrets.token_hex(8), timeout=entry_seconds())
                cached[key] = cache.get(key, "")
            found[key] = str(cached[key])
    return found


class LiveRead(NamedTuple):
    versions: dict[str, str]
    stock: LiveStock


# The versions asked for, beside the rows of shop's live stock statement: one round trip.
_LIVE_READ_SQL = """
SELECT stock.*, NULL, NULL FROM ({stock}) AS stock
UNION ALL
SELECT NULL, NULL, NULL, NULL, v.key, v.token FROM {versions} v WHERE v.key = ANY(%s::text[])
"""


@functools.lru_cache(maxsize=4)
def _live_read_sql(stock_sql: str) -> str:
    """Formatted once per process (the stock statement is the same text every time)."""
    return _LIVE_READ_SQL.format(
        stock=stock_sql, versions=connection.ops.quote_name(PageVersion._meta.db_table)
    )


def live_read(
    *,
    version_keys: list[str],
    product_ids: IdArray,
    variant_product_ids: IdArray,
) -> LiveRead:
    """The current versions of `version_keys` (none of them a handle's) and the live stock
    of the products a stored page shows (`shop.selectors.stock_live_get`), in one statement
    on the primary, where the versions are written."""
    stock_sql, params = stock_live_statement(
        product_ids=product_ids, variant_product_ids=variant_product_ids
    )
    with connection.cursor() as cursor:
        cursor.execute(_live_read_sql(stock_sql), [*params, version_keys])
        rows = cursor.fetchall()
    versions = dict.fromkeys(version_keys, "")
    versions.update((row[4], row[5]) for row in rows if row[4] is not None)
    return LiveRead(versions, stock_live_rows(row[:4] for row in rows if row[4] is None))
