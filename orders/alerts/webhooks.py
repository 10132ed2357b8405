"""The brand's outbound webhook events about a sell-out alert's variant.

`variant.selling_out` is written with the alert, `variant.sold_out` by the scan that first
finds the alert's variant with nothing available; both in the scan's transaction, keyed by
the alert so each reaches each endpoint once (see `orders.services.webhooks`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from orders.models.alerts import SellOutAlert
from orders.services.webhooks import (
    SubjectEvent,
    webhook_endpoints_subscribed,
    webhooks_emit_subject_events,
)

SELLING_OUT = "variant.selling_out"
SOLD_OUT = "variant.sold_out"


def variant_subject(variant_id: int) -> str:
    return f"variant:{variant_id}"


def _velocity_per_hour(alert: SellOutAlert, window_minutes: int) -> Decimal:
    per_hour = Decimal(alert.units_last_hour) * 60 / Decimal(window_minutes)
    return per_hour.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def alert_event_data(alert: SellOutAlert, *, window_minutes: int) -> dict[str, Any]:
    """The event's `data`: the variant's stock now and the alert's projection.

    The alert must come with `variant__product` loaded.
    """
    variant = alert.variant
    product = variant.product
    return {
        "variant": {
            "id": variant.pk,
            "sku": variant.sku,
            "title": variant.title,
            "options": variant.options,
            "on_hand": variant.on_hand,
            "reserved": variant.reserved,
            "available": variant.available,
        },
        "product": {"id": product.pk, "slug": product.slug, "title": product.title},
        "alert": {
            "id": alert.pk,
            "raised_at": alert.opened_at,
            "window_minutes": window_minutes,
            "units_in_window": alert.units_last_hour,
            "velocity_per_hour": _velocity_per_hour(alert, window_minutes),
            "available_at_alert": alert.available_at_alert,
            "minutes_to_sell_out": alert.minutes_to_sell_out,
            "projected_sell_out_at": alert.projected_sell_out_at,
            "sold_out_at": alert.sold_out_at,
        },
    }


def alert_event(alert: SellOutAlert, event_type: str, *, window_minutes: int) -> SubjectEvent:
    return SubjectEvent(
        brand_id=alert.brand_id,
        event_type=event_type,
        subject=variant_subject(alert.variant_id),
        key=f"alert:{alert.pk}",
        data=alert_event_data(alert, window_minutes=window_minutes),
    )


def sellout_webhooks_emit(
    *,
    opened: Sequence[SellOutAlert],
    sold_out: Sequence[SellOutAlert],
    window_minutes: int,
    now: datetime,
) -> int:
    """Queue `variant.selling_out` for the opened alerts and `variant.sold_out` for the sold-out.

    Runs in the scan's transaction. An opened alert already at zero gets both, in that order.
    No query when nothing happened, one when no endpoint listens, at most three otherwise.
    """
    brand_ids = {a.brand_id for a in (*opened, *sold_out)}
    if not brand_ids:
        return 0
    endpoints = webhook_endpoints_subscribed(
        brand_ids=brand_ids, event_types=(SELLING_OUT, SOLD_OUT)
    )
    if not endpoints:
        return 0
    # Alerts just inserted come without their variant: load them with it for the payload.
    loaded = (
        list(
            SellOutAlert.objects.filter(pk__in=[a.pk for a in opened])
            .select_related("variant__product")
            .order_by("pk")
        )
        if opened
        else []
    )
    events = [alert_event(a, SOLD_OUT, window_minutes=window_minutes) for a in sold_out]
    for alert in loaded:
        events.append(alert_event(alert, SELLING_OUT, window_minutes=window_minutes))
        if alert.sold_out_at is not None:
            events.append(alert_event(alert, SOLD_OUT, window_minutes=window_minutes))
    return webhooks_emit_subject_events(events=events, endpoints=endpoints, now=now)
