"""Storefront and product pages, served from their stored shared part, against the bare view.

    python -m bench.bench_storefront [--smoke] [--reuse-db]

Seeds storefronts of 10, 200 and 2,000 products (`journey_data`), then one server measures
in turns: the bare view; each storefront `/@shop.N` as a visitor without tokens sees it (its
first page of 48 products); the 200-product storefront as a fan landing from a link
(`?atk=`, the linked product open); page 40 of the 2,000; a product page of each; and
the apps' JSON storefront (`/api/v1/storefronts/...`: the first page of the 200 and the
2,000, and the 200 whole).
Every page is fetched once first, which stores it. In-process, the SQL statements one
stored request makes are counted per page. Reports rps, p50/p99, CPU per request (server,
PostgreSQL and Redis) and both ratios to the bare view (rps and CPU); goal: the 200-product
pages at 0.5 of the bare view or better, and flat in the number of products.

Uses its own database, `tribe_bench_storefront` (recreated unless --reuse-db); DATABASE_URL
overrides it.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any
from urllib.parse import urlencode

from bench.common import (
    WRK_THREADS,
    add_common_arguments,
    cache_clear,
    django_setup,
    durations,
    prepare_database,
    print_table,
    use_database,
    write_results,
)
from bench.journey_data import SIZES, handle_for, link_for, seed_storefronts, storefronts_seeded
from bench.load import measure, table_row, wrk_path
from bench.server import server_for

NAME = "storefront"
BARE_PATH = "/bench/bare/"
GOAL = 0.5
DATABASE_URL = "postgres://postgres@127.0.0.1:5432/tribe_bench_storefront"


def page_paths(seeded: dict[int, dict[str, int]]) -> dict[str, str]:
    """Label -> path of every page measured, the bare view first."""
    from creators.attribution.tokens import token_for_click

    paths = {"bare": BARE_PATH}
    for size in SIZES:
        paths[f"storefront {size}"] = f"/@{handle_for(size)}"
    middle = seeded[200]
    link_id = link_for(
        creator_id=middle["creator_id"], product_id=middle["product_id"], code="benchstore200"
    )
    token = token_for_click(click_id="bench-storefront", link_id=link_id)
    paths["storefront 200 landed"] = f"/@{handle_for(200)}?{urlencode({'atk': token})}"
    # Pages of 48 cards: the largest storefront's 2,005 (a video of 5, a collection of all)
    # run to page 42.
    paths[f"storefront {SIZES[-1]} page 40"] = f"/@{handle_for(SIZES[-1])}/page/40"
    for size in SIZES:
        paths[f"product ({size})"] = f"/@{handle_for(size)}/p/{seeded[size]['product_id']}"
    # The apps' JSON of the same storefronts: a page, and the 200 whole.
    for size in SIZES[1:]:
        paths[f"api {size} page 1"] = f"/api/v1/storefronts/{handle_for(size)}/?page=1"
    paths["api 200 whole"] = f"/api/v1/storefronts/{handle_for(200)}/"
    return paths


def statements_per_request(paths: dict[str, str]) -> dict[str, int]:
    """SQL statements of one request to each stored page, in this process."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(SERVER_NAME="127.0.0.1")
    counts = {}
    for label, path in paths.items():
        client.get(path)  # stores the page
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
        counts[label] = len(captured.captured_queries)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_storefront", description=__doc__)
    add_common_arguments(parser)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    wrk_path()
    django_setup()
    database_url = use_database(DATABASE_URL)
    fresh = prepare_database(reuse=args.reuse_db)
    seeded = None if fresh else storefronts_seeded()
    if seeded is None:
        if not fresh:
            prepare_database()
        seeded = seed_storefronts()
    cache_clear()
    paths = page_paths(seeded)
    statements = statements_per_request(paths)
    seconds, warmup, rounds = durations(args)
    server = server_for(args, NAME, env={"DATABASE_URL": database_url})
    with server:
        measured = measure(
            server,
            paths,
            seconds=seconds,
            warmup=warmup,
            rounds=rounds,
            connections=args.connections,
        )
    bare = measured["bare"]
    rows: list[dict[str, Any]] = []
    summary: dict[str, Any] = {}
    for label, result in measured.items():
        ratio = result.rps / bare.rps
        cpu_ratio = bare.cpu_ms_per_request / result.cpu_ms_per_request
        rows.append(
            {**table_row(label, result, ratio), "cpu ÷ bare": cpu_ratio, "sql": statements[label]}
        )
        summary[label] = {
            **result.summary(),
            "over_bare": ratio,
            "cpu_over_bare": cpu_ratio,
            "sql_statements": statements[label],
        }
    columns = ["url", "rps", "÷ bare", "cpu ms/req", "cpu ÷ bare", "p50 ms", "p99 ms", "sql"]
    print_table(rows, [*columns, "other cores"])
    results = write_results(
        f"{NAME}-smoke" if args.smoke else NAME,
        {
            "load": {
                "tool": f"wrk -t{WRK_THREADS} -c{args.connections} --latency",
                "seconds_per_url": seconds,
                "warmup_seconds": warmup,
                "rounds": rounds,
            },
            "goal_over_bare_at_200": GOAL,
            "pages": summary,
        },
    )
    print(f"\nGoal: 200-product pages >= {GOAL} of bare. Results: {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
