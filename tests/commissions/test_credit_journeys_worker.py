"""The credit journeys with delivery for real: the paid order's outbox event reaches the
ledger through the broker and a real Celery worker, as under `make run`."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from rest_framework.test import APIClient

from commissions.models import CommissionLine
from orders.models import Cart, Order
from orders.services.checkout import checkout_start
from tests.commissions.test_credit_journeys import PHONE_UA, _add_on_page, _commissions
from tests.creators.test_storefront_page import make_link, make_showcase
from tests.orders.helpers import ADDRESS, intent_succeeded_payload, pay, post_event

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.usefixtures("stripe_emulator", "real_worker"),
]


def pay_and_wait_for_commissions(cart: Cart, lines: int, timeout: float = 120) -> Order:
    order = checkout_start(
        cart=cart,
        user=None,
        idempotency_key=f"journey-{cart.pk}",
        email="fan@example.com",
        shipping_address=ADDRESS,
    )
    assert pay(order.stripe_payment_intent_id).status == "succeeded"
    payload = intent_succeeded_payload(f"evt_journey_worker_{order.pk}", order)
    assert post_event(APIClient(), payload).status_code == 200
    deadline = time.monotonic() + timeout
    recorded = CommissionLine.objects.filter(order_id=order.pk)
    while recorded.count() < lines and time.monotonic() < deadline:
        time.sleep(0.25)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    return order


def test_tap_storefront_browse_and_checkout_pay_the_creator_through_the_worker():
    showcase = make_showcase()
    link = make_link(showcase.creator, showcase.serum)
    browser = Client(HTTP_USER_AGENT=PHONE_UA)
    landing = browser.get(f"/r/{link.code}")["Location"]
    cart_token = _add_on_page(browser, landing.split("#")[0], showcase.serum.variants.get().sku)
    lip_mask = f"/@maya.glows/p/{showcase.lip_mask.pk}{landing[landing.index('?') :]}"
    lip_mask_sku = showcase.lip_mask.variants.order_by("pk")[0].sku
    _add_on_page(browser, lip_mask.split("#")[0], lip_mask_sku, cart_token)

    order = pay_and_wait_for_commissions(Cart.objects.get(token=cart_token), lines=2)

    assert _commissions(order) == {
        showcase.serum.pk: showcase.creator.pk,
        showcase.lip_mask.pk: showcase.creator.pk,
    }


def test_an_android_apps_tap_pays_the_creator_through_the_worker():
    showcase = make_showcase()
    link = make_link(showcase.creator, showcase.serum)
    app = APIClient(HTTP_USER_AGENT="okhttp/4.12.0")
    click = app.post(
        f"/api/v1/links/{link.code}/clicks/", {"device_id": "android-0002-abcd"}, format="json"
    ).json()
    cart = app.post("/api/v1/carts/").json()
    app.credentials(HTTP_X_CART_TOKEN=cart["token"])
    for product in (showcase.serum, showcase.lip_mask):
        tokens = [click["attribution_token"], click["storefront_token"]]
        sku = product.variants.order_by("pk")[0].sku
        response = app.put(
            f"/api/v1/carts/{cart['id']}/lines/{sku}",
            {"quantity": 1, "attribution_tokens": tokens},
            format="json",
        )
        assert response.status_code == 200, response.json()

    order = pay_and_wait_for_commissions(Cart.objects.get(pk=cart["id"]), lines=2)

    assert _commissions(order) == {
        showcase.serum.pk: showcase.creator.pk,
        showcase.lip_mask.pk: showcase.creator.pk,
    }


def test_a_tap_on_a_sold_out_product_pays_for_its_fallback_through_the_worker():
    showcase = make_showcase()  # the SPF is sold out; its link offers the serum instead
    link = showcase.creator.links.get(product=showcase.spf)
    browser = Client(HTTP_USER_AGENT=PHONE_UA)
    landing = browser.get(f"/r/{link.code}")["Location"]
    cart_token = _add_on_page(browser, landing.split("#")[0], showcase.serum.variants.get().sku)

    order = pay_and_wait_for_commissions(Cart.objects.get(token=cart_token), lines=1)

    assert _commissions(order) == {showcase.serum.pk: showcase.creator.pk}
    assert CommissionLine.objects.get(order_id=order.pk).link_id == link.pk
