"""The emulator's disputes: the card that is disputed, evidence and files, closing won or lost."""

from __future__ import annotations

import io
import json
import urllib.parse
import urllib.request
from typing import Any

import pytest
import stripe

from tests.devtools.conftest import Emulator
from tests.devtools.test_stripe_emulator import new_intent

SK = "sk_test_emulator"


def control(emulator: Emulator, path: str, params: dict[str, Any] | None = None) -> dict:
    body = urllib.parse.urlencode(params or {}).encode()
    request = urllib.request.Request(
        f"{emulator.api_base}{path}",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {SK}"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def disputed_charge(emulator: Emulator, client: stripe.StripeClient) -> tuple[Any, dict]:
    """A payment with the dispute test card, and its dispute from charge.dispute.created."""
    intent = new_intent(client, amount=2500, currency="usd")
    intent = client.v1.payment_intents.confirm(
        intent.id, params={"payment_method": "pm_card_createDispute"}
    )
    assert intent.status == "succeeded"
    created = emulator.webhooks.wait_for(
        lambda e: (
            e["type"] == "charge.dispute.created"
            and e["data"]["object"]["charge"] == intent.latest_charge
        )
    )
    return intent, created.event["data"]["object"]


def test_the_dispute_card_succeeds_then_is_disputed_with_the_fee_withdrawn(
    stripe_emulator, stripe_client
):
    intent, dispute = disputed_charge(stripe_emulator, stripe_client)

    assert (dispute["amount"], dispute["currency"], dispute["status"]) == (
        2500,
        "usd",
        "needs_response",
    )
    assert dispute["payment_intent"] == intent.id
    assert dispute["evidence_details"]["due_by"] > dispute["created"]
    (withdrawal,) = dispute["balance_transactions"]
    assert (withdrawal["amount"], withdrawal["fee"], withdrawal["net"]) == (-2500, 1500, -4000)
    stripe_emulator.webhooks.wait_for_event("charge.dispute.funds_withdrawn", dispute["id"])
    charge = stripe_client.v1.charges.retrieve(intent.latest_charge)
    assert charge.disputed is True


def test_a_disputed_charge_cannot_be_refunded(stripe_emulator, stripe_client):
    intent, _ = disputed_charge(stripe_emulator, stripe_client)

    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 100})

    assert caught.value.code == "charge_disputed"


def test_evidence_with_an_uploaded_file_is_submitted_and_under_review(
    stripe_emulator, stripe_client
):
    _, dispute = disputed_charge(stripe_emulator, stripe_client)
    upload = stripe_client.v1.files.create(
        params={
            "purpose": "dispute_evidence",
            "file": io.BytesIO(b"%PDF-1.4 proof of delivery"),
        }
    )
    assert (upload.purpose, upload.size) == ("dispute_evidence", 26)

    updated = stripe_client.v1.disputes.update(
        dispute["id"],
        params={
            "evidence": {
                "uncategorized_text": "Delivered and signed for.",
                "shipping_documentation": upload.id,
            },
            "submit": True,
        },
    )

    assert updated.status == "under_review"
    assert updated.evidence.shipping_documentation == upload.id
    assert updated.evidence_details.submission_count == 1
    stripe_emulator.webhooks.wait_for(
        lambda e: (
            e["type"] == "charge.dispute.updated"
            and e["data"]["object"]["id"] == dispute["id"]
            and e["data"]["object"]["status"] == "under_review"
        )
    )
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.disputes.update(
            dispute["id"], params={"evidence": {"receipt": "file_missing"}}
        )


def test_a_won_dispute_reinstates_the_amount_and_the_fee_when_configured(
    stripe_emulator, stripe_client
):
    _, dispute = disputed_charge(stripe_emulator, stripe_client)

    closed = control(
        stripe_emulator, f"/_config/disputes/{dispute['id']}/close",
        {"outcome": "won", "fee_reinstated": "true"},
    )  # fmt: skip

    assert closed["status"] == "won"
    reinstated = closed["balance_transactions"][1]
    assert (reinstated["amount"], reinstated["fee"], reinstated["net"]) == (2500, -1500, 4000)
    stripe_emulator.webhooks.wait_for_event("charge.dispute.funds_reinstated", dispute["id"])
    stripe_emulator.webhooks.wait_for_event("charge.dispute.closed", dispute["id"])


def test_a_lost_dispute_closes_once_and_keeps_the_fee(stripe_emulator, stripe_client):
    _, dispute = disputed_charge(stripe_emulator, stripe_client)

    closed = control(
        stripe_emulator, f"/_config/disputes/{dispute['id']}/close", {"outcome": "lost"}
    )

    assert closed["status"] == "lost"
    assert len(closed["balance_transactions"]) == 1
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.disputes.update(dispute["id"], params={"submit": True})
    assert caught.value.code == "dispute_closed"


def test_any_succeeded_charge_can_be_disputed_for_part_of_it(stripe_emulator, stripe_client):
    intent = new_intent(stripe_client)
    intent = stripe_client.v1.payment_intents.confirm(
        intent.id, params={"payment_method": "pm_card_visa"}
    )

    dispute = control(
        stripe_emulator,
        f"/_config/charges/{intent.latest_charge}/dispute",
        {"amount": "1000", "reason": "product_not_received"},
    )

    assert (dispute["amount"], dispute["reason"]) == (1000, "product_not_received")
    fetched = stripe_client.v1.disputes.retrieve(dispute["id"])
    assert fetched.charge == intent.latest_charge
    listed = stripe_client.v1.disputes.list(params={"charge": intent.latest_charge})
    assert [d.id for d in listed.data] == [dispute["id"]]
