"""Drive a fan's journey and a sell-out spike against a running `make run`, as CI does.

    python -m devtools.smoke_journey --base http://127.0.0.1:8000 --stripe http://127.0.0.1:8420

1. A creator's link is tapped (`/r/{code}`), the storefront it lands on loads, the fan adds
   the product with the link's attribution token, checks out, and the PaymentIntent is
   confirmed on the Stripe emulator. The emulator's webhook must mark the order paid, and
   the Celery worker must record the creator's commission line for it.
2. A SKU is set to 5 available units and 20 distinct fans (each its own client address
   through the trusted proxy header, and its own cart) check out at once: exactly 5 must be
   created, 15 answered 409 `out_of_stock`, none 5xx and none 429.

Exits non-zero, naming the step, when anything differs. Uses the demo seed's users.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
import uuid
from collections import Counter
from typing import Any
from urllib.parse import parse_qs, urlparse

import requests

PASSWORD = "tribe-demo-password"
CREATOR = "leo@creators.example"
BRAND_OWNER = "owner@north-thread.example"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile"
ADDRESS = {
    "name": "Sam Fan",
    "line1": "1 Main St",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}
SPIKE_FANS = 20
SPIKE_UNITS = 5


class JourneyFailed(Exception):
    pass


def check(condition: bool, step: str, detail: Any = "") -> None:
    if not condition:
        raise JourneyFailed(f"{step}: {detail}")


class Api:
    def __init__(self, base: str, client_ip: str = "203.0.113.1") -> None:
        self.base = base.rstrip("/")
        self.session = requests.Session()
        self.session.headers.update({"User-Agent": PHONE, "X-Forwarded-For": client_ip})

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        return self.session.request(method, self.base + path, **kwargs)

    def login(self, email: str) -> None:
        response = self.call(
            "POST", "/api/v1/auth/token/", json={"email": email, "password": PASSWORD}
        )
        check(response.status_code == 200, f"sign in as {email}", response.text)
        self.session.headers["Authorization"] = f"Bearer {response.json()['access']}"


def wait_for(step: str, probe: Any, timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.5)
    raise JourneyFailed(f"{step}: not within {timeout:.0f}s (last: {last!r})")


def cart_with(api: Api, sku: str, attribution_token: str | None = None) -> dict[str, Any]:
    cart = api.call("POST", "/api/v1/carts/")
    check(cart.status_code == 201, "create a cart", cart.text)
    body = cart.json()
    api.session.headers["X-Cart-Token"] = body["token"]
    line: dict[str, Any] = {"quantity": 1}
    if attribution_token:
        line["attribution_token"] = attribution_token
    put = api.call("PUT", f"/api/v1/carts/{body['id']}/lines/{sku}", json=line)
    check(put.status_code in (200, 201), f"add {sku} to the cart", put.text)
    return body


def checkout(api: Api, cart_id: int, email: str) -> requests.Response:
    return api.call(
        "POST",
        "/api/v1/checkouts/",
        json={"cart_id": cart_id, "email": email, "shipping_address": ADDRESS},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )


def journey(base: str, stripe: str) -> str:
    """The fan's journey; returns the paid order's token."""
    creator = Api(base)
    creator.login(CREATOR)
    links = creator.call("GET", "/api/v1/creators/me/links/")
    check(links.status_code == 200, "list the creator's links", links.text)
    code = links.json()["results"][0]["code"]

    fan = Api(base, client_ip="198.51.100.7")
    tap = fan.call("GET", f"/r/{code}", allow_redirects=False)
    check(tap.status_code == 302, f"tap /r/{code}", tap.status_code)
    target = urlparse(tap.headers["Location"])
    query = parse_qs(target.query)
    check("atk" in query and "product" in query, "the redirect carries product and token", target)
    token, product_id = query["atk"][0], query["product"][0]
    page = fan.call("GET", target.path + "?" + target.query)
    check(page.status_code == 200, "load the storefront", page.status_code)

    product = fan.call("GET", f"/api/v1/products/{product_id}/").json()
    variant = next((v for v in product["variants"] if v["available"] > 0), None)
    check(variant is not None, "an available variant of the linked product", product)
    assert variant is not None
    cart = cart_with(fan, variant["sku"], token)
    started = checkout(fan, cart["id"], "sam.fan@example.com")
    check(started.status_code == 201, "check out", started.text)
    order = started.json()
    check(bool(order["client_secret"]), "the checkout hands over a client secret", order)

    confirm = requests.post(
        f"{stripe}/v1/payment_intents/{order['payment_intent_id']}/confirm",
        data={"payment_method": "pm_card_visa"},
        headers={"Authorization": "Bearer sk_test_local_emulator"},
        timeout=30,
    )
    check(confirm.status_code == 200, "confirm the PaymentIntent on the emulator", confirm.text)

    def paid() -> bool:
        state = fan.call("GET", f"/api/v1/checkouts/{order['order_token']}/").json()
        return state["status"] == "paid"

    wait_for("the webhook marks the order paid", paid)

    def commission() -> list[dict[str, Any]]:
        lines = creator.call("GET", "/api/v1/creators/me/commissions/").json()["results"]
        return [line for line in lines if line["order_id"] == order["order_id"]]

    recorded = wait_for("the worker records the commission", commission)
    check(len(recorded) == 1, "one commission line for the one order line", recorded)
    print(
        f"journey: /r/{code} -> storefront -> cart -> checkout -> paid -> commission "
        f"{recorded[0]['amount']['amount']} {recorded[0]['amount']['currency']} recorded",
        flush=True,
    )
    return str(order["order_token"])


def spike(base: str) -> None:
    owner = Api(base)
    owner.login(BRAND_OWNER)
    products = owner.call("GET", "/api/v1/brand/products/").json()["results"]
    variants = [v for p in products for v in p["variants"]]
    variant = next(v for v in variants if v["sku"] == "NT-TOTE")
    stock = owner.call(
        "POST",
        f"/api/v1/brand/variants/{variant['id']}/stock/",
        json={"on_hand": variant["reserved"] + SPIKE_UNITS},
    )
    check(stock.status_code in (200, 201), "set 5 units available", stock.text)

    fans = [Api(base, client_ip=f"198.18.{n // 250}.{n % 250 + 1}") for n in range(SPIKE_FANS)]
    carts = [cart_with(fan, "NT-TOTE")["id"] for fan in fans]
    barrier = threading.Barrier(SPIKE_FANS)
    answers: list[requests.Response | None] = [None] * SPIKE_FANS

    def buy(index: int) -> None:
        barrier.wait()
        answers[index] = checkout(fans[index], carts[index], f"fan{index}@example.com")

    threads = [threading.Thread(target=buy, args=(n,)) for n in range(SPIKE_FANS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    responses = [a for a in answers if a is not None]
    check(len(responses) == SPIKE_FANS, "every fan got an answer", len(responses))
    statuses = Counter(r.status_code for r in responses)
    codes = Counter(
        r.json()["error"]["code"] for r in responses if r.status_code == 409
    )  # fmt: skip
    print(f"spike: {SPIKE_FANS} fans, {SPIKE_UNITS} units: statuses {dict(statuses)}", flush=True)
    check(not any(s >= 500 for s in statuses), "no 5xx in the spike", statuses)
    check(statuses[429] == 0, "no fan throttled in the spike", statuses)
    check(statuses[201] == SPIKE_UNITS, "exactly 5 checkouts hold the 5 units", statuses)
    check(
        statuses[409] == SPIKE_FANS - SPIKE_UNITS and codes == {"out_of_stock": 15},
        "the other 15 are told out_of_stock",
        codes,
    )
    after = owner.call("GET", f"/api/v1/brand/variants/{variant['id']}/").json()
    check(after["available"] == 0, "nothing left and nothing oversold", after)
    check(after["reserved"] == variant["reserved"] + SPIKE_UNITS, "5 units held", after)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.smoke_journey")
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--stripe", default="http://127.0.0.1:8420")
    parser.add_argument("--order-file", help="write the paid order's token here")
    parser.add_argument(
        "--expect-paid", metavar="TOKEN", help="only check that this order is still paid"
    )
    args = parser.parse_args(argv)
    try:
        if args.expect_paid:
            state = Api(args.base).call("GET", f"/api/v1/checkouts/{args.expect_paid}/")
            check(state.status_code == 200, "find the order again", state.text)
            check(state.json()["status"] == "paid", "the order is still paid", state.json())
            print("journey: the order is still there and paid", flush=True)
            return 0
        token = journey(args.base, args.stripe)
        if args.order_file:
            with open(args.order_file, "w") as out:
                out.write(token)
        spike(args.base)
    except JourneyFailed as exc:
        print(f"journey FAILED at {exc}", file=sys.stderr)
        return 1
    print("journey: OK", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
