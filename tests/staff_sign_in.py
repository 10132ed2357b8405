"""Staff sign in as people do: to the admin, password then a code from a known TOTP device;
to the API, password and the code in one request."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.test.client import ClientMixin
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.otp import demo_key_hex, totp_current_code, totp_device_ensure
from shop.two_factor import two_factor_required

TEST_TOTP_KEY = demo_key_hex("tribe-tests-totp-key")
VERIFY_URL = "/admin/verify/"


def known_totp_device(user: Any) -> TOTPDevice:
    device = totp_device_ensure(user=user, key_hex=TEST_TOTP_KEY, name="tests")
    # A code is taken once per 30-second step; a test may sign one person in several times
    # within a step (two clients), so each sign-in starts from a device that took no code yet.
    TOTPDevice.objects.filter(pk=device.pk).update(
        last_t=-1, throttling_failure_count=0, throttling_failure_timestamp=None
    )
    device.refresh_from_db()
    return device


def pass_second_factor(client: Any, user: Any) -> None:
    """Post the device's current code to the verify page, as the person would type it."""
    code = totp_current_code(known_totp_device(user))
    response = client.post(
        VERIFY_URL,
        urlencode({"otp_token": code}),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 302, response.content[:500]


ORIGINAL_FORCE_LOGIN = ClientMixin.force_login


def force_login_with_second_factor(self: Any, user: Any, backend: str | None = None) -> None:
    """`force_login`, then the second factor for staff who can refund or pay out."""
    ORIGINAL_FORCE_LOGIN(self, user, backend)
    if user.is_staff and two_factor_required(user):
        pass_second_factor(self, user)


API_PASSWORD = "correct horse battery staple"


def api_sign_in(site: str, user: Any) -> str:
    """An access token from the live server's sign-in, as an app or an integration gets one:
    the password, and the authenticator's code for staff who can refund or pay out."""
    import requests

    user.set_password(API_PASSWORD)
    user.save(update_fields=["password"])
    body = {"email": user.email, "password": API_PASSWORD}
    if two_factor_required(user):
        body["otp_token"] = totp_current_code(known_totp_device(user))
    response = requests.post(f"{site}/api/v1/auth/token/", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return str(response.json()["access"])


def staff_tokens(user: Any) -> Any:
    """A user's token pair as a sign-in would give it: with the second factor's claim for
    staff who can refund or pay out (they sign in with their code; that sign-in is tested
    in tests/orders/test_refunds_second_factor.py)."""
    from rest_framework_simplejwt.tokens import RefreshToken

    from accounts.otp import SECOND_FACTOR_CLAIM

    token = RefreshToken.for_user(user)
    if two_factor_required(user):
        token[SECOND_FACTOR_CLAIM] = True
    return token
