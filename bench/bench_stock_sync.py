"""Inventory feed sync: a 100,000-SKU CSV feed with 10% changed rows, fetched over HTTP.

    python -m bench.bench_stock_sync [--smoke] [--skus N] [--changed-share F] [--reuse-db]

In one process (no gunicorn): seed one brand's catalog, serve the feed from a local HTTP
server, and run the sync service exactly as the worker does (fetch, parse, plan, apply).
Three runs are measured: the first (10% of the rows change), an unchanged re-run of the
same body without validators (hash path: parsed and planned again, no stock writes), and a
re-run with an ETag (304: one request). For each: seconds, SKUs per second, queries issued
(reads and writes, savepoints left out) and rows per query. Goals: at most one query per
500 feed rows, and no stock writes on the unchanged re-run.

Uses its own database, `tribe_bench_stock_sync` (recreated unless --reuse-db), so it never
drops the catalog benchmark's; DATABASE_URL overrides it.
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bench.common import (
    BenchError,
    add_common_arguments,
    django_setup,
    prepare_database,
    print_table,
    use_database,
    write_results,
)

NAME = "stock_sync"
VARIANTS_PER_PRODUCT = 4
GOAL_ROWS_PER_QUERY = 500


class _Feed:
    body = b""
    etag = ""
    requests = 0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        _Feed.requests += 1
        if _Feed.etag and self.headers.get("If-None-Match") == _Feed.etag:
            self.send_response(304)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(_Feed.body)))
        if _Feed.etag:
            self.send_header("ETag", _Feed.etag)
        self.end_headers()
        self.wfile.write(_Feed.body)


def seed(skus: int) -> int:
    """One brand with `skus` variants at 10 units each; returns the brand id."""
    from shop.models import Brand, Product, Variant

    brand = Brand.objects.create(name="Bench Warehouse", slug="bench-warehouse")
    products = Product.objects.bulk_create(
        Product(brand=brand, title=f"Item {i}", slug=f"item-{i}", status="active")
        for i in range(-(-skus // VARIANTS_PER_PRODUCT))
    )
    Variant.objects.bulk_create(
        (
            Variant(
                product=products[i // VARIANTS_PER_PRODUCT],
                sku=f"SKU-{i:07d}",
                price=Decimal("10.00"),
                on_hand=10,
            )
            for i in range(skus)
        ),
        batch_size=5000,
    )
    return brand.pk


def feed_body(skus: int, changed_share: float, seed_value: int) -> tuple[bytes, int]:
    rng = random.Random(seed_value)
    changed = set(rng.sample(range(skus), int(skus * changed_share)))
    lines = ["sku,quantity"]
    for i in range(skus):
        lines.append(f"SKU-{i:07d},{rng.randint(11, 50) if i in changed else 10}")
    return ("\n".join(lines) + "\n").encode(), len(changed)


def measured_run(feed_id: int, label: str, skus: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from shop.feeds.services import feed_run_execute
    from shop.models import StockSyncRun

    run = StockSyncRun.objects.create(feed_id=feed_id)
    requests_before = _Feed.requests
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        outcome = feed_run_execute(run_id=run.pk)
        seconds = time.perf_counter() - started
    if outcome.state != "succeeded":
        run.refresh_from_db()
        raise BenchError(f"{label}: run ended {outcome.state}: {run.message}")
    run.refresh_from_db()
    # Data statements; BEGIN/COMMIT of each batch's transaction are counted apart.
    logged = [q["sql"] for q in captured.captured_queries]
    control = [
        sql for sql in logged if sql.split()[0] in ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")
    ]
    statements = [sql for sql in logged if sql not in control]
    reads = [sql for sql in statements if sql.lstrip().startswith("SELECT")]
    writes = [sql for sql in statements if sql not in reads]
    stock_writes = [
        sql for sql in writes if '"shop_variant"' in sql or '"shop_stockmovement"' in sql
    ]
    return {
        "run": label,
        "seconds": round(seconds, 3),
        "skus_per_s": round(skus / seconds) if seconds else None,
        "http_requests": _Feed.requests - requests_before,
        "queries": len(statements),
        "reads": len(reads),
        "writes": len(writes),
        "stock_writes": len(stock_writes),
        "transaction_control": len(control),
        "rows_per_query": round(skus / len(statements), 1) if statements else None,
        "changed": run.changed,
        "unchanged": run.unchanged,
        "not_modified": run.not_modified,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_stock_sync", description=__doc__)
    add_common_arguments(parser)  # --smoke (10,000 SKUs) and --reuse-db; the HTTP ones unused
    parser.add_argument("--skus", type=int, help="feed rows and catalog size (default 100,000)")
    parser.add_argument("--changed-share", type=float, default=0.10)
    args = parser.parse_args(argv)
    skus = args.skus or (10_000 if args.smoke else 100_000)

    django_setup()
    use_database("postgres://postgres@127.0.0.1:5432/tribe_bench_stock_sync")
    from django.conf import settings

    settings.FEED_ALLOW_LOOPBACK = True  # the feed is served from 127.0.0.1

    from shop.models import Brand, InventoryFeed, StockMovement, Variant

    fresh = prepare_database(reuse=args.reuse_db)
    brand = Brand.objects.filter(slug="bench-warehouse").first()
    if fresh or brand is None or Variant.objects.filter(product__brand=brand).count() != skus:
        if not fresh:
            prepare_database(reuse=False)
        started = time.perf_counter()
        brand_id = seed(skus)
        print(f"seeded {skus:,} variants in {time.perf_counter() - started:.1f}s")
    else:
        brand_id = brand.pk
        StockMovement.objects.filter(variant__product__brand_id=brand_id).delete()
        Variant.objects.filter(product__brand_id=brand_id).update(on_hand=10, reserved=0)
    InventoryFeed.objects.filter(brand_id=brand_id).delete()

    _Feed.body, changed = feed_body(skus, args.changed_share, seed_value=7)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/stock.csv"
    feed = InventoryFeed.objects.create(brand_id=brand_id, name="bench", url=url)
    try:
        rows = [measured_run(feed.pk, "first (changes applied)", skus)]
        rows.append(measured_run(feed.pk, "unchanged re-run (same body)", skus))
        _Feed.etag = '"bench-v1"'
        InventoryFeed.objects.filter(pk=feed.pk).update(etag=_Feed.etag)
        rows.append(measured_run(feed.pk, "unchanged re-run (ETag, 304)", skus))
    finally:
        server.shutdown()
        server.server_close()

    if rows[0]["changed"] != changed:
        raise BenchError(f"expected {changed} changed rows, the run changed {rows[0]['changed']}")
    print_table(
        rows,
        ["run", "seconds", "skus_per_s", "http_requests", "queries", "reads", "writes",
         "stock_writes", "transaction_control", "rows_per_query"],
    )  # fmt: skip
    goals = {
        "rows_per_query_at_least": GOAL_ROWS_PER_QUERY,
        "first_run_met": rows[0]["rows_per_query"] >= GOAL_ROWS_PER_QUERY,
        "rerun_without_stock_writes": rows[1]["stock_writes"] == 0 and rows[2]["stock_writes"] == 0,
    }
    path = write_results(
        NAME if not args.smoke else f"{NAME}-smoke",
        {
            "skus": skus,
            "changed_rows": changed,
            "feed_bytes": len(_Feed.body),
            "batch_size": settings.FEED_BATCH_SIZE,
            "runs": rows,
            "goals": goals,
        },
    )
    print(f"goals: {goals}\nresults: {path}")
    met = goals["first_run_met"] and goals["rerun_without_stock_writes"]
    return 0 if met or args.smoke else 1


if __name__ == "__main__":
    sys.exit(main())
