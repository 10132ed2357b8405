"""Affiliate redirect `/r/<code>` throughput as a share of the bare view's, and click accuracy.

    python -m bench.bench_redirect [--smoke] [--clients N] [--first-tap-share F] [--reuse-db]

One server measures the bare view and the redirect in turns under the same wrk load: a Lua
script gives every request a mobile browser's user agent and, from a pool of N client ids,
a `tribe_cid` cookie drawn repeat-heavily (id k about as likely as 1/k); a share of the
requests are first taps with no cookie, each a new client. After the run the click queue is
flushed in this process, and the unique clicks stored must equal the distinct clients sent.

Uses its own database, `tribe_bench_redirect` (recreated unless --reuse-db), and click keys
under `tribe-bench-redirect:clicks:` in the bench Redis db; DATABASE_URL and
CLICK_KEY_PREFIX override them.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
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
from bench.load import (
    WrkResult,
    measure_rounds,
    run_wrk_script,
    table_row,
    wait_idle,
    wrk_path,
)
from bench.redirect_data import (
    CLIENT_ID_FORMAT,
    CREATOR_HANDLE,
    click_accounting,
    clicks_reset,
    flush_all,
    seed,
    seeded,
)
from bench.server import Server, http_get, server_for

NAME = "redirect"
BARE_PATH = "/bench/bare/"
GOAL = 0.60
CLIENTS = 5_000
FIRST_TAP_SHARE = 0.05
MOBILE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
DATABASE_URL = "postgres://postgres@127.0.0.1:5432/tribe_bench_redirect"
CLICK_KEY_PREFIX = "tribe-bench-redirect"

# Each wrk thread draws its clients; done() writes the ids it used and the first taps sent
# to the file named by the script's third argument ("-" for none: the bare view's runs).
LUA = r"""
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("index", counter)
  table.insert(threads, thread)
end

function init(args)
  pool = tonumber(args[1])
  first_share = tonumber(args[2])
  outfile = args[3]
  used = {}
  fresh = 0
  verifying = index == 1
  math.randomseed(os.time() * 1000 + index * 7919 + math.floor(os.clock() * 1e6))
  ua = "__UA__"
end

function request()
  local headers = {["User-Agent"] = ua}
  if verifying then
    -- wrk calls request() once in the first thread to check it; that request is never sent.
    verifying = false
    headers["Cookie"] = "tribe_cid=__PREFIX__000001"
    return wrk.format(nil, nil, headers)
  end
  if math.random() < first_share then
    fresh = fresh + 1
  else
    -- floor((pool + 1) ^ u) is 1..pool with P(k) = log((k + 1) / k) / log(pool + 1)
    local id = math.floor((pool + 1) ^ math.random())
    if id > pool then id = pool end
    used[id] = (used[id] or 0) + 1
    headers["Cookie"] = string.format("tribe_cid=__PREFIX__%06d", id)
  end
  return wrk.format(nil, nil, headers)
end

function done(summary, latency, requests)
  local path = threads[1]:get("outfile")
  if path == "-" then return end
  local file = io.open(path, "w")
  for _, thread in ipairs(threads) do
    for id, n in pairs(thread:get("used")) do file:write("id ", id, " ", n, "\n") end
    file:write("fresh ", thread:get("fresh"), "\n")
  end
  file:close()
end
"""


# --- Checks -----------------------------------------------------------------


def redirect_once(server: Server, path: str, client_id: str) -> dict[str, Any]:
    """One tap with a pool cookie, not followed: it must be a 302 to the storefront."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(
            "GET", path, headers={"User-Agent": MOBILE_UA, "Cookie": f"tribe_cid={client_id}"}
        )
        response = conn.getresponse()
        response.read()
        location = response.getheader("Location", "")
        cookies = response.headers.get_all("Set-Cookie") or []
    finally:
        conn.close()
    if response.status != 302 or f"/@{CREATOR_HANDLE}?" not in location:
        raise BenchError(f"GET {path} answered {response.status} to {location!r}")
    if not any(c.startswith("tribe_atk=") for c in cookies):
        raise BenchError(f"GET {path} set no attribution cookie: {cookies}")
    if any(c.startswith("tribe_cid=") for c in cookies):
        raise BenchError(f"GET {path} replaced a valid client cookie: {cookies}")
    return {"status": response.status, "location": location}


# --- Load -------------------------------------------------------------------


class ClientLoad:
    """The wrk Lua script and the files in which its runs list the clients they used."""

    def __init__(self, pool: int, first_tap_share: float) -> None:
        self.pool = pool
        self.first_tap_share = first_tap_share
        self.dir = Path(tempfile.mkdtemp(prefix="bench-redirect-"))
        self.script = self.dir / "clients.lua"
        prefix = CLIENT_ID_FORMAT.split("{")[0]
        self.script.write_text(LUA.replace("__UA__", MOBILE_UA).replace("__PREFIX__", prefix))
        self.runs = 0

    def args(self, *, record: bool) -> tuple[str, ...]:
        outfile = "-"
        if record:
            self.runs += 1
            outfile = str(self.dir / f"run-{self.runs}.txt")
        return (str(self.pool), str(self.first_tap_share), outfile)

    def sent(self) -> tuple[dict[int, int], int]:
        """Requests sent per cookie id over every recorded run, and first taps (no cookie)."""
        per_id: dict[int, int] = {}
        first_taps = 0
        for index in range(1, self.runs + 1):
            path = self.dir / f"run-{index}.txt"
            if not path.exists():
                raise BenchError(f"wrk run {index} wrote no client list ({path})")
            for line in path.read_text().splitlines():
                kind, *numbers = line.split()
                if kind == "id":
                    client, count = int(numbers[0]), int(numbers[1])
                    per_id[client] = per_id.get(client, 0) + count
                else:
                    first_taps += int(numbers[0])
        return per_id, first_taps


def run(args: argparse.Namespace, target: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    seconds, warmup, rounds = durations(args)
    load = ClientLoad(args.clients, args.first_tap_share)
    redirect_path = f"/r/{target['code']}"
    clicks_reset()
    server = server_for(args, NAME, env=env)
    with server:
        status, body = http_get(server.url(BARE_PATH))
        if status != 200:
            raise BenchError(f"GET {BARE_PATH} answered {status}: {body[:300]!r}")
        check = redirect_once(server, redirect_path, CLIENT_ID_FORMAT.format(1))

        def loader(path: str, *, record: bool) -> Callable[[int], WrkResult]:
            def go(n_seconds: int) -> WrkResult:
                return run_wrk_script(
                    server.url(path),
                    seconds=n_seconds,
                    connections=args.connections,
                    script=load.script,
                    script_args=load.args(record=record),
                )

            return go

        bare_load = loader(BARE_PATH, record=False)
        redirect_load = loader(redirect_path, record=True)
        warm = {"bare": [], "redirect": []}
        if warmup:
            warm["bare"].append(bare_load(warmup))
            warm["redirect"].append(redirect_load(warmup))
        per_round = max(1, seconds // rounds)
        load_before = os.getloadavg()
        measured = measure_rounds(
            server,
            {
                "bare": (BARE_PATH, lambda _r: bare_load(per_round)),
                "redirect": (redirect_path, lambda _r: redirect_load(per_round)),
            },
            rounds=rounds,
        )
        wait_idle(server)
        load_after = os.getloadavg()
    per_id, first_taps = load.sent()
    shutil.rmtree(load.dir, ignore_errors=True)
    per_id[1] = per_id.get(1, 0) + 1  # the check above
    flushed, flush_seconds = flush_all()
    accounting = click_accounting(target["link_id"], per_id, first_taps, args.clients)
    answered = 1 + measured["redirect"].requests + sum(r.requests for r in warm["redirect"])
    bare, redirect = measured["bare"], measured["redirect"]
    return {
        "server": server.config(),
        "check": check,
        "bare": bare,
        "redirect": redirect,
        "ratio": redirect.rps / bare.rps,
        "round_ratios": [r.rps / b.rps for b, r in zip(bare.rounds, redirect.rounds, strict=True)],
        "cpu_ratio": bare.cpu_ms_per_request / redirect.cpu_ms_per_request,
        "redirect_answers_counted_by_wrk": answered,
        "flushed": flushed,
        "flush_seconds": flush_seconds,
        "clicks": accounting,
        "load_average": {"before": load_before, "after": load_after},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_redirect", description=__doc__)
    add_common_arguments(parser)
    parser.add_argument("--clients", type=int, default=CLIENTS, help="client id pool size")
    parser.add_argument(
        "--first-tap-share",
        type=float,
        default=FIRST_TAP_SHARE,
        help="share of requests without a client cookie (each one a new client)",
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)

    wrk_path()
    django_setup()
    from django.conf import settings

    database_url = use_database(DATABASE_URL)
    settings.CLICK_KEY_PREFIX = os.environ.get("CLICK_KEY_PREFIX") or CLICK_KEY_PREFIX
    server_env = {"DATABASE_URL": database_url, "CLICK_KEY_PREFIX": settings.CLICK_KEY_PREFIX}
    if not settings.REDIS_URL:
        raise BenchError("The redirect takes clicks through Redis: set REDIS_URL.")
    fresh = prepare_database(reuse=args.reuse_db)
    target = None if fresh else seeded()
    if target is None:
        if not fresh:
            prepare_database()
        target = seed()

    result = run(args, target, server_env)
    clicks = result["clicks"]
    summary = {
        "bare_rps": result["bare"].rps,
        "redirect_rps": result["redirect"].rps,
        "redirect_over_bare": result["ratio"],
        "cpu_ratio": result["cpu_ratio"],
        "goal": GOAL,
        "goal_met": result["ratio"] >= GOAL,
        "clicks_stored": clicks["click_rows"],
        "distinct_clients_sent": clicks["distinct_clients_sent"],
        "unique_clicks_stored": clicks["unique_clicks_daily"],
        "unique_clicks_match": clicks["match"],
        "clicks_sent": clicks["clicks_sent"],
        "clicks_match": clicks["clicks_match"],
    }
    seconds, warmup, rounds = durations(args)
    path = write_results(
        f"{NAME}-smoke" if args.smoke else NAME,
        {
            "data": {
                **target,
                "client_pool": args.clients,
                "first_tap_share": args.first_tap_share,
            },
            "load": {
                "tool": f"wrk -t{WRK_THREADS} -c{args.connections} --latency -s clients.lua",
                "user_agent": MOBILE_UA,
                "seconds_per_url": seconds,
                "warmup_seconds": warmup,
                "rounds": rounds,
            },
            "summary": summary,
            "run": {
                **result,
                "bare": result["bare"].summary(),
                "redirect": result["redirect"].summary(),
            },
            "settings": {
                "click_key_prefix": settings.CLICK_KEY_PREFIX,
                "redis": settings.REDIS_URL,
                "click_buffer_seconds": settings.CLICK_BUFFER_SECONDS,
                "click_buffer_size": settings.CLICK_BUFFER_SIZE,
            },
        },
    )

    print_table(
        [
            table_row("bare", result["bare"], None),
            table_row(f"/r/{target['code']}", result["redirect"], result["ratio"]),
        ],
        ["url", "rps", "÷ bare", "p50 ms", "p99 ms", "cpu ms/req", "other cores"],
    )
    config = result["server"]
    print(
        f"gunicorn {config['worker_class']} {config['workers']} workers x {config['threads']} "
        f"threads; wrk -t{WRK_THREADS} -c{args.connections}, {seconds}s per url in {rounds} "
        f"rounds; {args.clients} client ids, {args.first_tap_share:.0%} first taps."
    )
    print(
        f"Clicks: {clicks['clicks_sent']} sent, {clicks['click_rows']} stored "
        f"({'equal' if clicks['clicks_match'] else 'DIFFERENT'}; wrk counted "
        f"{result['redirect_answers_counted_by_wrk']} answers, the rest were in flight when it "
        f"stopped), flushed in {result['flush_seconds']:.1f}s."
    )
    print(
        f"Distinct clients sent {clicks['distinct_clients_sent']} ({clicks['pool_ids_sent']} "
        f"cookie ids + {clicks['first_taps_sent']} first taps); unique clicks stored "
        f"{clicks['unique_clicks_daily']} (daily), {clicks['unique_click_rows']} (rows), "
        f"{clicks['distinct_client_hashes_stored']} distinct client hashes: "
        f"{'match' if clicks['match'] else 'MISMATCH'}."
    )
    verdict = "met" if summary["goal_met"] else "MISSED"
    print(
        f"redirect / bare = {result['ratio']:.3f} (goal >= {GOAL:.2f}): {verdict}; "
        f"in CPU per request {result['cpu_ratio']:.3f}"
    )
    print(f"Results: {path}")
    if not (clicks["match"] and clicks["clicks_match"]):
        raise BenchError("The clicks stored are not the clicks sent; see the results file.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
