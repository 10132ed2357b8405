"""Stock holds for checkouts: reserve, release, reclaim the expired ones, expire orders."""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from common.errors import ValidationFailed
from common.tasks_queue import enqueue_on_commit
from orders.models import Order, StockReservation
from orders.state import order_transition
from shop.services.discounts import discount_uses_release
from shop.services.stock import stock_release, stock_reserve_sql

logger = logging.getLogger(__name__)


def reservation_release(*, reservation: StockReservation) -> bool:
    """Give a hold's units back, once: the conditional UPDATE makes a second release a no-op."""
    released = StockReservation.objects.filter(
        pk=reservation.pk, status=StockReservation.Status.ACTIVE
    ).update(status=StockReservation.Status.RELEASED, closed_at=timezone.now())
    if released:
        stock_release(variant_id=reservation.variant_id, quantity=reservation.quantity)
    return bool(released)


def order_holds_release(*, order: Order) -> int:
    """Release every active hold of an order, in variant order (the lock order of checkout),
    and the uses of discounts it held."""
    count = 0
    holds = StockReservation.objects.filter(
        order_line__order=order, status=StockReservation.Status.ACTIVE
    ).order_by("variant_id", "pk")
    for reservation in holds:
        count += int(reservation_release(reservation=reservation))
    if order.discount_total:  # the uses of its codes go back with its stock
        discount_uses_release(order_id=order.pk)
    return count


def _lapsed(variant_id: int, now: datetime) -> QuerySet[StockReservation]:
    return StockReservation.objects.filter(
        variant_id=variant_id, status=StockReservation.Status.ACTIVE, expires_at__lt=now
    )


# A hold is one statement: the stock service's conditional UPDATE, the reservation row
# inserted only if it matched, and, after a miss, whether the variant has lapsed holds to
# reclaim (a CASE evaluates that only when nothing was held). One round trip, atomic without
# a transaction of its own.
#
# Planning it costs PostgreSQL more than running it: psycopg prepares it once it has run a
# few times on a connection (config.settings.base.psycopg_prepared), and then only executes
# it. PostgreSQL then plans it once for any parameters: min(expires_at) over the
# active-expiry index stays a one-entry index read in that plan, where "EXISTS ...
# expires_at < now" would be planned as a scan of every live hold of the variant. (A plan
# made while the holds table is empty scans it until the table is next analyzed or the
# connection is replaced.)
_HOLD_SQL = """
WITH held AS ({reserve}),
saved AS (
    INSERT INTO "orders_stockreservation"
        ("order_line_id", "variant_id", "quantity", "expires_at", "status", "created_at")
    SELECT %(line)s::bigint, "id", %(quantity)s::integer, %(expires)s::timestamptz,
        '{active}', %(now)s::timestamptz FROM held
    RETURNING "id"
)
SELECT
    (SELECT "id" FROM saved),
    CASE WHEN EXISTS (SELECT 1 FROM saved) THEN false ELSE coalesce((
        SELECT min("expires_at") FROM "orders_stockreservation"
        WHERE "variant_id" = %(variant)s::bigint AND "status" = '{active}'
    ) < %(now)s::timestamptz, false) END
""".format(  # noqa: S608 (our own constants: the stock service's statement and a status)
    reserve=stock_reserve_sql(variant="%(variant)s::bigint", quantity="%(quantity)s::integer"),
    active=StockReservation.Status.ACTIVE.value,
)
_RESERVATION_FIELDS = [field.attname for field in StockReservation._meta.concrete_fields]


def _hold_once(
    *, line_id: int, variant_id: int, quantity: int, expires_at: datetime, now: datetime
) -> tuple[StockReservation | None, bool]:
    """One try: the saved reservation or None, and after a miss whether lapsed holds exist."""
    connection = transaction.get_connection()
    with connection.cursor() as cursor:
        cursor.execute(
            _HOLD_SQL,
            {
                "line": line_id,
                "variant": variant_id,
                "quantity": quantity,
                "expires": expires_at,
                "now": now,
            },
        )
        reservation_id, lapsed = cursor.fetchone()
    if reservation_id is None:
        return None, bool(lapsed)
    # The row as inserted, without reading it back.
    values = [reservation_id, line_id, variant_id, quantity, expires_at]
    values += [StockReservation.Status.ACTIVE.value, now, None]
    return StockReservation.from_db(connection.alias, _RESERVATION_FIELDS, values), False


def reservation_hold(
    *,
    order_line_id: int,
    variant_id: int,
    quantity: int,
    expires_at: datetime,
    now: datetime | None = None,
) -> StockReservation | None:
    """Hold stock for an order line until `expires_at`; None when the units are not there.

    The counter and the reservation row change together, in one statement, so this joins the
    caller's transaction or runs alone in autocommit. A miss that saw lapsed holds of the
    variant reclaims them and tries once more; a plain sold-out miss costs no further query.
    `now` (default: the clock) stamps the hold and decides which holds have lapsed.
    """
    if quantity <= 0:
        raise ValidationFailed("Quantity must be positive.", code="invalid_quantity")
    now = now or timezone.now()
    hold = partial(
        _hold_once,
        line_id=order_line_id,
        variant_id=variant_id,
        quantity=quantity,
        expires_at=expires_at,
        now=now,
    )
    reservation, lapsed_seen = hold()
    if reservation is None and lapsed_seen:
        # Retried even when a concurrent reclaim got to them first: the units are free now.
        reservations_reclaim_expired(variant_id=variant_id, now=now)
        reservation, _ = hold()
    return reservation


def reservations_reclaim_expired(*, variant_id: int, now: datetime | None = None) -> int:
    """Release a variant's lapsed holds so a new checkout can have the units; returns how many.

    Atomic on its own and inside the caller's transaction alike. The lapsed holds are locked
    in id order, then the variant row is updated once: holds before their variant, the order
    releasing a single hold takes too, so concurrent reclaims and order expiry queue up instead
    of deadlocking. The periodic task expires the orders themselves.
    """
    now = now or timezone.now()
    with transaction.atomic():
        lapsed = list(
            _lapsed(variant_id, now)
            .select_for_update(of=("self",))
            .order_by("pk")
            .values_list("pk", "quantity")
        )
        if not lapsed:
            return 0
        StockReservation.objects.filter(pk__in=[pk for pk, _ in lapsed]).update(
            status=StockReservation.Status.RELEASED, closed_at=timezone.now()
        )
        stock_release(variant_id=variant_id, quantity=sum(quantity for _, quantity in lapsed))
    return len(lapsed)


def order_expire(*, order_id: int, now: datetime | None = None) -> bool:
    """Expire one pending order whose hold has lapsed; its PaymentIntent is canceled after."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        order = Order.objects.select_for_update().filter(pk=order_id).first()
        if (
            order is None
            or order.status != Order.Status.PENDING_PAYMENT
            or order.reservation_expires_at >= now
        ):
            return False
        released = order_holds_release(order=order)
        order_transition(
            order=order,
            to_status=Order.Status.EXPIRED,
            kind="hold_expired",
            data={"released_holds": released},
        )
        if order.stripe_payment_intent_id:
            # Lost, the intent merely lapses; paid after all, the late payment is refunded.
            enqueue_on_commit("orders.tasks.payment_intent_cancel", order.pk)
    return True


def reservations_expire(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Expire every pending order whose hold has lapsed, in batches; returns how many."""
    now = now or timezone.now()
    expired = 0
    while True:
        ids = list(
            Order.objects.filter(
                status=Order.Status.PENDING_PAYMENT, reservation_expires_at__lt=now
            )
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return expired
        done = sum(int(order_expire(order_id=pk, now=now)) for pk in ids)
        expired += done
        if done == 0:
            return expired
