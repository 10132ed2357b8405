"""Signed attribution tokens: checkout can trust them without waiting for the click to land.

A link token names the click and the link; a storefront token names the creator whose
storefront the shopper is browsing. Both carry their issue time (the signer's timestamp).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.core import signing

SALT = "tribe.attribution.v1"
# The longest window any brand may set; each brand's own window is checked at checkout.
MAX_AGE_SECONDS = 90 * 24 * 3600


@dataclass(frozen=True)
class Claims:
    kind: str  # "link" or "storefront"
    issued_at: datetime
    click_id: str | None = None
    link_id: int | None = None
    creator_id: int | None = None


class TokenRejected(Exception):
    """A token that is forged, tampered with, malformed or too old; `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def token_for_click(*, click_id: str, link_id: int) -> str:
    return signing.dumps({"k": "link", "c": click_id, "l": link_id}, salt=SALT)


class _SignerAt(signing.TimestampSigner):
    """A signer that stamps a given time: a storefront token made from a click keeps the
    click's time, so the brand's window and the last-click order still count from the tap."""

    def __init__(self, at: datetime) -> None:
        super().__init__(salt=SALT)
        self._at = at

    def timestamp(self) -> str:
        return signing.b62_encode(int(self._at.timestamp()))


def token_for_storefront(*, creator_id: int, issued_at: datetime | None = None) -> str:
    payload = {"k": "storefront", "cr": creator_id}
    if issued_at is None:
        return signing.dumps(payload, salt=SALT)
    return _SignerAt(issued_at).sign_object(payload, serializer=signing.JSONSerializer)


def token_read(token: str, *, max_age: int = MAX_AGE_SECONDS) -> Claims:
    """Verify and decode a token; raises TokenRejected('expired'|'invalid')."""
    if not token or len(token) > 500:
        raise TokenRejected("invalid")
    try:
        data = signing.loads(token, salt=SALT, max_age=max_age)
        # The signed value is "payload:timestamp:signature"; the timestamp is the issue time.
        issued = datetime.fromtimestamp(signing.b62_decode(token.split(":")[-2]), tz=UTC)
    except signing.SignatureExpired:
        raise TokenRejected("expired") from None
    except (signing.BadSignature, ValueError, TypeError, IndexError):
        raise TokenRejected("invalid") from None
    if not isinstance(data, dict) or data.get("k") not in {"link", "storefront"}:
        raise TokenRejected("invalid")
    if data["k"] == "link":
        if not isinstance(data.get("l"), int) or not isinstance(data.get("c"), str):
            raise TokenRejected("invalid")
        return Claims(kind="link", issued_at=issued, click_id=data["c"], link_id=data["l"])
    if not isinstance(data.get("cr"), int):
        raise TokenRejected("invalid")
    return Claims(kind="storefront", issued_at=issued, creator_id=data["cr"])
