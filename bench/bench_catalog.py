"""Public catalog list throughput as a share of a bare Django JSON view's, cached and uncached.

    python -m bench.bench_catalog [--smoke] [--duration N] [--reuse-db]

One run, one worker configuration, one wrk setting: server A (list cache on) measures the
bare view and the list in turns; server B (CATALOG_LIST_CACHE_SECONDS=0) does the same. Each
list's requests per second are divided by the bare view's on the same server.
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
    WRK_THREADS,
    BenchError,
    add_common_arguments,
    cache_clear,
    cache_keys,
    django_setup,
    durations,
    prepare_database,
    print_table,
    use_database,
    write_results,
)
from bench.load import measure, table_row, wrk_path
from bench.server import Server, http_get, server_for

NAME = "catalog"
BRANDS = 20
PRODUCTS = 1_000
VARIANTS_PER_PRODUCT = 4
IMAGES_PER_PRODUCT = 2
PAGE_SIZE = 20
BARE_PATH = "/bench/bare/"
LIST_PATH = f"/api/v1/products/?page_size={PAGE_SIZE}"
CACHE_SECONDS = 5
DATABASE_URL = "postgres://postgres@127.0.0.1:5432/tribe_bench"
GOALS = {"cached": 0.50, "uncached": 0.25}

CATEGORIES = ["apparel", "beauty", "home", "outdoors", "tech", "kitchen", "toys", "books"]
WORDS = [
    "organic",
    "soft",
    "recycled",
    "everyday",
    "limited",
    "classic",
    "bold",
    "travel",
    "compact",
    "vegan",
]
SIZES = ["XS", "S", "M", "L", "XL"]
COLOURS = ["black", "white", "red", "sand", "olive", "navy"]


# --- Data -------------------------------------------------------------------


def seed() -> dict[str, int]:
    """Insert the catalog with bulk_create: active products of active brands, in stock mostly."""
    from django.db import connection

    from shop.models import Brand, Product, ProductImage, Variant

    rng = random.Random(1000)
    brands = Brand.objects.bulk_create(
        Brand(
            name=f"Bench Brand {b}",
            slug=f"bench-brand-{b}",
            description="A brand that exists to be benchmarked. " * 3,
            website=f"https://brand{b}.example.com",
            logo_url=f"https://cdn.example.com/logos/{b}.png",
        )
        for b in range(BRANDS)
    )
    products = Product.objects.bulk_create(
        (
            Product(
                brand=brands[p % BRANDS],
                title=f"{rng.choice(WORDS).title()} thing {p}",
                slug=f"thing-{p}",
                description=" ".join(rng.choices(WORDS, k=40)),
                category=rng.choice(CATEGORIES),
                tags=rng.sample(WORDS, k=3),
                status=Product.Status.ACTIVE,
            )
            for p in range(PRODUCTS)
        ),
        batch_size=500,
    )
    variants = []
    images = []
    for product in products:
        base = Decimal(rng.randrange(500, 20_000)) / 100
        for v in range(VARIANTS_PER_PRODUCT):
            on_hand = rng.choice([0, 3, 25, 120])
            variants.append(
                Variant(
                    product=product,
                    sku=f"BENCH-{product.pk}-{v}",
                    title=f"{SIZES[v % len(SIZES)]} / {COLOURS[v % len(COLOURS)]}",
                    options={"size": SIZES[v % len(SIZES)], "colour": COLOURS[v % len(COLOURS)]},
                    price=base + v,
                    compare_at_price=base + v + 10 if v % 2 else None,
                    on_hand=on_hand,
                    reserved=min(on_hand, rng.choice([0, 0, 1])),
                    position=v,
                )
            )
        images.extend(
            ProductImage(
                product=product,
                url=f"https://cdn.example.com/img/{product.pk}-{i}.jpg",
                width=1080,
                height=1350,
                alt=product.title,
                position=i,
            )
            for i in range(IMAGES_PER_PRODUCT)
        )
    Variant.objects.bulk_create(variants, batch_size=1_000)
    ProductImage.objects.bulk_create(images, batch_size=1_000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # plans as on a settled database, not a just-filled one
    return {"brands": len(brands), "products": len(products), "variants": len(variants)}


def seeded() -> bool:
    from shop.models import Product, Variant

    try:
        return (
            Product.objects.filter(status=Product.Status.ACTIVE).count() == PRODUCTS
            and Variant.objects.count() == PRODUCTS * VARIANTS_PER_PRODUCT
        )
    except Exception:  # no tables yet
        return False


def check_listing_entries() -> None:
    """Every product has its stored list entry (written by triggers, bulk inserts included).

    Without them every page would take the slower fallback, and the number would measure that.
    """
    from shop.models import Product, ProductListing

    products, entries = Product.objects.count(), ProductListing.objects.count()
    if entries != products:
        raise BenchError(f"{entries} stored list entries for {products} products")


# --- Checks made in this process ---------------------------------------------


def _statement_text(sql: str) -> str:
    """A prepared statement's `EXECUTE name (values)`, followed by the statement it runs."""
    from django.db import connection

    if not sql.startswith("EXECUTE "):
        return sql
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement FROM pg_prepared_statements WHERE name = %s", [sql.split()[1]]
        )
        row = cursor.fetchone()
    return f"{sql} -- {row[0].strip()}" if row else sql


def uncached_request_profile(samples: int) -> dict[str, Any]:
    """SQL statements of one uncached list request, and in-process ms per request (median)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    cache_clear()
    client = Client(HTTP_HOST="127.0.0.1")
    timings: dict[str, list[float]] = {BARE_PATH: [], LIST_PATH: []}
    with override_settings(CATALOG_LIST_CACHE_SECONDS=0):
        for path in (BARE_PATH, LIST_PATH):
            client.get(path)  # first-request costs (imports, connection) are not per request
        with CaptureQueriesContext(connection) as captured:
            response = client.get(LIST_PATH)
        # Read them now: the next request's request_started signal empties the log.
        queries = [_statement_text(query["sql"]) for query in captured.captured_queries]
        if response.status_code != 200:
            raise BenchError(f"In-process GET {LIST_PATH} answered {response.status_code}")
        for _ in range(samples):
            for path, times in timings.items():
                started = time.perf_counter()
                client.get(path)
                times.append((time.perf_counter() - started) * 1000)
    return {
        "queries": len(queries),
        "sql": [sql[:300] for sql in queries],
        "in_process_ms": {
            "bare": statistics.median(timings[BARE_PATH]),
            "uncached_list": statistics.median(timings[LIST_PATH]),
        },
    }


def check_list_page(server: Server) -> None:
    """The page the load asks for holds what the issue describes, so the number means that."""
    status, body = http_get(server.url(LIST_PATH))
    page = json.loads(body)
    if status != 200 or len(page.get("results", [])) != PAGE_SIZE or not page.get("next"):
        raise BenchError(f"Unexpected list page ({status}): {body[:300]!r}")
    first = page["results"][0]
    if len(first["variants"]) != VARIANTS_PER_PRODUCT or len(first["images"]) != IMAGES_PER_PRODUCT:
        raise BenchError(f"Unexpected product shape: {json.dumps(first)[:300]}")


# --- Load -------------------------------------------------------------------


def phase(
    label: str, *, cache_seconds: int, args: argparse.Namespace, database_url: str
) -> dict[str, Any]:
    """Start a server with this list-cache TTL; measure the bare view and the list in turns."""
    seconds, warmup, rounds = durations(args)
    server = server_for(
        args,
        f"{NAME}-{label}",
        env={"CATALOG_LIST_CACHE_SECONDS": str(cache_seconds), "DATABASE_URL": database_url},
    )
    with server:
        cache_clear()
        check_list_page(server)
        # Right after that one miss the page is in the cache if, and only if, caching is on.
        stored = len(cache_keys("catalog:list:*"))
        if bool(stored) != bool(cache_seconds):
            raise BenchError(
                f"{stored} list pages in the cache after one request "
                f"with CATALOG_LIST_CACHE_SECONDS={cache_seconds}"
            )
        load_before = os.getloadavg()
        measured = measure(
            server,
            {"bare": BARE_PATH, "list": LIST_PATH},
            seconds=seconds,
            warmup=warmup,
            rounds=rounds,
            connections=args.connections,
        )
        list_keys = len(cache_keys("catalog:list:*"))
    if cache_seconds == 0 and list_keys:
        raise BenchError(f"{list_keys} list pages were cached with CATALOG_LIST_CACHE_SECONDS=0")
    bare, listing = measured["bare"], measured["list"]
    return {
        "cache_seconds": cache_seconds,
        "server": server.config(),
        "bare": bare,
        "list": listing,
        "ratio": listing.rps / bare.rps,
        "round_ratios": [
            lst.rps / b.rps for b, lst in zip(bare.rounds, listing.rounds, strict=True)
        ],
        "list_pages_cached_by_first_request": stored,
        "list_pages_in_cache_after": list_keys,
        "load_average": {"before": load_before, "after": os.getloadavg()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_catalog", description=__doc__)
    add_common_arguments(parser)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)

    wrk_path()
    django_setup()
    database_url = use_database(DATABASE_URL)
    fresh = prepare_database(reuse=args.reuse_db)
    if not fresh and seeded():
        data: dict[str, Any] = {"reused": True}
    else:
        if not fresh:
            prepare_database()  # holds other rows: start from empty
        data = seed()
    check_listing_entries()
    profile = uncached_request_profile(samples=5 if args.smoke else 50)

    cached = phase("cached", cache_seconds=CACHE_SECONDS, args=args, database_url=database_url)
    uncached = phase("uncached", cache_seconds=0, args=args, database_url=database_url)

    summary = {
        "bare_rps": cached["bare"].rps,
        "cached_list_rps": cached["list"].rps,
        "bare_rps_uncached_server": uncached["bare"].rps,
        "uncached_list_rps": uncached["list"].rps,
        "cached_over_bare": cached["ratio"],
        "uncached_over_bare": uncached["ratio"],
        # The same comparison in CPU per request: steadier when other work shares the box.
        "cached_cpu_ratio": cached["bare"].cpu_ms_per_request / cached["list"].cpu_ms_per_request,
        "uncached_cpu_ratio": uncached["bare"].cpu_ms_per_request
        / uncached["list"].cpu_ms_per_request,
        "goals": GOALS,
        "cached_goal_met": cached["ratio"] >= GOALS["cached"],
        "uncached_goal_met": uncached["ratio"] >= GOALS["uncached"],
        "queries_per_uncached_request": profile["queries"],
    }
    seconds, warmup, rounds = durations(args)
    results = write_results(
        f"{NAME}-smoke" if args.smoke else NAME,
        {
            "data": data,
            "load": {
                "tool": f"wrk -t{WRK_THREADS} -c{args.connections} --latency",
                "seconds_per_url": seconds,
                "warmup_seconds": warmup,
                "rounds": rounds,
            },
            "summary": summary,
            "cached": {
                **cached,
                "bare": cached["bare"].summary(),
                "list": cached["list"].summary(),
            },
            "uncached": {
                **uncached,
                "bare": uncached["bare"].summary(),
                "list": uncached["list"].summary(),
            },
            "uncached_request": profile,
        },
    )

    print_table(
        [
            table_row("bare", cached["bare"], None, server=f"A: cache {CACHE_SECONDS}s"),
            table_row("list", cached["list"], cached["ratio"], server=f"A: cache {CACHE_SECONDS}s"),
            table_row("bare", uncached["bare"], None, server="B: cache off"),
            table_row("list", uncached["list"], uncached["ratio"], server="B: cache off"),
        ],
        ["server", "url", "rps", "÷ bare", "p50 ms", "p99 ms", "cpu ms/req", "other cores"],
    )
    config = cached["server"]
    print(
        f"bare = {BARE_PATH}, list = {LIST_PATH}; gunicorn {config['worker_class']} "
        f"{config['workers']} workers x {config['threads']} threads; "
        f"wrk -t{WRK_THREADS} -c{args.connections}, {seconds}s per url in {rounds} rounds."
    )
    print(
        f"Uncached list request: {profile['queries']} SQL queries, "
        f"{profile['in_process_ms']['uncached_list']:.1f} ms in-process "
        f"(bare {profile['in_process_ms']['bare']:.2f} ms)."
    )
    for kind in ("cached", "uncached"):
        verdict = "met" if summary[f"{kind}_goal_met"] else "MISSED"
        print(
            f"{kind} list / bare = {summary[f'{kind}_over_bare']:.3f} "
            f"(goal >= {GOALS[kind]:.2f}): {verdict}; "
            f"in CPU per request {summary[f'{kind}_cpu_ratio']:.3f}"
        )
    print(f"Results: {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
