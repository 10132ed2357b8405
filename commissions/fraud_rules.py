"""Creator fraud rules: pure checks of one sale against its signals, each with a reason code.

A rule that matches a sale holds its commission line for review under its code
(commissions.services.fraud_holds); brand staff release or reverse the hold. The creator
sees "under review" and the code, never the `detail`, which names the signals for staff.

- `fraud_self_dealing`: the buyer's email, card or device is the creator's own;
- `fraud_shared_device`: one device or shipping address ordered through many creators;
- `fraud_no_click_share`: too many of the creator's orders had no click before them;
- `fraud_refund_rate`: the creator's refund or dispute rate for the brand is above the
  brand's threshold (the refund-rate flag of commissions.fraud).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings

SELF_DEALING = "fraud_self_dealing"
SHARED_DEVICE = "fraud_shared_device"
NO_CLICK_SHARE = "fraud_no_click_share"
REFUND_RATE = "fraud_refund_rate"
REASONS = (SELF_DEALING, SHARED_DEVICE, NO_CLICK_SHARE, REFUND_RATE)


@dataclass(frozen=True)
class Sale:
    """One recorded commission line's sale, with the buyer signals its order kept."""

    line_id: int
    order_id: int
    creator_id: int
    brand_id: int
    email_key: str
    card_fingerprint: str = ""
    device_hash: str = ""
    shipping_hash: str = ""


@dataclass(frozen=True)
class CreatorOwn:
    """What is the creator's own: their account's email and the cards and devices their
    own purchases used."""

    email_key: str = ""
    cards: frozenset[str] = field(default_factory=frozenset)
    devices: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Shared:
    """Paid orders from one device or address in the window, and the creators they credited."""

    orders: int = 0
    creators: int = 0


@dataclass(frozen=True)
class Verdict:
    reason: str
    detail: dict[str, Any]


def self_dealing(sale: Sale, own: CreatorOwn) -> Verdict | None:
    matched = []
    if sale.email_key and sale.email_key == own.email_key:
        matched.append("email")
    if sale.card_fingerprint and sale.card_fingerprint in own.cards:
        matched.append("card")
    if sale.device_hash and sale.device_hash in own.devices:
        matched.append("device")
    return Verdict(SELF_DEALING, {"matched": matched}) if matched else None


def shared_device(*, device: Shared, address: Shared) -> Verdict | None:
    orders = int(settings.COMMISSION_FRAUD_SHARED_ORDERS)
    creators = int(settings.COMMISSION_FRAUD_SHARED_CREATORS)
    over = {
        name: {"orders": seen.orders, "creators": seen.creators}
        for name, seen in (("device", device), ("address", address))
        if seen.orders >= orders and seen.creators >= creators
    }
    if not over:
        return None
    return Verdict(SHARED_DEVICE, {**over, "limits": {"orders": orders, "creators": creators}})


def no_click_share(*, orders: int, without_click: int) -> Verdict | None:
    share = Decimal(str(settings.COMMISSION_FRAUD_NO_CLICK_SHARE))
    minimum = int(settings.COMMISSION_FRAUD_NO_CLICK_MIN_ORDERS)
    if orders < minimum or without_click * 100 <= share * orders:
        return None
    return Verdict(
        NO_CLICK_SHARE,
        {"orders": orders, "without_click": without_click, "threshold_percent": str(share)},
    )


def refund_rate(*, orders: int, refunded: int, threshold: Decimal | None) -> Verdict | None:
    """The refund-rate flag over refunded or disputed orders, at the brand's threshold."""
    # The settings of the refund-rate flag (commissions.fraud), the brand's own threshold first.
    limit = Decimal(str(settings.COMMISSION_FRAUD_REFUND_RATE)) if threshold is None else threshold
    if orders < int(settings.COMMISSION_FRAUD_MIN_ORDERS) or refunded * 100 <= limit * orders:
        return None
    return Verdict(
        REFUND_RATE,
        {
            "orders": orders,
            "refunded_or_disputed": refunded,
            "rate_percent": str((Decimal(refunded) * 100 / orders).quantize(Decimal("0.1"))),
            "threshold_percent": str(limit),
        },
    )
