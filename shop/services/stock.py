"""Every change to stock goes through here, whoever asks, and every `on_hand` change is audited.

These services compose: they join the caller's transaction and refuse to run outside one,
so a movement row is always written in the same transaction as the level it explains.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Case, F, IntegerField, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from common.errors import Conflict, NotFound, ValidationFailed
from shop.models import MAX_ON_HAND, StockMovement, Variant


def _require_atomic() -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Stock services must run inside the caller's transaction.")


def _out_of_range(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        f"{field}: {message}",
        code="out_of_range",
        fields={field: [{"code": "max_value", "message": message}]},
    )


def _record(
    *, variant_id: int, delta: int, reason: str, actor_id: int | None, reference: str
) -> StockMovement:
    on_hand_after = Variant.objects.filter(pk=variant_id).values_list("on_hand", flat=True).get()
    return StockMovement.objects.create(
        variant_id=variant_id,
        delta=delta,
        reason=reason,
        actor_id=actor_id,
        reference=reference[:255],
        on_hand_after=on_hand_after,
    )


def stock_adjust(
    *,
    variant_id: int,
    delta: int,
    reason: str,
    actor_id: int | None = None,
    reference: str = "",
) -> StockMovement:
    """Add `delta` to `on_hand` in one conditional UPDATE; stays within 0..MAX_ON_HAND."""
    _require_atomic()
    if delta == 0:
        raise ValidationFailed("A stock adjustment must change something.", code="zero_delta")
    if abs(delta) > MAX_ON_HAND:
        raise _out_of_range("delta", f"At most {MAX_ON_HAND} units either way.")
    within = Q(on_hand__gte=-delta) if delta < 0 else Q(on_hand__lte=MAX_ON_HAND - delta)
    updated = Variant.objects.filter(within, pk=variant_id).update(
        on_hand=F("on_hand") + delta, updated_at=timezone.now()
    )
    if not updated:
        if not Variant.objects.filter(pk=variant_id).exists():
            raise NotFound("No such variant.", code="variant_not_found")
        if delta > 0:
            raise Conflict(
                f"That adjustment would take stock on hand above {MAX_ON_HAND}.",
                code="on_hand_too_high",
            )
        raise Conflict(
            "That adjustment would take stock on hand below zero.", code="insufficient_on_hand"
        )
    return _record(
        variant_id=variant_id, delta=delta, reason=reason, actor_id=actor_id, reference=reference
    )


def stock_set(
    *,
    variant_id: int,
    on_hand: int,
    reason: str,
    actor_id: int | None = None,
    reference: str = "",
) -> StockMovement | None:
    """Set `on_hand` to an absolute level (admin edit, feed); returns None when unchanged.

    Reserved units are never touched: a level below `reserved` leaves nothing available
    until it recovers, and every open reservation keeps its units.
    """
    _require_atomic()
    if on_hand < 0:
        raise ValidationFailed(
            "Stock on hand cannot be negative.",
            fields={"on_hand": [{"code": "min_value", "message": "Must be 0 or more."}]},
        )
    if on_hand > MAX_ON_HAND:
        raise _out_of_range("on_hand", f"At most {MAX_ON_HAND}.")
    current = (
        Variant.objects.select_for_update(of=("self",))
        .filter(pk=variant_id)
        .values_list("on_hand", flat=True)
        .first()
    )
    if current is None:
        raise NotFound("No such variant.", code="variant_not_found")
    delta = on_hand - current
    if delta == 0:
        return None
    Variant.objects.filter(pk=variant_id).update(on_hand=on_hand, updated_at=timezone.now())
    return _record(
        variant_id=variant_id, delta=delta, reason=reason, actor_id=actor_id, reference=reference
    )


def stock_reserve(*, variant_id: int, quantity: int) -> bool:
    """Hold `quantity` units for a checkout in one conditional UPDATE; False if not available."""
    _require_atomic()
    if quantity <= 0:
        raise ValidationFailed("Quantity must be positive.", code="invalid_quantity")
    updated = Variant.objects.filter(pk=variant_id, on_hand__gte=F("reserved") + quantity).update(
        reserved=F("reserved") + quantity
    )
    return bool(updated)


# stock_reserve's conditional UPDATE, for callers that write their record of the hold in the
# same statement. Under READ COMMITTED the UPDATE waits for a concurrent holder's row lock and
# re-checks its condition on the committed row, so two holds never both take the last unit.
# A quantity below one matches nothing, whatever the caller passes.
_RESERVE_SQL = (
    'UPDATE "shop_variant" SET "reserved" = "reserved" + {quantity} '
    'WHERE "id" = {variant} AND {quantity} > 0 AND "on_hand" - "reserved" >= {quantity} '
    'RETURNING "id"'
)


def stock_reserve_sql(*, variant: str, quantity: str) -> str:
    """stock_reserve as SQL over the caller's parameter references (`$2`, `%(quantity)s`).

    Returns the variant's id when the units were held. For a data-modifying CTE (PostgreSQL)
    that inserts the caller's hold row only if this matched, so the counter and the row change
    in one statement, which callers may prepare once per connection; run as is, it is atomic
    alone.
    """
    return _RESERVE_SQL.format(variant=variant, quantity=quantity)


def stock_release(*, variant_id: int, quantity: int) -> None:
    """Give back held units (checkout expired or canceled)."""
    _require_atomic()
    Variant.objects.filter(pk=variant_id).update(reserved=Greatest(F("reserved") - quantity, 0))


@dataclass(frozen=True)
class SaleResult:
    sold_from_stock: int
    shortfall: int


# stock_sell_reserved in one statement: the variant locked, its units sold, the product's
# count raised and the movement written. The payment runs it for each line with the hot SKU's
# row locked until its commit; through the ORM it was five round trips (lock and read, the
# product, the variant, on_hand read back, the movement), each one a wait for the next fan's
# hold on the same row.
_SELL_RESERVED_SQL = """
WITH before AS (
    SELECT id, on_hand FROM shop_variant WHERE id = %(variant)s FOR UPDATE
), sold AS (
    UPDATE shop_variant v
    SET on_hand = v.on_hand - LEAST(%(quantity)s, before.on_hand),
        reserved = GREATEST(v.reserved - %(quantity)s, 0),
        updated_at = %(now)s
    FROM before
    WHERE v.id = before.id
    RETURNING v.id, v.product_id, LEAST(%(quantity)s, before.on_hand) AS take,
        v.on_hand AS on_hand_after
), counted AS (
    UPDATE shop_product p SET units_sold = p.units_sold + %(quantity)s
    FROM sold WHERE p.id = sold.product_id
), moved AS (
    INSERT INTO shop_stockmovement
        (variant_id, delta, reason, actor_id, reference, on_hand_after, created_at)
    SELECT id, -take, %(reason)s, NULL, %(reference)s, on_hand_after, %(now)s
    FROM sold WHERE take > 0
)
SELECT take FROM sold
"""


def stock_sell_reserved(*, variant_id: int, quantity: int, reference: str) -> SaleResult:
    """Turn held units into a sale: `reserved` and `on_hand` both go down.

    If a feed has since put `on_hand` below what was held, on_hand stops at zero and the
    shortfall is returned for the caller to record; stock never goes negative. One statement
    (the variant's lock, the sale, the product's units sold and the movement).
    """
    _require_atomic()
    with connection.cursor() as cursor:
        cursor.execute(
            _SELL_RESERVED_SQL,
            {
                "variant": variant_id,
                "quantity": quantity,
                "reason": StockMovement.Reason.SALE,
                "reference": reference[:255],
                "now": timezone.now(),
            },
        )
        row = cursor.fetchone()
    if row is None:
        raise NotFound("No such variant.", code="variant_not_found")
    take = int(row[0])
    return SaleResult(sold_from_stock=take, shortfall=quantity - take)


def sale_delta_since(since: datetime) -> Coalesce:
    """Per-variant expression: the (negative) sum of sale movements after `since`, or 0."""
    sales = (
        StockMovement.objects.filter(
            variant_id=OuterRef("pk"), reason=StockMovement.Reason.SALE, created_at__gt=since
        )
        .order_by()
        .values("variant_id")
        .annotate(total=Sum("delta"))
        .values("total")
    )
    return Coalesce(Subquery(sales, output_field=IntegerField()), Value(0))


def _sale_deltas_since(variant_ids: Iterable[int], since: datetime) -> dict[int, int]:
    rows = (
        StockMovement.objects.filter(
            variant_id__in=variant_ids, reason=StockMovement.Reason.SALE, created_at__gt=since
        )
        .order_by()
        .values("variant_id")
        .annotate(total=Sum("delta"))
        .values_list("variant_id", "total")
    )
    return dict(rows)


@dataclass(frozen=True)
class LevelSet:
    variant_id: int
    on_hand: int
    reserved: int
    movement: StockMovement | None


def stock_set_many(
    *,
    levels: Mapping[int, int],
    reason: str,
    actor_id: int | None = None,
    reference: str = "",
    sold_since: datetime | None = None,
) -> list[LevelSet]:
    """Set many variants' `on_hand` at once (a feed batch), each change an audited movement.

    With `sold_since`, each level is first reduced by the units sold after that time (never
    below zero), read under the same row locks the sale path takes, so a sale can never slip
    between the read and the write and be put back. Rows are locked in primary-key order;
    changed rows cost one UPDATE and one INSERT for the whole batch, unchanged rows nothing.
    Variants that no longer exist are skipped. Reserved units are never touched.
    """
    _require_atomic()
    if any(level < 0 for level in levels.values()):
        raise ValidationFailed("Stock on hand cannot be negative.", code="negative_on_hand")
    if not levels:
        return []
    locked = list(
        Variant.objects.select_for_update(of=("self",))
        .filter(pk__in=levels)
        .order_by("pk")
        .values_list("pk", "on_hand", "reserved")
    )
    # Sales are read in a second statement, after the locks are held: its snapshot sees every
    # sale committed before we got them (a sale holds the same lock until it commits), which
    # a subquery of the locking statement, with that statement's older snapshot, would not.
    sale_deltas = _sale_deltas_since([row[0] for row in locked], sold_since) if sold_since else {}
    results: list[LevelSet] = []
    changes: dict[int, tuple[int, int]] = {}
    for pk, on_hand, reserved in locked:
        target = max(0, levels[pk] + sale_deltas.get(pk, 0))
        if target != on_hand:
            changes[pk] = (target, target - on_hand)
        results.append(LevelSet(pk, target, reserved, None))
    if not changes:
        return results
    Variant.objects.filter(pk__in=changes).update(
        on_hand=Case(
            *(When(pk=pk, then=Value(target)) for pk, (target, _) in changes.items()),
            output_field=IntegerField(),
        ),
        updated_at=timezone.now(),
    )
    movements = StockMovement.objects.bulk_create(
        StockMovement(
            variant_id=pk,
            delta=delta,
            reason=reason,
            actor_id=actor_id,
            reference=reference[:255],
            on_hand_after=target,
        )
        for pk, (target, delta) in changes.items()
    )
    by_variant = {movement.variant_id: movement for movement in movements}
    return [
        LevelSet(r.variant_id, r.on_hand, r.reserved, by_variant.get(r.variant_id)) for r in results
    ]
