from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from common.outbox.models import OutboxDelivery, OutboxEvent
from orders.models import Order, OrderEvent, OrderLine, StockReservation
from shop.models import Product, Variant
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.orders.helpers import (
    ADDRESS,
    cart_client,
    cart_with,
    checkout,
    stripe_test_client,
    variant_in_stock,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_emulator")]


def test_checkout_holds_stock_and_returns_what_stripe_sdks_need():
    variant = variant_in_stock(on_hand=5, price="20.00", shipping_flat_rate=Decimal("4.95"))
    cart = cart_with((variant, 2))
    response = checkout(cart_client(cart), cart)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "pending_payment"
    assert body["amount"] == {"amount": "44.95", "currency": "USD"}
    assert body["shipping_total"] == {"amount": "4.95", "currency": "USD"}
    assert body["client_secret"].startswith(body["payment_intent_id"])
    assert body["publishable_key"].startswith("pk_")
    assert body["reservation_expires_at"]
    variant.refresh_from_db()
    assert variant.reserved == 2
    intent = stripe_test_client().v1.payment_intents.retrieve(body["payment_intent_id"])
    assert intent.amount == 4495
    assert intent.currency == "usd"
    assert intent.metadata["order_id"] == str(body["order_id"])


def test_checkout_records_no_outbox_event_so_the_reserve_step_costs_no_more():
    cart = cart_with((variant_in_stock(on_hand=5, price="20.00"), 1))
    assert checkout(cart_client(cart), cart).status_code == 201
    assert not OutboxEvent.objects.exists()
    assert not OutboxDelivery.objects.exists()


def test_retry_with_the_same_key_returns_the_same_order_and_payment_intent():
    variant = variant_in_stock(on_hand=5)
    cart = cart_with((variant, 1))
    client = cart_client(cart)
    first, second = checkout(client, cart, key="k1").json(), checkout(client, cart, key="k1").json()
    assert second["order_id"] == first["order_id"]
    assert second["payment_intent_id"] == first["payment_intent_id"]
    assert Order.objects.count() == 1
    variant.refresh_from_db()
    assert variant.reserved == 1


def test_a_replayed_checkout_says_so_in_the_idempotent_replayed_header():
    cart = cart_with((variant_in_stock(on_hand=5), 1))
    client = cart_client(cart)
    first, second = checkout(client, cart, key="k1"), checkout(client, cart, key="k1")
    assert "Idempotent-Replayed" not in first
    assert second["Idempotent-Replayed"] == "true"
    assert second.json()["order_id"] == first.json()["order_id"]


def test_a_new_checkout_of_the_same_cart_supersedes_the_unpaid_one():
    variant = variant_in_stock(on_hand=5)
    cart = cart_with((variant, 2))
    client = cart_client(cart)
    first = checkout(client, cart, key="k1").json()
    second = checkout(client, cart, key="k2").json()
    assert second["order_id"] != first["order_id"]
    assert Order.objects.get(pk=first["order_id"]).status == "canceled"
    variant.refresh_from_db()
    assert variant.reserved == 2


def test_out_of_stock_is_409_with_available_quantities_and_nothing_held():
    plenty, short = variant_in_stock(on_hand=9), None
    short = variant_in_stock(on_hand=1)
    short.product.brand = plenty.product.brand
    short.product.save()
    cart = cart_with((plenty, 2), (short, 3))
    response = checkout(cart_client(cart), cart)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "out_of_stock"
    assert error["details"]["available"] == {short.sku: 1}
    assert list(Variant.objects.values_list("reserved", flat=True)) == [0, 0]
    assert not Order.objects.exists()
    assert not OrderLine.objects.exists()
    assert not StockReservation.objects.exists()


def test_total_below_stripes_minimum_is_400_amount_too_small():
    variant = variant_in_stock(on_hand=5, price="0.20")
    cart = cart_with((variant, 1))
    response = checkout(cart_client(cart), cart)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "amount_too_small"
    variant.refresh_from_db()
    assert variant.reserved == 0


def test_empty_cart_checkout_is_400():
    cart = cart_with()
    response = checkout(cart_client(cart), cart)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "cart_empty"


def test_checkout_without_idempotency_key_is_400():
    variant = variant_in_stock()
    cart = cart_with((variant, 1))
    response = cart_client(cart).post(
        "/api/v1/checkouts/", {"cart_id": cart.pk, "email": "a@b.co"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key_required"


def test_bad_address_is_400_with_fields_and_nothing_held():
    variant = variant_in_stock()
    cart = cart_with((variant, 1))
    response = cart_client(cart).post(
        "/api/v1/checkouts/",
        {"cart_id": cart.pk, "email": "not-an-email", "shipping_address": {"country": "usa"}},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k",
    )
    assert response.status_code == 400
    assert {"email", "shipping_address"} <= set(response.json()["error"]["fields"])
    variant.refresh_from_db()
    assert variant.reserved == 0


def test_product_archived_after_adding_to_cart_is_409_sku_unavailable():
    variant = variant_in_stock()
    cart = cart_with((variant, 1))
    Product.objects.filter(pk=variant.product_id).update(status=Product.Status.ARCHIVED)
    response = checkout(cart_client(cart), cart)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "sku_unavailable"


def test_another_shoppers_cart_cannot_be_checked_out():
    variant = variant_in_stock()
    cart = cart_with((variant, 1))
    intruder = cart_client(cart_with())
    assert checkout(intruder, cart).status_code == 404
    owned = cart_with((variant, 1))
    owned.user = UserFactory.create()
    owned.save()
    assert checkout(client_for(UserFactory.create()), owned).status_code == 404
    assert not Order.objects.exists()


def test_a_cart_not_yours_is_cart_not_found_and_holds_nothing():
    variant = variant_in_stock(on_hand=3)
    owned = cart_with((variant, 1))
    owned.user = UserFactory.create()
    owned.save()
    anonymous = cart_with((variant, 1))

    # No token and nobody signed in; the token of the anonymous cart for the owned one.
    without = checkout(APIClient(), anonymous)
    with_wrong_token = checkout(cart_client(anonymous), owned)

    for response in (without, with_wrong_token):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "cart_not_found"
    assert not Order.objects.exists()
    variant.refresh_from_db()
    assert variant.reserved == 0


def test_the_owner_signed_in_and_the_token_holder_may_each_check_out():
    variant = variant_in_stock(on_hand=3)
    owner = UserFactory.create()
    owned = cart_with((variant, 1))
    owned.user = owner
    owned.save()
    anonymous = cart_with((variant, 1))

    # A signed-in shopper may also check out an anonymous cart whose token they hold.
    signed_in_with_token = APIClient()
    signed_in_with_token.force_authenticate(owner)
    signed_in_with_token.credentials(HTTP_X_CART_TOKEN=anonymous.token)

    assert checkout(client_for(owner), owned, key="a").status_code == 201
    assert checkout(signed_in_with_token, anonymous, key="b").status_code == 201
    variant.refresh_from_db()
    assert variant.reserved == 2


def test_stripe_unreachable_gives_503_retryable_and_the_retry_reuses_the_order(settings):
    variant = variant_in_stock(on_hand=3)
    cart = cart_with((variant, 1))
    client = cart_client(cart)
    working_base = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    down = checkout(client, cart, key="k-down")
    assert down.status_code == 503
    assert down.json()["error"]["retryable"] is True
    order = Order.objects.get()
    assert order.status == "pending_payment"
    assert order.stripe_payment_intent_id is None
    assert OrderEvent.objects.filter(order=order, kind="payment_intent_create_failed").exists()
    variant.refresh_from_db()
    assert variant.reserved == 1

    settings.STRIPE_API_BASE = working_base
    up = checkout(client, cart, key="k-down")
    assert up.status_code == 201
    assert up.json()["order_id"] == order.pk
    assert up.json()["payment_intent_id"]
    assert Order.objects.count() == 1
    variant.refresh_from_db()
    assert variant.reserved == 1


def test_checkout_state_is_readable_by_order_token_only(api_client):
    variant = variant_in_stock()
    cart = cart_with((variant, 1))
    body = checkout(cart_client(cart), cart).json()
    ok = api_client.get(f"/api/v1/checkouts/{body['order_token']}/")
    assert ok.status_code == 200
    assert ok.json()["order_id"] == body["order_id"]
    assert api_client.get("/api/v1/checkouts/not-the-token/").status_code == 404


def checkout_body(client, key: str, body: dict):
    return client.post("/api/v1/checkouts/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_reusing_a_key_with_another_shipping_address_is_422_and_keeps_the_first_order():
    variant = variant_in_stock(on_hand=5)
    cart = cart_with((variant, 1))
    client = cart_client(cart)
    first = {"cart_id": cart.pk, "email": "fan@example.com", "shipping_address": ADDRESS}
    moved = {**first, "shipping_address": {**ADDRESS, "line1": "9 Elm St"}}
    assert checkout_body(client, "k1", first).status_code == 201

    response = checkout_body(client, "k1", moved)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert Order.objects.get().shipping_address["line1"] == ADDRESS["line1"]


@pytest.mark.parametrize(
    "extra",
    [{"shipping_address": {**ADDRESS, "phone": "+1 555 0100"}}, {"note": "leave at the door"}],
    ids=["optional-field-added", "unknown-field-added"],
)
def test_reusing_a_key_with_any_other_body_is_422(extra):
    variant = variant_in_stock(on_hand=5)
    cart = cart_with((variant, 1))
    client = cart_client(cart)
    first = {"cart_id": cart.pk, "email": "fan@example.com", "shipping_address": ADDRESS}
    assert checkout_body(client, "k1", first).status_code == 201

    response = checkout_body(client, "k1", {**first, **extra})

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"


def test_the_same_body_in_another_key_order_replays_the_checkout():
    variant = variant_in_stock(on_hand=5)
    cart = cart_with((variant, 1))
    client = cart_client(cart)
    first = {"cart_id": cart.pk, "email": "fan@example.com", "shipping_address": ADDRESS}
    reordered = {
        "shipping_address": dict(reversed(list(ADDRESS.items()))),
        "email": "fan@example.com",
        "cart_id": cart.pk,
    }
    original = checkout_body(client, "k1", first).json()

    replay = checkout_body(client, "k1", reordered)

    assert replay.status_code == 201
    assert replay.json()["order_id"] == original["order_id"]
    assert Order.objects.count() == 1
