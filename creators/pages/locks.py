"""One build of a stored page at a time: a PostgreSQL advisory lock per page key.

Requests that find a page missing or stale each build it. Without a lock, two builds of the
same page interleave: the one that read its versions and rows first can store its entry
last, over the newer one (which then looks stale and is built again), and a popular page
that has just changed is rendered once per waiting request. A build therefore holds a
transaction-level advisory lock on its page's key (released when the transaction ends,
also when the worker dies). Whoever waited for it then looks again, and finds the page the
holder stored or builds it from versions read after the holder's. A build that waits past
`WAIT_SECONDS` renders the page for its own request and stores nothing, so a stuck build
neither blocks visitors nor lets an older entry be written over a newer one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import OperationalError, connection, transaction

WAIT_SECONDS = 5.0
# The first of the lock's two keys: its own space, apart from every other advisory lock.
_SPACE = int.from_bytes(hashlib.blake2b(b"tribe:stored-pages", digest_size=4).digest(), "big")


def _keys(page_key: str) -> tuple[int, int]:
    """The two signed 32-bit keys of `pg_advisory_xact_lock(int, int)` for a page."""
    digest = hashlib.blake2b(page_key.encode(), digest_size=4).digest()
    return _SPACE - 2**31, int.from_bytes(digest, "big", signed=True)


@contextmanager
def page_build_lock(page_key: str) -> Iterator[bool]:
    """Hold the build lock of `page_key` until the block ends, in a transaction of its own.

    Yields True once the lock is held (one statement when nobody else builds the page), or
    False when another build held it past `WAIT_SECONDS`: the caller then must not store.
    """
    with transaction.atomic():
        yield _acquire(_keys(page_key))


def _acquire(keys: tuple[int, int]) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", keys)
        if cursor.fetchone()[0]:
            return True
        try:
            # A savepoint: a wait that times out leaves the transaction usable.
            with transaction.atomic():
                wait = f"{round(WAIT_SECONDS * 1000)}ms"
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [wait])
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", keys)
        except OperationalError:  # lock_timeout ran out: 55P03 lock_not_available
            return False
        return True
