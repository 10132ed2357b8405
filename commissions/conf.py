"""Commission settings, read from django.conf.settings at call time (with their defaults)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings

from common.money import normalize_currency, quantize

DEFAULT_HOLD_DAYS = 30
MAX_HOLD_DAYS = 120


def hold_days_default() -> int:
    """Days a sale is held before its commission is payable, for brands without terms."""
    return int(getattr(settings, "COMMISSION_HOLD_DAYS", DEFAULT_HOLD_DAYS))


def payout_minimum(currency: str) -> Decimal:
    """The smallest balance paid out in `currency` (COMMISSION_PAYOUT_MINIMUMS overrides)."""
    code = normalize_currency(currency)
    per_currency: dict[str, str] = getattr(settings, "COMMISSION_PAYOUT_MINIMUMS", {})
    default = getattr(settings, "COMMISSION_PAYOUT_MINIMUM", "25.00")
    return quantize(Decimal(str(per_currency.get(code, default))), code)


def approve_batch_size() -> int:
    return int(getattr(settings, "COMMISSION_APPROVE_BATCH_SIZE", 500))


def payout_send_lease() -> timedelta:
    """How long one attempt may own a payout being sent before another may retry it."""
    return timedelta(seconds=int(getattr(settings, "COMMISSION_PAYOUT_LEASE_SECONDS", 300)))


def connect_urls() -> tuple[str, str]:
    """Where Stripe's onboarding sends the creator back: (refresh_url, return_url)."""
    site = settings.SITE_URL.rstrip("/")
    return (
        getattr(settings, "COMMISSION_CONNECT_REFRESH_URL", f"{site}/creators/payouts/refresh"),
        getattr(settings, "COMMISSION_CONNECT_RETURN_URL", f"{site}/creators/payouts/return"),
    )


def brand_connect_urls() -> tuple[str, str]:
    """Where Stripe's onboarding sends a brand back: (refresh_url, return_url), the admin."""
    site = settings.SITE_URL.rstrip("/")
    page = f"{site}/admin/creators/brandpayoutaccount/"
    return (
        getattr(settings, "COMMISSION_BRAND_CONNECT_REFRESH_URL", page),
        getattr(settings, "COMMISSION_BRAND_CONNECT_RETURN_URL", page),
    )
