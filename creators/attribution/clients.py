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
# An app names itself on its click calls, `name/version` (docs/attribution.md).
APP_HEADER = "X-Tribe-App"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
_APP_NAME = re.compile(r"^[A-Za-z0-9._-]{1,40}/[A-Za-z0-9._+-]{1,40}$")
# Patterns of the crawler list that match the HTTP libraries apps ship with (Android's OkHttp,
# React Native's axios): on the app click endpoint they are the app itself, not a bot.
APP_HTTP_LIBRARIES = frozenset({"okhttp", "axios"})


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
def is_bot(user_agent: str, *, app_call: bool = False) -> bool:
    """Known crawlers and link-preview fetchers, from the maintained crawler-user-agents list.

    On an app's own call (`app_call`) the HTTP libraries apps are built on are not bots.
    """
    if not user_agent:
        return True
    patterns = {
        crawleruseragents.CRAWLER_USER_AGENTS_DATA[i]["pattern"]
        for i in crawleruseragents.matching_crawlers(user_agent)
    }
    if app_call:
        patterns -= APP_HTTP_LIBRARIES
    return bool(patterns)


def app_name(request: HttpRequest) -> str:
    """The `X-Tribe-App` an app declared (`name/version`), or "" when absent or malformed."""
    value = request.headers.get(APP_HEADER, "")
    return value if _APP_NAME.match(value) else ""


def click_client(
    request: HttpRequest,
    *,
    device_id: str | None = None,
    can_set_cookie: bool = True,
    app_call: bool = False,
) -> ClickClient:
    """The first-party cookie, else the app's device id, else a hash of IP and user agent.

    A browser on its first tap has no cookie yet: it is given one and is that client from
    then on. Only a caller that cannot keep a cookie and sends no device id is known by IP
    and user agent; mobile carriers put thousands of phones behind one IP, so IP alone would
    undercount a spike. Raw IPs are never kept, only salted hashes. An app call
    (`app_call`) that names itself in `X-Tribe-App` is never a bot, whatever its library
    sends as user agent.
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
        is_bot=not (app_call and app_name(request)) and is_bot(user_agent, app_call=app_call),
        new_cookie=new_cookie,
    )
