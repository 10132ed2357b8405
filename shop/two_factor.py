"""Two-step sign-in for staff who can refund or pay out, in the admin and the brand API.

Refunds, shipping and settlement payments in the admin are open to superusers and to a
brand's owners and managers (`BrandMember.WRITE_ROLES`, the roles the order desk and the
settlement admin check); their admin session must also be verified by a one-time code
(`accounts.otp`). Through the brand API the same staff refund only with tokens from a
sign-in that gave the code (`second_factor_require`). Viewers, who can move no money, sign
in with their password alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode

from accounts.otp import second_factor_passed
from common.admin_mixins import is_admin_path
from common.errors import Forbidden
from shop.admin.scoping import WRITE_ROLES, brand_ids_for_request, is_unrestricted
from shop.models import BrandMember


def two_factor_required(user: object) -> bool:
    """Whether `user` can refund or pay out, and so must pass the second factor."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    if getattr(user, "is_superuser", False):
        return True
    return BrandMember.objects.filter(
        user_id=user.pk,  # type: ignore[attr-defined]
        role__in=BrandMember.WRITE_ROLES,
    ).exists()


class SecondFactorRequired(Forbidden):
    code = "second_factor_required"
    default_message = (
        "Moving money needs a sign-in with your authenticator's code: sign in again with "
        "`otp_token`."
    )


def second_factor_require(request: Any) -> None:
    """Refuse (403 `second_factor_required`) a request of staff who must pass the second
    factor unless its sign-in passed it: a verified admin session, or an API token issued
    for a sign-in with the code."""
    if two_factor_required(getattr(request, "user", None)) and not second_factor_passed(request):
        raise SecondFactorRequired()


class AdminTwoFactorMiddleware:
    """Send a signed-in admin user who must pass the second factor to the code page first."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._must_verify(request):
            target = reverse("admin-otp-verify")
            return HttpResponseRedirect(f"{target}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)

    def _must_verify(self, request: HttpRequest) -> bool:
        if not is_admin_path(request.path):
            return False
        if request.path in (
            reverse("admin:login"),
            reverse("admin:logout"),
            reverse("admin:jsi18n"),
            reverse("admin-otp-verify"),
        ):
            return False
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_staff:
            return False
        if user.is_verified():
            return False
        # The admin reads the memberships once per request; this reuses that read.
        return is_unrestricted(request) or bool(brand_ids_for_request(request, WRITE_ROLES))
