"""A fan's whole journey under load: link, storefront, product, cart, checkout, payment.

    python -m bench.bench_journey [--smoke] [--fans N] [--browse-share F] [--reuse-db]
                                  [--spike N --units M] [--slow-stripe]
    python -m bench.bench_journey --cluster [--kill] [--fans N] [--duration S] [--units M]
                                  [--node-env NAME=VALUE]

Starts the Stripe emulator (devtools/stripe_emulator) and one server pointed at it, with
production's throttles and NUM_PROXIES=1: every simulated fan is a client of its own
(X-Forwarded-For). Fans are threads of this process, each with its own session:

- tap `/r/{code}` (the redirect, not followed), load the storefront it names (the linked
  product open), load the product page, create a cart holding the SKU with the link's
  token (`POST /api/v1/carts/` with its line; `--two-call-cart`: create it, then `PUT` the
  line, as apps did before the cart took lines, for comparing with older commits), check
  out (`POST /api/v1/checkouts/`), and confirm the PaymentIntent on the emulator;
  `--browse-share` of them stop at the storefront.

Phases, each beside the bare view loaded by the same fans' client in the same minute:

1. **per step**: each step alone for `--duration` seconds (the bare view before it):
   rps, CPU per request (server, PostgreSQL, Redis, from /proc) and both ratios to bare;
   SQL statements per step are counted in-process on one journey.
2. **journey**: `--fans` fans doing whole journeys: completed checkouts per second and per
   core used (server + PostgreSQL + Redis), p50/p99 and 429s per step.
3. **slow Stripe** (`--slow-stripe`): phase 2 again with a proxy that delays every Stripe
   call by 300 ms; reports the throughput ratio with/without.
4. **spike** (`--spike N --units M`): N fans, each a new client, journey at once against the
   hot SKU holding M units: exactly M paid, the rest told `out_of_stock`, 0 oversold, 0 5xx;
   p50/p99 and 429s per step.

`--cluster` runs the journey phase against the multi-node harness instead, with each node's
CPU (bench/journey_cluster.py).

Uses its own database, `tribe_bench_journey` (recreated unless --reuse-db); DATABASE_URL
overrides it. The load generator runs on the box it measures: its CPU is not counted.
"""

from __future__ import annotations

import argparse
import http.server
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from bench.bench_redirect import MOBILE_UA
from bench.common import (
    RESULTS_DIR,
    ROOT,
    BenchError,
    add_common_arguments,
    cache_clear,
    django_setup,
    durations,
    prepare_database,
    print_table,
    use_database,
    write_results,
)
from bench.journey_data import HOT_SKU, hot_stock, hot_stock_set, journey_seeded, seed_journey
from bench.load import cpu_between, cpu_snapshot, wait_idle
from bench.server import Server, free_port, server_for

NAME = "journey"
BARE_PATH = "/bench/bare/"
DATABASE_URL = "postgres://postgres@127.0.0.1:5432/tribe_bench_journey"
STRIPE_KEY = "sk_test_bench"
WEBHOOK_SECRET = "whsec_bench"
STRIPE_DELAY = 0.3
ADDRESS = {
    "name": "Sam Fan",
    "line1": "1 Main St",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}
STEPS = ("tap", "storefront", "product", "cart", "checkout", "confirm")


# --- Stripe: the emulator, and a proxy that makes it slow --------------------------------


def start_emulator(webhook_url: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)  # a fresh clone has none yet
    log = (RESULTS_DIR / f"{NAME}-stripe-emulator.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devtools.stripe_emulator",
            "--port",
            str(port),
            "--webhook-url",
            webhook_url,
            "--webhook-secret",
            WEBHOOK_SECRET,
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/customers", timeout=1)
            return process, port
        except urllib.error.HTTPError:
            return process, port  # answering (401 without a key)
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise BenchError("The Stripe emulator did not start")


class _Delaying(http.server.BaseHTTPRequestHandler):
    """Forwards to the emulator after `STRIPE_DELAY` seconds: a slow Stripe."""

    upstream = ""
    protocol_version = "HTTP/1.1"

    def _forward(self) -> None:
        time.sleep(STRIPE_DELAY)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        upstream = requests.request(
            self.command, self.upstream + self.path, data=body, headers=headers, timeout=30
        )
        self.send_response(upstream.status_code)
        for key, value in upstream.headers.items():
            if key.lower() not in (
                "content-length",
                "connection",
                "transfer-encoding",
                "content-encoding",
            ):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(upstream.content)))
        self.end_headers()
        self.wfile.write(upstream.content)

    do_GET = do_POST = do_DELETE = _forward

    def log_message(self, *args: Any) -> None:
        pass


def start_delaying_proxy(emulator_port: int) -> http.server.ThreadingHTTPServer:
    handler = type("Delaying", (_Delaying,), {"upstream": f"http://127.0.0.1:{emulator_port}"})
    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    proxy.daemon_threads = True
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    return proxy


# --- One fan -----------------------------------------------------------------------------


@dataclass
class Tally:
    """Per step: latencies (ms) and status counts; the outcomes of whole journeys."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    outcomes: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, step: str, started: float, status: int) -> None:
        with self.lock:
            self.latencies[step].append((time.perf_counter() - started) * 1000)
            self.statuses[step][status] += 1

    def outcome(self, name: str) -> None:
        with self.lock:
            self.outcomes[name] += 1

    def per_step(self) -> dict[str, dict[str, Any]]:
        rows = {}
        for step in STEPS:
            values = sorted(self.latencies.get(step, []))
            if not values:
                continue
            statuses = self.statuses[step]
            rows[step] = {
                "requests": len(values),
                "p50_ms": statistics.median(values),
                "p99_ms": values[min(len(values) - 1, int(len(values) * 0.99))],
                "429": statuses.get(429, 0),
                "5xx": sum(n for s, n in statuses.items() if s >= 500),
                "statuses": dict(statuses),
            }
        return rows


class Fan:
    """One shopper's browser: a session of its own, arriving from an address of its own."""

    def __init__(
        self, base: str, stripe: str, number: int, tally: Tally, *, stripe_key: str = STRIPE_KEY
    ) -> None:
        self.base, self.stripe, self.tally, self.stripe_key = base, stripe, tally, stripe_key
        self.order_id: int | None = None  # the order its checkout created
        self.session = requests.Session()
        self.session.headers["User-Agent"] = MOBILE_UA  # a bot's tap gets no token
        self.session.headers["X-Forwarded-For"] = (
            f"10.{number // 65536 % 256}.{number // 256 % 256}.{number % 256}"
        )
        self.stripe_session = requests.Session()

    # Class-wide: `--two-call-cart` sets it for every fan of the run.
    two_call_cart = False

    def _call(self, step: str, method: str, path: str, **kwargs: Any) -> requests.Response:
        started = time.perf_counter()
        response = self.session.request(method, self.base + path, timeout=60, **kwargs)
        self.tally.add(step, started, response.status_code)
        return response

    def journey(self, code: str, *, browse_only: bool) -> str:
        """The whole journey; returns how it ended."""
        tap = self._call("tap", "GET", f"/r/{code}", allow_redirects=False)
        if tap.status_code != 302:
            return f"tap {tap.status_code}"
        target = urlsplit(tap.headers["Location"])
        query = parse_qs(target.query)
        token, product_id = query["atk"][0], query["product"][0]
        page = self._call("storefront", "GET", f"{target.path}?{target.query}")
        if page.status_code != 200 or browse_only:
            return "browsed" if page.status_code == 200 else f"storefront {page.status_code}"
        product = self._call(
            "product", "GET", f"{target.path}/p/{product_id}", params={"atk": token}
        )
        if product.status_code != 200:
            return f"product {product.status_code}"
        return self.buy(token)

    def buy(self, token: str) -> str:
        """A cart with the hot SKU, its checkout and the card confirmed; how it ended."""
        created = self.check_out(token)
        if isinstance(created, str):
            return created
        started = time.perf_counter()
        confirm = self.stripe_session.post(
            f"{self.stripe}/v1/payment_intents/{created['payment_intent_id']}/confirm",
            data={"payment_method": "pm_card_visa"},
            headers={"Authorization": f"Bearer {self.stripe_key}"},
            timeout=60,
        )
        self.tally.add("confirm", started, confirm.status_code)
        if confirm.status_code != 200 or confirm.json().get("status") != "succeeded":
            return f"confirm {confirm.status_code}"
        return "paid"

    def _cart_refused(self, started: float, response: requests.Response, ok: int) -> str:
        """How the cart step ended when `response` is not `ok` (tallied), else ''."""
        if response.status_code == ok:
            return ""
        self.tally.add("cart", started, response.status_code)
        return "sold_out" if response.status_code == 409 else f"cart {response.status_code}"

    def check_out(self, token: str) -> dict[str, Any] | str:
        """A cart with the hot SKU and its checkout: the order made, or how it ended."""
        started = time.perf_counter()
        line = {"sku": HOT_SKU, "quantity": 1}
        cart = self.session.post(
            self.base + "/api/v1/carts/",
            json={} if self.two_call_cart else {"lines": [line], "attribution_token": token},
            timeout=60,
        )
        refused = self._cart_refused(started, cart, 201)
        if refused:
            return refused
        body = cart.json()
        if self.two_call_cart:
            added = self.session.put(
                f"{self.base}/api/v1/carts/{body['id']}/lines/{HOT_SKU}",
                json={"quantity": 1, "attribution_token": token},
                headers={"X-Cart-Token": body["token"]},
                timeout=60,
            )
            refused = self._cart_refused(started, added, 200)
            if refused:
                return refused
        self.tally.add("cart", started, 201)
        checkout = self._call(
            "checkout",
            "POST",
            "/api/v1/checkouts/",
            json={"cart_id": body["id"], "email": "fan@example.com", "shipping_address": ADDRESS},
            headers={"Idempotency-Key": str(uuid.uuid4()), "X-Cart-Token": body["token"]},
        )
        if checkout.status_code == 409:
            return "sold_out"
        if checkout.status_code != 201:
            return f"checkout {checkout.status_code}"
        created: dict[str, Any] = checkout.json()
        self.order_id = created["order_id"]
        return created


# --- Phases ------------------------------------------------------------------------------


def _load(
    server: Server, database: str, seconds: float, threads: int, work: Callable[[int], None]
) -> tuple[float, dict[str, float]]:
    """Run `work(thread_index)` in a loop on `threads` threads for `seconds`; returns the
    elapsed time and the CPU seconds each party used meanwhile."""
    stop = time.monotonic() + seconds
    wait_idle(server)
    before, started = cpu_snapshot(server, database), time.monotonic()

    def loop(index: int) -> None:
        while time.monotonic() < stop:
            work(index)

    pool = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.monotonic() - started
    return elapsed, cpu_between(before, cpu_snapshot(server, database))


def _cores(used: dict[str, float]) -> float:
    return sum(used.get(k, 0.0) for k in ("server", "postgres", "redis"))


def bare_rate(server: Server, database: str, seconds: float, threads: int) -> dict[str, float]:
    """The bare view loaded by the same kind of client: rps and CPU ms per request."""
    sessions = [requests.Session() for _ in range(threads)]
    count = [0] * threads

    def work(index: int) -> None:
        if sessions[index].get(server.url(BARE_PATH), timeout=30).status_code != 200:
            raise BenchError("the bare view failed")
        count[index] += 1

    elapsed, used = _load(server, database, seconds, threads, work)
    total = sum(count)
    return {"rps": total / elapsed, "cpu_ms_per_request": _cores(used) / total * 1000}


def per_step(
    server: Server, stripe: str, code: str, database: str, *, seconds: float, threads: int
) -> dict[str, dict[str, float]]:
    """Each step loaded alone, after the bare view, by `threads` fans."""
    results: dict[str, dict[str, float]] = {}
    tally = Tally()
    fans = [Fan(server.url(""), stripe, 100_000 + i, tally) for i in range(threads)]
    # What each step needs, made by one journey per fan beforehand.
    first = fans[0]
    tap = first.session.get(server.url(f"/r/{code}"), allow_redirects=False, timeout=30)
    landing = tap.headers["Location"]
    target = urlsplit(landing)
    query = parse_qs(target.query)
    product_path = f"{target.path}/p/{query['product'][0]}?atk={query['atk'][0]}"
    serial = iter(range(10**9))
    lock = threading.Lock()

    def next_fan() -> Fan:
        with lock:
            number = next(serial)
        return Fan(server.url(""), stripe, 200_000 + number, tally)

    def get(path: str, **kw: Any) -> Callable[[int], None]:
        def work(index: int) -> None:
            status = fans[index].session.get(server.url(path), timeout=30, **kw).status_code
            if status not in (200, 302):
                raise BenchError(f"{path} answered {status}")

        return work

    def cart(index: int) -> None:
        fan = next_fan()
        if not Fan.two_call_cart:
            fan.session.post(
                server.url("/api/v1/carts/"),
                json={"lines": [{"sku": HOT_SKU, "quantity": 1}]},
                timeout=30,
            )
            return
        made = fan.session.post(server.url("/api/v1/carts/"), timeout=30).json()
        fan.session.put(
            server.url(f"/api/v1/carts/{made['id']}/lines/{HOT_SKU}"),
            json={"quantity": 1},
            headers={"X-Cart-Token": made["token"]},
            timeout=30,
        )

    def checkout(index: int) -> None:
        if isinstance(next_fan().check_out(query["atk"][0]), str):
            raise BenchError("a checkout made no order")

    def purchase(index: int) -> None:
        if next_fan().buy(query["atk"][0]) != "paid":
            raise BenchError("a purchase did not end paid")

    cart_requests = 2 if Fan.two_call_cart else 1
    loads = {
        "tap": (get(f"/r/{code}", allow_redirects=False), 1),
        "storefront": (
            get(landing[len(server.url("")) :] if landing.startswith("http") else landing),
            1,
        ),
        "product": (get(product_path), 1),
        "cart": (cart, cart_requests),
        # Cart, line and checkout with its PaymentIntent: per call, one checkout made (the
        # issue's "completed checkout", before the shopper pays).
        "checkout": (checkout, cart_requests + 1),
        # Cart, line and checkout on the server, the card confirmed on the emulator and its
        # payment_intent.succeeded webhook back to the server: per call, one paid order.
        "purchase": (purchase, cart_requests + 1),
    }
    for step, (work, requests_per_call) in loads.items():
        bare = bare_rate(server, database, seconds, threads)
        calls = [0] * threads

        def counted(
            index: int, work: Callable[[int], None] = work, calls: list[int] = calls
        ) -> None:
            work(index)
            calls[index] += 1

        elapsed, used = _load(server, database, seconds, threads, counted)
        total = sum(calls) * requests_per_call
        cpu = _cores(used) / total * 1000
        results[step] = {
            "rps": total / elapsed,
            "cpu_ms_per_request": cpu,
            # Per call of the step (a purchase: one paid order): all parties, and the web
            # server's own Python (the checkout's goal is about that).
            "cpu_ms_per_call": _cores(used) / sum(calls) * 1000,
            "web_cpu_ms_per_call": used.get("server", 0.0) / sum(calls) * 1000,
            "bare_rps": bare["rps"],
            "bare_cpu_ms_per_request": bare["cpu_ms_per_request"],
            "over_bare": total / elapsed / bare["rps"],
            "cpu_over_bare": bare["cpu_ms_per_request"] / cpu,
        }
    return results


def journeys(
    server: Server,
    stripe: str,
    code: str,
    database: str,
    *,
    seconds: float,
    fans: int,
    browse_share: float,
) -> dict[str, Any]:
    tally = Tally()
    serial = iter(range(10**9))
    lock = threading.Lock()
    every = max(1, round(1 / browse_share)) if browse_share > 0 else 0

    def work(_index: int) -> None:
        with lock:
            number = next(serial)
        fan = Fan(server.url(""), stripe, number, tally)
        tally.outcome(fan.journey(code, browse_only=bool(every) and number % every == 0))

    elapsed, used = _load(server, database, seconds, fans, work)
    paid = tally.outcomes["paid"]
    cores = _cores(used) / elapsed
    return {
        "seconds": elapsed,
        "fans": fans,
        "outcomes": dict(tally.outcomes),
        "checkouts_per_second": paid / elapsed,
        "cores_used": cores,
        "checkouts_per_core_second": paid / elapsed / cores if cores else 0.0,
        "cpu": {k: v / elapsed for k, v in used.items()},
        "steps": tally.per_step(),
    }


def spike(
    server: Server, stripe: str, code: str, *, fans: int, units: int, threads: int
) -> dict[str, Any]:
    held_before = hot_stock_set(units)
    on_hand_before = held_before + units
    tally = Tally()
    serial = iter(range(fans))
    lock = threading.Lock()
    started = time.monotonic()

    def run(_index: int) -> None:
        while True:
            with lock:
                number = next(serial, None)
            if number is None:
                return
            fan = Fan(server.url(""), stripe, 500_000 + number, tally)
            tally.outcome(fan.journey(code, browse_only=False))

    pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.monotonic() - started
    on_hand, reserved = hot_stock()
    # Units gone: sold (on hand fell; a paid order's webhook sells its hold) or still held.
    taken = (on_hand_before - on_hand) + (reserved - held_before)
    steps = tally.per_step()
    return {
        "fans": fans,
        "units": units,
        "seconds": elapsed,
        "outcomes": dict(tally.outcomes),
        "paid": tally.outcomes["paid"],
        "sold_out": tally.outcomes["sold_out"],
        "units_taken": taken,
        "oversold": max(0, taken - units, reserved - on_hand),
        "5xx": sum(s["5xx"] for s in steps.values()),
        "429": {step: s["429"] for step, s in steps.items()},
        "steps": steps,
        "exact": tally.outcomes["paid"] == units and tally.outcomes["sold_out"] == fans - units,
    }


def statements_per_step(code: str, stripe: str) -> dict[str, int]:
    """SQL statements of each step of one journey, in this process; the checkout's
    PaymentIntent is made on the emulator at `stripe`."""
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext

    client = Client(SERVER_NAME="127.0.0.1", HTTP_USER_AGENT=MOBILE_UA)
    counts = {}
    with CaptureQueriesContext(connection) as tap:
        landing = client.get(f"/r/{code}")["Location"]
    counts["tap"] = len(tap.captured_queries)
    client.get(landing)  # stores the page
    with CaptureQueriesContext(connection) as storefront:
        client.get(landing)
    counts["storefront"] = len(storefront.captured_queries)
    target = urlsplit(landing)
    query = parse_qs(target.query)
    product = f"{target.path}/p/{query['product'][0]}?atk={query['atk'][0]}"
    client.get(product)
    with CaptureQueriesContext(connection) as product_page:
        client.get(product)
    counts["product"] = len(product_page.captured_queries)
    with CaptureQueriesContext(connection) as cart:
        if Fan.two_call_cart:
            made = client.post("/api/v1/carts/", {}, content_type="application/json").json()
            client.put(
                f"/api/v1/carts/{made['id']}/lines/{HOT_SKU}",
                {"quantity": 1, "attribution_token": query["atk"][0]},
                content_type="application/json",
                HTTP_X_CART_TOKEN=made["token"],
            )
        else:
            made = client.post(
                "/api/v1/carts/",
                {"lines": [{"sku": HOT_SKU, "quantity": 1}], "attribution_token": query["atk"][0]},
                content_type="application/json",
            ).json()
    counts["cart"] = len(cart.captured_queries)
    if "id" not in made:
        raise BenchError(f"the counted cart was refused: {made}")
    # The checkout with its line credited to the link, its PaymentIntent made on the emulator.
    with override_settings(STRIPE_API_BASE=stripe), CaptureQueriesContext(connection) as checkout:
        answer = client.post(
            "/api/v1/checkouts/",
            {"cart_id": made["id"], "email": "fan@example.com", "shipping_address": ADDRESS},
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
            HTTP_X_CART_TOKEN=made["token"],
        )
    if answer.status_code != 201:
        raise BenchError(f"the counted checkout answered {answer.status_code}")
    counts["checkout"] = len(checkout.captured_queries)
    return counts


def _server(args: argparse.Namespace, database_url: str, stripe_base: str) -> Server:
    return server_for(
        args,
        NAME,
        env={
            "DATABASE_URL": database_url,
            "STRIPE_API_BASE": stripe_base,
            "BENCH_PRODUCTION_THROTTLES": "1",
            "NUM_PROXIES": "1",
        },
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_journey", description=__doc__)
    add_common_arguments(parser)
    parser.add_argument("--fans", type=int, default=16, help="concurrent fans (threads)")
    parser.add_argument(
        "--browse-share", type=float, default=0.5, help="share of fans who stop at the storefront"
    )
    parser.add_argument("--spike", type=int, default=0, help="fans in the spike (0: none)")
    parser.add_argument("--units", type=int, default=0, help="units of the hot SKU in it")
    parser.add_argument(
        "--slow-stripe",
        action="store_true",
        help=f"also run the journeys behind a {STRIPE_DELAY * 1000:.0f} ms proxy",
    )
    parser.add_argument(
        "--two-call-cart",
        action="store_true",
        help="fans create the cart, then add the line (two requests, as before carts took lines)",
    )
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="the journey phase on the multi-node harness, CPU per node (bench/journey_cluster.py)",
    )
    parser.add_argument(
        "--kill",
        action="store_true",
        help="with --cluster: SIGKILL a web node and a worker and pause the replica mid-run",
    )
    parser.add_argument(
        "--node-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="with --cluster: an environment variable for every node (repeatable)",
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.cluster:
        from bench.journey_cluster import run_cluster

        return run_cluster(args)
    Fan.two_call_cart = args.two_call_cart
    if args.smoke:
        args.spike, args.units = args.spike or 40, args.units or 10
    django_setup()
    database_url = use_database(DATABASE_URL)
    from django.conf import settings

    database = settings.DATABASES["default"]["NAME"]
    fresh = prepare_database(reuse=args.reuse_db)
    seeded = None if fresh else journey_seeded()
    if seeded is None:
        if not fresh:
            prepare_database()
        seeded = seed_journey()
    code = str(seeded["code"])
    cache_clear()
    hot_stock_set(1_000_000)
    seconds, _warmup, _rounds = durations(args)
    # The emulator needs the server's webhook URL and the server the emulator's address:
    # pick the server's port first.
    server_port = free_port()
    emulator, emulator_port = start_emulator(
        f"http://127.0.0.1:{server_port}/api/v1/webhooks/stripe/"
    )
    stripe = f"http://127.0.0.1:{emulator_port}"
    data: dict[str, Any] = {"fans": args.fans}
    proxy = start_delaying_proxy(emulator_port) if args.slow_stripe else None
    try:
        data["statements_per_step"] = statements_per_step(code, stripe)
        runs = [("direct", stripe)]
        if proxy is not None:
            runs.append(("slow", f"http://127.0.0.1:{proxy.server_address[1]}"))
        for label, stripe_base in runs:
            server = _server(args, database_url, stripe_base)
            with _on_port(server, server_port):
                if label == "direct":
                    data["per_step"] = per_step(
                        server, stripe, code, database, seconds=seconds, threads=args.fans
                    )
                hot_stock_set(1_000_000)
                data[f"journey_{label}"] = journeys(
                    server,
                    stripe,
                    code,
                    database,
                    seconds=seconds * 2,
                    fans=args.fans,
                    browse_share=args.browse_share,
                )
                data[f"journey_{label}"]["bare"] = bare_rate(server, database, seconds, args.fans)
                if label == "direct" and args.spike:
                    data["spike"] = spike(
                        server, stripe, code, fans=args.spike, units=args.units, threads=args.fans
                    )
    finally:
        if proxy is not None:
            proxy.shutdown()
        emulator.terminate()
        emulator.wait(timeout=10)
    if "journey_slow" in data:
        data["slow_over_direct"] = (
            data["journey_slow"]["checkouts_per_second"]
            / data["journey_direct"]["checkouts_per_second"]
        )
    _report(data)
    path = write_results(f"{NAME}-smoke" if args.smoke else NAME, data)
    print(f"\nResults: {path}")
    return 0


class _on_port:
    """Start `server` on a port chosen beforehand (the emulator's webhooks point there)."""

    def __init__(self, server: Server, port: int) -> None:
        self.server, self.port = server, port

    def __enter__(self) -> Server:
        import bench.server as server_module

        chosen = server_module.free_port
        server_module.free_port = lambda: self.port
        try:
            return self.server.start()
        finally:
            server_module.free_port = chosen

    def __exit__(self, *exc: object) -> None:
        self.server.stop()


def _report(data: dict[str, Any]) -> None:
    rows = []
    for step, row in data.get("per_step", {}).items():
        rows.append({"step": step, "sql": data["statements_per_step"].get(step), **row})
    if rows:
        print("Per step, each alone beside the bare view (same client, same minute):")
        print_table(
            rows,
            [
                "step",
                "rps",
                "bare_rps",
                "over_bare",
                "cpu_ms_per_request",
                "bare_cpu_ms_per_request",
                "cpu_over_bare",
                "cpu_ms_per_call",
                "web_cpu_ms_per_call",
                "sql",
            ],
        )
    for label in ("journey_direct", "journey_slow"):
        if label not in data:
            continue
        run = data[label]
        print(
            f"\n{label}: {run['checkouts_per_second']:.2f} checkouts/s, "
            f"{run['checkouts_per_core_second']:.2f} per core-second "
            f"({run['cores_used']:.2f} cores), outcomes {run['outcomes']}; "
            f"bare {run['bare']['rps']:.0f} rps"
        )
        print_table(
            [{"step": s, **v} for s, v in run["steps"].items()],
            ["step", "requests", "p50_ms", "p99_ms", "429", "5xx"],
        )
    if "slow_over_direct" in data:
        print(f"\nslow Stripe / direct throughput: {data['slow_over_direct']:.2f}")
    if "spike" in data:
        s = data["spike"]
        print(
            f"\nspike: {s['fans']} fans, {s['units']} units: paid {s['paid']}, sold out "
            f"{s['sold_out']}, units taken {s['units_taken']}, oversold {s['oversold']}, 5xx "
            f"{s['5xx']}, 429 {s['429']}, exact {s['exact']}, outcomes {s['outcomes']}"
        )
        print_table(
            [{"step": st, **v} for st, v in s["steps"].items()],
            ["step", "requests", "p50_ms", "p99_ms", "429", "5xx"],
        )


if __name__ == "__main__":
    sys.exit(main())
