"""Refunds through the brand API need a sign-in that gave the authenticator's code.

Owners and managers can refund; in the admin their session passes the second factor
(`shop.two_factor`), and through the API they sign in with `otp_token` beside the password.
Tokens from a sign-in without it refund nothing, whatever else they may do.
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.otp import totp_current_code
from orders.models import Refund
from tests.orders.aftersale_helpers import member, two_brand_order
from tests.orders.test_refunds_api import unchanged, url
from tests.staff_sign_in import API_PASSWORD, known_totp_device

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_emulator")]

TOKEN_URL = "/api/v1/auth/token/"


def sign_in(user, **extra: str):
    user.set_password(API_PASSWORD)
    user.save(update_fields=["password"])
    return APIClient().post(
        TOKEN_URL, {"email": user.email, "password": API_PASSWORD, **extra}, format="json"
    )


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def refund_one(client: APIClient, t) -> Any:
    return client.post(
        url(t.order), {"lines": [{"line_id": t.line_a.pk, "quantity": 1}]}, format="json"
    )


def test_an_owner_signed_in_with_the_password_alone_refunds_nothing():
    t = two_brand_order()
    signed_in = sign_in(t.owner_a)
    assert signed_in.status_code == 200, signed_in.json()

    response = refund_one(bearer(signed_in.json()["access"]), t)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "second_factor_required"
    unchanged(t)


def test_an_owner_signed_in_with_the_code_refunds_and_a_refreshed_pair_still_may():
    t = two_brand_order()
    code = totp_current_code(known_totp_device(t.owner_a))
    signed_in = sign_in(t.owner_a, otp_token=f"{code[:3]} {code[3:]}")  # as typed, spaced
    assert signed_in.status_code == 200, signed_in.json()
    refreshed = APIClient().post(
        f"{TOKEN_URL}refresh/", {"refresh": signed_in.json()["refresh"]}, format="json"
    )
    assert refreshed.status_code == 200, refreshed.json()

    response = refund_one(bearer(refreshed.json()["access"]), t)

    assert response.status_code == 201, response.json()
    assert Refund.objects.get().order_id == t.order.pk


def test_a_wrong_code_signs_nobody_in():
    t = two_brand_order()
    code = totp_current_code(known_totp_device(t.owner_a))
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    response = sign_in(t.owner_a, otp_token=wrong)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "otp_invalid"
    assert "access" not in response.json()


def test_a_code_is_not_tried_before_the_password_is_right():
    t = two_brand_order()
    code = totp_current_code(known_totp_device(t.owner_a))
    t.owner_a.set_password(API_PASSWORD)
    t.owner_a.save(update_fields=["password"])

    response = APIClient().post(
        TOKEN_URL,
        {"email": t.owner_a.email, "password": "not it", "otp_token": code},
        format="json",
    )

    assert response.status_code == 401
    assert (
        refund_one(bearer(sign_in(t.owner_a, otp_token=code).json()["access"]), t).status_code
        == 201
    )


def test_a_viewer_signs_in_with_the_password_alone_and_still_cannot_refund():
    t = two_brand_order()
    viewer = member(t.brand_a, role="viewer")
    signed_in = sign_in(viewer)
    assert signed_in.status_code == 200

    response = refund_one(bearer(signed_in.json()["access"]), t)

    assert response.status_code == 403
    assert response.json()["error"]["code"] != "second_factor_required"
    unchanged(t)
