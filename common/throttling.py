"""DRF's throttles keyed on `common.client_ip`, so a spoofed X-Forwarded-For changes nothing."""

from __future__ import annotations

from rest_framework import throttling
from rest_framework.request import Request

from common.client_ip import client_ip


class ClientIPMixin:
    def get_ident(self, request: Request) -> str:
        return client_ip(request._request)


class AnonRateThrottle(ClientIPMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(ClientIPMixin, throttling.UserRateThrottle):
    pass


class ScopedRateThrottle(ClientIPMixin, throttling.ScopedRateThrottle):
    pass


class SimpleRateThrottle(ClientIPMixin, throttling.SimpleRateThrottle):
    pass
