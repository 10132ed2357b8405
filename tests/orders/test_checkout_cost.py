"""A fan's whole checkout through the API (cart, line, checkout with its PaymentIntent) in
few statements, and the checkout answer built from values equal to the serializer's."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from creators.attribution.tokens import token_for_click
from orders.models import Order, OrderLine
from tests.creators.factories import AffiliateLinkFactory, CreatorFactory
from tests.orders.code_helpers import code_for
from tests.orders.helpers import ADDRESS, variant_in_stock

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_emulator")]


def _buy(client: APIClient, sku: str, key: str = "key-1") -> dict:
    cart = client.post("/api/v1/carts/", format="json")
    assert cart.status_code == 201, cart.content
    cart_id = cart.json()["id"]
    client.credentials(HTTP_X_CART_TOKEN=cart.json()["token"])
    line = client.put(f"/api/v1/carts/{cart_id}/lines/{sku}", {"quantity": 2}, format="json")
    assert line.status_code == 200, line.content
    order = client.post(
        "/api/v1/checkouts/",
        {"cart_id": cart_id, "email": "fan@example.com", "shipping_address": ADDRESS},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )
    assert order.status_code == 201, order.content
    return order.json()


def test_a_whole_checkout_through_the_api_runs_at_most_15_statements(
    django_assert_max_num_queries,
):
    variant = variant_in_stock(on_hand=50)
    _buy(APIClient(), variant.sku)  # first-request costs are not counted

    # 11 statements (cart 1; line 2: lock and read, write and read back; checkout 8 with
    # the hold and the PaymentIntent's record; the cart's owner is checked by the statement
    # that locks it) and, in a test, one SAVEPOINT pair for each of the two transactions.
    with django_assert_max_num_queries(15):
        body = _buy(APIClient(), variant.sku)

    assert body["status"] == "pending_payment"
    assert body["client_secret"].startswith(body["payment_intent_id"])
    variant.refresh_from_db()
    assert variant.reserved == 4


def test_the_checkout_answer_equals_what_the_checkout_serializer_shows():
    variant = variant_in_stock(on_hand=5, price="19.99")
    client = APIClient()

    created = _buy(client, variant.sku)
    shown = client.get(f"/api/v1/checkouts/{created['order_token']}/").json()

    assert created == shown
    assert created["lines"][0]["line_total"] == {"amount": "39.98", "currency": "USD"}


def test_a_retried_checkout_answers_the_same_body_from_the_stored_order():
    variant = variant_in_stock(on_hand=5)
    client = APIClient()
    first = _buy(client, variant.sku, key="same")
    cart_id = Order.objects.get(pk=first["order_id"]).cart_id

    again = client.post(
        "/api/v1/checkouts/",
        {"cart_id": cart_id, "email": "fan@example.com", "shipping_address": ADDRESS},
        format="json",
        HTTP_IDEMPOTENCY_KEY="same",
    )

    assert again.status_code == 201
    assert again.json() == first


def _cart_of(client: APIClient, sku: str, code: str | None) -> int:
    cart = client.post("/api/v1/carts/", format="json").json()
    client.credentials(HTTP_X_CART_TOKEN=cart["token"])
    client.put(f"/api/v1/carts/{cart['id']}/lines/{sku}", {"quantity": 2}, format="json")
    if code:
        applied = client.post(f"/api/v1/carts/{cart['id']}/codes/", {"code": code}, format="json")
        assert applied.status_code == 200, applied.content
    return cart["id"]


def _checkout(client: APIClient, cart_id: int, key: str) -> dict:
    order = client.post(
        "/api/v1/checkouts/",
        {"cart_id": cart_id, "email": "fan@example.com", "shipping_address": ADDRESS},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )
    assert order.status_code == 201, order.content
    return order.json()


def test_a_code_costs_the_checkout_three_statements_and_a_cart_without_one_nothing(
    django_assert_max_num_queries,
):
    variant = variant_in_stock(on_hand=50)
    code_for(variant.product.brand, "MAYA10", creator=CreatorFactory.create())
    warm = APIClient()
    _checkout(warm, _cart_of(warm, variant.sku, None), "warm")  # first-request costs

    # The checkout request alone: 8 statements and the SAVEPOINT pair of its transaction.
    client = APIClient()
    cart_id = _cart_of(client, variant.sku, None)
    with django_assert_max_num_queries(10):
        _checkout(client, cart_id, "without")

    # With a code: the codes with their discounts (1), the code's creator's best rate for
    # the credit (1), and the use taken with its row (1).
    client = APIClient()
    cart_id = _cart_of(client, variant.sku, "MAYA10")
    with django_assert_max_num_queries(13):
        body = _checkout(client, cart_id, "with")
    assert body["discount_total"] == {"amount": "4.00", "currency": "USD"}
    assert body["amount"] == {"amount": "36.00", "currency": "USD"}


def test_a_line_from_a_creators_link_costs_the_checkout_two_statements(
    django_assert_max_num_queries,
):
    variant = variant_in_stock(on_hand=50)
    link = AffiliateLinkFactory.create(product=variant.product)
    token = token_for_click(click_id="tap", link_id=link.pk)
    warm = APIClient()
    _checkout(warm, _cart_of(warm, variant.sku, None), "warm")  # first-request costs

    # The journey's cart: made with the line the fan tapped and the link's token.
    client = APIClient()
    cart = client.post(
        "/api/v1/carts/",
        {"lines": [{"sku": variant.sku, "quantity": 1}], "attribution_token": token},
        format="json",
    )
    assert cart.status_code == 201, cart.content
    client.credentials(HTTP_X_CART_TOKEN=cart.json()["token"])
    # 8 statements as without a link, the link with its creator and the best rate in force
    # (1), the link's pace for the viral lock (1), and the SAVEPOINT pair.
    with django_assert_max_num_queries(12):
        body = _checkout(client, cart.json()["id"], "linked")

    line = OrderLine.objects.get(order_id=body["order_id"])
    assert (line.attributed_link_id, line.attribution["rule"]) == (link.pk, "last_click")
