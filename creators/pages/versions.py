"""Stored page entries and the versions that retire them.

An entry is stamped with the versions it was built under, read *before* the rows it was
built from; a reader uses it only while both versions are unchanged. A writer bumps a
version at once and again when its transaction commits: a page built in between from the
old rows carries the first bump's stamp and is retired by the second. Versions are random
tokens, not counters, so a version evicted from Redis and set again can never bring an old
entry back to life. A "no such storefront" entry is stamped with its handle's version,
which a creator taking the handle bumps the same way.
"""

from __future__ import annotations

import pickle
import secrets
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

CATALOG_VERSION_KEY = "pages:v:catalog"
# In the entries' keys: bumped when what an entry holds changes shape, so a deploy never
# reads what the code before it stored.
FORMAT = 4


def creator_version_key(creator_id: int) -> str:
    return f"pages:v:creator:{creator_id}"


_HANDLE_VERSION = "pages:v:handle:"


def handle_version_key(handle: str) -> str:
    return f"{_HANDLE_VERSION}{handle}"


def _version_seconds(key: str) -> int | None:
    """How long a version is kept: for good, but a handle's only as long as the entries it
    stamps (anyone can ask for any handle; one missing later only makes them stale)."""
    return entry_seconds() if key.startswith(_HANDLE_VERSION) else None


def storefront_key(handle: str) -> str:
    return f"pages:{FORMAT}:storefront:{handle}"


def card_states_key(handle: str, catalog_version: str, creator_version: str, card: str) -> str:
    """A storefront card's other stock states: the versions are in the key, so a stale one
    is never found (and expires)."""
    return f"pages:{FORMAT}:card:{handle}:{catalog_version}:{creator_version}:{card}"


def product_key(handle: str, product_id: int) -> str:
    return f"pages:{FORMAT}:product:{handle}:{product_id}"


def entry_seconds() -> int:
    return int(getattr(settings, "STOREFRONT_PAGE_CACHE_SECONDS", 24 * 60 * 60))


def _bump(keys: list[str]) -> None:
    fresh: dict[int | None, dict[str, str]] = {}
    for key in keys:
        fresh.setdefault(_version_seconds(key), {})[key] = secrets.token_hex(8)
    for timeout, versions in fresh.items():
        cache.set_many(versions, timeout=timeout)


def pages_changed(
    *, catalog: bool = False, creator_ids: Iterable[int] = (), handles: Iterable[str] = ()
) -> None:
    """Retire stored pages: every page (`catalog`), a creator's pages, and what is stored
    for a handle (a "no such storefront" for a handle someone has just taken)."""
    keys = [CATALOG_VERSION_KEY] if catalog else []
    keys += [creator_version_key(pk) for pk in creator_ids]
    keys += [handle_version_key(handle) for handle in handles]
    if not keys:
        return
    _bump(keys)
    transaction.on_commit(lambda: _bump(keys))


def entries_get(keys: list[str]) -> dict[str, Any]:
    """`cache.get_many`, where an entry that no longer unpickles is missing (and rebuilt)."""
    try:
        return cache.get_many(keys)
    except (AttributeError, TypeError, ValueError, pickle.UnpicklingError):
        return {}


class LocalEntries:
    """Entries this process has read, so a request whose versions still match (one small
    cache read) skips fetching and unpickling the entry itself: a 200-product storefront is
    ~150 KB. A user re-checks the versions on every use; at `size` entries, all are dropped.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: dict[Any, Any] = {}

    def get(self, key: Any) -> Any:
        return self._entries.get(key)

    def put(self, key: Any, value: Any) -> None:
        if len(self._entries) >= self.size:
            self._entries = {}
        self._entries[key] = value

    def clear(self) -> None:
        self._entries = {}


def versions_get(keys: list[str]) -> dict[str, str]:
    """The current version of each key, setting a fresh one where Redis has none."""
    found: dict[str, Any] = cache.get_many(keys)
    for key in keys:
        if key not in found:
            cache.add(key, secrets.token_hex(8), timeout=_version_seconds(key))
            found[key] = cache.get(key, "")
    return {key: str(found[key]) for key in keys}
