"""The client's IP address, for every per-client limit and hash: one rule, one place.

`X-Forwarded-For` is only as trustworthy as the proxies that append to it. With
`NUM_PROXIES` = N (DRF's setting, from the environment) the client is the address the
N-th proxy from us saw, i.e. the N-th entry from the right; entries further left are
whatever the client chose to send. With 0 (the default), the header is ignored and the
client is the peer of the connection (`REMOTE_ADDR`).
"""

from __future__ import annotations

import ipaddress

from django.http import HttpRequest
from rest_framework.settings import api_settings


def client_ip(request: HttpRequest) -> str:
    """The client's address as the trusted proxies saw it; never a value the client chose."""
    remote_addr = str(request.META.get("REMOTE_ADDR", ""))
    num_proxies = int(api_settings.NUM_PROXIES or 0)
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
    if num_proxies <= 0 or not forwarded:
        return remote_addr
    hops = [hop.strip() for hop in forwarded.split(",")]
    candidate = hops[-min(num_proxies, len(hops))]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        # Our own proxy would not write this: keep to the connection's peer.
        return remote_addr
