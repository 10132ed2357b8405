"""What the ledger, brand settlements and the fraud check read about paid lines and refunds.

The rest of the commissions app reads orders' tables only through these functions, which
return plain rows (ids, amounts, dates), so the ledger keeps order ids as integers.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, IntegerField, Q, QuerySet
from django.db.models.functions import Coalesce

from orders.models import Dispute, DisputeLine, OrderLine

# --- The ledger: the paid lines it records and their refunds ---------------------------


def order_lines_commissionable(*, order_ids: Iterable[int]) -> list[dict[str, Any]]:
    """The credited lines of these orders, if they were paid, with what a commission needs.

    One row per line with a credited creator, of an order that was paid (it has `paid_at`,
    whatever happened since: refunds are reversed separately): `order_line_id`, `order_id`,
    `brand_id`, `creator_id`, `link_id`, `currency`, `paid_amount` (the line total: shipping
    is charged on its own line), `list_amount` (before a code's discount), `discount_code`,
    `commission_rate` (the percent snapshotted at checkout),
    `receipt` (the attribution receipt) and `paid_at`. One query.
    """
    rows: Any = (
        OrderLine.objects.filter(
            order_id__in=list(order_ids),
            order__paid_at__isnull=False,
            attributed_creator_id__isnull=False,
            commission_rate__isnull=False,
        )
        .order_by("pk")
        .values(
            "order_id",
            "brand_id",
            "currency",
            "commission_rate",
            "discount_code",
            order_line_id=F("pk"),
            creator_id=F("attributed_creator_id"),
            link_id=F("attributed_link_id"),
            paid_amount=F("line_total"),
            list_amount=F("list_total"),
            receipt=F("attribution"),
            paid_at=F("order__paid_at"),
        )
    )
    return list(rows)


def order_lines_refunded_amounts(*, order_line_ids: Iterable[int]) -> dict[int, Decimal]:
    """How much succeeded refunds gave back on each order line so far, in its currency.

    Refunds still in flight at Stripe are left out: a commission is reversed for money
    that actually went back. One query.
    """
    from orders.order_selectors import order_lines_refunded_succeeded

    return order_lines_refunded_succeeded(order_line_ids=order_line_ids)


def order_line_refunded_amount(*, order_line_id: int) -> Decimal:
    """How much of one order line has been refunded so far (see the plural)."""
    return order_lines_refunded_amounts(order_line_ids=[order_line_id])[order_line_id]


# --- Brand settlements: what a brand sold and refunded in a period -----------------------


def brand_sales_in_period(*, brand_id: int, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """A brand's paid order lines and shipping charges, by their order's `paid_at` in
    [start, end), refunded since or not (refunds settle in the period they happen).

    One row per line (`kind` "sale") or shipping charge (`kind` "shipping"): `order_id`,
    `order_line_id` (None for shipping), `currency`, `amount` (a line's list price), `discount`
    (what a code took off it; 0 for shipping), `at`. Two queries.
    """
    from orders.models import OrderShipping
    from orders.state import PAID_STATUSES

    paid = Q(
        order__paid_at__gte=start,
        order__paid_at__lt=end,
        order__status__in=PAID_STATUSES,
        brand_id=brand_id,
    )
    lines = (
        OrderLine.objects.filter(paid)
        .order_by("order__paid_at", "pk")
        .values(
            "order_id",
            "currency",
            order_line_id=F("pk"),
            amount=Coalesce("list_total", "line_total"),
            discount=F("discount_amount"),
            at=F("order__paid_at"),
        )
    )
    shipping = (
        OrderShipping.objects.filter(paid, amount__gt=0)
        .order_by("order__paid_at", "pk")
        .values("order_id", "amount", currency=F("order__currency"), at=F("order__paid_at"))
    )
    rows: list[dict[str, Any]] = [{"kind": "sale", **row} for row in lines]
    rows += [{"kind": "shipping", "order_line_id": None, "discount": 0, **row} for row in shipping]
    return rows


def brand_refunds_in_period(
    *, brand_id: int, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """A brand's shares of refunds that succeeded in [start, end), by `completed_at`.

    One row per refund line: `refund_id`, `order_id`, `order_line_id` (None for shipping),
    `currency`, `amount`, `at`. In-flight and failed refunds are left out. One query.
    """
    from orders.models import Refund, RefundLine

    rows: Any = (
        RefundLine.objects.filter(
            brand_id=brand_id,
            refund__status=Refund.Status.SUCCEEDED,
            refund__completed_at__gte=start,
            refund__completed_at__lt=end,
            amount__gt=0,
        )
        .order_by("refund__completed_at", "pk")
        .values(
            "refund_id",
            "order_line_id",
            "amount",
            order_id=F("refund__order_id"),
            currency=F("refund__currency"),
            at=F("refund__completed_at"),
        )
    )
    return list(rows)


def brands_active_since(*, since: datetime) -> set[int]:
    """Brands with a line of an order paid, a refund completed, or a dispute opened or closed
    at or after `since`: what the settlement job reads about orders."""
    from orders.models import Refund, RefundLine
    from orders.state import PAID_STATUSES

    sold = OrderLine.objects.filter(
        order__paid_at__gte=since, order__status__in=PAID_STATUSES
    ).values_list("brand_id", flat=True)
    refunded = RefundLine.objects.filter(
        refund__status=Refund.Status.SUCCEEDED, refund__completed_at__gte=since
    ).values_list("brand_id", flat=True)
    disputed = DisputeLine.objects.filter(
        Q(dispute__opened_at__gte=since) | Q(dispute__closed_at__gte=since)
    ).values_list("brand_id", flat=True)
    return set(sold.distinct()) | set(refunded.distinct()) | set(disputed.distinct())


# --- Fraud basics: how many of a creator's orders were refunded, per brand ---------------


def _creator_paid_lines(brand_ids: Iterable[int] | None) -> QuerySet[OrderLine]:
    from django.db.models import Exists, OuterRef

    from orders.models import Refund, RefundLine
    from orders.state import PAID_STATUSES

    lines = OrderLine.objects.filter(
        attributed_creator_id__isnull=False,
        order__paid_at__isnull=False,
        order__status__in=PAID_STATUSES,
    )
    if brand_ids is not None:
        lines = lines.filter(brand_id__in=list(brand_ids))
    refunded = RefundLine.objects.filter(
        order_line_id=OuterRef("pk"), refund__status=Refund.Status.SUCCEEDED
    )
    return lines.annotate(was_refunded=Exists(refunded))


def creator_paid_lines(*, brand_ids: Iterable[int] | None) -> QuerySet[OrderLine]:
    """Credited lines of paid orders (of `brand_ids`; None: every brand), annotated with
    `was_refunded`, as the refund-rate flag counts them."""
    return _creator_paid_lines(brand_ids)


def creator_refund_counts(
    *, brand_ids: Iterable[int] | None, creator_ids: Iterable[int] | None = None
) -> dict[int, tuple[int, int]]:
    """Creator id -> (paid orders credited to them, of which with a succeeded refund on one
    of their lines), over `brand_ids`' lines (None: every brand). One query."""
    lines = _creator_paid_lines(brand_ids)
    if creator_ids is not None:
        lines = lines.filter(attributed_creator_id__in=list(creator_ids))
    rows = (
        lines.order_by()
        .values("attributed_creator_id")
        .annotate(
            orders=Count("order_id", distinct=True),
            refunded=Count("order_id", distinct=True, filter=Q(was_refunded=True)),
        )
        .values_list("attributed_creator_id", "orders", "refunded")
    )
    return {
        creator_id: (orders, refunded)
        for creator_id, orders, refunded in rows
        if creator_id is not None
    }


def creator_refund_count_subqueries(
    *, creator_ref: str, brand_ids: Iterable[int] | None
) -> dict[str, Any]:
    """`sales_orders` and `refunded_orders` (as in `creator_refund_counts`) as subqueries on
    the outer query's `creator_ref`, to annotate a list of creators without N+1."""
    from django.db.models import OuterRef, Subquery

    lines = _creator_paid_lines(brand_ids).filter(attributed_creator_id=OuterRef(creator_ref))
    grouped = lines.order_by().values("attributed_creator_id")
    orders = grouped.annotate(n=Count("order_id", distinct=True)).values("n")
    refunded = grouped.annotate(
        n=Count("order_id", distinct=True, filter=Q(was_refunded=True))
    ).values("n")
    return {
        "sales_orders": Coalesce(Subquery(orders, output_field=IntegerField()), 0),
        "refunded_orders": Coalesce(Subquery(refunded, output_field=IntegerField()), 0),
    }


# --- Disputes: what a chargeback takes from each line --------------------------------------


def dispute_state(*, dispute_id: int) -> dict[str, Any] | None:
    """A dispute as the ledger needs it, or None: `outcome` (None while open, else "won" or
    "lost") and `lines`, each order line's share of the disputed amount. Two queries."""
    row = Dispute.objects.filter(pk=dispute_id).values("status", "closed_at").first()
    if row is None:
        return None
    outcome = None
    if row["closed_at"] is not None:
        outcome = "lost" if row["status"] == Dispute.Status.LOST else "won"
    lines = dict(
        DisputeLine.objects.filter(dispute_id=dispute_id, order_line__isnull=False).values_list(
            "order_line_id", "amount"
        )
    )
    return {"outcome": outcome, "lines": lines}


def order_dispute_ids(*, order_id: int) -> list[int]:
    """The order's disputes, oldest first."""
    return list(
        Dispute.objects.filter(order_id=order_id).order_by("pk").values_list("pk", flat=True)
    )


def brand_disputes_in_period(
    *, brand_id: int, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """A brand's shares of disputes, as the money moved in [start, end).

    The disputed amount and the fee leave when the dispute opens (`kind` "dispute",
    "dispute_fee", at `opened_at`); a won dispute brings the amount back, and the fee where
    Stripe returns it, when it closes ("dispute_reinstated", "dispute_fee_returned", at
    `closed_at`). Rows: `kind`, `dispute_id`, `order_id`, `order_line_id` (None for
    shipping), `currency`, `amount` (positive), `at`. One query.
    """
    parts: Any = (
        DisputeLine.objects.filter(brand_id=brand_id)
        .filter(
            Q(dispute__opened_at__gte=start, dispute__opened_at__lt=end)
            | Q(dispute__closed_at__gte=start, dispute__closed_at__lt=end)
        )
        .order_by("dispute__opened_at", "pk")
        .values(
            "dispute_id",
            "order_line_id",
            "amount",
            "fee",
            "fee_returned",
            order_id=F("dispute__order_id"),
            currency=F("dispute__currency"),
            opened_at=F("dispute__opened_at"),
            closed_at=F("dispute__closed_at"),
            status=F("dispute__status"),
            total=F("dispute__amount"),
            reinstated=F("dispute__reinstated"),
        )
    )
    rows: list[dict[str, Any]] = []
    for part in parts:
        base = {
            "dispute_id": part["dispute_id"],
            "order_id": part["order_id"],
            "order_line_id": part["order_line_id"],
            "currency": part["currency"],
        }
        if start <= part["opened_at"] < end:
            rows.append(
                {**base, "kind": "dispute", "amount": part["amount"], "at": part["opened_at"]}
            )
            fee = part["fee"] + part["fee_returned"]
            if fee:
                rows.append({**base, "kind": "dispute_fee", "amount": fee, "at": part["opened_at"]})
        closed = part["closed_at"]
        if closed is None or not start <= closed < end or part["status"] != Dispute.Status.WON:
            continue
        back = part["amount"] * part["reinstated"] / part["total"] if part["total"] else 0
        if back:
            rows.append({**base, "kind": "dispute_reinstated", "amount": back, "at": closed})
        if part["fee_returned"]:
            rows.append(
                {
                    **base,
                    "kind": "dispute_fee_returned",
                    "amount": part["fee_returned"],
                    "at": closed,
                }
            )
    return rows
