"""Brands' webhook URLs (which addresses we may call) and the signature every delivery carries.

Receivers verify a delivery like this (see docs/webhooks.md):

    header = request.headers["Tribe-Signature"]       # "t=1700000000,v1=5f2b..."
    t, v1 = (dict(p.split("=", 1) for p in header.split(",")))["t"], ...["v1"]
    expected = hex(HMAC-SHA256(key=endpoint secret, msg=f"{t}.".encode() + raw_body))
    accept if hmac.compare_digest(expected, v1) and abs(now - int(t)) <= 300
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from common.errors import ValidationFailed

SIGNATURE_HEADER = "Tribe-Signature"
EVENT_ID_HEADER = "Tribe-Event-Id"
EVENT_TYPE_HEADER = "Tribe-Event-Type"

Resolver = Callable[..., list[tuple[Any, ...]]]


def _refuse(message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, fields={"url": [message]})


def _forbidden(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return not settings.WEBHOOK_ALLOW_LOOPBACK
    return (
        ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def webhook_url_check(url: str, *, resolve: Resolver = socket.getaddrinfo) -> None:
    """Refuse URLs we must never call: not https (in production), or any address of the host
    private, loopback, link-local, multicast or reserved (loopback only if the setting allows).

    Checked when an endpoint is saved and again before every delivery (DNS may change).
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise _refuse("Give a full https:// URL.", "webhook_url_invalid")
    if parts.scheme != "https" and settings.WEBHOOK_REQUIRE_HTTPS:
        raise _refuse("Webhook endpoints must use https.", "webhook_url_not_https")
    if parts.username or parts.password:
        raise _refuse("Put no credentials in the URL.", "webhook_url_invalid")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = resolve(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise _refuse("This host name does not resolve.", "webhook_url_unresolvable") from exc
    addresses = {info[4][0] for info in infos}
    if not addresses:
        raise _refuse("This host name does not resolve.", "webhook_url_unresolvable")
    for address in addresses:
        if _forbidden(ipaddress.ip_address(address.split("%", 1)[0])):
            raise _refuse(
                "Webhook endpoints may not point at private, loopback or link-local addresses.",
                "webhook_url_forbidden_address",
            )


def webhook_signature(*, secret: str, body: bytes, timestamp: int) -> str:
    """`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body, keyed by the secret>`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"
