"""Several nodes, some killed mid-run: nothing oversold, lost or doubled.

`devtools.cluster` starts a primary and a streaming replica, Redis with a Sentinel (the
broker), two web nodes behind a round-robin balancer, two workers, two beats and the Stripe
emulator. Fans who followed a creator's link buy one SKU with fewer units than fans; while
they check out, one web node is SIGKILLed under their requests and the replica's replay is
paused; while their payments are confirmed, one worker is SIGKILLed. A fan whose connection
died with its node retries with the same Idempotency-Key, as the mobile apps do.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from devtools.cluster import Cluster
from devtools.smoke_journey import ADDRESS, BRAND_OWNER, CREATOR, Api, cart_with, check
from devtools.stack.servers import free_port

FANS = 16
UNITS = 6
STRIPE_KEY = "sk_test_local_emulator"
retried: Counter[str] = Counter()  # requests sent again after their connection died


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    # The sweep (every minute on beat) re-sends deliveries pending this long: what a killed
    # worker had taken comes back within a minute instead of production's two.
    node_set = Cluster(
        tmp_path_factory.mktemp("cluster"),
        free_port(),
        extra_env={"OUTBOX_SWEEP_AFTER_SECONDS": "5"},
    )
    node_set.start()
    yield node_set
    node_set.stop()


# A node killed under a request drops its connection before the answer or in the middle of
# its body: both are the same dropped connection to a client.
DROPPED = (requests.ConnectionError, requests.exceptions.ChunkedEncodingError)


def checkout_retrying(fan: Api, cart_id: int, email: str) -> requests.Response:
    """One checkout, retried on a dropped connection with the same key until answered."""
    key = str(uuid.uuid4())
    deadline = time.monotonic() + 60
    while True:
        try:
            return fan.call(
                "POST",
                "/api/v1/checkouts/",
                json={"cart_id": cart_id, "email": email, "shipping_address": ADDRESS},
                headers={"Idempotency-Key": key},
            )
        except DROPPED:
            retried["checkout"] += 1
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def confirm(stripe_port: int, intent: str) -> int:
    deadline = time.monotonic() + 60
    while True:
        try:
            return requests.post(
                f"http://127.0.0.1:{stripe_port}/v1/payment_intents/{intent}/confirm",
                data={"payment_method": "pm_card_visa"},
                headers={"Authorization": f"Bearer {STRIPE_KEY}"},
                timeout=30,
            ).status_code
        except DROPPED:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def settle(probe, timeout: float = 180.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(1)
    raise AssertionError(f"not settled in {timeout:.0f}s; last: {last!r}")


def test_a_sell_out_survives_a_killed_web_node_and_worker_and_a_paused_replica(cluster):
    base = f"http://127.0.0.1:{cluster.port}"
    creator = Api(base)
    creator.login(CREATOR)
    code = creator.call("GET", "/api/v1/creators/me/links/").json()["results"][0]["code"]
    tap = Api(base).call("GET", f"/r/{code}", allow_redirects=False)
    product_id = parse_qs(urlparse(tap.headers["Location"]).query)["product"][0]

    owner = Api(base)
    owner.login(BRAND_OWNER)
    product = owner.call("GET", f"/api/v1/brand/products/{product_id}/").json()
    variant = product["variants"][0]
    stock = owner.call(
        "POST",
        f"/api/v1/brand/variants/{variant['id']}/stock/",
        json={"on_hand": variant["reserved"] + UNITS},
    )
    check(stock.status_code in (200, 201), "set the units", stock.text)

    fans = [Api(base, client_ip=f"198.18.7.{n + 1}") for n in range(FANS)]
    carts = []
    for fan in fans:
        token = parse_qs(
            urlparse(fan.call("GET", f"/r/{code}", allow_redirects=False).headers["Location"]).query
        )["atk"][0]
        carts.append(cart_with(fan, variant["sku"], token)["id"])

    answers: list[requests.Response | None] = [None] * FANS
    answered = threading.Semaphore(0)

    def buy(index: int) -> None:
        answers[index] = checkout_retrying(fans[index], carts[index], f"fan{index}@example.com")
        answered.release()

    threads = [threading.Thread(target=buy, args=(n,)) for n in range(FANS)]
    for thread in threads:
        thread.start()
    for _ in range(FANS // 4):
        assert answered.acquire(timeout=120)
    # A quarter of the fans answered, the rest in flight: a web node dies under them.
    cluster.kill("web1")
    cluster.psql("SELECT pg_wal_replay_pause()", replica=True)
    for thread in threads:
        thread.join(timeout=180)

    responses = [answer for answer in answers if answer is not None]
    statuses = Counter(response.status_code for response in responses)
    assert len(responses) == FANS
    assert statuses == {201: UNITS, 409: FANS - UNITS}, statuses
    orders = [response.json() for response in responses if response.status_code == 201]
    for number, order in enumerate(orders):
        if number == UNITS // 2:
            cluster.kill("worker1")  # with half the payments' work sent its way
        assert confirm(cluster.ports["stripe"], order["payment_intent_id"]) == 200

    order_ids = [order["order_id"] for order in orders]
    settle(lambda: cluster.money_counts(order_ids)["paid_orders"] == UNITS)
    cluster.psql("SELECT pg_wal_replay_resume()", replica=True)
    # Every paid order's event recorded once and every delivery of it done, by whichever
    # worker was alive (the outbox sweep re-sends what died with worker1).
    settle(lambda: cluster.money_counts(order_ids)["deliveries_pending"] == 0)
    counts = cluster.money_counts(order_ids)
    assert counts["paid_events"] == counts["paid_events_orders"] == UNITS, counts
    assert counts["paid_lines"] == UNITS, counts
    assert counts["commission_lines"] == counts["commission_lines_distinct"] == UNITS, counts
    after = owner.call("GET", f"/api/v1/brand/variants/{variant['id']}/").json()
    assert after["available"] == 0
    sold = cluster.psql(
        "SELECT coalesce(sum(quantity), 0) FROM orders_orderline "
        f"WHERE variant_id = {variant['id']} "
        f"AND order_id IN ({','.join(str(order_id) for order_id in order_ids)})"
    )
    assert int(sold) == UNITS
    print(f"cluster: {FANS} fans, {UNITS} units, {dict(statuses)}, retried {dict(retried)}")
