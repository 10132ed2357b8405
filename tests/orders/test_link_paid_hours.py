"""A link's paid orders per hour (`LinkPaidHour`), kept by triggers on the order lines, say
what the lines say after every kind of write; and the pace read from them counts what the
lines alone count, at every edge of its windows."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from orders.models import LinkPaidHour, Order, OrderLine
from orders.selectors import link_paid_orders_in_windows
from shop.models import Variant
from tests.orders.helpers import ADDRESS, line_of, variant_in_stock

pytestmark = pytest.mark.django_db

LINKS = (101, 102)
# A fixed hour, and times around its edges and inside it.
T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)

# The count as it was read before the hours were kept: every paid line of the eight days.
_FROM_LINES_SQL = """
SELECT count(DISTINCT order_id) FILTER (WHERE order_paid_at >= %(recent)s),
    count(DISTINCT order_id) FILTER (WHERE order_paid_at < %(recent)s)
FROM orders_orderline
WHERE attributed_link_id = %(link)s AND order_paid_at IS NOT NULL
    AND order_paid_at >= %(baseline)s AND order_paid_at < %(end)s
"""


def _from_lines(link_id: int, recent: datetime, baseline: datetime, end: datetime) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(
            _FROM_LINES_SQL, {"link": link_id, "recent": recent, "baseline": baseline, "end": end}
        )
        return tuple(cursor.fetchone())


def _counted_from_lines() -> dict[tuple[int, datetime], int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attributed_link_id, date_trunc('hour', order_paid_at, 'UTC'),"
            " count(DISTINCT order_id) FROM orders_orderline"
            " WHERE attributed_link_id IS NOT NULL AND order_paid_at IS NOT NULL GROUP BY 1, 2"
        )
        return {(link, hour): count for link, hour, count in cursor.fetchall()}


def _kept() -> dict[tuple[int, datetime], int]:
    return {
        (row.link_id, row.hour_start): row.orders for row in LinkPaidHour.objects.exclude(orders=0)
    }


def _order() -> Order:
    return Order.objects.create(
        checkout_scope="test",
        checkout_key=uuid.uuid4().hex,
        email="fan@example.com",
        shipping_address=ADDRESS,
        currency="USD",
        items_total=Decimal("20"),
        shipping_total=Decimal("0"),
        grand_total=Decimal("20"),
        reservation_expires_at=T0,
    )


def _line(order: Order, variant: Variant, link: int | None, paid: datetime | None) -> OrderLine:
    return line_of(
        order, variant, unit_price=Decimal("10"), attributed_link_id=link, order_paid_at=paid
    )


def test_the_hours_say_what_the_lines_say_after_every_kind_of_write():
    rng = random.Random(23)
    variant = variant_in_stock()
    times = [T0 + timedelta(minutes=m) for m in (-61, -60, -1, 0, 1, 59, 60, 61, 24 * 60)]
    orders = [_order() for _ in range(8)]

    def paid_time() -> datetime:
        return rng.choice(times)

    for step in range(60):
        order = rng.choice(orders)
        lines = list(OrderLine.objects.filter(order=order))
        move = rng.choice(["insert", "insert_many", "pay", "unpay", "relink", "delete", "reorder"])
        if move == "insert":  # a line of its own, paid or not, through a link or not
            OrderLine.objects.bulk_create(
                [_line(order, variant, rng.choice([*LINKS, None]), rng.choice([paid_time(), None]))]
            )
        elif move == "insert_many":  # two lines through one link at once, as checkout writes
            paid = order.lines.values_list("order_paid_at", flat=True).first() or paid_time()
            link = rng.choice(LINKS)
            OrderLine.objects.bulk_create(
                [_line(order, variant, link, paid), _line(order, variant, link, paid)]
            )
        elif move == "pay":  # every line at once, as a payment writes them
            OrderLine.objects.filter(order=order).update(order_paid_at=paid_time())
        elif move == "unpay":
            OrderLine.objects.filter(order=order).update(order_paid_at=None)
        elif move == "relink" and lines:  # one line moved to another link, or none
            line = rng.choice(lines)
            OrderLine.objects.filter(pk=line.pk).update(
                attributed_link_id=rng.choice([*LINKS, None])
            )
        elif move == "delete" and lines:
            OrderLine.objects.filter(pk=rng.choice(lines).pk).delete()
        elif move == "reorder" and lines:  # a line moved to another order
            OrderLine.objects.filter(pk=rng.choice(lines).pk).update(order=rng.choice(orders))
        assert _kept() == _counted_from_lines(), (step, move)

    assert len(_counted_from_lines()) > 3  # the walk left paid orders in several hours


def test_the_pace_from_the_hours_counts_what_the_lines_count_at_every_edge():
    variant = variant_in_stock()
    # Paid orders through the link around each window's edges, and one line of another
    # link, over the nine days before `end`.
    end = T0 + timedelta(minutes=17, seconds=30)
    recent, baseline = end - timedelta(hours=24), end - timedelta(days=8)
    moments = [
        at + timedelta(seconds=offset)
        for at in (
            baseline,
            recent,
            end,
            baseline.replace(minute=0, second=0),
            recent.replace(minute=0, second=0),
            end.replace(minute=0, second=0),
        )
        for offset in (-3600, -1, 0, 1, 3599)
    ] + [end - timedelta(days=3, minutes=7), end - timedelta(hours=5)]
    for paid in moments:
        order = _order()
        OrderLine.objects.bulk_create(
            [_line(order, variant, LINKS[0], paid), _line(order, variant, LINKS[0], paid)]
        )
        OrderLine.objects.bulk_create([_line(_order(), variant, LINKS[1], paid)])

    for at in (end, end + timedelta(seconds=1), T0, T0 + timedelta(hours=1)):
        r, b = at - timedelta(hours=24), at - timedelta(days=8)
        counted = _from_lines(LINKS[0], r, b, at)
        assert counted[0] > 0
        assert counted[1] > 0
        read = link_paid_orders_in_windows(
            link_id=LINKS[0], recent_start=r, baseline_start=b, end=at
        )
        assert read == counted, at


def test_the_pace_reads_a_bounded_number_of_hours_however_many_orders(
    django_assert_num_queries,
):
    variant = variant_in_stock()
    paid = T0 - timedelta(hours=3)
    for _ in range(30):
        OrderLine.objects.bulk_create([_line(_order(), variant, LINKS[0], paid)])

    with django_assert_num_queries(1):
        recent, _ = link_paid_orders_in_windows(
            link_id=LINKS[0],
            recent_start=T0 - timedelta(hours=24),
            baseline_start=T0 - timedelta(days=8),
            end=T0,
        )

    assert recent == 30
    assert LinkPaidHour.objects.get(link_id=LINKS[0]).orders == 30  # one row for the hour
