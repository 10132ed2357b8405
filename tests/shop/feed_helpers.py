"""Helpers for the inventory feed tests: catalogs, feed bodies and running a feed."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from shop.feeds.services import feed_run_enqueue
from shop.models import Brand, InventoryFeed, StockSyncRun, Variant
from tests.shop.factories import BrandFactory, ProductFactory, VariantFactory


def catalog(brand: Brand | None = None, **levels: int) -> dict[str, Variant]:
    """Variants of one product of `brand`, by SKU, with the given on_hand levels."""
    product = ProductFactory.create(brand=brand or BrandFactory.create())
    return {
        sku: VariantFactory.create(product=product, sku=sku, on_hand=level)
        for sku, level in levels.items()
    }


def csv_body(rows: dict[str, Any] | list[tuple[Any, Any]], header: str = "sku,quantity") -> str:
    items = rows.items() if isinstance(rows, dict) else rows
    return header + "\n" + "".join(f"{sku},{quantity}\n" for sku, quantity in items)


def json_body(rows: dict[str, Any], as_of: datetime | None = None) -> str:
    items = [{"sku": sku, "quantity": quantity} for sku, quantity in rows.items()]
    document: dict[str, Any] = {"items": items}
    if as_of is not None:
        document["as_of"] = as_of.isoformat()
    return json.dumps(document)


def run_feed(feed: InventoryFeed, capture: Any) -> StockSyncRun:
    """Queue a fetch of the feed and run it eagerly, as the beat task would."""
    with capture(execute=True):
        run, _ = feed_run_enqueue(feed_id=feed.pk)
    run.refresh_from_db()
    return run


def levels(*variants: Variant) -> list[tuple[int, int]]:
    out = []
    for variant in variants:
        variant.refresh_from_db()
        out.append((variant.on_hand, variant.reserved))
    return out
