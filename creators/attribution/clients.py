"""Who clicked: a stable client key without storing raw IPs, and known bots."""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass
from functools import lru_cache

import crawleruseragents
from django.conf import settings
from django.http import HttpRequest

from common.client_ip import client_ip

CLIENT_COOKIE = "tribe_cid"
DEVICE_HEADER = "X-Device-ID"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


@dataclass(frozen=True)
class ClickClient:
    key_hash: str  # identifies "the same client" for the one-hour uniqueness rule
    ip_hash: str
    user_agent: str
    is_bot: bool
    new_cookie: str | None  # a client id to set as a first-party cookie, if there was none


def _salted(value: str) -> str:
    salt = (settings.CLICK_HASH_SALT or settings.SECRET_KEY).encode()
    return hmac.new(salt, value.encode(), hashlib.sha256).hexdigest()


@lru_cache(maxsize=8192)
def is_bot(user_agent: str) -> bool:
    """Known crawlers and link-preview fetchers, from the maintained crawler-user-agents list."""
    if not user_agent:
        return True
    return bool(crawleruseragents.is_crawler(user_agent))


def click_client(
    request: HttpRequest, *, device_id: str | None = None, can_set_cookie: bool = True
) -> ClickClient:
    """The first-party cookie, else the app's device id, else a hash of IP and user agent.

    A browser on its first tap has no cookie yet: it is given one and is that client from
    then on. Only a caller that cannot keep a cookie and sends no device id is known by IP
    and user agent; mobile carriers put thousands of phones behind one IP, so IP alone would
    undercount a spike. Raw IPs are never kept, only salted hashes.
    """
    user_agent = request.headers.get("User-Agent", "")[:300]
    ip = client_ip(request)
    cookie = request.COOKIES.get(CLIENT_COOKIE, "")
    device = device_id or request.headers.get(DEVICE_HEADER, "")
    new_cookie = None
    if cookie and _SAFE_ID.match(cookie):
        key = f"cookie:{cookie}"
    elif device and _SAFE_ID.match(device):
        key = f"device:{device}"
    elif can_set_cookie:
        new_cookie = uuid.uuid4().hex
        key = f"cookie:{new_cookie}"
    else:
        key = f"ipua:{ip}|{user_agent}"
    return ClickClient(
        key_hash=_salted(key),
        ip_hash=_salted(f"ip:{ip}") if ip else "",
        user_agent=user_agent,
        is_bot=is_bot(user_agent),
        new_cookie=new_cookie,
    )
