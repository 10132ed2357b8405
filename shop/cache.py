"""The public catalog list cache: versioned keys, bumped on any catalog change, short TTL.

Stock moves through conditional UPDATEs that fire no signals, so the TTL
(`CATALOG_LIST_CACHE_SECONDS`, 5 s) bounds how stale a cached page's stock can be.
Detail pages and checkout never read this cache.
"""

from __future__ import annotations

import hashlib
import time
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.dispatch import Signal

VERSION_KEY = "catalog:version"


# Each process remembers the version for a second: one cache round trip per request saved,
# and a catalog change reaches every process within a second.
_VERSION_MEMO_SECONDS = 1.0
_version_memo: list[float] = [0.0, 0.0]  # [expires_at (monotonic), version]


def catalog_version() -> int:
    now = time.monotonic()
    if _version_memo[0] > now:
        return int(_version_memo[1])
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, 1, timeout=None)
        version = cache.get(VERSION_KEY, 1)
    _version_memo[:] = [now + _VERSION_MEMO_SECONDS, float(version)]
    return int(version)


def _bump() -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:
        cache.add(VERSION_KEY, 2, timeout=None)
    _version_memo[0] = 0.0  # this process sees its own change at once


# Sent by `catalog_changed`, in the writer's transaction: pages stored by the apps above
# (the storefront and product pages) retire themselves on it.
catalog_change = Signal()


def catalog_changed() -> None:
    """Invalidate every cached list page once the current transaction commits, and tell
    the pages stored elsewhere."""
    transaction.on_commit(_bump)
    catalog_change.send(sender=None)


def list_cache_key(path: str, params: dict[str, list[str]]) -> str:
    query = urlencode(sorted((k, v) for k, values in params.items() for v in values))
    digest = hashlib.sha256(f"{path}?{query}".encode()).hexdigest()[:32]
    return f"catalog:list:{catalog_version()}:{digest}"


def list_cache_seconds() -> int:
    return int(getattr(settings, "CATALOG_LIST_CACHE_SECONDS", 5))
