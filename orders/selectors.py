"""Reads of carts and orders, with their prefetching fixed in one place."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    DateTimeField,
    DecimalField,
    F,
    IntegerField,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Round, TruncDay, TruncHour

from accounts.models import User
from common.errors import NotFound
from common.money import THREE_DECIMAL_CURRENCIES, ZERO_DECIMAL_CURRENCIES, Money
from orders.models import Cart, CartLine, Order, OrderLine
from orders.pricing import Totals, price_lines
from orders.state import SOLD_STATUSES


def cart_queryset() -> QuerySet[Cart]:
    return Cart.objects.prefetch_related(
        Prefetch(
            "lines",
            queryset=CartLine.objects.select_related("variant__product__brand").order_by("id"),
        )
    )


def cart_get_for(*, cart_id: int, user: User | None, token: str | None) -> Cart:
    """The cart if the caller owns it (signed-in owner, or the anonymous cart's token); else 404."""
    cart = cart_queryset().filter(pk=cart_id).first()
    if cart is None:
        raise NotFound("No such cart.", code="cart_not_found")
    if cart.user_id is not None:
        if user is not None and user.is_authenticated and user.pk == cart.user_id:
            return cart
        raise NotFound("No such cart.", code="cart_not_found")
    if token and secrets.compare_digest(token, cart.token):
        return cart
    raise NotFound("No such cart.", code="cart_not_found")


def cart_totals(cart: Cart) -> Totals | None:
    lines = list(cart.lines.all())
    if not lines:
        return None
    return price_lines(((line.variant, line.quantity) for line in lines), cart.currency)


def order_queryset() -> QuerySet[Order]:
    return Order.objects.prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.select_related("brand").order_by("id")),
        "shipping_lines__brand",
    )


def order_get_by_token(*, token: str) -> Order:
    order = order_queryset().filter(token=token).first() if token else None
    if order is None:
        raise NotFound("No such order.", code="order_not_found")
    return order


def order_line_receipt_get(
    *,
    line_id: int,
    creator_id: int | None = None,
    brand_ids: Iterable[int] = (),
    is_staff: bool = False,
) -> dict[str, Any]:
    """The attribution receipt of one order line, for its creator, its brand or support staff.

    Anyone else gets 404, as if the line did not exist.
    """
    visible = Q(pk=-1)
    if is_staff:
        visible = Q()
    else:
        if creator_id is not None:
            visible |= Q(attributed_creator_id=creator_id) | Q(attribution__creator_id=creator_id)
        brand_ids = list(brand_ids)
        if brand_ids:
            visible |= Q(brand_id__in=brand_ids)
    line = OrderLine.objects.select_related("order").filter(visible, pk=line_id).first()
    if line is None:
        raise NotFound("No such order line.", code="order_line_not_found")
    return {
        "order_line_id": line.pk,
        "order_id": line.order_id,
        "order_status": line.order.status,
        "ordered_at": line.order.created_at,
        "sku": line.sku,
        "quantity": line.quantity,
        "line_total": Money(line.line_total, line.currency).as_dict(),
        "credited": line.attributed_creator_id is not None,
        "commission_rate": None if line.commission_rate is None else str(line.commission_rate),
        "receipt": line.attribution,
    }


def _creator_lines_bucketed(
    *,
    creator_id: int,
    statuses: Iterable[str],
    start: datetime,
    end: datetime,
    interval: Literal["hour", "day"] | None,
    by_link: bool,
    link_groups: Mapping[int, int] | None,
) -> tuple[QuerySet[OrderLine], Any, Any]:
    """A creator's credited lines paid in [start, end) with their time bucket and group key."""
    lines = OrderLine.objects.filter(
        attributed_creator_id=creator_id,
        order__status__in=list(statuses),
        order__paid_at__gte=start,
        order__paid_at__lt=end,
    )
    bucket: Any = Value(None, output_field=DateTimeField())
    if interval == "hour":
        bucket = TruncHour("order__paid_at", tzinfo=UTC)
    elif interval == "day":
        bucket = TruncDay("order__paid_at", tzinfo=UTC)
    key: Any = Value(None, output_field=BigIntegerField())
    if by_link:
        key = F("attributed_link_id")
    elif link_groups is not None:
        members: dict[int, list[int]] = {}
        for link_id, group in link_groups.items():
            members.setdefault(group, []).append(link_id)
        key = Case(
            *(When(attributed_link_id__in=ids, then=Value(g)) for g, ids in members.items()),
            default=Value(None),
            output_field=BigIntegerField(),
        )
    return lines, bucket, key


def _commission_estimate() -> Round:
    """line_total x commission_rate / 100, rounded half-up to the currency's precision."""
    # Round's stub types the precision as an int; PostgreSQL takes it per row.
    places: Any = Case(
        When(currency__in=sorted(ZERO_DECIMAL_CURRENCIES), then=Value(0)),
        When(currency__in=sorted(THREE_DECIMAL_CURRENCIES), then=Value(3)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return Round(
        F("line_total") * Coalesce("commission_rate", Value(Decimal(0))) * Value(Decimal("0.01")),
        places,
        output_field=DecimalField(max_digits=20, decimal_places=3),
    )


def creator_sales_aggregate(
    *,
    creator_id: int,
    start: datetime,
    end: datetime,
    interval: Literal["hour", "day"] | None = None,
    by_link: bool = False,
    link_groups: Mapping[int, int] | None = None,
) -> list[dict[str, Any]]:
    """Sum the paid order lines credited to a creator in [start, end), in one query.

    Sales count when the order is paid, at its `paid_at`: fully refunded orders drop out, and
    partial refunds (when they land) will count as sold. One row per UTC hour or day bucket
    (`bucket`, None without an interval), per `key` (the line's link id with `by_link`, the
    group `link_groups` maps the link to, else None; storefront sales have no link) and per
    currency: distinct `orders`, `units`, `revenue` (line totals) and `commission`, estimated
    until the commissions ledger exists as line_total x commission_rate / 100 rounded half-up
    to the currency's precision, line by line.
    """
    lines, bucket, key = _creator_lines_bucketed(
        creator_id=creator_id,
        statuses=SOLD_STATUSES,
        start=start,
        end=end,
        interval=interval,
        by_link=by_link,
        link_groups=link_groups,
    )
    money: DecimalField = DecimalField(max_digits=20, decimal_places=3)
    commission = _commission_estimate()
    return list(
        lines.annotate(bucket=bucket, key=key)
        .values("bucket", "key", "currency")
        .annotate(
            orders=Count("order_id", distinct=True),
            units=Sum("quantity"),
            revenue=Sum("line_total", output_field=money),
            commission=Sum(commission, output_field=money),
        )
        .order_by("bucket", "key", "currency")
    )


# --- Commissions: what creators.commissions reads about paid lines and refunds -----------


def order_lines_commissionable(*, order_ids: Iterable[int]) -> list[dict[str, Any]]:
    """The credited lines of these orders, if they were paid, with what a commission needs.

    One row per line with a credited creator, of an order that was paid (it has `paid_at`,
    whatever happened since: refunds are reversed separately): `order_line_id`, `order_id`,
    `brand_id`, `creator_id`, `link_id`, `currency`, `paid_amount` (the line total: shipping
    is charged on its own line), `commission_rate` (the percent snapshotted at checkout),
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
            order_line_id=F("pk"),
            creator_id=F("attributed_creator_id"),
            link_id=F("attributed_link_id"),
            paid_amount=F("line_total"),
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


# --- Commissions: a link's sales pace (viral rate lock) -----------------------------------


def link_paid_orders_in_windows(
    *, link_id: int, recent_start: datetime, baseline_start: datetime, end: datetime
) -> tuple[int, int]:
    """Distinct paid orders through a link: (in [recent_start, end), in [baseline_start,
    recent_start)), by the orders' `paid_at`, refunded or not. One query."""
    from orders.state import PAID_STATUSES

    paid = Q(
        attributed_link_id=link_id,
        order__paid_at__isnull=False,
        order__status__in=PAID_STATUSES,
    )
    counts = OrderLine.objects.filter(
        paid, order__paid_at__gte=baseline_start, order__paid_at__lt=end
    ).aggregate(
        recent=Count("order_id", distinct=True, filter=Q(order__paid_at__gte=recent_start)),
        baseline=Count("order_id", distinct=True, filter=Q(order__paid_at__lt=recent_start)),
    )
    return int(counts["recent"]), int(counts["baseline"])


# --- Brand settlements: what a brand sold and refunded in a period -----------------------


def brand_sales_in_period(*, brand_id: int, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """A brand's paid order lines and shipping charges, by their order's `paid_at` in
    [start, end), refunded since or not (refunds settle in the period they happen).

    One row per line (`kind` "sale") or shipping charge (`kind` "shipping"): `order_id`,
    `order_line_id` (None for shipping), `currency`, `amount`, `at`. Two queries.
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
            amount=F("line_total"),
            at=F("order__paid_at"),
        )
    )
    shipping = (
        OrderShipping.objects.filter(paid, amount__gt=0)
        .order_by("order__paid_at", "pk")
        .values("order_id", "amount", currency=F("order__currency"), at=F("order__paid_at"))
    )
    rows: list[dict[str, Any]] = [{"kind": "sale", **row} for row in lines]
    rows += [{"kind": "shipping", "order_line_id": None, **row} for row in shipping]
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


# --- Creator stats: commission from the ledger where it has the line ---------------------


def creator_commission_aggregate(
    *,
    creator_id: int,
    start: datetime,
    end: datetime,
    ledger: Any,
    interval: Literal["hour", "day"] | None = None,
    by_link: bool = False,
    link_groups: Mapping[int, int] | None = None,
) -> list[dict[str, Any]]:
    """Commission of the lines credited to a creator, bucketed like `creator_sales_aggregate`.

    `ledger` is an expression on the line (`OuterRef("pk")`) giving the sum of its ledger
    entries, reversals included, or NULL when the ledger does not have the line yet. A line
    on the ledger counts at that sum, whatever happened to its order since (a full refund's
    reversal brings it to zero); a line not on it yet counts at the estimate of
    `creator_sales_aggregate`, if its order is still sold. One row per bucket, key and
    currency: `commission`, `ledger_lines`, `estimated_lines`. One query.
    """
    from orders.state import PAID_STATUSES

    lines, bucket, key = _creator_lines_bucketed(
        creator_id=creator_id,
        statuses=PAID_STATUSES,
        start=start,
        end=end,
        interval=interval,
        by_link=by_link,
        link_groups=link_groups,
    )
    money: DecimalField = DecimalField(max_digits=20, decimal_places=3)
    estimate = _commission_estimate()
    on_ledger = Q(ledger_amount__isnull=False)
    sold = Q(order__status__in=SOLD_STATUSES)
    return list(
        lines.alias(ledger_amount=ledger)
        .annotate(bucket=bucket, key=key)
        .values("bucket", "key", "currency")
        .annotate(
            commission=Sum(
                Case(
                    When(on_ledger, then=F("ledger_amount")),
                    When(sold, then=estimate),
                    default=Value(Decimal(0)),
                    output_field=money,
                ),
                output_field=money,
            ),
            ledger_lines=Count("pk", filter=on_ledger),
            estimated_lines=Count("pk", filter=~on_ledger & sold),
        )
        .order_by("bucket", "key", "currency")
    )
