"""Applying and removing codes on a cart: idempotent, one per brand, with stable error codes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import CartCode
from shop.models import Discount, DiscountUse
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.orders.code_helpers import code_for
from tests.orders.helpers import cart_client, cart_with, variant_in_stock
from tests.shop.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


def apply(client, cart, code):
    return client.post(f"/api/v1/carts/{cart.pk}/codes/", {"code": code}, format="json")


def error(response) -> str:
    return response.json()["error"]["code"]


def test_applying_a_code_shows_the_brands_discount_and_the_totals():
    variant = variant_in_stock(price="20.00")
    cart = cart_with((variant, 2))
    code_for(variant.product.brand, "MAYA10")

    response = apply(cart_client(cart), cart, "maya10")

    assert response.status_code == 200, response.content
    totals = response.json()["totals"]
    assert totals["discount"] == {"amount": "4.00", "currency": "USD"}
    assert totals["grand_total"] == {"amount": "36.00", "currency": "USD"}
    (brand,) = totals["brands"]
    assert (brand["code"], brand["discount"]["amount"], brand["code_problem"]) == (
        "MAYA10",
        "4.00",
        None,
    )


def test_applying_the_same_code_twice_changes_nothing():
    variant = variant_in_stock()
    cart = cart_with((variant, 1))
    code_for(variant.product.brand, "MAYA10")
    client = cart_client(cart)
    first = apply(client, cart, "MAYA10")
    again = apply(client, cart, "Maya10")
    assert again.status_code == 200
    assert again.json() == first.json()
    assert CartCode.objects.filter(cart=cart).count() == 1


def test_a_second_code_for_the_same_brand_is_a_conflict():
    variant = variant_in_stock()
    cart = cart_with((variant, 1))
    code_for(variant.product.brand, "MAYA10")
    code_for(variant.product.brand, "ZED10")
    client = cart_client(cart)
    apply(client, cart, "MAYA10")
    response = apply(client, cart, "ZED10")
    assert response.status_code == 409
    assert error(response) == "code_conflict"


def test_each_brand_of_a_multi_brand_cart_gets_its_own_code_on_its_own_lines():
    a, b = variant_in_stock(price="10.00"), variant_in_stock(price="50.00")
    cart = cart_with((a, 1), (b, 1))
    code_for(a.product.brand, "ACODE", kind="fixed", value="2")
    code_for(b.product.brand, "BCODE")
    client = cart_client(cart)
    apply(client, cart, "ACODE")
    totals = apply(client, cart, "BCODE").json()["totals"]
    assert [x["discount"]["amount"] for x in totals["brands"]] == ["2.00", "5.00"]
    assert totals["discount"]["amount"] == "7.00"


def test_removing_a_code_is_idempotent_and_restores_the_total():
    variant = variant_in_stock(price="20.00")
    cart = cart_with((variant, 1))
    code_for(variant.product.brand, "MAYA10")
    client = cart_client(cart)
    apply(client, cart, "MAYA10")
    for _ in range(2):
        response = client.delete(f"/api/v1/carts/{cart.pk}/codes/maya10/")
        assert response.status_code == 200
        assert response.json()["totals"]["grand_total"]["amount"] == "20.00"
    cart.refresh_from_db()
    assert not cart.has_codes


def test_an_unknown_code_and_another_brands_code_answer_alike():
    variant = variant_in_stock()
    cart = cart_with((variant, 1))
    code_for(variant_in_stock().product.brand, "ELSEWHERE")
    client = cart_client(cart)
    unknown = apply(client, cart, "NOPE")
    other = apply(client, cart, "ELSEWHERE")
    assert unknown.status_code == other.status_code == 404
    assert error(unknown) == error(other) == "code_not_found"
    assert unknown.json()["error"]["message"] == other.json()["error"]["message"]


def test_unknown_codes_are_throttled_per_client(settings):
    settings.CODE_LOOKUP_MISSES = 3
    variant = variant_in_stock()
    cart = cart_with((variant, 1))
    code_for(variant.product.brand, "MAYA10")
    client = cart_client(cart)
    for guess in ("A1A", "B2B", "C3C"):
        assert apply(client, cart, guess).status_code == 404
    refused = apply(client, cart, "MAYA10")  # even a real code: guessing learns nothing
    assert refused.status_code == 429
    assert error(refused) == "code_lookups_throttled"


@pytest.mark.parametrize(
    ("discount", "expected"),
    [
        ({"status": Discount.Status.PAUSED}, "code_expired"),
        ({"ends_at": timezone.now() - timedelta(days=1)}, "code_expired"),
        ({"starts_at": timezone.now() + timedelta(days=1)}, "code_expired"),
        ({"minimum_subtotal": "100"}, "minimum_not_met"),
        ({"max_uses": 1, "uses": 1}, "code_exhausted"),
    ],
)
def test_a_code_that_does_not_apply_is_refused_with_its_reason(discount, expected):
    variant = variant_in_stock(price="20.00")
    cart = cart_with((variant, 1))
    code_for(variant.product.brand, "MAYA10", **discount)
    response = apply(cart_client(cart), cart, "MAYA10")
    assert response.status_code in (409, 422)
    assert error(response) == expected
    assert not CartCode.objects.exists()


def test_a_code_for_other_products_of_the_brand_is_not_applicable():
    variant = variant_in_stock()
    other = VariantFactory.create(product=ProductFactory.create(brand=variant.product.brand))
    cart = cart_with((variant, 1))
    code = code_for(variant.product.brand, "MAYA10", applies_to_all=False)
    code.discount.products.set([other.product])
    response = apply(cart_client(cart), cart, "MAYA10")
    assert response.status_code == 422
    assert error(response) == "code_not_applicable"


def test_a_signed_in_shopper_past_their_cap_is_refused():
    variant = variant_in_stock()
    user = UserFactory.create()
    code = code_for(variant.product.brand, "MAYA10", max_uses_per_shopper=1)
    DiscountUse.objects.create(
        discount=code.discount, code="MAYA10", order_id=1, email="x@y.z", user=user
    )
    cart = cart_with((variant, 1))
    cart.user = user
    cart.save()
    response = apply(client_for(user), cart, "MAYA10")
    assert response.status_code == 409
    assert error(response) == "code_limit_per_shopper"


def test_a_fixed_discount_larger_than_the_items_is_refused():
    variant = variant_in_stock(price="5.00")
    cart = cart_with((variant, 1))
    code_for(variant.product.brand, "BIG", kind="fixed", value="10")
    response = apply(cart_client(cart), cart, "BIG")
    assert response.status_code == 422
    assert error(response) == "discount_too_large"


def test_a_code_that_stops_applying_is_shown_with_its_problem():
    variant = variant_in_stock(price="20.00")
    cart = cart_with((variant, 1))
    code = code_for(variant.product.brand, "MAYA10")
    client = cart_client(cart)
    apply(client, cart, "MAYA10")
    Discount.objects.filter(pk=code.discount_id).update(status=Discount.Status.PAUSED)
    (brand,) = client.get(f"/api/v1/carts/{cart.pk}/").json()["totals"]["brands"]
    assert brand["discount"]["amount"] == "0.00"
    assert brand["code_problem"]["code"] == "code_expired"


def test_another_shoppers_cart_gets_404():
    variant = variant_in_stock()
    cart = cart_with((variant, 1))
    code_for(variant.product.brand, "MAYA10")
    stranger = cart_client(cart_with((variant, 1)))
    assert apply(stranger, cart, "MAYA10").status_code == 404
    assert stranger.delete(f"/api/v1/carts/{cart.pk}/codes/MAYA10/").status_code == 404
    assert not CartCode.objects.exists()
