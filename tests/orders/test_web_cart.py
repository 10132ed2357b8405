"""The web cart: plain forms authorised by the cart token in the URL, over the API's services.

Every refusal is a page that says what happened in a shopper's words and changes nothing.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from creators.attribution.tokens import token_for_click
from orders.models import Cart, CartLine
from shop.models import Variant
from tests.creators.test_storefront_page import make_link, make_showcase, read, text
from tests.orders.helpers import variant_in_stock
from tests.shop.factories import BrandFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


def browser() -> Client:
    """A browser posting plain forms, with Django's CSRF checks switched on."""
    return Client(enforce_csrf_checks=True)


def add(
    client: Client, variant: Variant, quantity: object = 1, *, cart: Cart | None = None, **form
):
    url = f"/cart/{cart.token}/add/" if cart is not None else "/cart/add/"
    return client.post(url, {"sku": variant.sku, "quantity": quantity, **form})


def cart_in(response) -> Cart:
    match = re.match(r"^/cart/([^/]+)/", response["Location"])
    assert match, response["Location"]
    return Cart.objects.get(token=match.group(1))


def cart_of(*lines: tuple[Variant, int]) -> Cart:
    cart = Cart.objects.create(currency=lines[0][0].product.brand.currency if lines else "")
    for variant, quantity in lines:
        cart.lines.create(variant=variant, quantity=quantity)
    return cart


def visible_text(response) -> str:
    """What a shopper reads: the page without its style, tags and attributes."""
    html = re.sub(r"<style>.*?</style>", " ", response.content.decode(), flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def notice(response) -> str:
    match = re.search(r'id="notice">([^<]*)<', response.content.decode())
    return match.group(1) if match else ""


# --- adding ---------------------------------------------------------------------------------


def test_first_add_makes_a_cart_and_sees_it_with_its_token_in_the_url():
    variant = variant_in_stock(on_hand=5)
    client = browser()

    response = add(client, variant, 2, shop="maya.glows")

    assert response.status_code == 303
    cart = cart_in(response)
    assert cart.lines.get().quantity == 2
    assert "shop=maya.glows" in response["Location"]
    assert response.cookies["tribe_cart"].value == cart.token
    assert response["Referrer-Policy"] == "same-origin"


def test_adding_again_adds_units_to_the_line():
    variant = variant_in_stock(on_hand=5)
    cart = cart_of((variant, 1))

    response = add(browser(), variant, 2, cart=cart)

    assert response.status_code == 303
    assert cart.lines.get().quantity == 3


def test_a_cross_site_post_makes_a_cart_but_never_replaces_the_browsers_cart_cookie():
    variant = variant_in_stock(on_hand=5)

    response = browser().post(
        "/cart/add/", {"sku": variant.sku, "quantity": 1}, headers={"Sec-Fetch-Site": "cross-site"}
    )

    assert response.status_code == 303
    assert "tribe_cart" not in response.cookies


def test_a_variant_sold_out_since_the_page_loaded_says_so_and_makes_no_cart():
    variant = variant_in_stock(on_hand=1)
    Variant.objects.filter(pk=variant.pk).update(reserved=1)  # the last unit went meanwhile
    carts_before = Cart.objects.count()

    response = add(browser(), variant, 1, shop="maya.glows", product=variant.product_id)

    assert response.status_code == 409
    assert (
        notice(response)
        == f"Sorry: {variant.product.title} (Default) is sold out. Nothing was changed."
    )
    assert variant.sku not in notice(response)
    assert Cart.objects.count() == carts_before
    assert "tribe_cart" not in response.cookies
    assert f'href="/@maya.glows/p/{variant.product_id}"' in response.content.decode()


def test_a_variant_sold_out_since_the_page_loaded_leaves_the_cart_as_it_was():
    variant = variant_in_stock(on_hand=3)
    other = variant_in_stock(on_hand=3)
    cart = cart_of((other, 1))
    Variant.objects.filter(pk=variant.pk).update(reserved=3)

    response = add(browser(), variant, 1, cart=cart)

    assert response.status_code == 409
    assert "is sold out" in notice(response)
    assert list(cart.lines.values_list("variant_id", "quantity")) == [(other.pk, 1)]


@pytest.mark.parametrize("quantity", ["0", "-1", str(10**9), str(10**30)])
def test_a_quantity_out_of_range_is_refused_in_words_and_changes_nothing(quantity):
    variant = variant_in_stock(on_hand=5)
    cart = cart_of((variant, 2))

    added = add(browser(), variant, quantity, cart=cart)
    changed = browser().post(f"/cart/{cart.token}/lines/{variant.sku}/", {"quantity": quantity})

    for response in (added, changed):
        assert response.status_code == 400
        assert notice(response) == "Choose a quantity from 1 to 20."
    assert cart.lines.get().quantity == 2


def test_a_quantity_that_is_not_a_number_is_refused_in_words():
    variant = variant_in_stock(on_hand=5)
    cart = cart_of((variant, 2))

    response = browser().post(f"/cart/{cart.token}/lines/{variant.sku}/", {"quantity": "lots"})

    assert response.status_code == 400
    assert notice(response) == "Enter a whole number, such as 1."
    assert cart.lines.get().quantity == 2


def test_an_unknown_sku_is_refused_in_words():
    response = browser().post("/cart/add/", {"sku": "NOPE-1", "quantity": 1})

    assert response.status_code == 404
    assert notice(response) == "We could not find that item. Nothing was changed."


def test_a_tampered_cart_token_is_a_friendly_404_and_changes_nothing():
    variant = variant_in_stock(on_hand=5)
    cart = cart_of((variant, 2))
    tampered = cart.token[:-1] + ("A" if cart.token[-1] != "A" else "B")
    client = browser()
    client.cookies["tribe_cart"] = cart.token  # the cookie never authorises a form

    responses = [
        client.get(f"/cart/{tampered}/"),
        add(client, variant, 1, cart=Cart(token=tampered)),
        client.post(f"/cart/{tampered}/lines/{variant.sku}/", {"quantity": 5}),
        client.post(f"/cart/{tampered}/lines/{variant.sku}/remove/"),
        client.post(f"/cart/{tampered}/checkout/", {"email": "fan@example.com"}),
    ]

    for response in responses:
        assert response.status_code == 404
        assert "We could not find that cart" in text(response)
    assert cart.lines.get().quantity == 2


# --- the cart page --------------------------------------------------------------------------


def test_cart_page_groups_lines_by_brand_with_shipping_free_shipping_progress_and_totals():
    near = BrandFactory.create(
        name="Near Free",
        shipping_flat_rate=Decimal("4.00"),
        free_shipping_threshold=Decimal("50.00"),
    )
    flat = BrandFactory.create(name="Flat Rate", shipping_flat_rate=Decimal("5.00"))
    a = VariantFactory.create(product=ProductFactory.create(brand=near), price=Decimal("20.00"))
    b = VariantFactory.create(product=ProductFactory.create(brand=flat), price=Decimal("10.00"))
    cart = cart_of((a, 2), (b, 1))

    response = browser().get(f"/cart/{cart.token}/")

    assert response.status_code == 200
    body = text(response)
    assert body.index("Near Free") < body.index("Flat Rate")
    assert "Add $10.00 more from Near Free for free shipping" in body
    assert 'value="80"' in response.content.decode()  # 40 of 50 towards free shipping
    api = APIClient().get(f"/api/v1/carts/{cart.pk}/", HTTP_X_CART_TOKEN=cart.token).json()
    totals = api["totals"]
    assert f"${totals['grand_total']['amount']}" in body
    assert f"${totals['shipping']['amount']}" in body
    assert totals["grand_total"]["amount"] == "59.00"


def test_free_shipping_reached_says_so():
    brand = BrandFactory.create(
        name="Generous", shipping_flat_rate=Decimal("4.00"), free_shipping_threshold=Decimal("30")
    )
    variant = VariantFactory.create(product=ProductFactory.create(brand=brand), price=Decimal("30"))
    cart = cart_of((variant, 1))

    body = text(browser().get(f"/cart/{cart.token}/"))

    assert "Free shipping from Generous" in body


def test_changing_a_quantity_and_removing_a_line_work_as_plain_forms():
    variant = variant_in_stock(on_hand=9)
    other = variant_in_stock(on_hand=9)
    cart = cart_of((variant, 1), (other, 1))
    client = browser()  # CSRF checks on, no cookie: the URL's token is all it takes

    changed = client.post(
        f"/cart/{cart.token}/lines/{variant.sku}/?shop=maya.glows", {"quantity": 4}
    )
    removed = client.post(f"/cart/{cart.token}/lines/{other.sku}/remove/")

    assert changed.status_code == 303
    assert changed["Location"] == f"/cart/{cart.token}/?shop=maya.glows"
    assert removed.status_code == 303
    assert list(cart.lines.values_list("variant_id", "quantity")) == [(variant.pk, 4)]


def test_a_line_short_of_stock_says_so_on_the_cart_page():
    variant = variant_in_stock(on_hand=5)
    cart = cart_of((variant, 3))
    Variant.objects.filter(pk=variant.pk).update(reserved=5)

    body = visible_text(browser().get(f"/cart/{cart.token}/"))

    assert "Sold out" in body
    assert variant.sku not in body


def test_the_cart_page_carries_its_tokens_and_keeps_them_out_of_referers_and_caches():
    variant = variant_in_stock(on_hand=5)
    cart = cart_of((variant, 1))

    response = browser().get(f"/cart/{cart.token}/", {"shop": "maya.glows", "atk": "tok"})

    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]
    page = read(response)
    assert all("atk=tok" in (form.get("action") or "") for form in page.forms)
    assert f'href="/@maya.glows?atk=tok&amp;cart={cart.token}"' in response.content.decode()


def test_an_empty_cart_says_so():
    body = text(browser().get(f"/cart/{Cart.objects.create().token}/"))

    assert "Your cart is empty." in body


# --- attribution ------------------------------------------------------------------------------


def test_the_web_cart_keeps_the_link_token_of_the_landing_url_as_the_api_does():
    showcase = make_showcase()
    link = make_link(showcase.creator, showcase.serum)
    token = token_for_click(click_id="web-1", link_id=link.pk)
    sku = showcase.serum.variants.get().sku
    client = browser()
    client.cookies.clear()  # an in-app browser that keeps no cookie of ours

    response = client.post("/cart/add/", {"sku": sku, "quantity": 1, "atk": token})

    line = CartLine.objects.get(cart=cart_in(response))
    assert line.attribution_token == token
    assert f"atk={token}" in response["Location"].replace("%3A", ":")


def test_cart_page_queries_are_fixed_however_many_lines_and_brands(django_assert_max_num_queries):
    small = cart_of((variant_in_stock(on_hand=5), 1))
    big = cart_of(*[(variant_in_stock(on_hand=5), 1) for _ in range(12)])

    with CaptureQueriesContext(connection) as few:
        browser().get(f"/cart/{small.token}/")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = browser().get(f"/cart/{big.token}/")

    assert response.status_code == 200
    assert response.content.decode().count('class="line"') == 12


def test_a_signed_in_shoppers_cart_is_not_served_by_its_token_as_in_the_api(user):
    variant = variant_in_stock(on_hand=5)
    cart = Cart.objects.create(user=user, currency="USD")
    cart.lines.create(variant=variant, quantity=1)

    shown = browser().get(f"/cart/{cart.token}/")
    changed = browser().post(f"/cart/{cart.token}/lines/{variant.sku}/", {"quantity": 3})

    assert shown.status_code == 404
    assert changed.status_code == 404
    assert cart.lines.get().quantity == 1


def test_joining_the_waitlist_from_a_storefront_offers_the_way_back():
    variant = variant_in_stock(on_hand=0)

    response = browser().post(
        "/waitlist/join/",
        {"variant_id": variant.pk, "email": "fan@example.com", "shop": "Maya.Glows"},
    )

    assert response.status_code == 201
    assert 'href="/@maya.glows"' in response.content.decode()
