"""DRF's throttles keyed on `common.client_ip`, so a spoofed X-Forwarded-For changes nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework import throttling
from rest_framework.request import Request

if TYPE_CHECKING:  # rest_framework.views reads the throttle settings that name this module
    from rest_framework.views import APIView

from common.client_ip import client_ip


class ClientIPMixin:
    def get_ident(self, request: Request) -> str:
        return client_ip(request._request)


class AnonRateThrottle(ClientIPMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(ClientIPMixin, throttling.UserRateThrottle):
    """Signed-in users by their id. An anonymous request is the anon throttle's alone:
    DRF's would count it again under the client's address (the same key as the anon
    throttle's, at the looser user rate), two more cache round trips on every anonymous
    API request that could never refuse one the anon throttle lets through, with the
    rates as configured (anon below user)."""

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        return super().get_cache_key(request, view)


class ScopedRateThrottle(ClientIPMixin, throttling.ScopedRateThrottle):
    pass


class SimpleRateThrottle(ClientIPMixin, throttling.SimpleRateThrottle):
    pass
