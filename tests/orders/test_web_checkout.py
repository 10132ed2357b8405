"""The web checkout: email and address with clear field errors, then the payment page.

The order is made by the API's checkout service (against the Stripe emulator), under an
Idempotency-Key derived from the form's submission.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from creators.attribution.tokens import token_for_click
from orders.api.checkouts import AddressInput
from orders.models import Cart, Order
from orders.web.forms import CheckoutForm
from shop.models import Variant
from tests.creators.test_storefront_page import make_link, make_showcase, read, text
from tests.orders.helpers import ADDRESS, variant_in_stock
from tests.orders.test_web_cart import cart_in, cart_of, notice

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_emulator")]

FORM = {"email": "fan@example.com", **ADDRESS}


def browser() -> Client:
    return Client(enforce_csrf_checks=True)


def submission_of(response) -> str:
    return next(i["value"] or "" for i in read(response).inputs if i.get("name") == "submission")


def field_error(response, name: str) -> str:
    match = re.search(rf'id="id_{name}_error">([^<]*)<', response.content.decode())
    return match.group(1) if match else ""


def check_out(client: Client, cart: Cart, **changes: str):
    shown = client.get(f"/cart/{cart.token}/checkout/")
    assert shown.status_code == 200
    form = {**FORM, "submission": submission_of(shown), **changes}
    return client.post(f"/cart/{cart.token}/checkout/", form)


def test_checkout_form_labels_every_field_and_needs_no_account():
    cart = cart_of((variant_in_stock(on_hand=5), 1))

    response = browser().get(f"/cart/{cart.token}/checkout/")

    assert response.status_code == 200
    assert response["Referrer-Policy"] == "same-origin"
    body = response.content.decode()
    for name in ("email", "name", "line1", "city", "postal_code", "country"):
        assert f'<label for="id_{name}">' in body
    assert "No account needed" in text(response)


def test_a_valid_form_starts_the_order_and_goes_to_the_payment_page():
    variant = variant_in_stock(on_hand=5)
    cart = cart_of((variant, 2))

    response = check_out(browser(), cart)

    assert response.status_code == 303
    order = Order.objects.get(cart=cart)
    assert response["Location"] == f"/checkout/{order.token}/"
    assert order.user is None
    assert order.email == "fan@example.com"
    assert order.shipping_address["country"] == "US"
    assert order.stripe_payment_intent_id
    assert Variant.objects.get(pk=variant.pk).reserved == 2


def test_a_double_submitted_form_makes_one_order():
    cart = cart_of((variant_in_stock(on_hand=5), 1))
    client = browser()
    shown = client.get(f"/cart/{cart.token}/checkout/")
    form = {**FORM, "submission": submission_of(shown)}

    first = client.post(f"/cart/{cart.token}/checkout/", form)
    second = client.post(f"/cart/{cart.token}/checkout/", form)

    assert first["Location"] == second["Location"]
    assert Order.objects.filter(cart=cart).count() == 1


def test_each_showing_of_the_form_has_its_own_submission():
    cart = cart_of((variant_in_stock(on_hand=5), 1))

    shown = [submission_of(browser().get(f"/cart/{cart.token}/checkout/")) for _ in range(2)]

    assert shown[0] != shown[1]


@pytest.mark.parametrize("country", ["USA", "1A", "", "ü1"])
def test_a_bad_country_code_is_explained_and_makes_no_order(country):
    cart = cart_of((variant_in_stock(on_hand=5), 1))

    response = check_out(browser(), cart, country=country)

    assert response.status_code == 400
    assert "2-letter country code such as US" in field_error(response, "country")
    assert "pattern" not in text(response)
    assert not Order.objects.filter(cart=cart).exists()


def test_a_lower_case_country_code_is_accepted():
    cart = cart_of((variant_in_stock(on_hand=5), 1))

    check_out(browser(), cart, country="gb")

    assert Order.objects.get(cart=cart).shipping_address["country"] == "GB"


def test_a_bad_email_and_missing_fields_are_marked_and_the_details_kept():
    cart = cart_of((variant_in_stock(on_hand=5), 1))

    response = check_out(browser(), cart, email="fan@", city="", name="Fan One")

    assert response.status_code == 400
    assert field_error(response, "email") == "Enter an email address such as you@example.com."
    assert field_error(response, "city") == "Enter your city."
    assert 'value="Fan One"' in response.content.decode()


def test_stock_gone_by_checkout_is_said_in_words_and_nothing_is_held():
    variant = variant_in_stock(on_hand=2)
    cart = cart_of((variant, 2))
    Variant.objects.filter(pk=variant.pk).update(reserved=1)

    response = check_out(browser(), cart)

    assert response.status_code == 409
    assert "has only 1 left" in notice(response)
    assert variant.sku not in notice(response)
    assert Variant.objects.get(pk=variant.pk).reserved == 1
    assert not Order.objects.filter(cart=cart).exists()


def test_the_web_form_accepts_what_the_api_accepts():
    form = CheckoutForm({**FORM, "country": "de", "submission": "s" * 24})

    assert form.is_valid(), form.errors
    api = AddressInput(data=form.address())
    assert api.is_valid(), api.errors


def test_web_checkout_credits_the_creator_exactly_as_the_api_does():
    showcase = make_showcase()
    link = make_link(showcase.creator, showcase.serum)
    sku = showcase.serum.variants.get().sku
    web, app = browser(), APIClient()

    added = web.post(
        "/cart/add/",
        {"sku": sku, "quantity": 1, "atk": token_for_click(click_id="web", link_id=link.pk)},
    )
    check_out(web, cart_in(added))
    app_cart = app.post("/api/v1/carts/").json()
    app.put(
        f"/api/v1/carts/{app_cart['id']}/lines/{sku}",
        {"quantity": 1, "attribution_token": token_for_click(click_id="app", link_id=link.pk)},
        format="json",
    )
    app.post(
        "/api/v1/checkouts/",
        {"cart_id": app_cart["id"], "email": "fan@example.com", "shipping_address": ADDRESS},
        format="json",
        HTTP_IDEMPOTENCY_KEY="app-1",
    )

    web_line = Order.objects.get(cart=cart_in(added)).lines.get()
    app_line = Order.objects.get(cart_id=app_cart["id"]).lines.get()
    assert web_line.attributed_creator_id == showcase.creator.pk
    assert web_line.attributed_link_id == link.pk
    assert (web_line.attributed_creator_id, web_line.attributed_link_id) == (
        app_line.attributed_creator_id,
        app_line.attributed_link_id,
    )
    assert web_line.commission_rate == app_line.commission_rate
    assert web_line.attribution["click_id"] == "web"


# --- the payment page -------------------------------------------------------------------------


def test_the_payment_page_carries_no_token_in_referers():
    cart = cart_of((variant_in_stock(on_hand=5), 1))
    paying = check_out(browser(), cart)

    response = browser().get(paying["Location"])

    assert response.status_code == 200
    assert response["Referrer-Policy"] == "same-origin"
    assert 'id="payment-form"' in response.content.decode()


def test_an_expired_hold_on_the_payment_page_says_so_and_offers_the_cart_back():
    variant = variant_in_stock(on_hand=5)
    cart = cart_of((variant, 1))
    paying = check_out(browser(), cart)
    order = Order.objects.get(cart=cart)
    Order.objects.filter(pk=order.pk).update(
        reservation_expires_at=timezone.now() - timedelta(seconds=1)
    )

    response = browser().get(paying["Location"])

    assert response.status_code == 200
    assert "the hold has run out. Nothing was charged" in notice(response)
    assert 'id="payment-form"' not in response.content.decode()
    assert f'href="/cart/{cart.token}/"' in response.content.decode()
    assert Order.objects.get(pk=order.pk).status == Order.Status.PENDING_PAYMENT
