"""Turn validated feed rows into stock changes without ever putting sold units back.

A feed states the brand's stock at its as-of time; Tribe may have sold units since, which
the brand's system may not know about yet. So each variant's new `on_hand` is the feed's
quantity less the units sold after as-of (never below zero). Planning reads current levels
and those sales for 2,000 SKUs per query, unlocked; applying re-reads only the rows that
change, under row locks, in batches of `FEED_BATCH_SIZE`, through `stock_set_many`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from django.conf import settings
from django.db import transaction

from shop.feeds.parse import MAX_ERRORS, ParsedFeed
from shop.models import StockMovement, Variant
from shop.services.stock import sale_delta_since, stock_set_many

READ_CHUNK = 2000
T = TypeVar("T")


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class Plan:
    levels: dict[int, int] = field(default_factory=dict)  # variant id -> feed quantity
    sku_of: dict[int, str] = field(default_factory=dict)
    unchanged: int = 0
    unknown_sku: int = 0
    zeroed: int = 0
    below_reserved: int = 0
    catalog_size: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)

    def conflict(self, sku: str, on_hand: int, reserved: int) -> None:
        self.below_reserved += 1
        if len(self.conflicts) < MAX_ERRORS:
            self.conflicts.append({"sku": sku, "on_hand": on_hand, "reserved": reserved})

    def would_zero_too_much(self, max_share: Decimal) -> bool:
        return bool(self.catalog_size) and self.zeroed * 100 > max_share * self.catalog_size


def feed_plan(*, brand_id: int, parsed: ParsedFeed, as_of: datetime, error_room: int) -> Plan:
    """What the feed would change; SKUs of other brands count as unknown."""
    plan = Plan()
    skus = list(parsed.quantities)
    for chunk in chunked(skus, READ_CHUNK):
        found = (
            Variant.objects.filter(product__brand_id=brand_id, sku__in=chunk)
            .annotate(sale_delta=sale_delta_since(as_of))
            .values_list("pk", "sku", "on_hand", "reserved", "sale_delta")
        )
        seen: set[str] = set()
        for pk, sku, on_hand, reserved, sale_delta in found:
            seen.add(sku)
            target = max(0, parsed.quantities[sku] + sale_delta)
            if target == on_hand:
                plan.unchanged += 1
                if on_hand < reserved:
                    plan.conflict(sku, on_hand, reserved)
                continue
            plan.levels[pk] = parsed.quantities[sku]
            plan.sku_of[pk] = sku
            if target == 0 and on_hand > 0:
                plan.zeroed += 1
        for sku in chunk:
            if sku not in seen:
                plan.unknown_sku += 1
                if len(plan.errors) < error_room:
                    plan.errors.append(
                        {
                            "row": parsed.row_of[sku],
                            "sku": sku,
                            "code": "unknown_sku",
                            "message": "No variant of this brand has this SKU.",
                        }
                    )
    if plan.zeroed:
        plan.catalog_size = Variant.objects.filter(product__brand_id=brand_id).count()
    return plan


@dataclass
class Applied:
    changed: int = 0
    unchanged: int = 0


def feed_apply(
    *,
    plan: Plan,
    as_of: datetime,
    reference: str,
    progress: Callable[[int], None],
) -> Applied:
    """Apply the planned rows, one short transaction per batch; `progress` may abort one."""
    applied = Applied()
    ids = sorted(plan.levels)
    done = 0
    for batch in chunked(ids, settings.FEED_BATCH_SIZE):
        with transaction.atomic():
            results = stock_set_many(
                levels={pk: plan.levels[pk] for pk in batch},
                reason=StockMovement.Reason.FEED_SYNC,
                reference=reference,
                sold_since=as_of,
            )
            done += len(batch)
            progress(done)
        for result in results:
            if result.movement is None:
                applied.unchanged += 1
            else:
                applied.changed += 1
            if result.on_hand < result.reserved:
                plan.conflict(plan.sku_of[result.variant_id], result.on_hand, result.reserved)
    return applied
