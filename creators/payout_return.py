"""Where Stripe's Connect onboarding sends a creator back: our pages, or an app's deep link.

A request may name its own `return_url` and `refresh_url` (an app passes its deep link);
each must be absolute and its `scheme://host` on the allow-list in settings
(`CONNECT_RETURN_URL_ORIGINS`) or be the site's own, so the onboarding never becomes an
open redirect. Stripe takes only http(s) URLs here, so an app returns through its universal
link or App Link (an https URL the app opens), never a custom scheme.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings

from common.errors import ValidationFailed

MAX_URL_LENGTH = 2000
WEB_SCHEMES = ("https", "http")


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower()


def _allowed() -> set[tuple[str, str]]:
    # Read at call time: settings may change under tests and per deployment.
    origins = [settings.SITE_URL, *settings.CONNECT_RETURN_URL_ORIGINS]
    return {_origin(origin) for origin in origins if origin}


def return_url_check(url: str, *, field: str) -> str:
    """`url` when its scheme and host are allowed; else ValidationFailed naming `field`."""
    scheme, host = _origin(url) if len(url) <= MAX_URL_LENGTH else ("", "")
    allowed = scheme in WEB_SCHEMES and host and (scheme, host) in _allowed()
    if not allowed or "\\" in url:
        raise ValidationFailed(
            f"{field} must be an absolute URL on an allowed scheme and host.",
            code="return_url_not_allowed",
            fields={field: [{"code": "not_allowed", "message": "Scheme or host not allowed."}]},
        )
    return url
