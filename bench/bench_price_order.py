"""Price-ordered catalog pages over 100,000 products, against a raw indexed ORDER BY ... LIMIT.

    python -m bench.bench_price_order [--smoke] [--duration N] [--reuse-db] [--products N]

Seeds 100,000 active products (20 brands, 2 variants each; own database
`tribe_bench_price_order`). The lowest variant price is stored on the product by triggers
and indexed with the cursor's tie-break (shop migration 0008). One server, the list cache
off, measures in turns: the bare view, `/bench/price-page/` (the raw query: the 20 lowest
priced public products from the index, their stored entries, no stock), the first
`?ordering=price` page, and a page 50 pages deep (its cursor followed from the first).
Reports each ratio to the bare view and list/raw (goal: the list within 2x of the raw
query, that is list/raw >= 0.5), with CPU per request. In-process it also times the
price-ordered query as it was before the stored price (the lowest price computed by a
correlated subquery for every product), for the before/after.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from typing import Any

from bench.common import (
    add_common_arguments,
    cache_clear,
    django_setup,
    durations,
    prepare_database,
    print_table,
    use_database,
    write_results,
)
from bench.load import measure, table_row, wrk_path
from bench.server import http_get, server_for

NAME = "price_order"
DATABASE_URL = "postgres://postgres@127.0.0.1:5432/tribe_bench_price_order"
BRANDS = 20
PAGE_SIZE = 20
DEEP_PAGES = 50
BARE_PATH = "/bench/bare/"
RAW_PATH = "/bench/price-page/"
LIST_PATH = f"/api/v1/products/?ordering=price&page_size={PAGE_SIZE}"
GOAL = 0.5  # list rps / raw rps: within 2x


def seed(products: int) -> None:
    """Brands, products and two variants each, with bulk_create (triggers fill the rest)."""
    from django.db import connection

    from shop.models import Brand, Product, Variant

    rng = random.Random(100_000)
    brands = Brand.objects.bulk_create(
        Brand(name=f"Price Brand {b}", slug=f"price-brand-{b}") for b in range(BRANDS)
    )
    batch = 5_000
    for start in range(0, products, batch):
        rows = Product.objects.bulk_create(
            Product(
                brand=brands[p % BRANDS],
                title=f"Priced thing {p}",
                slug=f"priced-{p}",
                description="Something to sort by price. " * 4,
                status=Product.Status.ACTIVE,
            )
            for p in range(start, min(products, start + batch))
        )
        Variant.objects.bulk_create(
            Variant(
                product=product,
                sku=f"PRICE-{product.pk}-{v}",
                title=f"option {v}",
                price=Decimal(rng.randrange(100, 50_000)) / 100 + v,
                on_hand=rng.choice([0, 5, 40]),
                position=v,
            )
            for product in rows
            for v in range(2)
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def seeded(products: int) -> bool:
    from shop.models import Product

    try:
        return Product.objects.filter(lowest_price__isnull=False).count() == products
    except Exception:  # no tables yet
        return False


def old_query_ms(samples: int) -> dict[str, float]:
    """The first price page's query as before the stored price, and as now (ms, median)."""
    from django.db.models import OuterRef, Subquery

    from shop.models import Product, Variant
    from shop.selectors import product_public_ids_queryset

    before = (
        Product.objects.filter(status=Product.Status.ACTIVE, brand__is_active=True)
        .annotate(
            computed=Subquery(
                Variant.objects.filter(product_id=OuterRef("pk"))
                .order_by("price")
                .values("price")[:1]
            )
        )
        .order_by("computed", "id")
        .values_list("id", flat=True)
    )
    after = product_public_ids_queryset().order_by("min_price", "id").values_list("id", flat=True)
    timings: dict[str, list[float]] = {"computed_per_product": [], "stored": []}
    for _ in range(samples):
        for label, queryset in (("computed_per_product", before), ("stored", after)):
            started = time.perf_counter()
            ids = list(queryset[: PAGE_SIZE + 1])
            timings[label].append((time.perf_counter() - started) * 1000)
    if list(before[: PAGE_SIZE + 1]) != ids:
        print("note: the stored and the computed order differ on ties of price")
    plan = after[: PAGE_SIZE + 1].explain()
    return {
        **{label: statistics.median(times) for label, times in timings.items()},
        "plan_uses_price_index": "product_active_price" in plan,
    }


def deep_page_path(server: Any) -> str:
    """The path of the page DEEP_PAGES pages after the first, following `next` links."""
    path = LIST_PATH
    for _ in range(DEEP_PAGES):
        status, body = http_get(server.url(path))
        page = json.loads(body)
        if status != 200 or not page.get("next"):
            raise RuntimeError(f"{path} answered {status} without a next page")
        next_url = page["next"]
        path = next_url[next_url.index("/api/") :]
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_price_order", description=__doc__)
    add_common_arguments(parser)
    parser.add_argument("--products", type=int, help="catalog size (default 100,000)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    products = args.products or (10_000 if args.smoke else 100_000)

    wrk_path()
    django_setup()
    database_url = use_database(DATABASE_URL)
    fresh = prepare_database(reuse=args.reuse_db)
    if not fresh and not seeded(products):
        prepare_database()
        fresh = True
    if fresh:
        started = time.perf_counter()
        seed(products)
        print(f"seeded {products:,} products in {time.perf_counter() - started:.1f}s")
    in_process = old_query_ms(samples=3 if args.smoke else 5)

    seconds, warmup, rounds = durations(args)
    load_before = os.getloadavg()
    server = server_for(
        args, NAME, env={"CATALOG_LIST_CACHE_SECONDS": "0", "DATABASE_URL": database_url}
    )
    with server:
        cache_clear()
        deep = deep_page_path(server)
        paths = {"bare": BARE_PATH, "raw": RAW_PATH, "list": LIST_PATH, "deep": deep}
        measured = measure(
            server,
            paths,
            seconds=seconds,
            warmup=warmup,
            rounds=rounds,
            connections=args.connections,
        )
    bare = measured["bare"]
    rows = [
        table_row(label, m, m.rps / bare.rps if label != "bare" else None)
        for label, m in measured.items()
    ]
    print_table(rows, list(rows[0]))
    summary = {
        "products": products,
        "list_over_raw": measured["list"].rps / measured["raw"].rps,
        "deep_over_raw": measured["deep"].rps / measured["raw"].rps,
        "list_over_raw_cpu": measured["raw"].cpu_ms_per_request
        / measured["list"].cpu_ms_per_request,
        "goal_list_over_raw": GOAL,
        "in_process_query_ms": in_process,
        "load_average": {"before": load_before, "after": os.getloadavg()},
    }
    print(json.dumps(summary, indent=2))
    path = write_results(
        NAME, {"summary": summary, "server": server.config(), "measured": measured}
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
