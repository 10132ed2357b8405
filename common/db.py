"""Transaction helpers."""

from __future__ import annotations

from django.db import connection


def in_transaction() -> bool:
    """True inside an `atomic` block opened by the code (not by a test case's wrapper).

    Network calls (Stripe, feeds) must never happen while this is true.
    """
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)
