"""Every change to stock goes through here, whoever asks, and every `on_hand` change is audited.

These services compose: they join the caller's transaction and refuse to run outside one,
so a movement row is always written in the same transaction as the level it explains.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from common.errors import Conflict, NotFound, ValidationFailed
from shop.models import Product, StockMovement, Variant


def _require_atomic() -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Stock services must run inside the caller's transaction.")


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
    """Add `delta` to `on_hand` in one conditional UPDATE; refuses to go below zero."""
    _require_atomic()
    if delta == 0:
        raise ValidationFailed("A stock adjustment must change something.", code="zero_delta")
    updated = Variant.objects.filter(pk=variant_id, on_hand__gte=-delta).update(
        on_hand=F("on_hand") + delta, updated_at=timezone.now()
    )
    if not updated:
        if not Variant.objects.filter(pk=variant_id).exists():
            raise NotFound("No such variant.", code="variant_not_found")
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


def stock_release(*, variant_id: int, quantity: int) -> None:
    """Give back held units (checkout expired or canceled)."""
    _require_atomic()
    Variant.objects.filter(pk=variant_id).update(reserved=Greatest(F("reserved") - quantity, 0))


@dataclass(frozen=True)
class SaleResult:
    sold_from_stock: int
    shortfall: int


def stock_sell_reserved(*, variant_id: int, quantity: int, reference: str) -> SaleResult:
    """Turn held units into a sale: `reserved` and `on_hand` both go down.

    If a feed has since put `on_hand` below what was held, on_hand stops at zero and the
    shortfall is returned for the caller to record; stock never goes negative.
    """
    _require_atomic()
    row = (
        Variant.objects.select_for_update(of=("self",))
        .filter(pk=variant_id)
        .values("on_hand", "reserved", "product_id")
        .first()
    )
    if row is None:
        raise NotFound("No such variant.", code="variant_not_found")
    take = min(quantity, row["on_hand"])
    Product.objects.filter(pk=row["product_id"]).update(units_sold=F("units_sold") + quantity)
    Variant.objects.filter(pk=variant_id).update(
        on_hand=F("on_hand") - take,
        reserved=Greatest(F("reserved") - quantity, 0),
        updated_at=timezone.now(),
    )
    if take:
        _record(
            variant_id=variant_id,
            delta=-take,
            reason=StockMovement.Reason.SALE,
            actor_id=None,
            reference=reference,
        )
    return SaleResult(sold_from_stock=take, shortfall=quantity - take)
