"""Reads of sell-out alerts for other apps (the creators' own view of their alerts)."""

from __future__ import annotations

from django.db.models import QuerySet

from orders.models.alerts import SellOutAlert


def sellout_alert_queryset(*, creator_id: int, active_only: bool) -> QuerySet[SellOutAlert]:
    """The alerts a creator's links drove (the creators the alert emails), with their variant.

    `creator_ids` is the set the alert was raised with: the creators of the links credited
    with the window's paid sales.
    """
    alerts = SellOutAlert.objects.filter(creator_ids__contains=[creator_id]).select_related(
        "variant__product__brand"
    )
    if active_only:
        alerts = alerts.filter(resolved_at__isnull=True)
    return alerts
