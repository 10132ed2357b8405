"""Reserve step on one hot SKU, 64 clients, stock running out mid-run, against the bare view.

    python -m bench.bench_reserve [--smoke] [--stock N] [--reuse-db] [--code]

One server measures the bare view and `POST /bench/reserve/<variant>/<order line>/` in turns
with `wrk -c64`. The reserve view (mounted only by the bench settings) calls checkout's own
reserve service, `reservation_hold`: the conditional update of the variant's `reserved` and
the `StockReservation` row in one statement (after a miss that saw lapsed holds, reclaim and
retry once); no order is written and Stripe is not called. A reservation row needs an order
line, so one order with a pool of lines is seeded, and a wrk script gives every request a
line of its own. The view answers 201 or 409 out_of_stock. The stock is sized from the
warm-up so that it runs out about halfway through the measured reserve time (or set with
--stock). Every answered request counts for throughput; 201s are also reported alone. After
the run: units reserved, reservation rows, and oversold (reserved beyond on hand), which
must be 0.

With `--code` the reserve URL is `/bench/reserve-code/...`: the same hold with a creator code
applied as checkout applies it (the code read, a use of its discount taken and the unit held
in one transaction). Each run measures its own bare view, so the cost of a code is the ratio
of the two runs' reserve / bare (results in `reserve-code.json` beside `reserve.json`).

Uses its own database, `tribe_bench_reserve` (recreated unless --reuse-db); DATABASE_URL
overrides it.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import (
    WRK_THREADS,
    BenchError,
    add_common_arguments,
    django_setup,
    durations,
    prepare_database,
    print_table,
    use_database,
    write_results,
)
from bench.load import WrkResult, measure_rounds, run_wrk_script, table_row, wait_idle, wrk_path
from bench.reserve_data import (
    SKU,
    code_seed,
    holds,
    line_pool,
    next_line,
    seed,
    seeded,
    stock_reset,
)
from bench.server import Server, http_get, server_for

NAME = "reserve"
BARE_PATH = "/bench/bare/"
GOAL = 0.40
CONNECTIONS = 64
DATABASE_URL = "postgres://postgres@127.0.0.1:5432/tribe_bench_reserve"
WARMUP_STOCK = 10_000_000
# Stock for the measured run: this share of the warm-up's 201 rate times the reserve seconds.
SELL_OUT_AT = 0.5

# Order lines a wrk run may use, per wrk thread and second of load, before the stock is known.
LINES_PER_THREAD_SECOND = 10_000
LINE_SLACK = 1_000

# Every request holds a line of its own: thread t of T sends first + t, first + t + T, ...
# (wrk calls request() once more in thread 0 to check the script; that line is skipped).
RESERVE_LUA = """
wrk.method = "POST"
local first, threads, variant = {first}, {threads}, {variant}
local created = 0
function setup(thread)
  thread:set("offset", created)
  created = created + 1
end
function init(args)
  sent = 0
end
function request()
  local line = first + offset + threads * sent
  sent = sent + 1
  return wrk.format(nil, "{prefix}" .. variant .. "/" .. line .. "/")
end
"""


# --- Checks -----------------------------------------------------------------


def post(server: Server, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("POST", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def log_counts(server: Server, prefix: str) -> dict[str, int]:
    """409s Django logged (every 4xx is logged as a warning) and any server errors."""
    text = server.log_path.read_text(errors="replace")
    return {
        "conflicts_logged": text.count(f"Conflict: {prefix}"),
        "server_errors_logged": text.count("Internal Server Error") + text.count("Traceback"),
    }


# --- Load -------------------------------------------------------------------


def run(args: argparse.Namespace, variant_id: int, env: dict[str, str]) -> dict[str, Any]:
    seconds, warmup, rounds = durations(args)
    per_round = max(1, seconds // rounds)
    prefix = "/bench/reserve-code/" if args.code else "/bench/reserve/"
    reserve_path = f"{prefix}{variant_id}/"
    script = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-reserve-{os.getpid()}.lua"
    stock_reset(variant_id, WARMUP_STOCK)
    # With stock to spare every request holds a line: size the pool for the fastest run.
    pool = line_pool(
        variant_id, WRK_THREADS * LINES_PER_THREAD_SECOND * max(1, warmup) + LINE_SLACK
    )
    server = server_for(args, NAME, env=env)
    try:
        with server:
            status, body = http_get(server.url(BARE_PATH))
            if status != 200:
                raise BenchError(f"GET {BARE_PATH} answered {status}: {body[:300]!r}")
            check_path = f"{reserve_path}{next_line(pool)}/"
            status, body = post(server, check_path)
            if status != 201:
                raise BenchError(f"POST {check_path} answered {status}: {body[:300]!r}")

            def bare_load(n_seconds: int) -> WrkResult:
                return run_wrk_script(
                    server.url(BARE_PATH), seconds=n_seconds, connections=args.connections
                )

            def reserve_load(n_seconds: int) -> WrkResult:
                first = next_line(pool)
                script.write_text(
                    RESERVE_LUA.format(
                        first=first, threads=WRK_THREADS, variant=variant_id, prefix=prefix
                    )
                )
                return run_wrk_script(
                    server.url(reserve_path),
                    seconds=n_seconds,
                    connections=args.connections,
                    script=script,
                    allow_errors=True,  # 409 out_of_stock is an answer; 500s are checked below
                )

            warm_rate = 0.0
            if warmup:
                bare_load(warmup)
                warm = reserve_load(warmup)
                if warm.non_2xx:
                    raise BenchError(f"{warm.non_2xx} refusals in the warm-up with stock to spare")
                warm_rate = warm.rps
            wait_idle(server)
            stock = args.stock or max(1, round(warm_rate * per_round * rounds * SELL_OUT_AT))
            stock_reset(variant_id, stock)
            # A thread's k-th line holds only if its k earlier requests all did (one SKU, one
            # unit each), so no held line lies beyond first + threads x stock.
            pool = line_pool(variant_id, WRK_THREADS * (stock + rounds) + LINE_SLACK)
            log_before = log_counts(server, prefix)
            load_before = os.getloadavg()
            measured = measure_rounds(
                server,
                {
                    "bare": (BARE_PATH, lambda _r: bare_load(per_round)),
                    "reserve": (reserve_path, lambda _r: reserve_load(per_round)),
                },
                rounds=rounds,
            )
            wait_idle(server)
            load_after = os.getloadavg()
            log_after = log_counts(server, prefix)
    finally:
        script.unlink(missing_ok=True)
    after = holds(variant_id)
    bare, reserve = measured["bare"], measured["reserve"]
    refused = sum(r.non_2xx for r in reserve.rounds)
    created_answered = reserve.requests - refused
    created_rps = statistics.fmean(
        r.rps * (r.requests - r.non_2xx) / r.requests for r in reserve.rounds
    )
    conflicts = log_after["conflicts_logged"] - log_before["conflicts_logged"]
    errors = log_after["server_errors_logged"] - log_before["server_errors_logged"]
    oversold = max(0, after["reserved"] - after["on_hand"])
    return {
        "server": server.config(),
        "stock": stock,
        "warmup_201_rps": warm_rate,
        "bare": bare,
        "reserve": reserve,
        "ratio": reserve.rps / bare.rps,
        "created_rps": created_rps,
        "created_ratio": created_rps / bare.rps,
        "round_ratios": [r.rps / b.rps for b, r in zip(bare.rounds, reserve.rounds, strict=True)],
        "round_201s": [r.requests - r.non_2xx for r in reserve.rounds],
        "round_409s": [r.non_2xx for r in reserve.rounds],
        "cpu_ratio": bare.cpu_ms_per_request / reserve.cpu_ms_per_request,
        "answered_201": created_answered,
        "answered_409": refused,
        "conflicts_logged": conflicts,
        "server_errors_logged": errors,
        "after": after,
        "units_reserved": after["reserved"],
        "hold_rows": after["rows"],
        "oversold": oversold,
        "rows_minus_reserved": after["rows"] - after["reserved"],
        "sold_out": after["reserved"] == after["on_hand"] == stock,
        "load_average": {"before": load_before, "after": load_after},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_reserve", description=__doc__)
    add_common_arguments(parser)
    parser.set_defaults(connections=CONNECTIONS)
    parser.add_argument("--stock", type=int, help="units on hand for the measured run")
    parser.add_argument(
        "--code", action="store_true", help="hold with a creator code applied, as checkout does"
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)

    wrk_path()
    django_setup()
    database_url = use_database(DATABASE_URL)
    fresh = prepare_database(reuse=args.reuse_db)
    variant_id = None if fresh else seeded()
    if variant_id is None:
        if not fresh:
            prepare_database()
        variant_id = seed()

    if args.code:
        code_seed(variant_id)
    name = f"{NAME}-code" if args.code else NAME
    started = time.monotonic()
    result = run(args, variant_id, {"DATABASE_URL": database_url})
    problems = []
    if result["oversold"]:
        problems.append(f"oversold {result['oversold']} units")
    if result["rows_minus_reserved"]:
        problems.append(
            f"{result['hold_rows']} reservation rows for {result['units_reserved']} units"
        )
    if result["server_errors_logged"]:
        problems.append(f"{result['server_errors_logged']} server errors in {NAME}.gunicorn.log")
    if result["conflicts_logged"] < result["answered_409"]:
        problems.append("more refusals answered than 409s logged: some were not out_of_stock")
    if not result["sold_out"]:
        problems.append("the stock did not run out: raise the load or lower --stock")
    summary = {
        "bare_rps": result["bare"].rps,
        "reserve_rps": result["reserve"].rps,
        "reserve_201_rps": result["created_rps"],
        "reserve_over_bare": result["ratio"],
        "reserve_201_over_bare": result["created_ratio"],
        "cpu_ratio": result["cpu_ratio"],
        "goal": GOAL,
        "goal_met": result["ratio"] >= GOAL,
        "stock": result["stock"],
        "units_reserved": result["units_reserved"],
        "hold_rows": result["hold_rows"],
        "oversold": result["oversold"],
        "rows_minus_reserved": result["rows_minus_reserved"],
        "problems": problems,
    }
    seconds, warmup, rounds = durations(args)
    path = write_results(
        f"{name}-smoke" if args.smoke else name,
        {
            "data": {"variant_id": variant_id, "sku": SKU},
            "load": {
                "tool": f"wrk -t{WRK_THREADS} -c{args.connections} --latency",
                "seconds_per_url": seconds,
                "warmup_seconds": warmup,
                "rounds": rounds,
            },
            "summary": summary,
            "run": {
                **result,
                "bare": result["bare"].summary(),
                "reserve": result["reserve"].summary(),
            },
            "seconds": time.monotonic() - started,
        },
    )

    print_table(
        [
            table_row("bare", result["bare"], None),
            table_row("reserve (201 + 409)", result["reserve"], result["ratio"]),
        ],
        ["url", "rps", "÷ bare", "p50 ms", "p99 ms", "cpu ms/req", "other cores"],
    )
    config = result["server"]
    print(
        f"gunicorn {config['worker_class']} {config['workers']} workers x {config['threads']} "
        f"threads; wrk -t{WRK_THREADS} -c{args.connections}, {seconds}s per url in {rounds} "
        f"rounds; stock {result['stock']} (warm-up: {result['warmup_201_rps']:.0f} holds/s)."
    )
    print(
        f"201s only: {result['created_rps']:,.1f} rps ({result['created_ratio']:.3f} of bare); "
        f"per round 201/409: {list(zip(result['round_201s'], result['round_409s'], strict=True))}."
    )
    print(
        f"Units reserved {result['units_reserved']} of {result['after']['on_hand']} on hand, "
        f"reservation rows {result['hold_rows']} (201s answered {result['answered_201']}, "
        f"the rest in flight when wrk stopped), oversold {result['oversold']}, rows - reserved "
        f"{result['rows_minus_reserved']}; 409s answered {result['answered_409']}."
    )
    verdict = "met" if summary["goal_met"] else "MISSED"
    print(
        f"reserve / bare = {result['ratio']:.3f} (goal >= {GOAL:.2f}): {verdict}; "
        f"in CPU per request {result['cpu_ratio']:.3f}"
    )
    print(f"Results: {path}")
    if problems:
        raise BenchError("; ".join(problems))
    return 0


if __name__ == "__main__":
    sys.exit(main())
