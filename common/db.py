"""Transaction helpers, and the ranges of PostgreSQL's integer columns."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
from django.db.models import Model

# The largest values of `smallint` and `integer`: API inputs stored in those columns are
# bounded by these in their serializers, so a bigger number is a 400, not a 500.
MAX_SMALLINT = 32_767
MAX_INTEGER = 2_147_483_647


def in_transaction() -> bool:
    """True inside an `atomic` block opened by the code (not by a test case's wrapper).

    Network calls (Stripe, feeds) must never happen while this is true.
    """
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def prefetched(instance: Model, related_name: str, objects: Iterable[Model]) -> None:
    """Attach rows already in hand as `instance.<related_name>.all()`, as prefetch_related does.

    For writers that have just created or read a parent's children: the response reads them
    from memory instead of querying again.
    """
    manager = getattr(instance, related_name)  # a reverse foreign key's manager
    queryset = manager.all()  # lazy: nothing is read
    queryset._result_cache = list(objects)
    queryset._prefetch_done = True
    cache = instance.__dict__.setdefault("_prefetched_objects_cache", {})
    cache[manager.field.remote_field.cache_name] = queryset
