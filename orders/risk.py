"""Normalised buyer signals the fraud rules compare: the email and the shipping address.

Two spellings of one mailbox (`Fan.One+promo@GoogleMail.com`, `fanone@gmail.com`) or of one
address (`1 Main St.`, `1  main st`) are the same buyer to the rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from common.hashing import salted_hash

# Providers that ignore dots in the local part (sub-addressing with + is near universal).
_DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}
_PUNCTUATION = re.compile(r"[^\w]+", re.UNICODE)


def email_key(email: str) -> str:
    """The mailbox an address delivers to: lower case, no +tag, no dots for Gmail."""
    local, _, domain = email.strip().lower().rpartition("@")
    if not local:
        return email.strip().lower()
    local = local.split("+", 1)[0]
    domain = _DOTLESS_DOMAINS.get(domain, domain)
    if domain == "gmail.com":
        local = local.replace(".", "")
    return f"{local}@{domain}"


def _words(value: Any) -> str:
    return " ".join(_PUNCTUATION.sub(" ", str(value or "").lower()).split())


def shipping_hash(address: Mapping[str, Any]) -> str:
    """A salted hash of where a parcel goes (street lines, postal code, country), or "" for
    an address without a street."""
    street = " ".join(_words(address.get(name)) for name in ("line1", "line2")).strip()
    if not street:
        return ""
    postal = _words(address.get("postal_code")).replace(" ", "")
    country = _words(address.get("country"))
    return salted_hash(f"address:{country}|{postal}|{street}")
