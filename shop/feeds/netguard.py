"""Feed URLs may only reach public addresses (server-side request forgery).

The check runs where the socket is opened: every address the host resolves to must be
public, and the connection goes to an address that was checked, so a DNS answer that
changes between the check and the connect (rebinding) cannot reach an internal service.
Loopback is allowed only with `FEED_ALLOW_LOOPBACK` (the tests' local feed server).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class FeedURLRefused(Exception):
    """The URL is not http(s), carries credentials, or reaches a non-public address."""


def address_allowed(ip: IPAddress) -> bool:
    """Public unicast addresses only; loopback too when the setting allows it."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return bool(settings.FEED_ALLOW_LOOPBACK)
    return ip.is_global and not ip.is_multicast


def validate_feed_url(url: str) -> None:
    """Refuse what can be refused without DNS: the scheme, credentials, internal literals."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FeedURLRefused("Feed URLs must start with http:// or https://.")
    if not parts.hostname:
        raise FeedURLRefused("The feed URL has no host.")
    if parts.username or parts.password:
        raise FeedURLRefused("Put credentials in the auth header setting, not in the URL.")
    host = parts.hostname.rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        if not settings.FEED_ALLOW_LOOPBACK:
            raise FeedURLRefused("Feed URLs may not point at this server.")
        return
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return
    if not address_allowed(ip):
        raise FeedURLRefused(f"Feed URLs may not point at {ip} (not a public address).")


def resolve_public(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, or FeedURLRefused if any of them is not public."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        address = str(sockaddr[0]).split("%", 1)[0]
        if not address_allowed(ipaddress.ip_address(address)):
            raise FeedURLRefused(f"{host} resolves to {address}, which is not a public address.")
        if address not in addresses:
            addresses.append(address)
    return addresses


class _GuardedConnectionMixin:
    _dns_host: str
    port: int
    timeout: Any
    source_address: Any
    socket_options: Any
    host: str

    def _new_conn(self) -> socket.socket:
        try:
            addresses = resolve_public(self._dns_host, self.port)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc  # type: ignore[arg-type]
        error: OSError | None = None
        for address in addresses:
            try:
                return connection.create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except TimeoutError as exc:
                raise ConnectTimeoutError(self, f"Connection to {self.host} timed out.") from exc
            except OSError as exc:
                error = exc
        raise NewConnectionError(
            self,  # type: ignore[arg-type]
            f"Failed to establish a new connection: {error}",
        )


class GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """A requests adapter whose every connection goes through the address check."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": GuardedHTTPConnectionPool,
            "https": GuardedHTTPSConnectionPool,
        }
