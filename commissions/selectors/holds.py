"""Reads of commission holds: which order lines are held, what reversed holds took back.

A hold sits on an order line's commission line, and holds back every ledger line of that
order line (its reversals and adjustments too), so approval, payouts and balances ask by
order line through `held_order_line()`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Exists, OuterRef, QuerySet

from commissions.models import CommissionHold

Resolution = CommissionHold.Resolution


def open_holds() -> QuerySet[CommissionHold]:
    """Holds not resolved yet."""
    return CommissionHold.objects.filter(resolved_at__isnull=True)


def held_order_line(order_line_ref: str = "order_line_id") -> Exists:
    """True for a row whose order line (the outer field `order_line_ref`) has an open hold."""
    return Exists(open_holds().filter(line__order_line_id=OuterRef(order_line_ref)))


def order_lines_held(*, order_line_ids: Iterable[int]) -> set[int]:
    """The order lines among these with an open hold."""
    return set(
        open_holds()
        .filter(line__order_line_id__in=list(order_line_ids))
        .values_list("line__order_line_id", flat=True)
    )


def order_lines_reversed_hold_amounts(*, order_line_ids: Iterable[int]) -> dict[int, Decimal]:
    """How much of each order line's base reversed holds took back (a hold without an amount
    takes the whole base); order lines without one are left out. One query."""
    rows = CommissionHold.objects.filter(
        resolution=Resolution.REVERSED, line__order_line_id__in=list(order_line_ids)
    ).values_list("line__order_line_id", "amount", "line__base")
    taken: dict[int, Decimal] = defaultdict(Decimal)
    for order_line_id, amount, base in rows:
        taken[order_line_id] += base if amount is None else amount
    return dict(taken)


def commission_hold_queryset() -> QuerySet[CommissionHold]:
    """Every hold, newest first, with its line's creator and brand loaded (the admin)."""
    return CommissionHold.objects.select_related(
        "line", "line__creator", "line__brand", "resolved_by"
    )


def commission_line_open_hold_reasons(*, line_ids: Iterable[int]) -> dict[int, list[str]]:
    """The reason codes of each line's open holds (what a creator may see), sorted."""
    reasons: dict[int, list[str]] = defaultdict(list)
    for line_id, reason in (
        open_holds()
        .filter(line_id__in=list(line_ids))
        .order_by("reason")
        .values_list("line_id", "reason")
    ):
        reasons[line_id].append(reason)
    return dict(reasons)
