"""Journeys of a creator's credit from the first tap to the commission line, on PostgreSQL,
the Stripe emulator and the real checkout, webhook and ledger services: a storefront
browse after a link, a link to a sold-out product, and an Android app's tap."""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client
from rest_framework.test import APIClient

from commissions.models import CommissionLine
from orders.models import Cart, Order
from orders.services.checkout import checkout_start
from tests.creators.test_storefront_page import make_link, make_showcase
from tests.orders.helpers import ADDRESS, intent_succeeded_payload, pay, post_event

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_emulator")]

PHONE_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile/15E148"


@pytest.fixture
def paid(api_client, django_capture_on_commit_callbacks):
    """Check a cart out, pay it on the emulator and deliver its succeeded webhook."""

    def buy(cart: Cart) -> Order:
        with django_capture_on_commit_callbacks(execute=True):
            order = checkout_start(
                cart=cart,
                user=None,
                idempotency_key=f"journey-{cart.pk}",
                email="fan@example.com",
                shipping_address=ADDRESS,
            )
        assert pay(order.stripe_payment_intent_id).status == "succeeded"
        payload = intent_succeeded_payload(f"evt_journey_{order.pk}", order)
        with django_capture_on_commit_callbacks(execute=True):
            assert post_event(api_client, payload).status_code == 200
        order.refresh_from_db()
        assert order.status == Order.Status.PAID
        return order

    return buy


def _field(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    return unescape(found.group(1)) if found else ""


def _add_on_page(browser: Client, path: str, sku: str, cart_token: str = "") -> str:
    """Submit a page's add-to-cart form as a browser would; returns the cart token."""
    page = browser.get(path).content.decode()
    form = {"sku": sku, "quantity": "1", "shop": "maya.glows"}
    for name in ("atk", "satk"):
        if _field(page, name):
            form[name] = _field(page, name)
    url = f"/cart/{cart_token}/add/" if cart_token else "/cart/add/"
    response = browser.post(url, form)
    assert response.status_code == 303, response.content[:300]
    return cart_token or browser.cookies["tribe_cart"].value


def _commissions(order: Order) -> dict[int, int | None]:
    products = {line.pk: line.variant.product_id for line in order.lines.all()}
    lines = CommissionLine.objects.filter(order_line_id__in=products)
    return {products[line.order_line_id]: line.creator_id for line in lines}


def test_a_tap_then_another_product_from_the_storefront_pays_the_creator_for_both(paid):
    showcase = make_showcase()
    link = make_link(showcase.creator, showcase.serum)
    browser = Client(HTTP_USER_AGENT=PHONE_UA)
    # Tap: the redirect lands on the storefront with the click's token.
    landing = browser.get(f"/r/{link.code}")["Location"]
    atk = parse_qs(urlparse(landing).query)["atk"][0]
    serum_sku = showcase.serum.variants.get().sku
    cart_token = _add_on_page(browser, landing.split("#")[0], serum_sku)
    # Browse: another product of the same storefront, reached from the storefront page.
    lip_mask_sku = showcase.lip_mask.variants.order_by("pk")[0].sku
    _add_on_page(
        browser, f"/@maya.glows/p/{showcase.lip_mask.pk}?atk={atk}", lip_mask_sku, cart_token
    )

    order = paid(Cart.objects.get(token=cart_token))

    rules = {line.variant.product_id: line.attribution["rule"] for line in order.lines.all()}
    assert rules == {showcase.serum.pk: "last_click", showcase.lip_mask.pk: "storefront"}
    assert _commissions(order) == {
        showcase.serum.pk: showcase.creator.pk,
        showcase.lip_mask.pk: showcase.creator.pk,
    }


def test_a_tap_on_a_sold_out_product_pays_the_creator_for_its_fallback(paid):
    showcase = make_showcase()  # the SPF is sold out; its link offers the serum instead
    link = showcase.creator.links.get(product=showcase.spf)
    browser = Client(HTTP_USER_AGENT=PHONE_UA)
    landing = browser.get(f"/r/{link.code}")["Location"]
    assert parse_qs(urlparse(landing).query)["product"] == [str(showcase.serum.pk)]
    cart_token = _add_on_page(browser, landing.split("#")[0], showcase.serum.variants.get().sku)

    order = paid(Cart.objects.get(token=cart_token))

    line = order.lines.get()
    assert (line.attributed_creator_id, line.attributed_link_id) == (showcase.creator.pk, link.pk)
    assert _commissions(order) == {showcase.serum.pk: showcase.creator.pk}


def test_an_android_apps_tap_and_storefront_browse_pay_the_creator(paid):
    showcase = make_showcase()
    link = make_link(showcase.creator, showcase.serum)
    app = APIClient(HTTP_USER_AGENT="okhttp/4.12.0")
    click = app.post(
        f"/api/v1/links/{link.code}/clicks/", {"device_id": "android-0001-abcd"}, format="json"
    ).json()
    assert click["attribution_token"] is not None
    storefront = app.get("/api/v1/storefronts/maya.glows/", {"atk": click["attribution_token"]})
    assert storefront.json()["storefront_token"] == click["storefront_token"]
    cart = app.post("/api/v1/carts/").json()
    app.credentials(HTTP_X_CART_TOKEN=cart["token"])
    tokens = [click["attribution_token"], storefront.json()["storefront_token"]]
    for product in (showcase.serum, showcase.lip_mask):
        response = app.put(
            f"/api/v1/carts/{cart['id']}/lines/{product.variants.order_by('pk')[0].sku}",
            {"quantity": 1, "attribution_tokens": tokens},
            format="json",
        )
        assert response.status_code == 200, response.json()

    order = paid(Cart.objects.get(pk=cart["id"]))

    assert _commissions(order) == {
        showcase.serum.pk: showcase.creator.pk,
        showcase.lip_mask.pk: showcase.creator.pk,
    }
    rates = {line.variant.product_id: line.commission_rate for line in order.lines.all()}
    assert rates[showcase.serum.pk] == Decimal("10.00")  # the link's locked rate
