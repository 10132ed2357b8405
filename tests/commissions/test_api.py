"""The creator's earnings API: ledger, balances, payouts, payout account. Others get 404."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests
from django.utils import timezone

from commissions.models import CommissionLine, Payout, PayoutAccount
from commissions.services import recording
from commissions.services.accounts import stripe_account_event_handle
from creators.models import Creator
from orders.models import Order
from tests.commissions.helpers import paid_order, variant_of
from tests.conftest import client_for
from tests.creators.factories import (
    AffiliateLinkFactory,
    CreatorFactory,
    PayoutAccountFactory,
    VideoFactory,
)
from tests.factories import UserFactory
from tests.orders.helpers import stripe_test_client
from tests.outbox_helpers import announce

pytestmark = pytest.mark.django_db

LEDGER = "/api/v1/creators/me/commissions/"
BALANCES = "/api/v1/creators/me/commissions/balances/"
PAYOUTS = "/api/v1/creators/me/payouts/"
ACCOUNT = "/api/v1/creators/me/payout-account/"


def sell(creator: Creator, total: str = "100.00", **kw: Any) -> Order:
    order = paid_order((variant_of(), total), creator=creator, **kw)
    announce("orders.order_paid", {"order_id": order.pk})
    return order


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def creator() -> Creator:
    return CreatorFactory.create()


@pytest.fixture
def api(creator):
    return client_for(creator.user)


# --- the ledger -------------------------------------------------------------------------


def test_each_line_shows_its_money_receipt_and_payable_date(creator, api):
    variant = variant_of()
    video = VideoFactory.create(creator=creator)
    link = AffiliateLinkFactory.create(creator=creator, product=variant.product, video=video)
    paid_at = timezone.now() - timedelta(days=1)
    order = paid_order((variant, "19.99"), creator=creator, link=link, paid_at=paid_at)
    announce("orders.order_paid", {"order_id": order.pk})

    [row] = api.get(LEDGER).json()["results"]

    assert row["kind"] == "commission"
    assert row["status"] == "pending"
    assert row["amount"] == {"amount": "2.00", "currency": "USD"}
    assert row["base"] == {"amount": "19.99", "currency": "USD"}
    assert row["rate"] == "10.00"
    assert row["link"] == {"id": link.pk, "code": link.code, "video_id": video.pk}
    assert row["order_id"] == order.pk
    assert row["payable_at"] == (paid_at + timedelta(days=30)).isoformat().replace("+00:00", "Z")
    assert row["receipt"]["attribution"]["rule"] == "last_click"
    assert row["payout"] is None


def test_a_creator_never_sees_another_creators_lines(creator, api):
    sell(creator)
    other = CreatorFactory.create()
    sell(other)

    assert ids(client_for(other.user).get(LEDGER)) == list(
        CommissionLine.objects.filter(creator=other).values_list("pk", flat=True)
    )
    assert len(ids(api.get(LEDGER))) == 1


def test_someone_who_is_not_a_creator_gets_404_and_a_stranger_401(creator):
    sell(creator)
    stranger = client_for(UserFactory.create())

    for url in (LEDGER, BALANCES, PAYOUTS, ACCOUNT):
        response = stranger.get(url)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_a_creator"
    assert client_for(UserFactory.create()).post(ACCOUNT).status_code == 404
    from rest_framework.test import APIClient

    assert APIClient().get(LEDGER).status_code == 401


def test_filters_by_status_kind_link_video_currency_and_date(creator, api):
    variant = variant_of()
    video = VideoFactory.create(creator=creator)
    link = AffiliateLinkFactory.create(creator=creator, product=variant.product, video=video)
    old = paid_order(
        (variant, "50.00"), creator=creator, link=link, paid_at=timezone.now() - timedelta(days=40)
    )
    new = sell(creator, "30.00", currency="EUR")
    recording.commission_record_for_orders(order_ids=[old.pk])
    old_line = CommissionLine.objects.get(order_id=old.pk)
    CommissionLine.objects.filter(pk=old_line.pk).update(status="approved")
    reversal = recording.commission_reverse_for_refund(
        order_line_id=old_line.order_line_id, refund_id="re_1", refunded_to_date=Decimal("10")
    )
    assert reversal is not None
    new_line = CommissionLine.objects.get(order_id=new.pk)
    today = timezone.now().date().isoformat()

    assert ids(api.get(LEDGER, {"status": "pending"})) == [new_line.pk]
    assert sorted(ids(api.get(LEDGER + "?status=approved&status=pending"))) == sorted(
        [old_line.pk, reversal.pk, new_line.pk]
    )
    assert ids(api.get(LEDGER, {"kind": "reversal"})) == [reversal.pk]
    assert ids(api.get(LEDGER, {"link": link.pk})) == [reversal.pk, old_line.pk]
    assert ids(api.get(LEDGER, {"video": video.pk})) == [reversal.pk, old_line.pk]
    assert ids(api.get(LEDGER, {"currency": "eur"})) == [new_line.pk]
    assert ids(api.get(LEDGER, {"earned_to": (timezone.now() - timedelta(days=2)).date()})) == [
        old_line.pk
    ]
    assert ids(api.get(LEDGER, {"earned_from": today})) == [reversal.pk, new_line.pk]


def test_a_bad_filter_is_400_invalid(api):
    response = api.get(LEDGER, {"status": "owed", "earned_from": "yesterday"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert set(response.json()["error"]["fields"]) == {"status", "earned_from"}


def test_a_blank_date_filter_is_400_not_the_unfiltered_ledger(api):
    response = api.get(LEDGER, {"earned_to": ""})

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"earned_to"}


def test_the_ledger_pages_with_a_cursor_and_a_fixed_number_of_queries(
    creator, api, django_assert_max_num_queries
):
    for _ in range(30):
        variant = variant_of()
        link = AffiliateLinkFactory.create(creator=creator, product=variant.product)
        order = paid_order((variant, "10.00"), creator=creator, link=link)
        recording.commission_record_for_orders(order_ids=[order.pk])

    seen: list[int] = []
    url: str | None = LEDGER + "?page_size=12"
    while url:
        # user, creator, page of lines with link and brand
        with django_assert_max_num_queries(4):
            body = api.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]

    assert seen == sorted(CommissionLine.objects.values_list("pk", flat=True), reverse=True)


# --- balances and payouts ------------------------------------------------------------------


def test_balances_by_status_and_currency_go_negative_after_a_clawback(creator, api):
    sell(creator, "100.00")  # pending 10.00
    paid = sell(creator, "500.00", currency="EUR")  # 50.00, paid out, then refunded
    line = CommissionLine.objects.get(order_id=paid.pk)
    payout = Payout.objects.create(
        creator=creator, currency="EUR", amount=Decimal(50), provider="manual", status="paid"
    )
    CommissionLine.objects.filter(pk=line.pk).update(status="paid", payout=payout)
    recording.commission_reverse_for_refund(
        order_line_id=line.order_line_id, refund_id="re_1", refunded_to_date=Decimal("200.00")
    )

    balances = api.get(BALANCES).json()["balances"]

    assert balances == [
        {
            "currency": "EUR",
            "pending": {"amount": "0.00", "currency": "EUR"},
            "available": {"amount": "-20.00", "currency": "EUR"},
            "under_review": {"amount": "0.00", "currency": "EUR"},
            "in_payouts": {"amount": "0.00", "currency": "EUR"},
            "paid_out": {"amount": "50.00", "currency": "EUR"},
            "payout_minimum": {"amount": "25.00", "currency": "EUR"},
            "payable_now": False,
            "next_payable_at": None,
        },
        {
            "currency": "USD",
            "pending": {"amount": "10.00", "currency": "USD"},
            "available": {"amount": "0.00", "currency": "USD"},
            "under_review": {"amount": "0.00", "currency": "USD"},
            "in_payouts": {"amount": "0.00", "currency": "USD"},
            "paid_out": {"amount": "0.00", "currency": "USD"},
            "payout_minimum": {"amount": "25.00", "currency": "USD"},
            "payable_now": False,
            "next_payable_at": CommissionLine.objects.get(currency="USD")
            .payable_at.isoformat()
            .replace("+00:00", "Z"),
        },
    ]


def test_payouts_list_shows_own_payouts_with_their_line_count_and_failure(creator, api):
    sell(creator)
    line = CommissionLine.objects.get()
    failed = Payout.objects.create(
        creator=creator, currency="USD", amount=Decimal(30), provider="stripe", status="failed",
        failure_code="insufficient_capabilities_for_transfer", failure_message="No transfers.",
    )  # fmt: skip
    paid = Payout.objects.create(
        creator=creator, currency="USD", amount=Decimal(30), provider="stripe", status="paid"
    )
    CommissionLine.objects.filter(pk=line.pk).update(status="paid", payout=paid)
    Payout.objects.create(
        creator=CreatorFactory.create(), currency="USD", amount=Decimal(99), provider="stripe"
    )

    rows = api.get(PAYOUTS).json()["results"]

    assert [(r["id"], r["status"], r["line_count"]) for r in rows] == [
        (paid.pk, "paid", 1),
        (failed.pk, "failed", 0),
    ]
    assert rows[1]["failure_code"] == "insufficient_capabilities_for_transfer"
    assert rows[0]["amount"] == {"amount": "30.00", "currency": "USD"}
    assert ids(api.get(PAYOUTS, {"status": "failed"})) == [failed.pk]


# --- the payout account ----------------------------------------------------------------------


def test_connecting_creates_one_express_account_and_returns_its_onboarding_link(
    creator, api, stripe_emulator
):
    assert api.get(ACCOUNT).json()["error"]["code"] == "payout_account_missing"

    first = api.post(ACCOUNT, HTTP_IDEMPOTENCY_KEY="connect-1")
    again = api.post(ACCOUNT)

    assert (first.status_code, again.status_code) == (201, 200)
    account = PayoutAccount.objects.get(creator=creator)
    assert first.json()["account"]["status"] == "onboarding"
    assert first.json()["onboarding"]["url"].startswith(stripe_emulator)
    assert account.stripe_account_id is not None
    remote = stripe_test_client().v1.accounts.retrieve(account.stripe_account_id).to_dict()
    assert (remote["type"], remote["metadata"]["creator_id"]) == ("express", str(creator.pk))
    assert PayoutAccount.objects.count() == 1


def test_the_account_becomes_ready_from_account_updated_in_any_order(creator, api, stripe_emulator):
    link = api.post(ACCOUNT).json()["onboarding"]["url"]
    account = PayoutAccount.objects.get(creator=creator)
    event = {"data": {"object": {"object": "account", "id": account.stripe_account_id}}}
    stripe_account_event_handle(event)  # an early event: still onboarding
    assert api.get(ACCOUNT).json()["status"] == "onboarding"

    requests.get(link, allow_redirects=False, timeout=10)  # the creator finishes onboarding
    stripe_account_event_handle(event)
    stripe_account_event_handle(event)  # replayed

    body = api.get(ACCOUNT).json()
    assert (body["status"], body["payouts_enabled"], body["currently_due"]) == ("ready", True, [])
    requests.post(
        f"{stripe_emulator}/_config/accounts/{account.stripe_account_id}/restrict",
        data={"disabled_reason": "rejected.fraud"},
        timeout=10,
    )
    stripe_account_event_handle(event)
    body = api.get(ACCOUNT).json()
    assert (body["status"], body["disabled_reason"]) == ("restricted", "rejected.fraud")


def test_a_suspended_creator_cannot_connect_and_nothing_is_written(stripe_emulator):
    creator = CreatorFactory.create(status=Creator.Status.SUSPENDED)

    response = client_for(creator.user).post(ACCOUNT)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "creator_suspended"
    assert not PayoutAccount.objects.exists()


def test_a_creator_paid_by_bank_has_no_account_to_connect(creator, api, stripe_emulator):
    PayoutAccountFactory.create(creator=creator, provider="manual", stripe_account_id=None)

    response = api.post(ACCOUNT)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "payout_account_manual"


def test_stripe_unreachable_is_a_retryable_503_and_nothing_is_written(creator, api, settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0

    response = api.post(ACCOUNT)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "payout_provider_unavailable"
    assert response.json()["error"]["retryable"] is True
    assert not PayoutAccount.objects.exists()
