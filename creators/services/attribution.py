"""Writes of attribution bookkeeping."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from creators.models import AttributionCounter, Creator, PaymentFingerprint
from creators.selectors.attribution import Attribution, attribution_count

# What a refused receipt keeps of the credit it replaces: who, through which link and click.
_REFUSAL_KEEPS = ("creator_id", "link_id", "click_id", "clicked_at", "window_days")

COUNTED_KINDS = ("invalid_token", "expired_token", "self_referral")


def attribution_counters_flush() -> int:
    """Copy today's and yesterday's counters from the cache into AttributionCounter.

    The cache holds each day's running total, so copying is idempotent.
    """
    today = timezone.now().date()
    written = 0
    for day in (today - timedelta(days=1), today):
        for kind in COUNTED_KINDS:
            value = cache.get(f"attribution-count:{day.isoformat()}:{kind}")
            if value is None:
                continue
            with transaction.atomic():
                AttributionCounter.objects.update_or_create(
                    date=day, kind=kind, defaults={"count": int(value)}
                )
            written += 1
    return written


def payment_fingerprint_record(
    *, creator_id: int, fingerprint: str, source: str, reference: str = ""
) -> bool:
    """Remember a card the creator pays with; True if it was not known yet.

    Joins the caller's transaction (get_or_create takes a savepoint, so a concurrent insert
    of the same card is "already known").
    """
    if not fingerprint:
        return False
    _, created = PaymentFingerprint.objects.get_or_create(
        creator_id=creator_id,
        fingerprint=fingerprint,
        defaults={"source": source, "reference": reference},
    )
    return created


def attribution_review_payment(
    *,
    buyer_user_id: int | None,
    fingerprint: str,
    lines: Iterable[tuple[int, dict[str, Any]]],
    reference: str,
    at: datetime | None = None,
) -> dict[int, dict[str, Any]]:
    """At a successful payment: void the credit of lines whose creator paid with their own card.

    `lines` are (line id, receipt) of the order's credited lines. A card is the creator's when
    it paid one of their purchases while they were logged in, or is their payout or
    verification card. Returns the refused receipt of each voided line (the attempt is
    counted as a self-referral); then, if the buyer is logged in as a creator, remembers the
    card as theirs. Joins the caller's transaction.
    """
    at = at or timezone.now()
    refused: dict[int, dict[str, Any]] = {}
    if fingerprint:
        credited = {line_id: receipt for line_id, receipt in lines if receipt.get("creator_id")}
        own_card = set(
            PaymentFingerprint.objects.filter(
                fingerprint=fingerprint,
                creator_id__in={receipt["creator_id"] for receipt in credited.values()},
            ).values_list("creator_id", flat=True)
        )
        for line_id, receipt in credited.items():
            if receipt["creator_id"] in own_card:
                kept = {key: receipt[key] for key in _REFUSAL_KEEPS if key in receipt}
                refusal = Attribution(
                    credited=False,
                    reason="self_referral_payment",
                    decided_at=at.isoformat(),
                    **kept,
                )
                refused[line_id] = refusal.receipt()
                attribution_count("self_referral", at=at)
    if buyer_user_id is not None and fingerprint:
        creator_id = (
            Creator.objects.filter(user_id=buyer_user_id).values_list("pk", flat=True).first()
        )
        if creator_id is not None:
            payment_fingerprint_record(
                creator_id=creator_id,
                fingerprint=fingerprint,
                source=PaymentFingerprint.Source.PURCHASE,
                reference=reference,
            )
    return refused
