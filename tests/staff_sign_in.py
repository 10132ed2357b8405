"""Staff sign in to the admin as people do: password, then a code from a known TOTP device."""

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
