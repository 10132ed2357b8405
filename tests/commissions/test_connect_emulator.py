"""The emulator's Connect routes, driven through the official SDK as the payout code drives them."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests
import stripe

from tests.orders.helpers import stripe_test_client


def express(client: stripe.StripeClient, key: str | None = None) -> Any:
    return client.v1.accounts.create(
        params={
            "type": "express",
            "email": "creator@example.com",
            "capabilities": {"transfers": {"requested": True}},
            "metadata": {"creator_id": "7"},
        },
        options={"idempotency_key": key or f"acct-{uuid.uuid4()}"},
    )


def transfer(client: stripe.StripeClient, destination: str, key: str, amount: int = 2500) -> Any:
    return client.v1.transfers.create(
        params={
            "amount": amount,
            "currency": "usd",
            "destination": destination,
            "transfer_group": key,
        },
        options={"idempotency_key": key},
    )


@pytest.fixture
def client(stripe_emulator) -> stripe.StripeClient:
    return stripe_test_client()


def test_the_same_idempotency_key_returns_the_same_account(client):
    key = f"acct-{uuid.uuid4()}"

    first = express(client, key)
    again = express(client, key)

    assert again.id == first.id
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert (first.payouts_enabled, first.capabilities["transfers"]) == (False, "inactive")


def test_onboarding_through_the_account_link_enables_transfers(client, stripe_emulator):
    account = express(client)
    link = client.v1.account_links.create(
        params={
            "account": account.id,
            "type": "account_onboarding",
            "refresh_url": "https://tribe.example/refresh",
            "return_url": "https://tribe.example/return?x=1",
        },
        options={"idempotency_key": f"link-{uuid.uuid4()}"},
    )
    assert link.expires_at > link.created

    back = requests.get(link.url, allow_redirects=False, timeout=10)

    assert (back.status_code, back.headers["Location"]) == (302, "https://tribe.example/return?x=1")
    onboarded = client.v1.accounts.retrieve(account.id)
    assert (onboarded.payouts_enabled, onboarded.details_submitted) == (True, True)
    assert onboarded.capabilities["transfers"] == "active"


def test_transfers_are_refused_until_onboarding_and_replayed_by_key(client, stripe_emulator):
    account = express(client)
    key = f"payout-{uuid.uuid4()}"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        transfer(client, account.id, key)
    assert refused.value.code == "insufficient_capabilities_for_transfer"

    requests.post(f"{stripe_emulator}/_config/accounts/{account.id}/onboard", timeout=10)
    first = transfer(client, account.id, key)
    again = transfer(client, account.id, key)

    assert again.id == first.id
    listed = client.v1.transfers.list(params={"transfer_group": key}).data
    assert [t.id for t in listed] == [first.id]
    with pytest.raises(stripe.IdempotencyError):
        transfer(client, account.id, key, amount=999)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"amount": 0, "currency": "usd", "destination": "acct_x"}, None),
        ({"amount": 100, "currency": "usd", "destination": "acct_nope"}, "resource_missing"),
        (
            {"amount": 100, "currency": "usd", "destination": "acct_x", "bogus": 1},
            "parameter_unknown",
        ),
    ],
)
def test_bad_transfers_are_refused_with_a_stripe_shaped_400(client, params, code):
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.transfers.create(params=params, options={"idempotency_key": str(uuid.uuid4())})

    assert refused.value.http_status == 400
    assert refused.value.code == code
