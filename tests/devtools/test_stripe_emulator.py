"""The local Stripe emulator, driven through the official SDK as the service drives it."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any

import pytest
import stripe

from tests.devtools.conftest import PICKLE, Emulator

CARD_OK = "4242424242424242"
CARD_DECLINED = "4000000000000002"
CARD_3DS = "4000002500003155"
PK = "pk_test_emulator"


def browser_post(emulator: Emulator, path: str, params: dict) -> tuple[int, dict]:
    """A form POST authenticated by `key=pk_...` in the body, as the Stripe.js stand-in sends."""
    body = urllib.parse.urlencode({"key": PK, **params}).encode()
    request = urllib.request.Request(f"{emulator.api_base}{path}", data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def card_params(number: str) -> dict:
    return {
        "type": "card",
        "card[number]": number,
        "card[exp_month]": "12",
        "card[exp_year]": "2034",
        "card[cvc]": "123",
    }


def browser_confirm(emulator: Emulator, intent, number: str) -> tuple[int, dict]:
    status, pm = browser_post(emulator, "/v1/payment_methods", card_params(number))
    assert status == 200, pm
    return browser_post(
        emulator,
        f"/v1/payment_intents/{intent.id}/confirm",
        {"client_secret": intent.client_secret, "payment_method": pm["id"]},
    )


def error_of(exc: stripe.StripeError) -> dict[str, Any]:
    body: Any = exc.json_body
    return body["error"]


def new_intent(client: stripe.StripeClient, **params: Any):
    full: Any = {"amount": 2500, "currency": "eur", **params}
    return client.v1.payment_intents.create(
        params=full,
        options={"idempotency_key": f"test-{uuid.uuid4()}"},
    )


def test_same_idempotency_key_returns_the_same_intent(stripe_emulator, stripe_client):
    key = f"checkout-{uuid.uuid4()}"
    params = {"amount": 1000, "currency": "eur", "metadata": {"order_id": "7"}}
    before = len(stripe_client.v1.payment_intents.list(params={"limit": 100}).data)

    first = stripe_client.v1.payment_intents.create(params=params, options={"idempotency_key": key})
    again = stripe_client.v1.payment_intents.create(params=params, options={"idempotency_key": key})

    assert again.id == first.id
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(stripe_client.v1.payment_intents.list(params={"limit": 100}).data) == before + 1

    with pytest.raises(stripe.IdempotencyError) as exc_info:
        stripe_client.v1.payment_intents.create(
            params={**params, "amount": 2000}, options={"idempotency_key": key}
        )
    assert exc_info.value.http_status == 400
    assert error_of(exc_info.value)["type"] == "idempotency_error"


def test_a_declined_confirm_is_replayed_too(stripe_client):
    intent = new_intent(stripe_client)
    key = f"confirm-{uuid.uuid4()}"
    for _ in range(2):
        with pytest.raises(stripe.CardError) as exc_info:
            stripe_client.v1.payment_intents.confirm(
                intent.id,
                params={"payment_method": "pm_card_visa_chargeDeclined"},
                options={"idempotency_key": key},
            )
        assert exc_info.value.code == "card_declined"
    charges = stripe_client.v1.charges.list(params={"limit": 100}).data
    assert len([c for c in charges if c.payment_intent == intent.id]) == 1


def test_create_accepts_stripe_parameters_and_round_trips_them(stripe_client):
    intent = new_intent(
        stripe_client,
        description="Tribe order 42",
        receipt_email="buyer@example.com",
        shipping={
            "name": "Ada Lovelace",
            "address": {"line1": "1 Rue de Rivoli", "city": "Paris", "country": "FR"},
        },
        metadata={"order_id": "42", "cart_id": "c-9"},
        automatic_payment_methods={"enabled": True},
        statement_descriptor_suffix="TRIBE 42",
        transfer_group="order-42",
        expand=["latest_charge"],
    )

    fetched = stripe_client.v1.payment_intents.retrieve(intent.id)
    assert fetched.metadata.to_dict() == {"order_id": "42", "cart_id": "c-9"}
    assert fetched.description == "Tribe order 42"
    assert fetched.receipt_email == "buyer@example.com"
    assert fetched.shipping.address.city == "Paris"
    assert fetched.automatic_payment_methods.enabled is True
    assert fetched.status == "requires_payment_method"

    updated = stripe_client.v1.payment_intents.update(
        intent.id, params={"metadata": {"cart_id": "", "reservation": "r-1"}, "description": "x"}
    )
    assert updated.metadata.to_dict() == {"order_id": "42", "reservation": "r-1"}
    assert updated.description == "x"

    canceled = stripe_client.v1.payment_intents.cancel(
        intent.id, params={"cancellation_reason": "abandoned"}
    )
    assert canceled.status == "canceled"
    assert canceled.cancellation_reason == "abandoned"


def test_unknown_parameters_are_still_rejected(stripe_client):
    with pytest.raises(stripe.InvalidRequestError):
        new_intent(stripe_client, not_a_stripe_param="1")


def test_browser_confirm_with_4242_succeeds_and_sends_a_signed_webhook(
    stripe_emulator, stripe_client
):
    intent = new_intent(stripe_client, metadata={"order_id": "77"}, description="Order 77")

    status, confirmed = browser_confirm(stripe_emulator, intent, CARD_OK)

    assert status == 200, confirmed
    assert confirmed["status"] == "succeeded"
    assert confirmed["latest_charge"].startswith("ch_")
    delivery = stripe_emulator.webhooks.wait_for_event("payment_intent.succeeded", intent.id)
    event = stripe.Webhook.construct_event(
        delivery.body, delivery.headers["Stripe-Signature"], stripe_emulator.webhook_secret
    )
    assert event.type == "payment_intent.succeeded"
    assert event.data.object.metadata["order_id"] == "77"
    assert event.data.object.amount_received == 2500
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            delivery.body, delivery.headers["Stripe-Signature"], "whsec_wrong"
        )

    charge = stripe_client.v1.charges.retrieve(confirmed["latest_charge"])
    assert charge.description == "Order 77"
    assert charge.metadata["order_id"] == "77"


def test_the_publishable_key_needs_the_client_secret(stripe_emulator, stripe_client):
    intent = new_intent(stripe_client)
    status, _ = browser_post(
        stripe_emulator, "/v1/payment_intents", {"amount": 1, "currency": "eur"}
    )
    assert status == 401
    status, body = browser_post(
        stripe_emulator,
        f"/v1/payment_intents/{intent.id}/confirm",
        {"client_secret": "pi_wrong_secret_x", "payment_method": "pm_card_visa"},
    )
    assert status == 400, body


def test_a_declined_card_fails_the_payment(stripe_emulator, stripe_client):
    intent = new_intent(stripe_client, metadata={"order_id": "13"})

    status, body = browser_confirm(stripe_emulator, intent, CARD_DECLINED)

    assert status == 402
    assert body["error"]["type"] == "card_error"
    assert body["error"]["code"] == "card_declined"
    assert body["error"]["decline_code"] == "generic_decline"
    fetched = stripe_client.v1.payment_intents.retrieve(intent.id)
    assert fetched.status == "requires_payment_method"
    assert fetched.last_payment_error.code == "card_declined"
    delivery = stripe_emulator.webhooks.wait_for_event("payment_intent.payment_failed", intent.id)
    assert delivery.event["data"]["object"]["last_payment_error"]["code"] == "card_declined"

    # The shopper tries another card on the same PaymentIntent.
    status, body = browser_confirm(stripe_emulator, intent, CARD_OK)
    assert status == 200, body
    assert body["status"] == "succeeded"


def test_sdk_card_error_on_server_side_confirm(stripe_client):
    intent = new_intent(stripe_client)
    with pytest.raises(stripe.CardError) as exc_info:
        stripe_client.v1.payment_intents.confirm(
            intent.id, params={"payment_method": "pm_card_visa_chargeDeclined"}
        )
    assert error_of(exc_info.value)["decline_code"] == "generic_decline"


@pytest.mark.parametrize(("success", "final_status"), [("true", "succeeded"), ("false", None)])
def test_3ds_card_requires_action_then_authenticates(
    stripe_emulator, stripe_client, success, final_status
):
    intent = new_intent(stripe_client)

    status, body = browser_confirm(stripe_emulator, intent, CARD_3DS)
    assert status == 200, body
    assert body["status"] == "requires_action"
    assert body["next_action"]["type"] == "use_stripe_sdk"

    status, body = browser_post(
        stripe_emulator,
        f"/v1/payment_intents/{intent.id}/_authenticate",
        {"client_secret": intent.client_secret, "success": success},
    )
    assert status == 200, body
    if final_status:
        assert body["status"] == final_status
        stripe_emulator.webhooks.wait_for_event("payment_intent.succeeded", intent.id)
    else:
        assert body["status"] == "requires_payment_method"
        assert body["last_payment_error"]["code"] == "payment_intent_authentication_failure"
        stripe_emulator.webhooks.wait_for_event("payment_intent.payment_failed", intent.id)


def test_refunds_take_a_reason_and_cannot_exceed_the_charge(stripe_emulator, stripe_client):
    intent = new_intent(stripe_client)
    intent = stripe_client.v1.payment_intents.confirm(
        intent.id, params={"payment_method": "pm_card_visa"}
    )
    assert intent.status == "succeeded"

    refund = stripe_client.v1.refunds.create(
        params={
            "payment_intent": intent.id,
            "amount": 1000,
            "reason": "requested_by_customer",
            "metadata": {"order_line": "3"},
            "expand": ["charge"],
        },
        options={"idempotency_key": f"refund-{uuid.uuid4()}"},
    )
    assert refund.status == "succeeded"
    assert refund.reason == "requested_by_customer"
    assert refund.amount == 1000
    assert refund.payment_intent == intent.id
    delivery = stripe_emulator.webhooks.wait_for_event("charge.refunded", intent.latest_charge)
    assert delivery.event["data"]["object"]["amount_refunded"] == 1000

    with pytest.raises(stripe.InvalidRequestError) as exc_info:
        stripe_client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 1501})
    assert exc_info.value.code == "amount_too_large"
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.refunds.create(params={"payment_intent": intent.id, "reason": "bored"})


def test_serves_the_stripe_js_stand_in(stripe_emulator):
    with urllib.request.urlopen(f"{stripe_emulator.api_base}/js.stripe.com/v3/") as response:
        assert response.headers.get_content_type() == "application/javascript"
        source = response.read().decode()
    assert "confirmPayment" in source
    assert "retrievePaymentIntent" in source
    assert "localstripe" not in source.lower()


def test_resend_delivers_an_event_again(stripe_emulator, stripe_client):
    intent = new_intent(stripe_client)
    first = stripe_emulator.webhooks.wait_for_event("payment_intent.created", intent.id)
    status, _ = browser_post(stripe_emulator, f"/_config/events/{first.event['id']}/resend", {})
    assert status == 200
    stripe_emulator.webhooks.wait_for(
        lambda e: (
            e["id"] == first.event["id"]
            and sum(d.event["id"] == e["id"] for d in stripe_emulator.webhooks.deliveries) == 2
        )
    )


def test_nothing_is_written_to_the_localstripe_pickle(stripe_emulator, stripe_client):
    new_intent(stripe_client)
    after = PICKLE.stat().st_mtime if PICKLE.exists() else None
    assert after == stripe_emulator.pickle_before


def _confirmations(emulator: Emulator, intent_id: str) -> list[dict]:
    url = f"{emulator.api_base}/_config/payment_intents/{intent_id}/confirmations"
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())["data"]


def test_confirm_records_the_radar_session_it_was_given(stripe_emulator, stripe_client):
    intent = new_intent(stripe_client)

    confirmed = stripe_client.v1.payment_intents.confirm(
        intent.id,
        params={"payment_method": "pm_card_visa", "radar_options": {"session": "rse_test_1"}},
    )

    assert confirmed.status == "succeeded"
    recorded = _confirmations(stripe_emulator, intent.id)
    assert [c["radar_options"] for c in recorded] == [{"session": "rse_test_1"}]


def test_radar_options_other_than_a_session_are_refused(stripe_client):
    intent = new_intent(stripe_client)
    with pytest.raises(stripe.InvalidRequestError) as exc_info:
        stripe_client.v1.payment_intents.confirm(
            intent.id,
            params={"payment_method": "pm_card_visa", "radar_options": {"skip": "true"}},
        )
    assert error_of(exc_info.value)["param"] == "radar_options"


def test_the_same_card_has_the_same_fingerprint_on_method_and_charge(stripe_client):
    def paid_with(number: str) -> Any:
        method = stripe_client.v1.payment_methods.create(params=card_params_dict(number))
        intent = new_intent(stripe_client)
        stripe_client.v1.payment_intents.confirm(intent.id, params={"payment_method": method.id})
        return method, stripe_client.v1.payment_intents.retrieve(
            intent.id, params={"expand": ["latest_charge"]}
        )

    first_method, first = paid_with(CARD_OK)
    second_method, second = paid_with(CARD_OK)
    _, other = paid_with("5555555555554444")

    fingerprint = first_method.card.fingerprint
    assert fingerprint
    assert second_method.card.fingerprint == fingerprint
    assert first.latest_charge.payment_method_details.card.fingerprint == fingerprint
    assert second.latest_charge.payment_method_details.card.fingerprint == fingerprint
    assert other.latest_charge.payment_method_details.card.fingerprint != fingerprint


def test_a_decline_sends_payment_failed_with_the_card_fingerprint(stripe_emulator, stripe_client):
    intent = new_intent(stripe_client)
    method = stripe_client.v1.payment_methods.create(params=card_params_dict(CARD_DECLINED))

    with pytest.raises(stripe.CardError):
        stripe_client.v1.payment_intents.confirm(intent.id, params={"payment_method": method.id})

    delivery = stripe_emulator.webhooks.wait_for_event("payment_intent.payment_failed", intent.id)
    error = delivery.event["data"]["object"]["last_payment_error"]
    assert error["payment_method"]["card"]["fingerprint"] == method.card.fingerprint
    assert error["charge"]


def card_params_dict(number: str) -> Any:
    return {
        "type": "card",
        "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
    }
