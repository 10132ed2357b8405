import time
from decimal import Decimal
from unittest import mock

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from orders.models import Cart, CartLine, Order
from shop.models import Product
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.orders.helpers import cart_client, cart_with, checkout, variant_in_stock
from tests.shop.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


def new_cart(client: APIClient, *, anonymous: bool = True) -> dict:
    response = client.post("/api/v1/carts/")
    assert response.status_code == 201
    body = response.json()
    if anonymous:
        client.credentials(HTTP_X_CART_TOKEN=body["token"])
    return body


def bearer(user) -> str:
    return f"Bearer {RefreshToken.for_user(user).access_token}"


def put_line(client, cart_id, sku, quantity, **extra):
    return client.put(
        f"/api/v1/carts/{cart_id}/lines/{sku}", {"quantity": quantity, **extra}, format="json"
    )


def test_anonymous_cart_is_identified_by_an_unguessable_token(api_client):
    body = new_cart(api_client)
    assert len(body["token"]) >= 40
    assert api_client.cookies["tribe_cart"].value == body["token"]
    assert api_client.get(f"/api/v1/carts/{body['id']}/").status_code == 200


def test_setting_a_line_is_safe_to_retry(api_client):
    variant = variant_in_stock(on_hand=10)
    cart = new_cart(api_client)
    for _ in range(3):
        response = put_line(api_client, cart["id"], variant.sku, 2)
        assert response.status_code == 200
    assert response.json()["lines"][0]["quantity"] == 2
    assert CartLine.objects.get().quantity == 2


def test_line_keeps_the_attribution_token_that_credits_its_product(api_client):
    from creators.attribution.tokens import token_for_click
    from tests.creators.factories import AffiliateLinkFactory

    variant = variant_in_stock()
    link = AffiliateLinkFactory.create(product=variant.product)
    other = AffiliateLinkFactory.create()
    token = token_for_click(click_id="c1", link_id=link.pk)
    cart = new_cart(api_client)
    put_line(api_client, cart["id"], variant.sku, 1, attribution_token=token)
    put_line(api_client, cart["id"], variant.sku, 3)
    assert CartLine.objects.get().attribution_token == token
    # A token for another product does not replace it.
    other_token = token_for_click(click_id="c2", link_id=other.pk)
    put_line(api_client, cart["id"], variant.sku, 2, attribution_token=other_token)
    assert CartLine.objects.get().attribution_token == token


def click_token(link, *, hours_ago: float) -> str:
    """A link token as issued `hours_ago` (tokens carry their issue time, to the second)."""
    from creators.attribution.tokens import token_for_click

    with mock.patch("django.core.signing.time.time", return_value=time.time() - hours_ago * 3600):
        return token_for_click(click_id=f"c-{link.pk}-{hours_ago}", link_id=link.pk)


def test_the_latest_click_for_the_product_wins_whoever_carries_it(api_client):
    from creators.attribution.views import ATTRIBUTION_COOKIE
    from tests.creators.factories import AffiliateLinkFactory

    variant = variant_in_stock()
    old_link = AffiliateLinkFactory.create(product=variant.product)
    new_link = AffiliateLinkFactory.create(product=variant.product)
    older, newer = click_token(old_link, hours_ago=5), click_token(new_link, hours_ago=1)
    cart = new_cart(api_client)
    # An old shared URL's token sent by the client loses to a newer click in the cookie...
    api_client.cookies[ATTRIBUTION_COOKIE] = newer
    put_line(api_client, cart["id"], variant.sku, 1, attribution_token=older)
    assert CartLine.objects.get().attribution_token == newer
    # ...and the other way round.
    other = new_cart(APIClient())
    client = APIClient()
    client.credentials(HTTP_X_CART_TOKEN=other["token"])
    client.cookies[ATTRIBUTION_COOKIE] = older
    put_line(client, other["id"], variant.sku, 1, attribution_token=newer)
    assert CartLine.objects.get(cart_id=other["id"]).attribution_token == newer


def test_resending_an_older_token_does_not_undo_a_later_click(api_client):
    from tests.creators.factories import AffiliateLinkFactory

    variant = variant_in_stock()
    first, second = (AffiliateLinkFactory.create(product=variant.product) for _ in range(2))
    older, newer = click_token(first, hours_ago=5), click_token(second, hours_ago=1)
    cart = new_cart(api_client)
    put_line(api_client, cart["id"], variant.sku, 1, attribution_token=older)
    put_line(api_client, cart["id"], variant.sku, 2, attribution_token=newer)
    assert CartLine.objects.get().attribution_token == newer
    put_line(api_client, cart["id"], variant.sku, 3, attribution_token=older)
    line = CartLine.objects.get()
    assert (line.quantity, line.attribution_token) == (3, newer)


def test_forged_attribution_token_is_ignored_without_an_error(api_client):
    variant = variant_in_stock()
    cart = new_cart(api_client)
    response = put_line(api_client, cart["id"], variant.sku, 1, attribution_token="forged:1:x")
    assert response.status_code == 200
    assert CartLine.objects.get().attribution_token == ""


@pytest.mark.parametrize("quantity", [0, -1, 21])
def test_bad_quantity_is_400_and_changes_nothing(api_client, quantity):
    variant = variant_in_stock(on_hand=100)
    cart = new_cart(api_client)
    response = put_line(api_client, cart["id"], variant.sku, quantity)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_quantity"
    assert not CartLine.objects.exists()


def test_unknown_sku_is_404_and_inactive_sku_is_400(api_client):
    cart = new_cart(api_client)
    missing = put_line(api_client, cart["id"], "NOPE", 1)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "sku_not_found"
    draft = VariantFactory.create(product=ProductFactory.create(status=Product.Status.DRAFT))
    inactive = put_line(api_client, cart["id"], draft.sku, 1)
    assert inactive.status_code == 400
    assert inactive.json()["error"]["code"] == "sku_unavailable"


def test_more_than_available_is_409_with_the_available_quantity(api_client):
    variant = variant_in_stock(on_hand=2)
    cart = new_cart(api_client)
    response = put_line(api_client, cart["id"], variant.sku, 3)
    assert response.status_code == 409
    assert response.json()["error"]["details"]["available"] == {variant.sku: 2}


def test_mixed_currency_add_is_a_clear_400(api_client):
    usd, eur = variant_in_stock(currency="USD"), variant_in_stock(currency="EUR")
    cart = new_cart(api_client)
    put_line(api_client, cart["id"], usd.sku, 1)
    response = put_line(api_client, cart["id"], eur.sku, 1)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "currency_mismatch"
    assert CartLine.objects.count() == 1


def test_totals_apply_each_brands_flat_rate_and_free_shipping_threshold(api_client):
    cheap = variant_in_stock(price="10.00", shipping_flat_rate=Decimal("5.00"))
    free = variant_in_stock(
        price="30.00",
        shipping_flat_rate=Decimal("7.00"),
        free_shipping_threshold=Decimal("50.00"),
    )
    cart = new_cart(api_client)
    put_line(api_client, cart["id"], cheap.sku, 1)
    body = put_line(api_client, cart["id"], free.sku, 2).json()
    totals = body["totals"]
    assert totals["items"] == {"amount": "70.00", "currency": "USD"}
    assert totals["shipping"] == {"amount": "5.00", "currency": "USD"}
    assert totals["grand_total"] == {"amount": "75.00", "currency": "USD"}
    assert [b["shipping"]["amount"] for b in totals["brands"]] == ["5.00", "0.00"]


def test_the_answers_of_a_new_cart_and_a_set_line_equal_what_the_cart_serializer_shows(
    api_client,
):
    from creators.attribution.tokens import token_for_click
    from tests.creators.factories import AffiliateLinkFactory

    cheap = variant_in_stock(price="10.00", shipping_flat_rate=Decimal("5.00"))
    scarce = variant_in_stock(
        on_hand=3,
        price="30.005",
        shipping_flat_rate=Decimal("7.00"),
        free_shipping_threshold=Decimal("50.00"),
    )
    scarce.low_stock_threshold = 5
    scarce.save()
    token = token_for_click(
        click_id="c1", link_id=AffiliateLinkFactory.create(product=cheap.product).pk
    )
    created = new_cart(api_client)
    url = f"/api/v1/carts/{created['id']}/"
    assert created == {**api_client.get(url).json(), "token": created["token"]}

    put_line(api_client, created["id"], cheap.sku, 1, attribution_token=token)
    body = put_line(api_client, created["id"], scarce.sku, 2).json()

    assert body == api_client.get(url).json()
    assert [line["stock_state"] for line in body["lines"]] == ["in_stock", "low_stock"]
    assert body["lines"][0]["attribution_token"] == token
    assert body["lines"][1]["unit_price"] == {"amount": "30.01", "currency": "USD"}
    assert body["totals"]["grand_total"] == {"amount": "75.01", "currency": "USD"}
    # Changing a line's quantity answers the same way, its place in the cart kept.
    body = put_line(api_client, created["id"], cheap.sku, 4).json()
    assert body == api_client.get(url).json()
    assert [line["quantity"] for line in body["lines"]] == [4, 2]


def test_removing_a_line(api_client):
    variant = variant_in_stock()
    cart = new_cart(api_client)
    put_line(api_client, cart["id"], variant.sku, 1)
    response = api_client.delete(f"/api/v1/carts/{cart['id']}/lines/{variant.sku}")
    assert response.status_code == 200
    assert response.json()["lines"] == []
    again = api_client.delete(f"/api/v1/carts/{cart['id']}/lines/{variant.sku}")
    assert again.status_code == 404


def test_another_shoppers_cart_is_404_for_read_and_write(api_client):
    variant = variant_in_stock()
    cart = new_cart(api_client)
    stranger = APIClient()
    new_cart(stranger)
    url = f"/api/v1/carts/{cart['id']}/"
    assert stranger.get(url).status_code == 404
    assert put_line(stranger, cart["id"], variant.sku, 1).status_code == 404
    user_cart = new_cart(client_for(UserFactory.create()), anonymous=False)
    assert api_client.get(f"/api/v1/carts/{user_cart['id']}/").status_code == 404
    assert (
        client_for(UserFactory.create()).get(f"/api/v1/carts/{user_cart['id']}/").status_code == 404
    )


def test_anonymous_cart_merges_into_the_users_cart_on_sign_in(api_client):
    a, b = variant_in_stock(), variant_in_stock()
    user = UserFactory.create()
    signed_in = client_for(user)
    mine = new_cart(signed_in, anonymous=False)
    assert put_line(signed_in, mine["id"], a.sku, 1).status_code == 200
    anon = new_cart(api_client)
    put_line(api_client, anon["id"], a.sku, 2)
    put_line(api_client, anon["id"], b.sku, 1)
    signed_in.credentials(HTTP_AUTHORIZATION=bearer(user), HTTP_X_CART_TOKEN=anon["token"])
    response = signed_in.post(f"/api/v1/carts/{anon['id']}/merge/")
    assert response.status_code == 200
    assert {line["sku"]: line["quantity"] for line in response.json()["lines"]} == {
        a.sku: 3,
        b.sku: 1,
    }
    assert Cart.objects.get(pk=anon["id"]).status == "merged"


def test_merge_needs_the_anonymous_carts_token(api_client):
    anon = new_cart(api_client)
    response = client_for(UserFactory.create()).post(f"/api/v1/carts/{anon['id']}/merge/")
    assert response.status_code == 404


def test_cart_read_costs_a_fixed_number_of_queries(api_client, django_assert_max_num_queries):
    cart = new_cart(api_client)
    for _ in range(15):
        put_line(api_client, cart["id"], variant_in_stock().sku, 1)
    with django_assert_max_num_queries(2):
        body = api_client.get(f"/api/v1/carts/{cart['id']}/").json()
    assert len(body["lines"]) == 15


def test_a_cart_takes_no_more_than_the_line_limit(api_client, settings):
    settings.CART_MAX_LINES = 3
    variants = [variant_in_stock() for _ in range(4)]
    cart = new_cart(api_client)
    for variant in variants[:3]:
        assert put_line(api_client, cart["id"], variant.sku, 1).status_code == 200

    response = put_line(api_client, cart["id"], variants[3].sku, 1)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "cart_too_large"
    assert response.json()["error"]["details"] == {"max_lines": 3}
    assert CartLine.objects.filter(cart_id=cart["id"]).count() == 3


def test_a_full_cart_still_changes_the_quantity_of_its_lines(api_client, settings):
    settings.CART_MAX_LINES = 2
    first, second = variant_in_stock(), variant_in_stock()
    cart = new_cart(api_client)
    put_line(api_client, cart["id"], first.sku, 1)
    put_line(api_client, cart["id"], second.sku, 1)

    response = put_line(api_client, cart["id"], second.sku, 4)

    assert response.status_code == 200
    assert CartLine.objects.get(cart_id=cart["id"], variant=second).quantity == 4


def test_merging_past_the_line_limit_is_400_and_changes_neither_cart(api_client, settings):
    settings.CART_MAX_LINES = 2
    a, b, c = variant_in_stock(), variant_in_stock(), variant_in_stock()
    user = UserFactory.create()
    signed_in = client_for(user)
    mine = new_cart(signed_in, anonymous=False)
    put_line(signed_in, mine["id"], a.sku, 1)
    put_line(signed_in, mine["id"], b.sku, 1)
    anon = new_cart(api_client)
    put_line(api_client, anon["id"], c.sku, 1)
    signed_in.credentials(HTTP_AUTHORIZATION=bearer(user), HTTP_X_CART_TOKEN=anon["token"])

    response = signed_in.post(f"/api/v1/carts/{anon['id']}/merge/")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "cart_too_large"
    assert CartLine.objects.filter(cart_id=mine["id"]).count() == 2
    assert Cart.objects.get(pk=anon["id"]).status == "open"


def test_checkout_of_a_cart_filled_past_the_limit_is_400(settings):
    settings.CART_MAX_LINES = 2
    variant = variant_in_stock()
    cart = cart_with(*[(variant_in_stock(), 1) for _ in range(2)], (variant, 1))

    response = checkout(cart_client(cart), cart)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "cart_too_large"
    assert not Order.objects.exists()
    variant.refresh_from_db()
    assert variant.reserved == 0


def test_a_cart_created_with_its_first_line_answers_as_one_set_by_put(api_client):
    from creators.attribution.tokens import token_for_click
    from tests.creators.factories import AffiliateLinkFactory

    variant = variant_in_stock(on_hand=3)
    token = token_for_click(
        click_id="c1", link_id=AffiliateLinkFactory.create(product=variant.product).pk
    )

    response = api_client.post(
        "/api/v1/carts/",
        {"lines": [{"sku": variant.sku, "quantity": 2}], "attribution_token": token},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert api_client.cookies["tribe_cart"].value == body["token"]
    api_client.credentials(HTTP_X_CART_TOKEN=body["token"])
    shown = api_client.get(f"/api/v1/carts/{body['id']}/").json()
    assert body == {**shown, "token": body["token"]}
    assert [(line["sku"], line["quantity"]) for line in body["lines"]] == [(variant.sku, 2)]
    assert CartLine.objects.get().attribution_token == token


@pytest.mark.parametrize(
    ("lines", "status", "code"),
    [
        ([{"sku": "NOPE", "quantity": 1}], 404, "sku_not_found"),
        ([{"sku": "{sku}", "quantity": 9}], 409, "out_of_stock"),
        ([{"sku": "{sku}", "quantity": 0}], 400, "invalid_quantity"),
        ([{"sku": "{sku}", "quantity": 1}, {"sku": "{sku}", "quantity": 2}], 400, "duplicate_sku"),
    ],
)
def test_a_refused_first_line_makes_no_cart(api_client, lines, status, code):
    variant = variant_in_stock(on_hand=3)
    for line in lines:
        line["sku"] = line["sku"].format(sku=variant.sku)

    response = api_client.post("/api/v1/carts/", {"lines": lines}, format="json")

    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    assert not Cart.objects.exists()


def test_a_signed_in_user_starting_a_cart_with_lines_gets_them_in_their_open_cart():
    user = UserFactory.create()
    client = client_for(user)
    first, second = variant_in_stock(on_hand=2), variant_in_stock()
    open_cart = new_cart(client, anonymous=False)
    put_line(client, open_cart["id"], first.sku, 1)

    response = client.post(
        "/api/v1/carts/", {"lines": [{"sku": second.sku, "quantity": 2}]}, format="json"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"] == open_cart["id"]
    assert [(line["sku"], line["quantity"]) for line in body["lines"]] == [
        (first.sku, 1),
        (second.sku, 2),
    ]
    refused = client.post(
        "/api/v1/carts/", {"lines": [{"sku": first.sku, "quantity": 3}]}, format="json"
    )
    assert refused.status_code == 409
    assert CartLine.objects.get(cart_id=open_cart["id"], variant=first).quantity == 1
