"""Joining a waitlist: the API and the storefront's notify-me form."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from rest_framework.test import APIClient

from creators.attribution.tokens import token_for_click
from orders.models import WaitlistEntry
from tests.orders.waitlist_helpers import link_for, sold_out_variant
from tests.shop.factories import VariantFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/waitlist/"


def test_shopper_joins_sold_out_variant_with_link_attribution(api_client: APIClient) -> None:
    variant = sold_out_variant()
    link = link_for(variant)
    token = token_for_click(click_id="click-1", link_id=link.pk)

    response = api_client.post(
        URL, {"variant_id": variant.pk, "email": "Fan@Example.com", "attribution_token": token}
    )

    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "waiting"
    assert response.json()["credited"] is True
    entry = WaitlistEntry.objects.get()
    assert (entry.email, entry.attribution_link_id, entry.attribution_click_id) == (
        "fan@example.com",
        link.pk,
        "click-1",
    )


def test_attribution_cookie_is_read_when_body_has_no_token(api_client: APIClient) -> None:
    variant = sold_out_variant()
    link = link_for(variant)
    api_client.cookies["tribe_atk"] = token_for_click(click_id="c-cookie", link_id=link.pk)

    response = api_client.post(URL, {"variant_id": variant.pk, "email": "fan@example.com"})

    assert response.status_code == 201
    assert WaitlistEntry.objects.get().attribution_link_id == link.pk


def test_same_email_again_returns_same_entry_with_200(api_client: APIClient) -> None:
    variant = sold_out_variant()
    first = api_client.post(URL, {"variant_id": variant.pk, "email": "fan@example.com"})

    again = api_client.post(URL, {"variant_id": variant.pk, "email": "FAN@example.com"})

    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert WaitlistEntry.objects.count() == 1


def test_in_stock_variant_is_refused_with_409(api_client: APIClient) -> None:
    variant = VariantFactory.create(on_hand=3)

    response = api_client.post(URL, {"variant_id": variant.pk, "email": "fan@example.com"})

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "in_stock"
    assert not WaitlistEntry.objects.exists()


def test_unknown_variant_is_404(api_client: APIClient) -> None:
    response = api_client.post(URL, {"variant_id": 999999, "email": "fan@example.com"})

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "variant_not_found"


@pytest.mark.parametrize(
    "body",
    [
        {"variant_id": 1, "email": "not-an-email"},
        {"variant_id": "abc", "email": "fan@example.com"},
        {"variant_id": -4, "email": "fan@example.com"},
        {"email": "fan@example.com"},
        {"variant_id": 1, "email": "a" * 250 + "@x.com"},
        {"variant_id": 1, "email": "fan@example.com", "attribution_token": "x" * 501},
    ],
)
def test_bad_input_is_400_with_the_error_envelope(api_client: APIClient, body: dict) -> None:
    response = api_client.post(URL, body)

    assert response.status_code == 400
    assert "error" in response.json()
    assert not WaitlistEntry.objects.exists()


def test_forged_token_is_ignored_not_credited(api_client: APIClient) -> None:
    variant = sold_out_variant()

    response = api_client.post(
        URL, {"variant_id": variant.pk, "email": "fan@example.com", "attribution_token": "forged"}
    )

    assert response.status_code == 201
    assert response.json()["credited"] is False


def test_storefront_form_post_works_without_csrf_token() -> None:
    variant = sold_out_variant()
    link = link_for(variant)
    client = Client(enforce_csrf_checks=True)
    client.cookies["tribe_atk"] = token_for_click(click_id="c-form", link_id=link.pk)

    response = client.post(
        "/waitlist/join/", {"variant_id": variant.pk, "email": "fan@example.com"}
    )

    assert response.status_code == 201
    assert b"You are on the list" in response.content
    entry = WaitlistEntry.objects.get()
    assert (entry.email, entry.attribution_link_id) == ("fan@example.com", link.pk)


def test_storefront_form_rejects_bad_email_and_in_stock() -> None:
    client = Client(enforce_csrf_checks=True)
    in_stock = VariantFactory.create(on_hand=2)

    bad = client.post("/waitlist/join/", {"variant_id": in_stock.pk, "email": "nope"})
    stocked = client.post("/waitlist/join/", {"variant_id": in_stock.pk, "email": "a@b.co"})
    missing = client.post("/waitlist/join/", {"variant_id": 999999, "email": "a@b.co"})

    assert (bad.status_code, stocked.status_code, missing.status_code) == (400, 409, 404)
    assert not WaitlistEntry.objects.exists()


def test_storefront_form_is_rate_limited_per_ip(settings) -> None:
    settings.WAITLIST_FORM_RATE_PER_MINUTE = 3
    variant = sold_out_variant()
    client = Client()

    codes = [
        client.post(
            "/waitlist/join/", {"variant_id": variant.pk, "email": f"f{i}@example.com"}
        ).status_code
        for i in range(5)
    ]

    assert codes == [201, 201, 201, 429, 429]
    assert WaitlistEntry.objects.count() == 3


def test_storefront_form_refuses_get() -> None:
    assert Client().get("/waitlist/join/").status_code == 405


def test_token_already_outside_the_brand_window_is_not_revived(
    api_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    variant = sold_out_variant()
    link = link_for(variant)
    window = variant.product.brand.attribution_window_days
    long_ago = time.time() - (window + 1) * 24 * 3600
    with monkeypatch.context() as m:
        m.setattr("django.core.signing.time.time", lambda: long_ago)
        stale = token_for_click(click_id="old", link_id=link.pk)

    response = api_client.post(
        URL, {"variant_id": variant.pk, "email": "fan@example.com", "attribution_token": stale}
    )

    assert response.status_code == 201
    assert response.json()["credited"] is False


def test_api_is_throttled_per_client(api_client: APIClient, settings) -> None:
    settings.WAITLIST_API_RATE = "2/min"
    variant = sold_out_variant()

    codes = [
        api_client.post(URL, {"variant_id": variant.pk, "email": f"f{i}@example.com"}).status_code
        for i in range(3)
    ]

    assert codes == [201, 201, 429]
