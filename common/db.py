"""Transaction helpers, and the ranges of PostgreSQL's integer columns."""

from __future__ import annotations

from django.db import connection

# The largest values of `smallint` and `integer`: API inputs stored in those columns are
# bounded by these in their serializers, so a bigger number is a 400, not a 500.
MAX_SMALLINT = 32_767
MAX_INTEGER = 2_147_483_647


def in_transaction() -> bool:
    """True inside an `atomic` block opened by the code (not by a test case's wrapper).

    Network calls (Stripe, feeds) must never happen while this is true.
    """
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)
