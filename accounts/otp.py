"""The second sign-in factor: a one-time code from the staff member's authenticator (TOTP).

`otp_verify_view` asks a signed-in user for the code of one of their confirmed devices and
marks the session verified (django-otp); the API's sign-in takes the same code beside the
password and marks the tokens it issues (`SECOND_FACTOR_CLAIM`, kept by every refreshed
pair). Which users must pass it, and where, is decided by what needs it (the admin and the
brand API's refunds: `shop.two_factor`). Devices are added by a platform administrator
in the admin (OTP devices, with a QR code to scan) or, for the local demo, by the seed.
"""

from __future__ import annotations

from base64 import b32encode
from binascii import hexlify, unhexlify
from typing import Any

import django_otp
from django import forms
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from unfold.widgets import UnfoldAdminTextInputWidget

from accounts.models import User

# In the JWTs of a sign-in that passed the second factor (accounts.api.views.TokenView).
SECOND_FACTOR_CLAIM = "otp"


def otp_device_match(user: User, token: str) -> Any:
    """The user's confirmed device that accepts `token` (spaces ignored), or None. Each device
    throttles its own failures (django-otp), so codes cannot be guessed."""
    return django_otp.match_token(user, "".join(token.split()))


def second_factor_passed(request: Any) -> bool:
    """Whether this request's sign-in passed the second factor: a session verified by a code
    (the admin's), or an API token issued for a sign-in with one."""
    user = getattr(request, "user", None)
    is_verified = getattr(user, "is_verified", None)
    if callable(is_verified) and is_verified():
        return True
    claims: Any = getattr(request, "auth", None)
    return bool(hasattr(claims, "get") and claims.get(SECOND_FACTOR_CLAIM) is True)


class OtpForm(forms.Form):
    otp_token = forms.CharField(
        label="Code from your authenticator app",
        max_length=10,
        widget=UnfoldAdminTextInputWidget(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.device: Any = None

    def clean_otp_token(self) -> str:
        token = "".join(self.cleaned_data["otp_token"].split())
        self.device = otp_device_match(self.user, token)
        if self.device is None:
            raise forms.ValidationError(
                "That code is not right or has expired. Enter the code your app shows now.",
                code="otp_invalid",
            )
        return token


def _next_url(request: HttpRequest) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return reverse("admin:index")


@sensitive_post_parameters("otp_token")
@csrf_protect
@never_cache
@login_required(login_url="admin:login")
def otp_verify_view(request: HttpRequest) -> HttpResponse:
    """Ask for the one-time code and mark the session verified."""
    user: User = request.user  # type: ignore[assignment]
    if user.is_verified():  # type: ignore[attr-defined]
        return HttpResponseRedirect(_next_url(request))
    has_device = any(django_otp.devices_for_user(user))
    form = OtpForm(request.POST if request.method == "POST" else None, user=user)
    if request.method == "POST" and form.is_valid():
        request.session.cycle_key()
        django_otp.login(request, form.device)
        return HttpResponseRedirect(_next_url(request))
    context = {
        "title": "Two-step sign-in",
        "site_title": "Tribe admin",
        "form": form,
        "has_device": has_device,
        "next": _next_url(request),
    }
    return TemplateResponse(
        request, "accounts/otp_verify.html", context, status=400 if form.errors else 200
    )


# --- devices with a known key: the local demo and the tests -------------------------------


def totp_device_ensure(*, user: User, key_hex: str, name: str) -> TOTPDevice:
    """A confirmed TOTP device called `name` with the given key (created once)."""
    unhexlify(key_hex)  # a malformed key fails here, not at the first sign-in
    with transaction.atomic():
        device, _ = TOTPDevice.objects.get_or_create(
            user=user, name=name, defaults={"key": key_hex, "confirmed": True}
        )
    return device


def totp_current_code(device: TOTPDevice) -> str:
    """The code the device's authenticator shows now."""
    code = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return str(code).zfill(device.digits)


def totp_secret_base32(key_hex: str) -> str:
    """The key as an authenticator app takes it when typed in."""
    return b32encode(unhexlify(key_hex)).decode()


def demo_key_hex(seed: str) -> str:
    """A fixed, well-known 20-byte key: for the local demo only."""
    return hexlify(seed.encode().ljust(20, b"0")[:20]).decode()
