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
    lines = OrderLine.objects.filter(
        attributed_creator_id=creator_id,
        order__status__in=SOLD_STATUSES,
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
    # Round's stub types the precision as an int; PostgreSQL takes it per row.
    places: Any = Case(
        When(currency__in=sorted(ZERO_DECIMAL_CURRENCIES), then=Value(0)),
        When(currency__in=sorted(THREE_DECIMAL_CURRENCIES), then=Value(3)),
        default=Value(2),
        output_field=IntegerField(),
    )
    money: DecimalField = DecimalField(max_digits=20, decimal_places=3)
    commission = Round(
        F("line_total") * Coalesce("commission_rate", Value(Decimal(0))) * Value(Decimal("0.01")),
        places,
        output_field=money,
    )
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
