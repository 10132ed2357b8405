"""Salted hashes of what identifies a person (an IP, a device id, an address): kept and
compared, never shown, and useless without the salt."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings


def salted_hash(value: str) -> str:
    """HMAC-SHA256 of `value` under CLICK_HASH_SALT (or SECRET_KEY), as hex."""
    salt = (settings.CLICK_HASH_SALT or settings.SECRET_KEY).encode()
    return hmac.new(salt, value.encode(), hashlib.sha256).hexdigest()
