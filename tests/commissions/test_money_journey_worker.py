"""The money journey from the first tap to the last cent, on PostgreSQL, a real Celery worker
on the real broker, the Stripe emulator and the live server its webhooks reach over HTTP.

A fan taps a creator's link in an app, browses the creator's storefront and buys from two
brands; the payment needs 3-D Secure. Brand A refunds part of its line through the brand
API, then a refund is made in Stripe's dashboard (spread over every line and shipping).
The creator is paid, and each brand's period is settled and paid.

The shopper, brand and creator steps go over HTTP to the live server; the emulator delivers
its webhooks there; the outbox events (paid, refunded) reach the ledger through the broker
and the worker. The beat jobs: approval and creator payouts are sent as their tasks
(`creators.tasks.commissions_approve_due`, `creators.tasks.payouts_create_due`) and waited
for on the worker; the settlement job takes no clock, and its period ends days from now, so
the service `settlements_close_due(now=...)` is called with a clock past the period's end,
and the settlement payouts it creates are sent by the worker.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests
from django.utils import timezone

from accounts.models import User
from commissions.models import (
    BrandPayoutAccount,
    CommissionLine,
    CommissionTerms,
    Payout,
    PayoutAccount,
    Settlement,
    SettlementPayout,
)
from commissions.services.accounts import brand_payout_account_connect
from commissions.services.settlement_periods import (
    grace,
    period_containing,
    settlements_close_due,
)
from commissions.tasks import commissions_approve_due, payouts_create_due
from common.outbox.models import OutboxDelivery
from orders.models import Order, Refund
from shop.models import Brand
from tests.creators.test_storefront_page import make_creator, make_link, make_product, make_video
from tests.orders import conftest as e2e
from tests.orders.conftest import LiveStripe, wait_until
from tests.orders.helpers import ADDRESS, pay, stripe_test_client
from tests.shop.factories import BrandFactory, BrandMemberFactory
from tests.staff_sign_in import api_sign_in

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.usefixtures("real_worker"),
]

# The live server with the emulator's webhooks pointed at it (the orders end-to-end fixtures).
live_stripe = e2e.live_stripe
webhook_log = e2e.webhook_log

THREE_D_SECURE = "4000002500003155"
TIMEOUT = 90.0  # a 2-core CI machine runs the server, the worker and the emulator at once
JOURNEY_ROOM = timedelta(hours=1)  # far longer than the journey takes
Status = CommissionLine.Status


def usd(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD"}


class Http:
    """One caller of the live server's API: a shopper's app, a brand's integration, a creator."""

    def __init__(
        self, site: str, user: User | None = None, headers: dict[str, str] | None = None
    ) -> None:
        self.site = site
        self.session = requests.Session()
        self.session.headers.update(headers or {})
        if user is not None:
            self.session.headers["Authorization"] = f"Bearer {api_sign_in(site, user)}"

    def call(self, method: str, path: str, expect: int = 200, **kw: Any) -> Any:
        response = self.session.request(method, self.site + path, timeout=30, **kw)
        assert response.status_code == expect, (path, response.status_code, response.text)
        return response.json()


def settlement_period_days(now: datetime) -> int:
    """Weekly, unless this week ends before the journey would: then a period that does not
    (every charge and refund of the journey falls in one period)."""
    return next(d for d in range(7, 14) if period_containing(now, d)[1] - now > JOURNEY_ROOM)


def brand(name: str, *, rate: str, shipping: str, period_days: int) -> tuple[Brand, User]:
    """A brand with no hold (its sales are payable at once), and its owner."""
    made = BrandFactory.create(
        name=name, default_commission_rate=Decimal(rate), shipping_flat_rate=Decimal(shipping)
    )
    CommissionTerms.objects.create(brand=made, hold_days=0, settlement_period_days=period_days)
    return made, BrandMemberFactory.create(brand=made).user


def brand_connected(made: Brand) -> BrandPayoutAccount:
    """The brand's Connect account on the emulator, onboarded; account.updated syncs it."""
    account, link = brand_payout_account_connect(brand=made)
    assert requests.get(link.url, allow_redirects=False, timeout=10).status_code == 302
    return wait_until(
        lambda: BrandPayoutAccount.objects.filter(pk=account.pk, status="ready").first(),
        what=f"{made.name}'s payout account to be ready",
        timeout=TIMEOUT,
    )


def balance(creator_api: Http) -> dict[str, Any]:
    (usd_balance,) = creator_api.call("GET", "/api/v1/creators/me/commissions/balances/")[
        "balances"
    ]
    return {k: usd_balance[k] for k in ("pending", "available", "in_payouts", "paid_out")}


def ledger(order: Order) -> list[tuple[str, str, str, Decimal]]:
    """(product, kind, status, amount) of the order's commission lines, in the order written."""
    titles = dict(order.lines.values_list("pk", "product__title"))
    lines = CommissionLine.objects.filter(order_id=order.pk).order_by("pk")
    return [(titles[c.order_line_id], c.kind, c.status, c.amount) for c in lines]


def ledger_settles(order: Order, count: int) -> list[tuple[str, str, str, Decimal]]:
    """The ledger once the worker has written `count` lines of the order."""
    wait_until(
        lambda: CommissionLine.objects.filter(order_id=order.pk).count() >= count,
        what=f"{count} commission lines of order {order.pk}",
        timeout=TIMEOUT,
    )
    return ledger(order)


def transfers_to(account_id: str) -> list[int]:
    listed = stripe_test_client().v1.transfers.list(
        params={"destination": account_id, "limit": 100}
    )
    return sorted(t.amount for t in listed.data)


def sku_of(shopper: Http, product: dict[str, Any]) -> str:
    (variant,) = shopper.call("GET", f"/api/v1/products/{product['id']}/")["variants"]
    return variant["sku"]


def test_a_tap_to_settlement_journey_pays_every_party_to_the_cent(live_stripe: LiveStripe):
    # Given: a creator whose video tags a serum of brand A (her link: 10% locked) and a lip
    # oil of brand B (open to creators at 20%); A ships for 5.00, B for 4.00.
    period_days = settlement_period_days(timezone.now())
    brand_a, owner_a = brand("Glow Labs", rate="10.00", shipping="5.00", period_days=period_days)
    brand_b, _ = brand("Bloom Botanics", rate="20.00", shipping="4.00", period_days=period_days)
    serum = make_product("Vitamin C serum", brand=brand_a, price="32.00")
    lip_oil = make_product("Rose lip oil", brand=brand_b, price="26.50")
    creator = make_creator("maya.glows")
    make_video(creator, products=[(serum, 4), (lip_oil, 12)])
    link = make_link(creator, serum)
    accounts = {b.pk: brand_connected(b) for b in (brand_a, brand_b)}
    site = live_stripe.site
    creator_api = Http(site, creator.user)
    brand_api = Http(site, owner_a)
    shopper = Http(
        site, headers={"User-Agent": "okhttp/4.12.0", "X-Tribe-App": "tribe-android/3.4"}
    )

    # The creator connects her payout account from the app, onboarding on the emulator.
    connect = creator_api.call("POST", "/api/v1/creators/me/payout-account/", expect=201, json={})
    assert requests.get(connect["onboarding"]["url"], allow_redirects=False, timeout=10).ok
    payout_account = wait_until(
        lambda: PayoutAccount.objects.filter(creator=creator, status="ready").first(),
        what="the creator's payout account to be ready",
        timeout=TIMEOUT,
    )

    # When: the fan taps the link in the app and browses the storefront it opens.
    click = shopper.call(
        "POST", f"/api/v1/links/{link.code}/clicks/", json={"device_id": "android-journey-1"}
    )
    assert click["attribution_token"]
    assert click["storefront_token"]
    storefront = shopper.call(
        "GET", "/api/v1/storefronts/maya.glows/", params={"atk": click["attribution_token"]}
    )
    assert storefront["storefront_token"] == click["storefront_token"]
    tagged = {t["product"]["title"]: t["product"] for t in storefront["videos"][0]["products"]}
    assert set(tagged) == {"Vitamin C serum", "Rose lip oil"}

    # ... fills one cart from both brands, carrying every token the app holds ...
    cart = shopper.call("POST", "/api/v1/carts/", expect=201)
    shopper.session.headers["X-Cart-Token"] = cart["token"]
    tokens = [click["attribution_token"], storefront["storefront_token"]]
    for title, quantity in (("Vitamin C serum", 3), ("Rose lip oil", 4)):
        sku = sku_of(shopper, tagged[title])
        shopper.call(
            "PUT",
            f"/api/v1/carts/{cart['id']}/lines/{sku}",
            json={"quantity": quantity, "attribution_tokens": tokens},
        )

    # ... checks out: 3 x 32.00 + 4 x 26.50 + shipping 5.00 + 4.00 = 211.00 ...
    checkout = shopper.call(
        "POST",
        "/api/v1/checkouts/",
        expect=201,
        json={"cart_id": cart["id"], "email": "fan@example.com", "shipping_address": ADDRESS},
        headers={"Idempotency-Key": "money-journey-1"},
    )
    order = Order.objects.get(pk=checkout["order_id"])
    assert (order.items_total, order.shipping_total, order.grand_total) == (
        Decimal("202.00"),
        Decimal("9.00"),
        Decimal("211.00"),
    )
    intent = stripe_test_client().v1.payment_intents.retrieve(checkout["payment_intent_id"])
    assert (intent.amount, intent.currency) == (21100, "usd")

    # ... and pays with a card that asks for 3-D Secure: nothing is paid until she passes it.
    assert pay(checkout["payment_intent_id"], THREE_D_SECURE).status == "requires_action"
    live_stripe.wait_delivered()
    assert Order.objects.get(pk=order.pk).status == Order.Status.PENDING_PAYMENT
    passed = live_stripe.authenticate(checkout["payment_intent_id"], checkout["client_secret"])
    assert passed["status"] == "succeeded"

    # Then: the webhook marks the order paid and the worker records each line's commission,
    # pending: A 10% of 96.00 = 9.60 (the link), B 20% of 106.00 = 21.20 (the storefront).
    wait_until(
        lambda: Order.objects.filter(pk=order.pk, status=Order.Status.PAID).exists(),
        what="the order to be paid",
        timeout=TIMEOUT,
    )
    rules = {line.product.title: line.attribution["rule"] for line in order.lines.all()}
    assert rules == {"Vitamin C serum": "last_click", "Rose lip oil": "storefront"}
    assert ledger_settles(order, 2) == [
        ("Vitamin C serum", "commission", Status.PENDING, Decimal("9.60")),
        ("Rose lip oil", "commission", Status.PENDING, Decimal("21.20")),
    ]
    assert balance(creator_api) == {
        "pending": usd("30.80"),
        "available": usd("0.00"),
        "in_payouts": usd("0.00"),
        "paid_out": usd("0.00"),
    }

    # When: the approval job runs (no hold): both commissions are approved.
    assert commissions_approve_due.delay().get(timeout=TIMEOUT)["approved"] == 2
    assert [s for _, _, s, _ in ledger(order)] == [Status.APPROVED, Status.APPROVED]
    assert balance(creator_api)["available"] == usd("30.80")

    # When: brand A refunds one serum through its API (32.00 of line A, no shipping).
    line_a = order.lines.get(brand=brand_a)
    brand_api.call(
        "POST",
        f"/api/v1/brand/orders/{order.pk}/refunds/",
        expect=201,
        json={"lines": [{"line_id": line_a.pk, "quantity": 1}], "reason": "requested_by_customer"},
    )
    # Then: the worker claws back 10% of 32.00, payable at once.
    assert ledger_settles(order, 3)[2:] == [
        ("Vitamin C serum", "reversal", Status.APPROVED, Decimal("-3.20")),
    ]
    live_stripe.wait_delivered()  # its own refund events change nothing more

    # When: 10.00 is refunded in Stripe's dashboard. Spread by what is left on each part
    # (A 64.00, B 106.00, shipping A 5.00, B 4.00 of 179.00; the largest remainders take the
    # two odd cents): A 3.58, B 5.92, shipping A 0.28, shipping B 0.22.
    stripe_test_client().v1.refunds.create(
        params={"payment_intent": checkout["payment_intent_id"], "amount": 1000}
    )
    # Then: `charge.refunded` records the refund and the worker claws back each line's share:
    # A round(9.60 x 35.58 / 96.00) = 3.56 reversed in all, 0.36 more; B round(21.20 x 5.92 /
    # 106.00) = 1.18.
    assert ledger_settles(order, 5)[3:] == [
        ("Vitamin C serum", "reversal", Status.APPROVED, Decimal("-0.36")),
        ("Rose lip oil", "reversal", Status.APPROVED, Decimal("-1.18")),
    ]
    dashboard = Refund.objects.get(order=order, source=Refund.Source.DASHBOARD)
    shares = {(r.order_line_id is None, r.brand_id): r.amount for r in dashboard.lines.all()}
    assert shares == {
        (False, brand_a.pk): Decimal("3.58"),
        (False, brand_b.pk): Decimal("5.92"),
        (True, brand_a.pk): Decimal("0.28"),
        (True, brand_b.pk): Decimal("0.22"),
    }
    order.refresh_from_db()
    assert order.refunded_total == Decimal("42.00")
    # Each line carries rate x (paid - refunded): A 10% x (96.00 - 35.58) = 6.04,
    # B 20% x (106.00 - 5.92) = 20.02; the creator may withdraw 26.06.
    by_line = {
        title: sum((a for t, _, _, a in ledger(order) if t == title), Decimal(0))
        for title in ("Vitamin C serum", "Rose lip oil")
    }
    assert by_line == {"Vitamin C serum": Decimal("6.04"), "Rose lip oil": Decimal("20.02")}
    assert balance(creator_api)["available"] == usd("26.06")

    # When: the payout job runs; the worker sends the payout to her Connect account.
    (payout_id,) = payouts_create_due.delay().get(timeout=TIMEOUT)
    payout = wait_until(
        lambda: Payout.objects.filter(pk=payout_id, status=Payout.Status.PAID).first(),
        what="the creator's payout to be paid",
        timeout=TIMEOUT,
    )
    # Then: one payout of 26.06, every line of the ledger in it, and nothing left to pay.
    assert (payout.amount, payout.currency) == (Decimal("26.06"), "USD")
    assert {s for _, _, s, _ in ledger(order)} == {Status.PAID}
    assert transfers_to(payout_account.stripe_account_id or "") == [2606]
    assert balance(creator_api) == {
        "pending": usd("0.00"),
        "available": usd("0.00"),
        "in_payouts": usd("0.00"),
        "paid_out": usd("26.06"),
    }

    # When: the settlement job runs after the period ends (and its grace).
    assert order.paid_at is not None
    start, end = period_containing(order.paid_at, period_days)
    closed = settlements_close_due(now=end + grace() + timedelta(minutes=1))

    # Then: each brand's period is settled: gross (lines and shipping) - refunds - commission
    # - the 5% platform fee on gross less refunds.
    # A: 101.00 - 35.86 (32.00 + 3.58 + 0.28) - 6.04 - 3.26 (5% of 65.14) = 55.84
    # B: 110.00 - 6.14 (5.92 + 0.22) - 20.02 - 5.19 (5% of 103.86) = 78.65
    settled = {
        s.brand_id: (s.gross, s.refunds, s.commissions, s.platform_fee, s.amount_due)
        for s in Settlement.objects.filter(period_start=start, period_end=end, currency="USD")
    }
    assert settled == {
        brand_a.pk: (
            Decimal("101.00"),
            Decimal("35.86"),
            Decimal("6.04"),
            Decimal("3.26"),
            Decimal("55.84"),
        ),
        brand_b.pk: (
            Decimal("110.00"),
            Decimal("6.14"),
            Decimal("20.02"),
            Decimal("5.19"),
            Decimal("78.65"),
        ),
    }
    assert sorted(closed.settlements) == sorted(Settlement.objects.values_list("pk", flat=True))
    # Every cent the fan paid and kept is accounted for: brands, creator and platform.
    statements = Settlement.objects.all()
    assert order.grand_total - order.refunded_total == payout.amount + sum(
        (s.amount_due + s.platform_fee for s in statements), Decimal(0)
    )

    # And each brand is paid its amount due by the worker, to its Connect account.
    wait_until(
        lambda: SettlementPayout.objects.filter(status=SettlementPayout.Status.PAID).count() == 2,
        what="both settlement payouts to be paid",
        timeout=TIMEOUT,
    )
    paid = dict(SettlementPayout.objects.values_list("settlement__brand_id", "amount"))
    assert paid == {brand_a.pk: Decimal("55.84"), brand_b.pk: Decimal("78.65")}
    assert sorted(closed.payouts) == sorted(SettlementPayout.objects.values_list("pk", flat=True))
    assert transfers_to(accounts[brand_a.pk].stripe_account_id or "") == [5584]
    assert transfers_to(accounts[brand_b.pk].stripe_account_id or "") == [7865]

    # Nothing is left undelivered for the worker (emails, webhooks, ledger).
    wait_until(
        lambda: not OutboxDelivery.objects.filter(done_at__isnull=True).exists(),
        what="every outbox delivery to be done",
        timeout=TIMEOUT,
    )
    assert not OutboxDelivery.objects.exclude(status="done").exists()
